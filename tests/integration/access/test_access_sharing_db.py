"""Partner sharing through the gate on SQLite and PostgreSQL: refused without
separate consent or a processing contract, sealed to the partner's key with it,
every attempt recorded (one access event and one share row)."""

from __future__ import annotations

import base64
from datetime import timedelta

import msgspec
import pytest
from access_world import ENT, World
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import func, select

from parcelguard.access.waybills import sharing
from parcelguard.consent import service as consent
from parcelguard.consent.notice import NoticeParams, PartnerIn
from parcelguard.core.errors import InvalidInput
from parcelguard.waybill import partner_payload
from parcelguard.waybill.models import Partner, Share


def _partner(world: World, partner_id: str, relationship: str = "third_party", *,
             assessed: bool = True) -> X25519PrivateKey:
    private, public = partner_payload.generate_keypair()
    sharing.add_partner(world.session, enterprise_id=ENT, partner_id=partner_id,
                        name=f"{partner_id} 速运", relationship=relationship, public_key=public,
                        at=world.clock.now())
    if assessed:
        sharing.record_assessment(world.session, enterprise_id=ENT, partner_id=partner_id,
                                  fields=sharing.SHAREABLE_FIELDS, conclusion="necessary for "
                                  "delivery; risks limited by sealing and contracts",
                                  at=world.clock.now(), assessed_by="acc-admin")
    return private


def test_nothing_goes_to_a_partner_before_an_impact_assessment(world: World) -> None:
    _partner(world, "partner-z", assessed=False)
    assert _share(world, "partner-z").reason == "no_impact_assessment"
    sharing.record_assessment(world.session, enterprise_id=ENT, partner_id="partner-z",
                              fields=["recipient_name"], conclusion="name only: necessary "
                              "to hand over at the door", at=world.clock.now(),
                              assessed_by="acc-admin")
    # an assessment covers only the fields it assessed
    assert _share(world, "partner-z").reason == "no_impact_assessment"


def _share(world: World, partner_id: str,
           fields: tuple[str, ...] = sharing.LAST_MILE_FIELDS,
           waybill: str | None = None) -> sharing.ShareResult:
    """One attempt by the enterprise's administrator (the role that shares); the
    record of it, whose reason names the partner-basis refusal when there is one."""
    return world.gate().share(world.caller("admin", channel="web"),
                              waybill_no=waybill or world.waybills["p1"],
                              partner_id=partner_id, fields=fields).share


def _consent(world: World, subject: str, partner_id: str = "partner-b") -> None:
    consent.publish_notice(world.session, world.admin, clock=world.clock, params=NoticeParams(
        processor_name="甲快递有限公司", processor_contact="privacy@carrier-a.example.com",
        partners=(PartnerIn(id=partner_id, name="乙速运有限公司",
                            contact="dpo@partner-b.example.com",
                            purpose={"zh-CN": "末端派送", "en": "last-mile delivery"},
                            data_types=("name", "phone", "address")),)))
    consent.acknowledge_notice(world.session, world.admin, subject_id=subject, channel="sms",
                               clock=world.clock)
    consent.grant_consent(world.session, world.admin, subject_id=subject,
                          purpose=f"partner_sharing:{partner_id}", channel="app",
                          clock=world.clock)


def test_sharing_needs_the_recipients_separate_consent(world: World) -> None:
    key_b = _partner(world, "partner-b")
    refused = _share(world, "partner-b")
    assert not refused.allowed
    assert refused.reason.startswith("recipient_consent_")
    assert refused.payload is None

    _consent(world, "sub-bob")
    world.clock.advance(timedelta(minutes=1))
    shared = _share(world, "partner-b")
    assert (shared.allowed, shared.basis) == (True, "separate_consent")
    assert shared.payload is not None
    bob = world.people["sub-bob"]
    assert bob.phone.encode() not in shared.payload
    assert bob.name.encode() not in shared.payload

    opened = partner_payload.open_shared(shared.payload, key_b)
    assert opened.fields == {"recipient_name": bob.name, "recipient_phone": bob.phone,
                             "recipient_address": bob.address}
    assert opened.header["waybill_no"] == world.waybills["p1"]
    assert bob.phone not in repr(opened)

    # Sender fields are beyond what the role table lets anyone share, so the gate
    # refuses them first; the partner's basis would need the sender's consent too
    # (only Bob consented).
    both = _share(world, "partner-b", ("sender_name", "recipient_name"))
    assert (both.allowed, both.reason) == (False, "field_not_allowed")
    partner = world.session.get(Partner, (ENT, "partner-b"))
    reason, basis = sharing.partner_basis(
        world.session, partner, {"sender": "sub-alice", "recipient": "sub-bob"},
        ["recipient_name", "sender_name"], world.clock.now())
    assert (reason.split("_consent_")[0], basis) == ("sender", None)

    events = world.access_events()
    assert [(e["action"], e["outcome"], e["record_count"], e["actor_id"]) for e in events] == [
        ("share", "denied", 0, "emp-admin"), ("share", "allowed", 1, "emp-admin"),
        ("share", "denied", 0, "emp-admin")]
    assert events[1]["fields"] == sorted(sharing.LAST_MILE_FIELDS)
    assert [e["event_id"] for e in events] == [refused.event_id, shared.event_id,
                                               both.event_id]
    rows = world.session.scalars(select(Share).order_by(Share.at, Share.outcome)).all()
    assert sorted(r.outcome for r in rows) == ["allowed", "denied", "denied"]


def test_only_the_addressed_partner_can_open_and_tampering_fails(world: World) -> None:
    key_b = _partner(world, "partner-b")
    key_c = _partner(world, "partner-c")
    _consent(world, "sub-bob")
    payload = _share(world, "partner-b").payload
    assert payload is not None
    with pytest.raises(partner_payload.ShareOpenError, match="another partner"):
        partner_payload.open_shared(payload, key_c)

    doc = msgspec.json.decode(payload)
    moved = msgspec.json.encode({**doc, "waybill_no": world.waybills["p2"]})  # replayed elsewhere
    flipped = bytearray(base64.urlsafe_b64decode(doc["ct"]))
    flipped[-1] ^= 1
    altered = msgspec.json.encode({**doc, "ct": base64.urlsafe_b64encode(flipped).decode()})
    for bad in (moved, altered, b"{}", b"not json"):
        with pytest.raises(partner_payload.ShareOpenError):
            partner_payload.open_shared(bad, key_b)
    assert partner_payload.open_shared(payload, key_b).header["partner_id"] == "partner-b"


def test_tampered_payload_fails_for_the_right_key(world: World) -> None:
    key_b = _partner(world, "partner-b")
    _consent(world, "sub-bob")
    payload = _share(world, "partner-b").payload
    assert payload is not None
    doc = msgspec.json.decode(payload)
    with pytest.raises(partner_payload.ShareOpenError, match="altered"):
        partner_payload.open_shared(msgspec.json.encode({**doc, "partner_id": "partner-x"}), key_b)


def test_entrusted_processing_needs_a_contract_covering_the_fields(world: World) -> None:
    key = _partner(world, "outlet-7", relationship="entrusted")
    assert _share(world, "outlet-7").reason == "no_processing_contract"
    now = world.clock.now()
    sharing.record_contract(world.session, enterprise_id=ENT, partner_id="outlet-7",
                            reference="WT-2026-001", fields=["recipient_name", "recipient_phone"],
                            starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=30),
                            at=now, recorded_by="acc-admin")
    assert _share(world, "outlet-7").reason == "no_processing_contract"  # address not covered
    ok = _share(world, "outlet-7", ("recipient_name", "recipient_phone"))
    assert (ok.allowed, ok.basis) == (True, "processing_contract")
    assert ok.payload is not None
    assert set(partner_payload.open_shared(ok.payload, key).fields) == {"recipient_name",
                                                                         "recipient_phone"}
    _partner(world, "partner-b")  # a separate processor: consent, never a contract
    with pytest.raises(InvalidInput, match="separate consent"):
        sharing.record_contract(world.session, enterprise_id=ENT, partner_id="partner-b",
                                reference="x", fields=["recipient_name"], starts_at=now,
                                ends_at=now + timedelta(days=1), at=now, recorded_by="a")


def test_bad_input_is_refused_and_records_nothing(world: World) -> None:
    _partner(world, "partner-b")
    for fields in ((), ("sender_id_number",), ("email",)):
        with pytest.raises(InvalidInput):
            _share(world, "partner-b", fields)
    with pytest.raises(InvalidInput):
        _share(world, "partner-b", waybill="13812345678")
    assert world.access_events() == []
    assert world.session.scalar(select(func.count()).select_from(Share)) == 0
    nobody = world.gate().share(world.caller("admin"), waybill_no=world.waybills["p1"],
                                partner_id="nobody")
    assert (nobody.reason, nobody.share.reason) == ("partner_unknown", "unknown_partner")
    assert len(world.access_events()) == 1  # a real attempt: recorded
