"""Printing labels and sharing with partners through the gate on real SQLite and
PostgreSQL: one decision and one access event per attempt."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from access_world import ENT, World

from parcelguard.access.waybills.sharing import add_partner, record_assessment, record_contract
from parcelguard.waybill.partner_payload import generate_keypair, open_shared
from parcelguard.waybill.telephony import LocalTelephony


@pytest.fixture
def telephony() -> LocalTelephony:
    return LocalTelephony()


def test_an_assigned_sorter_prints_the_masked_label(world: World,
                                                    telephony: LocalTelephony) -> None:
    world.assign("sorter", "p1", "sorting")
    out = world.gate().print_label(world.caller("sorter"), waybill_no=world.waybills["p1"],
                                   purpose="sorting", telephony=telephony)
    assert out.allowed, out.message
    assert out.label is not None
    assert out.label.pdf.startswith(b"%PDF")
    (ev,) = world.access_events()
    assert (ev["action"], ev["outcome"], ev["purpose"], ev["event_id"]) == (
        "print_label", "allowed", "sorting", out.event_id)


@pytest.mark.parametrize(("name", "assigned", "reason"), [
    ("sorter", False, "no_assignment"),      # reprint bursts start with no task at all
    ("warehouse", True, "no_permission"),
    ("courier", True, "role_purpose"),       # couriers print for pickup/delivery
])
def test_label_printing_is_refused_outside_the_rules(world: World, telephony: LocalTelephony,
                                                     name: str, assigned: bool,
                                                     reason: str) -> None:
    if assigned:
        world.assign(name, "p1", "sorting")
    out = world.gate().print_label(world.caller(name), waybill_no=world.waybills["p1"],
                                   purpose="sorting", telephony=telephony)
    assert (out.allowed, out.reason, out.label) == (False, reason, None)
    (ev,) = world.access_events()
    assert (ev["action"], ev["outcome"]) == ("print_label", "denied")


def test_sharing_needs_the_persons_separate_consent(world: World) -> None:
    from parcelguard.consent import service as consent
    from parcelguard.consent.notice import NoticeParams, PartnerIn

    _, public = generate_keypair()
    add_partner(world.session, enterprise_id=ENT, partner_id="partner-b", name="乙速运",
                relationship="third_party", public_key=public, at=world.clock.now())
    record_assessment(world.session, enterprise_id=ENT, partner_id="partner-b",
                      fields=["recipient_name", "recipient_phone", "recipient_address"],
                      conclusion="last-mile hand-over to a partner carrier; sealed payloads",
                      at=world.clock.now(), assessed_by="acc-admin")
    admin = replace(world.caller("admin"), account_id="acc-admin")
    refused = world.gate().share(admin, waybill_no=world.waybills["p1"],
                                 partner_id="partner-b")
    assert (refused.allowed, refused.reason) == (False, "no_consent")
    consent.publish_notice(world.session, world.admin, clock=world.clock, params=NoticeParams(
        processor_name="甲快递", processor_contact="privacy@carrier-a.example.com",
        partners=(PartnerIn(id="partner-b", name="乙速运", contact="dpo@b.example.com",
                            purpose={"zh-CN": "末端派送", "en": "last-mile delivery"},
                            data_types=("name", "phone", "address")),)))
    consent.grant_consent(world.session, world.admin, subject_id="sub-bob",
                          purpose="partner_sharing:partner-b", channel="app", clock=world.clock)
    ok = world.gate().share(admin, waybill_no=world.waybills["p1"], partner_id="partner-b")
    assert ok.allowed, ok.message
    assert ok.share is not None
    assert ok.share.payload
    assert [e["outcome"] for e in world.access_events()] == ["denied", "allowed"]


def test_a_courier_may_not_share(world: World) -> None:
    out = world.gate().share(world.caller("courier"), waybill_no=world.waybills["p1"],
                             partner_id="partner-b")
    assert out.reason == "no_permission"
    (ev,) = world.access_events()
    assert (ev["action"], ev["outcome"]) == ("share", "denied")


def test_an_entrusted_partner_under_contract_gets_a_sealed_payload(world: World) -> None:
    private, public = generate_keypair()
    add_partner(world.session, enterprise_id=ENT, partner_id="outlet-c", name="丙网点",
                relationship="entrusted", public_key=public, at=world.clock.now())
    record_assessment(world.session, enterprise_id=ENT, partner_id="outlet-c",
                      fields=["recipient_name", "recipient_phone", "recipient_address"],
                      conclusion="entrusted last-mile delivery; the outlet's staff are vetted",
                      at=world.clock.now(), assessed_by="acc-admin")
    record_contract(world.session, enterprise_id=ENT, partner_id="outlet-c", reference="C-1",
                    fields=["recipient_name", "recipient_phone", "recipient_address"],
                    starts_at=world.clock.now() - timedelta(days=1),
                    ends_at=world.clock.now() + timedelta(days=30), at=world.clock.now(),
                    recorded_by="acc-admin")
    admin = replace(world.caller("admin"), account_id="acc-admin")
    out = world.gate().share(admin, waybill_no=world.waybills["p1"], partner_id="outlet-c")
    assert out.allowed
    assert out.share is not None
    assert out.share.payload is not None
    opened = open_shared(out.share.payload, private)
    assert opened.fields["recipient_name"] == world.people["sub-bob"].name
    (ev,) = world.access_events()
    assert (ev["action"], ev["outcome"]) == ("share", "allowed")
