"""Search by phone, bulk export with a second person's approval, and break-glass, on
real SQLite and PostgreSQL; each attempt is exactly one access event without PI."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from access_world import ENT, T0, World

from parcelguard.access import policy
from parcelguard.access.caller import Caller
from parcelguard.access.events import BreakGlassUsed
from parcelguard.access.models import BreakGlassRecord
from parcelguard.core.errors import Conflict
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.intake import ParcelIn, register_parcels

JUSTIFICATION = "收件人来电称包裹被冒领，需要核实收件信息以便报警处理"


def events(world: World, n: int) -> list[dict[str, Any]]:
    evs = world.access_events()
    assert len(evs) == n, f"expected {n} access events, got {len(evs)}"
    return evs


# -- search -------------------------------------------------------------------------


def test_customer_service_finds_parcels_by_full_number_masked(world: World) -> None:
    bob = world.people["sub-bob"]
    out = world.gate().search_by_phone(world.caller("cs"), phone=bob.phone,
                                       purpose="customer_service")
    assert out.allowed, out.message
    assert (out.total, [h.waybill_no for h in out.hits]) == (1, [world.waybills["p1"]])
    hit = out.hits[0]
    assert hit.party == "recipient"
    assert hit.name != bob.name
    assert "*" in hit.name
    assert "*" in hit.phone
    assert bob.phone[-4:] not in hit.phone.replace("*", "")[:-2]  # at most 2 digits at the end
    (ev,) = events(world, 1)
    assert (ev["action"], ev["outcome"], ev["record_count"], ev["waybill_no"]) == (
        "search", "allowed", 1, None)


def test_a_senders_number_finds_their_parcels_too(world: World) -> None:
    alice = world.people["sub-alice"]
    out = world.gate().search_by_phone(world.caller("security"), phone=alice.phone,
                                       purpose="security")
    assert out.allowed
    assert sorted(h.waybill_no for h in out.hits) == sorted(
        [world.waybills["p1"], world.waybills["p3"]])
    assert {h.party for h in out.hits} == {"sender"}
    (ev,) = events(world, 1)
    assert ev["fields"] == ["sender_name", "sender_phone"]  # what was decrypted to mask


def test_last_four_search_works_within_the_callers_station(world: World) -> None:
    dan = world.people["sub-dan"]  # recipient of p2 (station st-1) and p3 (st-2)
    out = world.gate().search_by_phone(world.caller("cs"), phone=dan.phone[-4:],
                                       purpose="complaint_handling", last4=True)
    assert out.allowed
    assert [h.waybill_no for h in out.hits] == [world.waybills["p2"]]
    out2 = world.gate().search_by_phone(world.caller("cs2"), phone=dan.phone[-4:],
                                        purpose="complaint_handling", last4=True)
    assert [h.waybill_no for h in out2.hits] == [world.waybills["p3"]]
    assert [e["record_count"] for e in events(world, 2)] == [1, 1]


@pytest.mark.parametrize(("name", "purpose", "reason"), [
    ("courier", "delivery", "no_permission"),
    ("warehouse", "sorting", "no_permission"),
    ("cs", "delivery", "search_purpose"),
    ("security", "customer_service", "search_purpose"),
])
def test_search_is_limited_to_roles_that_need_it(world: World, name: str, purpose: str,
                                                 reason: str) -> None:
    out = world.gate().search_by_phone(world.caller(name), phone=world.people["sub-bob"].phone,
                                       purpose=purpose)
    assert (out.allowed, out.reason, out.hits) == (False, reason, ())
    (ev,) = events(world, 1)
    assert (ev["outcome"], ev["record_count"]) == ("denied", 0)


def test_a_search_role_without_the_role_table_is_refused(world: World) -> None:
    # A courier account wrongly given pi:search still meets the roster role table.
    c = replace(world.caller("courier"), permissions=frozenset({"pi:search"}))
    out = world.gate().search_by_phone(c, phone=world.people["sub-bob"].phone,
                                       purpose="delivery")
    assert out.reason == "search_role"
    events(world, 1)


def test_a_malformed_query_is_refused_and_recorded(world: World) -> None:
    out = world.gate().search_by_phone(world.caller("cs"), phone="12",
                                       purpose="customer_service", last4=True)
    assert out.reason == "invalid_query"
    (ev,) = events(world, 1)
    assert ev["outcome"] == "denied"


# -- export -------------------------------------------------------------------------


def _more_parcels(world: World, n: int) -> None:
    bob, alice = world.people["sub-bob"], world.people["sub-alice"]
    register_parcels(world.session, world.vault, enterprise_id=ENT, record_created=False,
                     parcels=[ParcelIn(make_waybill_no("SF", 100 + i), alice, bob, T0,
                                       destination_station_id="st-1")
                              for i in range(n)])


SCOPE = {"station_id": "st-1", "created_from": (T0 - timedelta(days=1)).isoformat(),
         "created_to": (T0 + timedelta(days=1)).isoformat()}


def test_a_small_export_runs_without_approval_and_says_how_many(world: World) -> None:
    gate, cs = world.gate(), world.caller("cs")
    req = gate.request_export(cs, purpose="complaint_handling",
                              fields=["recipient_name", "recipient_phone"], scope=SCOPE)
    assert (req.allowed, req.needs_approval, req.record_count) == (True, False, 2)
    assert world.access_events() == []  # nothing left the vault yet
    run = gate.run_export(cs, request_id=req.request_id or "")
    assert (run.allowed, run.record_count, len(run.records)) == (True, 2, 2)
    assert {r.values.by_field["recipient_name"] for r in run.records} == {
        world.people["sub-bob"].name, world.people["sub-dan"].name}
    (ev,) = events(world, 1)
    assert (ev["action"], ev["outcome"], ev["record_count"]) == ("export", "allowed", 2)
    again = gate.run_export(cs, request_id=req.request_id or "")
    assert again.reason == "export_done"
    assert events(world, 2)[1]["outcome"] == "denied"


def test_a_bulk_export_needs_a_second_person(world: World) -> None:
    _more_parcels(world, policy.EXPORT_APPROVAL_THRESHOLD)
    gate, cs = world.gate(), world.caller("cs")
    req = gate.request_export(cs, purpose="complaint_handling",
                              fields=["recipient_phone"], scope=SCOPE)
    assert (req.needs_approval, req.status) == (True, "pending")
    assert req.record_count == policy.EXPORT_APPROVAL_THRESHOLD + 2
    rid = req.request_id or ""
    run = gate.run_export(cs, request_id=rid)
    assert (run.allowed, run.reason) == (False, "export_needs_approval")
    (ev,) = events(world, 1)
    assert (ev["action"], ev["outcome"], ev["record_count"]) == ("export", "denied", 0)


def test_self_approval_is_refused(world: World) -> None:
    _more_parcels(world, policy.EXPORT_APPROVAL_THRESHOLD)
    gate = world.gate()
    sec = replace(world.caller("security"), account_id="acc-sec")
    req = gate.request_export(sec, purpose="security", fields=["recipient_phone"],
                              scope=SCOPE)
    own = gate.approve_export(sec, request_id=req.request_id or "")
    assert (own.allowed, own.reason) == (False, "self_approval")
    # A second account of the same employee is still the same person.
    alias = replace(sec, account_id="acc-sec-2")
    assert gate.approve_export(alias, request_id=req.request_id or "").reason == "self_approval"
    assert [e["outcome"] for e in events(world, 2)] == ["denied", "denied"]


def test_an_approved_export_runs_once_and_reports_its_count(world: World) -> None:
    _more_parcels(world, policy.EXPORT_APPROVAL_THRESHOLD)
    gate = world.gate()
    cs = replace(world.caller("cs"), account_id="acc-cs")
    approver = replace(world.caller("admin"), account_id="acc-admin")
    req = gate.request_export(cs, purpose="complaint_handling",
                              fields=["recipient_name", "recipient_phone"], scope=SCOPE)
    ok = gate.approve_export(approver, request_id=req.request_id or "")
    assert (ok.allowed, ok.status) == (True, "approved")
    assert ok.expires_at == world.clock.now() + policy.EXPORT_APPROVAL_TTL
    run = gate.run_export(cs, request_id=req.request_id or "")
    assert (run.allowed, run.record_count) == (True, policy.EXPORT_APPROVAL_THRESHOLD + 2)
    (ev,) = events(world, 1)
    assert (ev["outcome"], ev["record_count"]) == ("allowed", run.record_count)


def test_an_approval_lapses(world: World) -> None:
    _more_parcels(world, policy.EXPORT_APPROVAL_THRESHOLD)
    gate = world.gate()
    cs = replace(world.caller("cs"), account_id="acc-cs")
    req = gate.request_export(cs, purpose="complaint_handling", fields=["recipient_phone"],
                              scope=SCOPE)
    gate.approve_export(replace(world.caller("admin"), account_id="acc-admin"),
                        request_id=req.request_id or "")
    world.clock.advance(policy.EXPORT_APPROVAL_TTL)
    assert gate.run_export(cs, request_id=req.request_id or "").reason == "export_expired"


def test_an_export_never_returns_more_than_was_approved(world: World) -> None:
    gate, cs = world.gate(), world.caller("cs")
    req = gate.request_export(cs, purpose="complaint_handling", fields=["recipient_phone"],
                              scope=SCOPE)
    assert req.record_count == 2
    _more_parcels(world, 1)  # the scope grew after the request
    run = gate.run_export(cs, request_id=req.request_id or "")
    assert (run.allowed, run.reason) == (False, "export_scope_changed")
    assert events(world, 1)[0]["outcome"] == "denied"


def test_export_is_limited_by_role_and_fields(world: World) -> None:
    gate = world.gate()
    out = gate.request_export(world.caller("courier"), purpose="delivery",
                              fields=["recipient_phone"], scope=SCOPE)
    assert out.reason == "no_permission"
    out = gate.request_export(world.caller("cs"), purpose="complaint_handling",
                              fields=["recipient_address"], scope=SCOPE)
    assert out.reason == "field_not_allowed"
    assert [e["outcome"] for e in events(world, 2)] == ["denied", "denied"]


def test_records_of_erased_people_are_withheld(world: World) -> None:
    gate, cs = world.gate(), world.caller("cs")
    req = gate.request_export(cs, purpose="complaint_handling", fields=["recipient_phone"],
                              scope=SCOPE)
    world.vault.erase_subject(world.session, ENT, "sub-dan", reason="deletion request",
                              at=world.clock.now())
    world.clock.advance(timedelta(minutes=1))
    run = gate.run_export(cs, request_id=req.request_id or "")
    assert (run.record_count, run.withheld) == (1, 1)
    assert events(world, 1)[0]["record_count"] == 1


# -- break-glass ----------------------------------------------------------------------


def test_break_glass_without_justification_is_refused(world: World) -> None:
    out = world.gate().break_glass_reveal(world.caller("security"),
                                          waybill_no=world.waybills["p1"],
                                          fields=["recipient_phone"], justification="急")
    assert (out.allowed, out.reason, out.events) == (False, "justification_missing", ())
    assert world.session.query(BreakGlassRecord).count() == 0
    (ev,) = events(world, 1)
    assert (ev["outcome"], ev["purpose"]) == ("denied", "security")


def test_break_glass_refuses_pi_in_the_justification(world: World) -> None:
    text = f"请联系收件人 {world.people['sub-bob'].phone} 核实包裹去向情况"
    out = world.gate().break_glass_reveal(world.caller("security"),
                                          waybill_no=world.waybills["p1"],
                                          fields=["recipient_phone"], justification=text)
    assert out.reason == "justification_pi"
    events(world, 1)  # and the leaf holds no PI (checked by access_events)


def test_break_glass_with_justification_is_allowed_and_flagged(world: World) -> None:
    c: Caller = replace(world.caller("cs"), account_id="acc-cs")
    out = world.gate().break_glass_reveal(
        c, waybill_no=world.waybills["p1"], fields=["recipient_phone"],
        justification=JUSTIFICATION + " 运单 " + world.waybills["p1"])
    assert out.allowed, out.message
    assert out.values.by_field == {"recipient_phone": world.people["sub-bob"].phone}
    rec = world.session.get(BreakGlassRecord, out.record_id)
    assert rec is not None
    assert rec.flagged
    assert rec.event_id == out.event_id
    assert rec.purpose == "other"
    (used,) = out.events
    assert isinstance(used, BreakGlassUsed)
    assert used.record_id == rec.id
    (ev,) = events(world, 1)
    assert (ev["action"], ev["purpose"], ev["outcome"]) == ("reveal", "other", "allowed")


def test_break_glass_uses_are_reviewed_by_someone_else(world: World) -> None:
    gate, sec = world.gate(), world.caller("security")
    out = gate.break_glass_reveal(sec, waybill_no=world.waybills["p2"],
                                  fields=["sender_name"], justification=JUSTIFICATION)
    assert out.allowed
    assert out.record_id is not None
    assert world.access_events()[0]["purpose"] == "security"
    with pytest.raises(Conflict):
        gate.review_break_glass(sec, record_id=out.record_id, outcome="justified")
    admin = replace(world.caller("admin"), account_id="acc-admin")
    rec = gate.review_break_glass(admin, record_id=out.record_id, outcome="abuse")
    assert (rec.review_outcome, rec.reviewed_by) == ("abuse", "emp-admin")


def test_break_glass_is_not_for_couriers(world: World) -> None:
    out = world.gate().break_glass_reveal(world.caller("courier"),
                                          waybill_no=world.waybills["p1"],
                                          fields=["recipient_phone"], justification=JUSTIFICATION)
    assert out.reason == "no_permission"
    events(world, 1)
