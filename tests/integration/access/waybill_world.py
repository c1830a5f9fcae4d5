"""The waybill test world on a real database: two enterprises, a station with two
couriers, synthetic people (Faker zh_CN), one parcel assigned to courier 1 for
delivery, the default notice naming partner-b, a vault with an in-memory KMS and
the local telephony simulator. A module of its own (not conftest) so tests can
import its types by a unique name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from faker import Faker
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.consent import service as consent
from parcelguard.consent.notice import NoticeParams, PartnerIn
from parcelguard.core.clock import ManualClock
from parcelguard.identity import service as identity
from parcelguard.identity.permissions import Principal
from parcelguard.ledger.models import LedgerEvent
from parcelguard.logistics import service as logistics
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.logistics.models import Assignment
from parcelguard.logistics.rules import Window
from parcelguard.vault.facade import Vault
from parcelguard.vault.kms import InMemoryKms
from parcelguard.vault.service import VaultService
from parcelguard.waybill.telephony import LocalTelephony

T0 = datetime(2026, 11, 11, 9, 0, tzinfo=UTC)
WINDOW = timedelta(hours=8)
PARTNER_B = PartnerIn(id="partner-b", name="乙速运有限公司", contact="dpo@partner-b.example.com",
                      purpose={"zh-CN": "末端派送", "en": "last-mile delivery"},
                      data_types=("name", "phone", "address"))


@dataclass
class World:
    session: Session
    clock: ManualClock
    vault: VaultService
    tel: LocalTelephony
    admin: Principal
    courier: str
    other_courier: str
    people: dict[str, PartyIn]
    waybill: str
    assignment: Assignment

    def parcel(self, serial: int, sender: str = "sub-alice", recipient: str = "sub-bob",
               enterprise: str = "ent-a") -> str:
        """Register one more parcel (PI sealed at intake); returns its waybill number."""
        waybill = make_waybill_no("SF", serial)
        register_parcels(self.session, self.vault, enterprise_id=enterprise,
                         record_created=False,
                         parcels=[ParcelIn(waybill_no=waybill, sender=self.people[sender],
                                           recipient=self.people[recipient],
                                           created_at=self.clock.now(),
                                           destination_region="310115")])
        return waybill

    def assign(self, waybill: str, courier: str, start: datetime | None = None) -> Assignment:
        start = start or self.clock.now()
        return logistics.assign(self.session, self.admin, waybill_no=waybill,
                                employee_id=courier, purpose="delivery",
                                window=Window(start, start + WINDOW), clock=self.clock)

    def access_events(self, action: str) -> list[dict[str, Any]]:
        leaves = self.session.scalars(select(LedgerEvent.leaf).where(
            LedgerEvent.enterprise_id == "ent-a", LedgerEvent.kind == "access")
            .order_by(LedgerEvent.seq))
        return [e for e in map(msgspec.json.decode, leaves) if e["action"] == action]


def make_world(session: Session) -> World:
    clock = ManualClock(T0)
    identity.initialise(session, clock=clock)
    for org in ("ent-a", "ent-b"):
        identity.create_organization(session, org_id=org, kind="enterprise", name=f"{org}快递",
                                     clock=clock)
    admin = Principal("ent-a", "enterprise", "enterprise_admin", account_id="acc-a")
    logistics.create_station(session, admin, station_id="st-a1", name="浦东一站",
                             region_code="310115", clock=clock)
    couriers = [logistics.hire_employee(session, admin, role="courier", station_id="st-a1",
                                        shift_start="08:00", shift_end="18:00",
                                        employee_id=f"emp-c{i}", clock=clock).id
                for i in (1, 2)]
    fake = Faker("zh_CN")
    fake.seed_instance(20261111)
    people = {s: PartyIn(subject_id=s, name=fake.name(), phone=fake.phone_number(),
                         address=fake.address())
              for s in ("sub-alice", "sub-bob", "sub-carol")}
    consent.publish_notice(session, admin, params=NoticeParams(
        processor_name="甲快递有限公司", processor_contact="privacy@carrier-a.example.com",
        partners=(PARTNER_B,)), clock=clock)
    w = World(session=session, clock=clock, vault=VaultService(Vault(InMemoryKms())),
              tel=LocalTelephony(), admin=admin, courier=couriers[0],
              other_courier=couriers[1], people=people, waybill="",
              assignment=None)  # type: ignore[arg-type]
    w.waybill = w.parcel(1)
    w.assignment = w.assign(w.waybill, w.courier)
    return w
