"""The incidents test world on a real database: two carriers (one a critical-
information-infrastructure operator), a roster with on-call technicians, synthetic
people (Faker zh_CN) whose parcels are sealed at intake, an approved emergency plan,
and helpers that put access events in the ledger as evidence. A module of its own
(not conftest) so tests import its types by a unique name."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from faker import Faker
from sqlalchemy.orm import Session

from parcelguard.core.clock import ManualClock
from parcelguard.core.ids import new_id
from parcelguard.identity import service as identity
from parcelguard.identity.permissions import Principal
from parcelguard.incidents import plans
from parcelguard.incidents.model import Category
from parcelguard.incidents.notify import LocalSmsNotifier, Notifier, local_notifiers
from parcelguard.incidents.settings import IncidentSettings
from parcelguard.ledger.ingest import record_events
from parcelguard.logistics import service as logistics
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.vault.blind_index import normalize_phone
from parcelguard.vault.facade import Vault
from parcelguard.vault.kms import InMemoryKms
from parcelguard.vault.service import VaultService

T0 = datetime(2026, 11, 10, 6, 0, tzinfo=UTC)  # Tuesday 14:00 in Shanghai
ENT, CII = "ent-a", "ent-cii"
# Small grade thresholds so a handful of parcels reaches every grade.
SETTINGS = IncidentSettings(relatively_major_people=4, major_people=10,
                            particularly_major_people=100,
                            statutory_override="tests: small worlds grade at small numbers")

EMERGENCY: dict[str, Any] = {
    "playbooks": {c.value: [f"contain the {c.value.replace('_', ' ')}", "preserve evidence",
                            "brief the security officer"] for c in Category},
    "technicians": [
        {"employee_id": "emp-tech-day", "on_call": [
            {"weekdays": [0, 1, 2, 3, 4, 5, 6], "start": "08:00", "end": "20:00"}]},
        {"employee_id": "emp-tech-night", "on_call": [
            {"weekdays": [0, 1, 2, 3, 4, 5, 6], "start": "20:00", "end": "08:00"}]},
    ],
    "contacts": [{"role": "public contact", "unit": "甲快递客服", "reach": "95338"}],
    "reporting_chain": ["security officer", "CISO", "supervision department"],
}


@dataclass
class World:
    session: Session
    clock: ManualClock
    vault: VaultService
    admin: Principal  # ent-a security officer
    supervisor: Principal
    people: dict[str, PartyIn]
    waybills: list[str]  # ent-a's parcels, recipient sub-r{i}, sender sub-s{i}
    notifiers: dict[str, Notifier] = field(default_factory=dict)

    @property
    def sms(self) -> LocalSmsNotifier:
        n = self.notifiers["sms"]
        assert isinstance(n, LocalSmsNotifier)
        return n

    def access(self, waybills: list[str], *, actor: str = "emp-courier",
               actor_type: str = "employee", fields: tuple[str, ...] = ("recipient_phone",
                                                                        "recipient_address"),
               outcome: str = "allowed", action: str = "reveal", enterprise: str = ENT,
               record_count: int = 1) -> list[str]:
        """Access events on ``waybills`` (or one bulk event when the list is empty),
        stored in the ledger; returns their ids."""
        at = self.clock.now()
        docs = [{"event_id": new_id("ev"), "kind": "access", "occurred_at": at.isoformat(),
                 "enterprise_id": enterprise, "actor_type": actor_type, "actor_id": actor,
                 "action": action, "fields": list(fields), "waybill_no": wb,
                 "record_count": record_count, "purpose": "delivery", "outcome": outcome,
                 "channel": "pda"} for wb in (waybills or [None])]
        record_events(self.session, docs, clock_now=self.clock.now)
        return [str(d["event_id"]) for d in docs]

    def pi_strings(self) -> list[str]:
        out: list[str] = []
        for p in self.people.values():
            out += [p.name, p.address, normalize_phone(p.phone), normalize_phone(p.phone)[-8:]]
        return out


def make_world(session: Session, *, parcels: int = 12) -> World:
    clock = ManualClock(T0 - timedelta(days=2))
    identity.initialise(session, clock=clock)
    identity.create_organization(session, org_id=ENT, kind="enterprise", name="甲快递",
                                 clock=clock)
    identity.create_organization(session, org_id=CII, kind="enterprise", name="乙快递",
                                 clock=clock, is_cii=True)
    officer = Principal(ENT, "enterprise", "security_officer", account_id="acc-sec")
    admin = Principal(ENT, "enterprise", "enterprise_admin", account_id="acc-admin")
    supervisor = Principal("supervision", "supervisor", "supervisor_admin",
                           account_id="acc-sup")
    for ent in (ENT, CII):
        boss = Principal(ent, "enterprise", "enterprise_admin", account_id="acc-admin")
        logistics.create_station(session, boss, station_id=f"st-{ent}", name="一号网点",
                                 region_code="310115", clock=clock)
    for emp in ("emp-courier", "emp-tech-day", "emp-tech-night"):
        logistics.hire_employee(session, admin, role="courier" if emp == "emp-courier"
                                else "security", station_id=f"st-{ENT}", shift_start="08:00",
                                shift_end="20:00", employee_id=emp, clock=clock)
        logistics.record_background_check(session, admin, employee_id=emp, result="passed",
                                          clock=clock)
    fake = Faker("zh_CN")
    fake.seed_instance(6)
    people: dict[str, PartyIn] = {}
    vault = VaultService(Vault(InMemoryKms()))
    batch: list[ParcelIn] = []
    waybills = [make_waybill_no("SF", i + 1) for i in range(parcels)]
    for i, wb in enumerate(waybills):
        s = people[f"sub-s{i}"] = PartyIn(f"sub-s{i}", fake.name(), fake.phone_number(),
                                          fake.address(), fake.ssn())
        r = people[f"sub-r{i}"] = PartyIn(f"sub-r{i}", fake.name(), fake.phone_number(),
                                          fake.address())
        batch.append(ParcelIn(waybill_no=wb, sender=s, recipient=r, created_at=clock.now(),
                              origin_station_id=f"st-{ENT}",
                              destination_station_id=f"st-{ENT}",
                              destination_region="310115"))
    register_parcels(session, vault, enterprise_id=ENT, record_created=False, parcels=batch)
    # The CII carrier holds a few people too (bulk impact is capped by what it holds).
    register_parcels(session, vault, enterprise_id=CII, record_created=False, parcels=[
        ParcelIn(waybill_no=make_waybill_no("YT", i + 1),
                 sender=PartyIn(f"sub-cs{i}", fake.name(), fake.phone_number(),
                                fake.address(), fake.ssn()),
                 recipient=PartyIn(f"sub-cr{i}", fake.name(), fake.phone_number(),
                                   fake.address()),
                 created_at=clock.now(), destination_region="310115") for i in range(3)])
    plan = plans.submit_plan(session, officer, kind="emergency", content=EMERGENCY, clock=clock)
    plans.review_plan(session, supervisor, plan_id=plan.id, approve=True, clock=clock)
    clock.set(T0)
    return World(session, clock, vault, officer, supervisor, people, waybills,
                 notifiers=local_notifiers(vault))
