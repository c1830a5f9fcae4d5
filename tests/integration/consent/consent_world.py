"""The consent test world on a real database: two enterprises, their principals, a
vault with an in-memory KMS, synthetic people (Faker zh_CN) and the default notice.
A module of its own (not conftest) so tests can import its types by a unique name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from faker import Faker
from sqlalchemy.orm import Session

from parcelguard.consent import service
from parcelguard.consent.notice import NoticeParams, PartnerIn
from parcelguard.core.clock import ManualClock
from parcelguard.identity import service as identity
from parcelguard.identity.permissions import Principal
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.vault.facade import Vault
from parcelguard.vault.kms import InMemoryKms
from parcelguard.vault.service import VaultService

T0 = datetime(2026, 11, 11, 9, 0, tzinfo=UTC)
PARTNER_B = PartnerIn(id="partner-b", name="乙速运有限公司", contact="dpo@partner-b.example.com",
                      purpose={"zh-CN": "末端派送", "en": "last-mile delivery"},
                      data_types=("name", "phone", "address"))


def notice_params(**over: Any) -> NoticeParams:
    base: dict[str, Any] = {"processor_name": "甲快递有限公司",
                               "processor_contact": "privacy@carrier-a.example.com",
                               "partners": (PARTNER_B,)}
    base.update(over)
    return NoticeParams(**base)


@dataclass
class World:
    session: Session
    clock: ManualClock
    vault: VaultService
    admin_a: Principal
    admin_b: Principal
    courier_a: Principal
    people: dict[str, PartyIn]

    def parcel(self, serial: int, sender: str, recipient: str,
               enterprise: str = "ent-a") -> str:
        """Register one parcel (PI sealed at intake) and return its id."""
        (pid,) = register_parcels(
            self.session, self.vault, enterprise_id=enterprise, record_created=False,
            parcels=[ParcelIn(waybill_no=make_waybill_no("SF", serial),
                              sender=self.people[sender], recipient=self.people[recipient],
                              created_at=self.clock.now(), destination_region="310115")])
        return pid


def _person(fake: Faker, subject_id: str, sender: bool) -> PartyIn:
    return PartyIn(subject_id=subject_id, name=fake.name(), phone=fake.phone_number(),
                   address=fake.address(), id_number=fake.ssn() if sender else None)


def make_world(session: Session) -> World:
    clock = ManualClock(T0)
    identity.initialise(session, clock=clock)
    for org in ("ent-a", "ent-b"):
        identity.create_organization(session, org_id=org, kind="enterprise", name=org,
                                     clock=clock)
    fake = Faker("zh_CN")
    fake.seed_instance(20261111)
    w = World(
        session=session, clock=clock, vault=VaultService(Vault(InMemoryKms())),
        admin_a=Principal("ent-a", "enterprise", "enterprise_admin", account_id="acc-a"),
        admin_b=Principal("ent-b", "enterprise", "enterprise_admin", account_id="acc-b"),
        courier_a=Principal("ent-a", "enterprise", "courier", account_id="acc-courier"),
        people={s: _person(fake, s, sender=True)
                for s in ("sub-alice", "sub-bob", "sub-carol")})
    service.publish_notice(session, w.admin_a, params=notice_params(), clock=clock)
    return w
