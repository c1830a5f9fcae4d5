"""A small carrier on a real database for the channel and conduct tests: two outlets,
six couriers, a nosy clerk, 240 parcels sealed at intake, each delivered inside an
assignment, and the clerk's 60 look-ups outside any assignment, 15 of whose
recipients later get scam calls. Two police organisations and the supervision
department. Synthetic data only (Faker zh_CN)."""

from __future__ import annotations

import base64
import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from faker import Faker
from sqlalchemy.orm import Session

from parcelguard.channel.referrals import Deps
from parcelguard.channel.settings import ChannelSettings
from parcelguard.conduct.settings import ConductSettings
from parcelguard.core.clock import ManualClock
from parcelguard.core.ids import new_id
from parcelguard.identity import service as identity
from parcelguard.identity.permissions import Principal
from parcelguard.ledger.ingest import record_events
from parcelguard.ledger.signing import KeyWrapper
from parcelguard.logistics import service as logistics
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.logistics.models import Assignment
from parcelguard.vault.facade import Vault
from parcelguard.vault.kms import InMemoryKms
from parcelguard.vault.service import VaultService

T0 = datetime(2026, 11, 11, 1, 0, tzinfo=UTC)
ENT = "ent-a"
POLICE, OTHER_POLICE = "police-sh", "police-bj"
COURIERS = [f"emp-c{i}" for i in range(6)]
INSIDER = "emp-nosy"


@dataclass
class World:
    session: Session
    clock: ManualClock
    vault: VaultService
    kms: KeyWrapper
    waybills: list[str]
    courier_of: dict[str, str]
    victims: list[str]  # waybills whose recipients got scam calls
    recipients: dict[str, PartyIn] = field(repr=False)
    channel: ChannelSettings = field(default_factory=ChannelSettings)
    conduct: ConductSettings = field(default_factory=ConductSettings)

    @property
    def deps(self) -> Deps:
        return Deps(kms=self.kms, clock=self.clock, settings=self.channel)

    def staff(self, role: str = "security_officer") -> Principal:
        return Principal(ENT, "enterprise", role, account_id=f"acc-{role}")

    def police(self, org: str = POLICE) -> Principal:
        return Principal(org, "police", "police_investigator", account_id=f"acc-{org}")

    def supervisor(self) -> Principal:
        return Principal("supervision", "supervisor", "supervisor_admin", account_id="acc-sup")


def _access(waybill: str, actor: str, at: datetime, station: str) -> dict[str, Any]:
    return {"event_id": new_id("ev"), "kind": "access", "occurred_at": at.isoformat(),
            "enterprise_id": ENT, "actor_type": "employee", "actor_id": actor,
            "station_id": station, "action": "reveal",
            "fields": ["recipient_address", "recipient_phone"], "waybill_no": waybill,
            "record_count": 1, "purpose": "delivery", "outcome": "allowed",
            "device_id": None, "ip": None, "channel": "pda"}


def make_world(session: Session, *, parcels: int = 240,
               vault: VaultService | None = None) -> World:
    clock = ManualClock(T0)
    identity.initialise(session, clock=clock)
    identity.create_organization(session, org_id=ENT, kind="enterprise", name="甲快递",
                                 clock=clock)
    for org in (POLICE, OTHER_POLICE):
        identity.create_organization(session, org_id=org, kind="police",
                                     name=f"{org} 网安支队", clock=clock)
    admin = Principal(ENT, "enterprise", "enterprise_admin", account_id="acc-admin")
    for st in ("st-1", "st-2"):
        logistics.create_station(session, admin, station_id=st, name=st, region_code="310115",
                                 clock=clock)
    for i, emp in enumerate([*COURIERS, INSIDER]):
        logistics.hire_employee(session, admin, role="courier" if emp != INSIDER else
                                "customer_service", station_id=f"st-{i % 2 + 1}",
                                shift_start="08:00", shift_end="20:00", employee_id=emp,
                                clock=clock)
        logistics.record_background_check(session, admin, employee_id=emp, result="passed",
                                          clock=clock)
    fake = Faker("zh_CN")
    fake.seed_instance(11)
    rng = random.Random(11)
    sender = PartyIn("sub-shop", fake.company(), fake.phone_number(), fake.address())
    recipients: dict[str, PartyIn] = {}
    items, waybills = [], []
    for i in range(parcels):
        wb = make_waybill_no("SF", 1000 + i)
        person = PartyIn(f"sub-{i}", fake.name(), fake.phone_number(), fake.address())
        recipients[wb] = person
        waybills.append(wb)
        items.append(ParcelIn(waybill_no=wb, sender=sender, recipient=person,
                              created_at=T0 - timedelta(days=1), origin_station_id="st-1",
                              destination_station_id=f"st-{i % 2 + 1}"))
    vault = vault or VaultService(Vault(InMemoryKms()))
    register_parcels(session, vault, enterprise_id=ENT, parcels=items)
    courier_of: dict[str, str] = {}
    assignments, events = [], []
    for i, wb in enumerate(waybills):
        station = f"st-{i % 2 + 1}"
        courier = rng.choice([c for j, c in enumerate(COURIERS) if j % 2 == i % 2])
        courier_of[wb] = courier
        start = T0 + timedelta(minutes=i)
        assignments.append((new_id("asg"), ENT, courier, wb, "delivery", start,
                            start + timedelta(hours=8), False))
        events.append(_access(wb, courier, start + timedelta(minutes=5), station))
    session.add_all(Assignment(id=a[0], enterprise_id=a[1], employee_id=a[2], waybill_no=a[3],
                               purpose=a[4], starts_at=a[5], ends_at=a[6], revoked=a[7])
                    for a in assignments)
    session.flush()
    looked_up = rng.sample(waybills, min(60, parcels // 2))
    for j, wb in enumerate(looked_up):
        events.append(_access(wb, INSIDER, T0 + timedelta(hours=20, minutes=j), "st-1"))
    record_events(session, events, clock_now=clock.now)
    clock.set(T0 + timedelta(days=2))
    victims = rng.sample(looked_up, min(15, len(looked_up)))
    return World(session, clock, vault, vault.vault.kms, waybills, courier_of, victims,
                 recipients)


# -- an independent verifier: RFC 9162 and C2SP signed notes from the specs, sharing no
# code with parcelguard.ledger ---------------------------------------------------------


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _root_from_proof(leaf: bytes, index: int, size: int, proof: list[bytes]) -> bytes | None:
    """RFC 9162 section 2.1.3.2, step by step."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, _h(b"\x00" + leaf)
    for p in proof:
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            r = _h(b"\x01" + p + r)
            while fn % 2 == 0 and fn != 0:
                fn //= 2
                sn //= 2
        else:
            r = _h(b"\x01" + r + p)
        fn //= 2
        sn //= 2
    return r if sn == 0 else None


def independently_verified(package: dict[str, Any], verifier_key: str) -> int:
    """Check the note's Ed25519 signature and every inclusion proof from scratch;
    returns the number of events verified, raises AssertionError otherwise."""
    name, key_hash_hex, key_b64 = verifier_key.split("+", 2)
    raw = base64.b64decode(key_b64)
    assert raw[0] == 1
    assert len(raw) == 33
    public = Ed25519PublicKey.from_public_bytes(raw[1:])
    text, _, sigs = package["checkpoint"].partition("\n\n")
    text += "\n"
    ours = [line for line in sigs.splitlines() if line.startswith(f"\u2014 {name} ")]
    assert ours, "no signature by the enterprise's key"
    blob = base64.b64decode(ours[0].rsplit(" ", 1)[1])
    assert blob[:4].hex() == key_hash_hex
    try:
        public.verify(blob[4:], text.encode())
    except InvalidSignature:
        raise AssertionError("checkpoint signature does not verify") from None
    origin, size, root_b64 = text.splitlines()[:3]
    assert origin == name
    root = base64.b64decode(root_b64)
    for ev in package["events"]:
        leaf = base64.b64decode(ev["leaf"])
        proof = [base64.b64decode(p) for p in ev["inclusion"]]
        assert _root_from_proof(leaf, ev["leaf_index"], int(size), proof) == root, \
            f"leaf {ev['leaf_index']} is not in the signed tree"
    return len(package["events"])
