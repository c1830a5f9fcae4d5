"""The access-gate test world on a real database: one carrier with two stations, a
roster covering every standing the gate distinguishes, synthetic people (Faker
zh_CN), parcels sealed at intake and assignments. A module of its own (not conftest)
so tests can import its types by a unique name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from faker import Faker
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.access.caller import Caller, caller_for_employee
from parcelguard.access.service import AccessGate
from parcelguard.core.clock import ManualClock
from parcelguard.identity import service as identity
from parcelguard.identity.permissions import Principal
from parcelguard.ledger.models import LedgerEvent
from parcelguard.logistics import service as logistics
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.logistics.models import Assignment
from parcelguard.logistics.rules import Window
from parcelguard.vault.blind_index import normalize_phone
from parcelguard.vault.facade import Vault
from parcelguard.vault.kms import InMemoryKms
from parcelguard.vault.service import VaultService

T0 = datetime(2026, 11, 11, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
ENT = "ent-a"

# name -> (roster role, station, background check, leaves)
ROSTER: dict[str, tuple[str, str, str, bool]] = {
    "courier": ("courier", "st-1", "passed", False),
    "courier2": ("courier", "st-1", "passed", False),
    "cs": ("customer_service", "st-1", "passed", False),
    "cs2": ("customer_service", "st-2", "passed", False),
    "security": ("security", "st-1", "passed", False),
    "sorter": ("sorter", "st-1", "passed", False),
    "warehouse": ("warehouse", "st-1", "passed", False),
    "admin": ("admin", "st-1", "passed", False),
    "pending": ("courier", "st-1", "pending", False),
    "failed": ("courier", "st-1", "failed", False),
    "gone": ("courier", "st-1", "passed", True),
}


@dataclass
class World:
    session: Session
    clock: ManualClock
    vault: VaultService
    admin: Principal
    people: dict[str, PartyIn]
    waybills: dict[str, str]  # label -> waybill number

    def gate(self) -> AccessGate:
        return AccessGate(self.session, self.vault, self.clock)

    def caller(self, name: str, **kw: Any) -> Caller:
        return caller_for_employee(ENT, f"emp-{name}", ROSTER[name][0], **kw)

    def assign(self, name: str, waybill: str, purpose: str, *,
               start: timedelta = timedelta(0),
               length: timedelta = timedelta(hours=8)) -> Assignment:
        now = self.clock.now()
        return logistics.assign(self.session, self.admin, waybill_no=self.waybills[waybill],
                                employee_id=f"emp-{name}", purpose=purpose,
                                window=Window(now + start, now + start + length),
                                clock=self.clock)

    def pi_strings(self) -> list[str]:
        """Every PI value of the world, and phone digits however written."""
        out: list[str] = []
        for p in self.people.values():
            out += [p.name, p.address, normalize_phone(p.phone), normalize_phone(p.phone)[-8:]]
            if p.id_number:
                out.append(p.id_number)
        return out

    def access_events(self) -> list[dict[str, Any]]:
        """The enterprise's access events in log order, decoded from their leaves,
        each checked to carry no PI value."""
        leaves = self.session.scalars(select(LedgerEvent.leaf).where(
            LedgerEvent.enterprise_id == ENT, LedgerEvent.kind == "access")
            .order_by(LedgerEvent.seq))
        events = []
        for leaf in leaves:
            text = bytes(leaf).decode()
            leaked = [i for i, v in enumerate(self.pi_strings()) if v and v in text]
            assert not leaked, f"PI value #{leaked[0]} found in an access event leaf"
            events.append(msgspec.json.decode(leaf))
        return events


def _person(fake: Faker, subject_id: str) -> PartyIn:
    return PartyIn(subject_id=subject_id, name=fake.name(), phone=fake.phone_number(),
                   address=fake.address(), id_number=fake.ssn())


def make_world(session: Session) -> World:
    clock = ManualClock(T0)
    identity.initialise(session, clock=clock)
    identity.create_organization(session, org_id=ENT, kind="enterprise", name="甲快递",
                                 clock=clock)
    admin = Principal(ENT, "enterprise", "enterprise_admin", account_id="acc-admin")
    for st in ("st-1", "st-2"):
        logistics.create_station(session, admin, station_id=st, name=st, region_code="310115",
                                 clock=clock)
    for name, (role, station, check, leaves) in ROSTER.items():
        logistics.hire_employee(session, admin, role=role, station_id=station,
                                shift_start="08:00", shift_end="20:00",
                                employee_id=f"emp-{name}", clock=clock)
        if check != "pending":
            logistics.record_background_check(session, admin, employee_id=f"emp-{name}",
                                              result=check, clock=clock)
        if leaves:
            logistics.employee_left(session, admin, employee_id=f"emp-{name}", clock=clock)
    fake = Faker("zh_CN")
    fake.seed_instance(4)
    people = {s: _person(fake, s) for s in ("sub-alice", "sub-bob", "sub-carol", "sub-dan")}
    vault = VaultService(Vault(InMemoryKms()))
    plan = {"p1": ("sub-alice", "sub-bob", "st-1"), "p2": ("sub-carol", "sub-dan", "st-1"),
            "p3": ("sub-alice", "sub-dan", "st-2")}
    waybills = {label: make_waybill_no("SF", i + 1) for i, label in enumerate(plan)}
    register_parcels(session, vault, enterprise_id=ENT, record_created=False, parcels=[
        ParcelIn(waybill_no=waybills[label], sender=people[s], recipient=people[r],
                 created_at=T0, origin_station_id="st-2", destination_station_id=st,
                 destination_region="310115")
        for label, (s, r, st) in plan.items()])
    return World(session, clock, vault, admin, people, waybills)
