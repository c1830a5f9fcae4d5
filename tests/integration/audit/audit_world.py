"""The audit test world on a real database: one carrier (and a second one to prove
tenancy), a small roster, parcels sealed at intake with synthetic people (Faker
zh_CN), and helpers that write exactly the events and rows a control reads, so
each test can craft data that passes a control and then add what makes it fail."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from faker import Faker
from sqlalchemy.orm import Session

from parcelguard.audit.controls import evaluate_control, load_rulebook
from parcelguard.audit.model import PERIOD_TZ, ControlResult, Period, parse_period
from parcelguard.audit.rulebook import Control
from parcelguard.consent.models import ConsentRecord
from parcelguard.consent.notice import NoticeParams
from parcelguard.consent.service import publish_notice
from parcelguard.core.clock import ManualClock
from parcelguard.core.ids import new_id
from parcelguard.identity import service as identity
from parcelguard.identity.models import Account
from parcelguard.identity.permissions import Principal
from parcelguard.ledger.ingest import record_events
from parcelguard.logistics import service as logistics
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.logistics.rules import Window
from parcelguard.vault.facade import Vault
from parcelguard.vault.kms import InMemoryKms
from parcelguard.vault.service import VaultService

ENT, OTHER = "ent-a", "ent-b"
PERIOD = "2026-10-01..2026-10-08"
T0 = datetime(2026, 10, 1, 9, tzinfo=PERIOD_TZ)  # inside the period
NOW = datetime(2026, 10, 30, 9, tzinfo=PERIOD_TZ)  # after it, every deadline decided


@lru_cache(maxsize=1)
def _faker() -> Faker:
    return Faker("zh_CN")  # building the locale costs about a second; reseeded per use


@dataclass
class World:
    session: Session
    clock: ManualClock
    vault: VaultService
    kms: InMemoryKms
    admin: Principal
    period: Period
    waybills: list[str] = field(default_factory=list)
    senders: list[str] = field(default_factory=list)
    _seq: int = 0

    def control(self, control_id: str, **params: Any) -> Control:
        c = load_rulebook().get(control_id)
        return dataclasses.replace(c, params={**c.params, **params}) if params else c

    def check(self, control_id: str, **params: Any) -> ControlResult:
        self.session.flush()
        return evaluate_control(self.session, self.control(control_id, **params), ENT,
                                self.period, now=NOW)

    def event(self, kind: str, at: datetime, **fields: Any) -> str:
        self._seq += 1
        event_id = f"ev-{self._seq:06d}"
        doc = {"event_id": event_id, "kind": kind, "occurred_at": at.isoformat(),
               "enterprise_id": fields.pop("enterprise_id", ENT), **fields}
        record_events(self.session, [doc], clock_now=lambda: at)
        return event_id

    def access(self, at: datetime, actor: str, action: str = "reveal", *,
               waybill: str | None = None, outcome: str = "allowed",
               actor_type: str = "employee", purpose: str = "delivery",
               fields: tuple[str, ...] = ("recipient_phone",)) -> str:
        return self.event("access", at, actor_type=actor_type, actor_id=actor, action=action,
                          fields=list(fields), record_count=1 if outcome == "allowed" else 0,
                          purpose=purpose, outcome=outcome, channel="pda",
                          waybill_no=waybill or self.waybills[0])

    def roster(self, at: datetime, employee: str, change: str, **extra: Any) -> str:
        return self.event("employee", at, employee_id=employee, change=change, **extra)

    def hire(self, employee: str, *, check: str = "passed", trained: bool = True,
             at: datetime | None = None) -> None:
        clock = ManualClock(at or T0 - timedelta(days=30))
        logistics.hire_employee(self.session, self.admin, role="courier", station_id="st-1",
                                shift_start="08:00", shift_end="20:00", employee_id=employee,
                                clock=clock)
        if check != "pending":
            logistics.record_background_check(self.session, self.admin, employee_id=employee,
                                              result=check, clock=clock)
        if trained:
            logistics.record_training(self.session, self.admin, employee_id=employee,
                                      clock=clock)

    def assign(self, employee: str, waybill: str, start: datetime,
               hours: float = 8, purpose: str = "delivery") -> None:
        logistics.assign(self.session, self.admin, waybill_no=waybill, employee_id=employee,
                         purpose=purpose, window=Window(start, start + timedelta(hours=hours)),
                         clock=ManualClock(start))

    def parcels(self, n: int, *, created: datetime = T0, ent: str = ENT) -> list[str]:
        fake = _faker()
        fake.seed_instance(len(self.waybills) + 7)
        items, out = [], []
        for _ in range(n):
            wb = make_waybill_no("AU" if ent == ENT else "BU", len(self.waybills) + 1)
            sender = PartyIn(f"sub-s{len(self.waybills)}", fake.name(), fake.phone_number(),
                             fake.address(), fake.ssn())
            recipient = PartyIn(f"sub-r{len(self.waybills)}", fake.name(), fake.phone_number(),
                                fake.address())
            items.append(ParcelIn(waybill_no=wb, sender=sender, recipient=recipient,
                                  created_at=created, origin_station_id="st-1"
                                  if ent == ENT else None))
            self.waybills.append(wb)
            if ent == ENT:
                self.senders.append(sender.subject_id)
            out.append(wb)
        register_parcels(self.session, self.vault, enterprise_id=ent, parcels=items,
                         record_created=False)
        return out

    def auditors(self) -> dict[str, str]:
        """Two lead auditors per firm; returns username -> account id. Rows written
        directly: these tests never log in, and password hashing is slow."""
        out = {}
        for firm in ("firm-a", "firm-b"):
            for n in (1, 2):
                acc = Account(id=new_id("acc"), org_id=firm, username=f"{firm}-lead{n}",
                              password_hash="-", role="auditor", created_at=self.clock.now())
                self.session.add(acc)
                out[acc.username] = acc.id
        self.session.flush()
        return out

    def acknowledge(self, subject: str, at: datetime) -> None:
        self.session.add(ConsentRecord(enterprise_id=ENT, subject_id=subject, purpose="delivery",
                                       action="acknowledge", notice_version_id=None, at=at,
                                       channel="app", recorded_by="test"))


def make_world(session: Session) -> World:
    clock = ManualClock(T0 - timedelta(days=60))
    kms = InMemoryKms()
    for org, kind in ((identity.SUPERVISOR_ORG_ID, "supervisor"), (ENT, "enterprise"),
                      (OTHER, "enterprise"), ("firm-a", "auditor"), ("firm-b", "auditor")):
        identity.create_organization(session, org_id=org, kind=kind, name=org, clock=clock)
    admin = Principal(ENT, "enterprise", "enterprise_admin", account_id="acc-admin")
    logistics.create_station(session, admin, station_id="st-1", name="一号网点",
                             region_code="310115", clock=clock)
    w = World(session, clock, VaultService(Vault(kms)), kms, admin, parse_period(PERIOD))
    w.parcels(2)
    w.parcels(1, ent=OTHER)
    publish_notice(session, admin, params=NoticeParams(
        processor_name="甲快递", processor_contact="privacy@ent-a.example.com"),
        clock=ManualClock(T0 - timedelta(days=10)))
    for s in w.senders:
        w.acknowledge(s, T0)
    w.hire("emp-c")
    session.flush()
    return w
