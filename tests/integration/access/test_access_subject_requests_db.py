"""Data-subject requests on real SQLite and PostgreSQL: export, correction,
erasure with its retention rule, and tenancy (the lifecycle from
``consent.subject_requests``, the fulfilment from ``access.subject_requests``)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.integration.consent.consent_world import World, make_world

from parcelguard.access.subjects import requests as fulfilment
from parcelguard.consent import service, subject_requests
from parcelguard.consent.dsr import REAL_NAME_RETENTION_DAYS
from parcelguard.core.errors import Conflict, DomainError, InvalidInput, NotFound
from parcelguard.ledger.ingest import record_events
from parcelguard.ledger.models import LedgerEvent
from parcelguard.logistics.models import Parcel

FIELDS = ("name", "phone", "address")


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session)


def _open(world: World, subject: str, kind: str) -> str:
    return subject_requests.open_request(world.session, world.admin_a, subject_id=subject,
                                         kind=kind, channel="counter", clock=world.clock).id


def _parcel(session: Session, pid: str) -> Parcel:
    p = session.get(Parcel, pid)
    assert p is not None
    return p


def _fields(world: World, pid: str, role: str, subject: str) -> list[str | None]:
    p = _parcel(world.session, pid)
    return world.vault.open(world.session, "ent-a", [
        (subject, pid, f"{role}_{f}", getattr(p, f"{role}_{f}_ct")) for f in FIELDS])


def _step_all(world: World, step: str) -> None:
    """Every parcel reports ``step`` now, through the event stream like a carrier's."""
    record_events(world.session, [
        {"event_id": f"ev-{step}-{p.waybill_no}", "kind": "parcel",
         "occurred_at": world.clock.now().isoformat(), "enterprise_id": p.enterprise_id,
         "waybill_no": p.waybill_no, "step": step}
        for p in world.session.scalars(select(Parcel))], clock_now=world.clock.now)


@pytest.fixture
def parcels(world: World) -> dict[str, str]:
    """alice sends to bob; carol sends to alice; bob sends to carol (alice not on it)."""
    return {"alice_to_bob": world.parcel(1, "sub-alice", "sub-bob"),
            "carol_to_alice": world.parcel(2, "sub-carol", "sub-alice"),
            "bob_to_carol": world.parcel(3, "sub-bob", "sub-carol")}


def test_export_holds_only_the_persons_own_data(session: Session, world: World,
                                                parcels: dict[str, str]) -> None:
    rid = _open(world, "sub-alice", "access")
    export = fulfilment.fulfil_access(session, world.admin_a, world.vault,
                                      request_id=rid, clock=world.clock)
    alice, bob, carol = (world.people[s] for s in ("sub-alice", "sub-bob", "sub-carol"))
    by_waybill = {p["waybill_no"]: p["roles"] for p in export.data["parcels"]}
    assert len(by_waybill) == 2  # not bob -> carol
    sent, received = (next(r for r in by_waybill.values() if role in r)
                      for role in ("sender", "recipient"))
    assert sent["sender"] == {"name": alice.name, "phone": alice.phone,
                              "address": alice.address, "id_number": alice.id_number}
    assert "recipient" not in sent  # bob's details on alice's parcel are bob's, not hers
    assert received["recipient"] == {"name": alice.name, "phone": alice.phone,
                                     "address": alice.address}
    dumped = json.dumps(export.data, ensure_ascii=False)
    for other in (bob, carol):
        assert other.name not in dumped
        assert other.phone not in dumped
    assert "PI hidden" in repr(export)
    row = subject_requests.get_request(session, world.admin_a, rid)
    assert row.status == "completed"
    assert export.data["requests"] == [{"id": rid, "kind": "access", "status": "completed",
                                        "received_at": row.received_at.isoformat()}]
    # the decryption is visible to supervision as an event with ids and field names only
    leaves = [e.leaf for e in session.scalars(select(LedgerEvent).where(
        LedgerEvent.enterprise_id == "ent-a"))]
    assert any(b'"action":"export"' in leaf for leaf in leaves)
    assert not any(alice.phone.encode() in leaf or alice.name.encode() in leaf
                   for leaf in leaves)


def test_erasure_shreds_the_person_and_spares_everyone_else(
        session: Session, world: World, parcels: dict[str, str]) -> None:
    world.clock.advance(timedelta(days=REAL_NAME_RETENTION_DAYS + 1))
    _step_all(world, "closed")
    service.grant_consent(session, world.admin_a, subject_id="sub-alice", purpose="marketing",
                          channel="app", clock=world.clock)
    rid = _open(world, "sub-alice", "deletion")
    row = fulfilment.fulfil_deletion(session, world.admin_a, world.vault,
                                     request_id=rid, clock=world.clock)
    assert row.status == "completed"
    assert "crypto-shredded 1 key(s)" in row.result_note
    assert _fields(world, parcels["alice_to_bob"], "sender", "sub-alice") == [None] * 3
    assert _fields(world, parcels["carol_to_alice"], "recipient", "sub-alice") == [None] * 3
    bob, carol = world.people["sub-bob"], world.people["sub-carol"]
    assert _fields(world, parcels["alice_to_bob"], "recipient", "sub-bob") == [
        bob.name, bob.phone, bob.address]
    assert _fields(world, parcels["carol_to_alice"], "sender", "sub-carol") == [
        carol.name, carol.phone, carol.address]
    # her phone can no longer find her parcels; bob's still finds his
    alice_to_bob = _parcel(session, parcels["alice_to_bob"])
    carol_to_alice = _parcel(session, parcels["carol_to_alice"])
    assert alice_to_bob.sender_phone_bi is None
    assert carol_to_alice.recipient_phone_bi is None
    assert carol_to_alice.recipient_phone_last4_bi is None
    assert alice_to_bob.recipient_phone_bi == world.vault.phone_indexes(
        session, "ent-a", bob.phone)[0]
    assert not service.consent_allows(session, "ent-a", "sub-alice", "marketing",
                                      world.clock.now())
    # an access request afterwards says so, and decrypts nothing
    later = fulfilment.fulfil_access(session, world.admin_a, world.vault,
                                     request_id=_open(world, "sub-alice", "access"),
                                     clock=world.clock)
    assert later.data["erased"] is True
    assert all(v is None for p in later.data["parcels"] for r in p["roles"].values()
               for v in r.values())


def test_deletion_waits_for_delivery_then_for_real_name_retention(
        session: Session, world: World, parcels: dict[str, str]) -> None:
    c, a = world.clock, world.admin_a
    service.grant_consent(session, a, subject_id="sub-alice", purpose="marketing",
                          channel="app", clock=c)
    _step_all(world, "arrived")
    rid = _open(world, "sub-alice", "deletion")
    # from the request on, only storage and delivery go on (Art. 47 para. 2)
    assert not service.consent_allows(session, "ent-a", "sub-alice", "marketing", c.now())
    row = fulfilment.fulfil_deletion(session, a, world.vault, request_id=rid, clock=c)
    assert (row.status, row.deferred_until) == ("deferred", None)
    assert "still being delivered" in row.result_note
    alice = world.people["sub-alice"]
    assert _fields(world, parcels["alice_to_bob"], "sender", "sub-alice")[0] == alice.name

    c.advance(timedelta(days=3))
    _step_all(world, "delivered")
    [row] = fulfilment.resume_deferred(session, a, world.vault, clock=c)
    assert row.status == "deferred"
    assert row.deferred_until == _parcel(session, parcels["alice_to_bob"]).created_at + \
        timedelta(days=REAL_NAME_RETENTION_DAYS)
    assert "real-name" in row.result_note

    c.set(row.deferred_until + timedelta(seconds=1))
    [row] = fulfilment.resume_deferred(session, a, world.vault, clock=c)
    assert row.status == "completed"
    assert _fields(world, parcels["alice_to_bob"], "sender", "sub-alice") == [None] * 3


def test_correction_reseals_one_own_field_and_its_index(
        session: Session, world: World, parcels: dict[str, str]) -> None:
    pid = parcels["alice_to_bob"]
    waybill = _parcel(session, pid).waybill_no
    new_phone = "13900001111"
    rid = _open(world, "sub-bob", "correction")
    before = _parcel(session, pid).recipient_phone_ct
    with pytest.raises(InvalidInput, match="not the sender"):
        fulfilment.fulfil_correction(session, world.admin_a, world.vault, request_id=rid,
                                     waybill_no=waybill, field="sender_phone",
                                     value=new_phone, clock=world.clock)
    with pytest.raises(InvalidInput, match="recipient_phone: not a phone number"):
        fulfilment.fulfil_correction(session, world.admin_a, world.vault, request_id=rid,
                                     waybill_no=waybill, field="recipient_phone",
                                     value="12", clock=world.clock)
    assert _parcel(session, pid).recipient_phone_ct == before
    row = fulfilment.fulfil_correction(
        session, world.admin_a, world.vault, request_id=rid, waybill_no=waybill,
        field="recipient_phone", value=new_phone, clock=world.clock)
    assert row.status == "completed"
    assert new_phone not in row.result_note
    assert _fields(world, pid, "recipient", "sub-bob")[1] == new_phone
    full, last4 = world.vault.phone_indexes(session, "ent-a", new_phone)
    p = _parcel(session, pid)
    assert (p.recipient_phone_bi, p.recipient_phone_last4_bi) == (full, last4)


def test_lifecycle_rules_hold_through_the_service(session: Session, world: World) -> None:
    rid = _open(world, "sub-carol", "access")
    with pytest.raises(Conflict, match="already open"):
        _open(world, "sub-carol", "access")
    with pytest.raises(Conflict, match="not deletion"):
        fulfilment.fulfil_deletion(session, world.admin_a, world.vault, request_id=rid,
                                   clock=world.clock)
    with pytest.raises(DomainError, match="needs a reason"):
        subject_requests.reject_request(session, world.admin_a, request_id=rid, reason=" ",
                                        clock=world.clock)
    world.clock.advance(timedelta(days=30))
    overdue = subject_requests.list_requests(session, world.admin_a, clock=world.clock,
                                             overdue=True)
    assert [r.id for r in overdue] == [rid]
    subject_requests.reject_request(session, world.admin_a, request_id=rid,
                                    reason="identity could not be verified", clock=world.clock)
    assert subject_requests.list_requests(session, world.admin_a, clock=world.clock,
                                          overdue=True) == []
    with pytest.raises(Conflict, match="cannot become in_progress"):
        subject_requests.start_request(session, world.admin_a, request_id=rid,
                                       clock=world.clock)


def test_another_enterprise_sees_nothing(session: Session, world: World,
                                         parcels: dict[str, str]) -> None:
    rid = _open(world, "sub-alice", "access")
    b = world.admin_b
    with pytest.raises(NotFound):
        subject_requests.get_request(session, b, rid)
    with pytest.raises(NotFound):
        fulfilment.fulfil_access(session, b, world.vault, request_id=rid,
                                 clock=world.clock)
    assert subject_requests.list_requests(session, b, clock=world.clock) == []
    own = subject_requests.open_request(session, b, subject_id="sub-alice", kind="access",
                                        channel="web", clock=world.clock)
    export = fulfilment.fulfil_access(session, b, world.vault, request_id=own.id,
                                      clock=world.clock)
    assert export.data["parcels"] == []  # ent-a's parcels are not ent-b's to show
    assert subject_requests.get_request(session, world.admin_a, rid).status == "received"
