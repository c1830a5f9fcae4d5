"""Demo logins for ``parcelguard serve --demo`` and the browser tests: one account
per role with a confirmed TOTP secret, a courier with today's assignments (two
assigned parcels with virtual numbers and one that is not theirs), police and
auditor organisations, the cyberspace administration, and a published privacy notice.

Idempotent: on a reused database it resets the demo accounts' passwords and TOTP
secrets (printed again) and adds fresh parcels for today. Synthetic PI only (Faker
zh_CN, .invalid contacts).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from faker import Faker
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.access.waybills import virtual_numbers
from parcelguard.consent.notice import NoticeParams
from parcelguard.consent.repository import ConsentRepository
from parcelguard.consent.service import publish_notice
from parcelguard.core.clock import Clock
from parcelguard.identity import repository as identity_repo
from parcelguard.identity import service as identity
from parcelguard.identity.models import Organization
from parcelguard.identity.passwords import generate_password, hash_password
from parcelguard.identity.permissions import Principal
from parcelguard.logistics import service as logistics
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.logistics.models import Station
from parcelguard.logistics.read import assignment_info
from parcelguard.logistics.rules import Window
from parcelguard.vault.kms import Kms
from parcelguard.vault.service import VaultService
from parcelguard.waybill.telephony import Telephony
from parcelguard.web import consumers, totp

POLICE_ORG = "police-netsec"
AUDITOR_ORG = "audit-firm"
CAC_ORG = "cac-demo"
DEMO_ENTERPRISE = "demo-express"


@dataclass(frozen=True)
class Login:
    role: str
    portal: str
    username: str
    password: str = field(repr=False)
    totp_secret: str = field(repr=False)
    org_id: str


@dataclass(frozen=True)
class Provisioned:
    logins: list[Login]
    enterprise_id: str
    assigned: list[str]  # today's waybills assigned to the demo courier
    unassigned: str  # a waybill of the same carrier the courier has no assignment for
    courier_employee_id: str


def _org(session: Session, org_id: str, kind: str, name: str, clock: Clock) -> str:
    if session.get(Organization, org_id) is None:
        identity.create_organization(session, org_id=org_id, kind=kind, name=name, clock=clock)
    return org_id


def _enterprise(session: Session, clock: Clock) -> str:
    first = session.scalar(select(Organization.id).where(
        Organization.kind == "enterprise").order_by(Organization.id).limit(1))
    return first or _org(session, DEMO_ENTERPRISE, "enterprise", "Demo Express", clock)


def _account(session: Session, kms: Kms, *, username: str, org_id: str, role: str,
             portal: str, clock: Clock, employee_id: str | None = None,
             display_name: str = "") -> Login:
    password = generate_password()
    acc = identity_repo.find_account_by_username(session, username)
    if acc is None:
        acc, _ = identity.create_account(session, org_id=org_id, username=username, role=role,
                                         clock=clock, password=password,
                                         display_name=display_name, employee_id=employee_id)
    else:  # a reused demo database: new password, so the printed one is right
        acc.password_hash, acc.active = hash_password(password), True
        if employee_id is not None:
            acc.employee_id = employee_id
    enrolment = totp.enrol(session, kms, account_id=acc.id, at=clock.now(), reset=True)
    totp.confirm(session, account_id=acc.id, at=clock.now())
    return Login(role, portal, username, password, enrolment.secret, org_id)


def _party(fake: Faker) -> PartyIn:
    return PartyIn(subject_id=consumers.new_subject_id(), name=fake.name(),
                   phone=fake.phone_number(), address=fake.address().replace("\n", " "))


def _today_parcels(session: Session, vault: VaultService, telephony: Telephony,
                   admin: Principal, *, employee_id: str, station_id: str,
                   clock: Clock) -> tuple[list[str], str]:
    fake = Faker("zh_CN")
    fake.seed_instance(secrets.randbits(32))
    now = clock.now()
    waybills = [consumers.new_waybill_no(session, admin.org_id) for _ in range(3)]
    register_parcels(session, vault, enterprise_id=admin.org_id, parcels=[
        ParcelIn(waybill_no=wb, sender=_party(fake), recipient=_party(fake), created_at=now,
                 origin_station_id=station_id, destination_station_id=station_id)
        for wb in waybills])
    window = Window(now - timedelta(hours=1), now + timedelta(hours=10))
    for wb in waybills[:2]:
        a = logistics.assign(session, admin, waybill_no=wb, employee_id=employee_id,
                             purpose="delivery", window=window, clock=clock)
        virtual_numbers.bind_for_assignment(session, telephony,
                                            assignment=assignment_info(a), at=now)
    return waybills[:2], waybills[2]


def provision(session: Session, vault: VaultService, telephony: Telephony, *,
              clock: Clock) -> Provisioned:
    """Everything the portals' demo needs; returns the logins to print."""
    kms = vault.vault.kms
    identity.initialise(session, clock=clock)
    ent = _enterprise(session, clock)
    _org(session, POLICE_ORG, "police", "Network-security police (demo)", clock)
    _org(session, AUDITOR_ORG, "auditor", "Third-party audit firm (demo)", clock)
    _org(session, CAC_ORG, "cac", "Cyberspace administration (demo)", clock)
    admin = Principal(org_id=ent, org_kind="enterprise", role="enterprise_admin")
    if ConsentRepository(session, ent).latest_version() is None:
        publish_notice(session, admin, params=NoticeParams(
            processor_name=session.get(Organization, ent).name,  # type: ignore[union-attr]
            processor_contact=f"privacy@{ent}.example.invalid"), clock=clock)
    station = session.scalar(select(Station.id).where(Station.enterprise_id == ent).limit(1))
    if station is None:
        station = logistics.create_station(session, admin, name="Demo station",
                                           region_code="310101", clock=clock).id
    courier_acc = identity_repo.find_account_by_username(session, "courier.demo")
    emp_id = courier_acc.employee_id if courier_acc is not None else None
    if emp_id is None:
        emp = logistics.hire_employee(session, admin, role="courier", station_id=station,
                                      shift_start="00:00", shift_end="23:59", clock=clock)
        logistics.record_background_check(session, admin, employee_id=emp.id, result="passed",
                                          clock=clock)
        logistics.record_training(session, admin, employee_id=emp.id, clock=clock)
        emp_id = emp.id
    assigned, unassigned = _today_parcels(session, vault, telephony, admin, employee_id=emp_id,
                                          station_id=station, clock=clock)
    logins = [
        _account(session, kms, username="courier.demo", org_id=ent, role="courier",
                 portal="courier", clock=clock, employee_id=emp_id,
                 display_name="Courier (demo)"),
        _account(session, kms, username="security.demo", org_id=ent, role="security_officer",
                 portal="enterprise", clock=clock, display_name="Security officer (demo)"),
        _account(session, kms, username="supervisor.demo", org_id=identity.SUPERVISOR_ORG_ID,
                 role="supervisor_admin", portal="supervisor", clock=clock,
                 display_name="Supervisor (demo)"),
        _account(session, kms, username="police.demo", org_id=POLICE_ORG,
                 role="police_investigator", portal="police", clock=clock,
                 display_name="Investigator (demo)"),
        _account(session, kms, username="auditor.demo", org_id=AUDITOR_ORG, role="auditor",
                 portal="auditor", clock=clock, display_name="Auditor (demo)"),
        _account(session, kms, username="cac.demo", org_id=CAC_ORG, role="cac_officer",
                 portal="cac", clock=clock, display_name="CAC duty officer (demo)"),
    ]
    session.flush()
    return Provisioned(logins, ent, assigned, unassigned, emp_id)


def current_code(login: Login, at: datetime) -> str:
    return totp.current_code(login.totp_secret, at)

