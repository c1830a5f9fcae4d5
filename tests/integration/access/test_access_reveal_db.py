"""Reveals through the gate on real SQLite and PostgreSQL: every refusal has its
reason, and every attempt leaves exactly one access event without PI."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from access_world import ENT, World

from parcelguard.access.suspensions import lift, suspend
from parcelguard.ledger.ingest import record_events
from parcelguard.logistics import service as logistics

RECIPIENT = ["recipient_name", "recipient_phone", "recipient_address"]


def only_event(world: World) -> dict[str, Any]:
    events = world.access_events()
    assert len(events) == 1, f"expected one access event, got {len(events)}"
    return events[0]


def test_an_assigned_courier_sees_the_recipient_and_it_is_recorded(world: World) -> None:
    world.assign("courier", "p1", "delivery")
    out = world.gate().reveal(world.caller("courier", channel="pda", device_id="pda-7",
                                           ip="10.1.2.3"),
                              waybill_no=world.waybills["p1"], purpose="delivery",
                              fields=RECIPIENT)
    assert out.allowed, out.message
    bob = world.people["sub-bob"]
    assert out.values.by_field == {"recipient_name": bob.name, "recipient_phone": bob.phone,
                                   "recipient_address": bob.address}
    assert "PI hidden" in repr(out)
    ev = only_event(world)
    assert ev["event_id"] == out.event_id
    assert {k: ev[k] for k in ("actor_type", "actor_id", "station_id", "action", "fields",
                               "waybill_no", "record_count", "purpose", "outcome",
                               "device_id", "ip", "channel")} == {
        "actor_type": "employee", "actor_id": "emp-courier", "station_id": "st-1",
        "action": "reveal", "fields": sorted(RECIPIENT), "waybill_no": world.waybills["p1"],
        "record_count": 1, "purpose": "delivery", "outcome": "allowed", "device_id": "pda-7",
        "ip": "10.1.2.3", "channel": "pda"}


def deny_case(world: World, name: str, *, waybill: str = "p1", purpose: str = "delivery",
              fields: list[str] | None = None) -> tuple[str, str]:
    out = world.gate().reveal(world.caller(name), waybill_no=world.waybills[waybill],
                              purpose=purpose, fields=fields or RECIPIENT)
    assert not out.allowed
    assert out.values.by_field == {}
    ev = only_event(world)
    assert (ev["outcome"], ev["record_count"], ev["action"]) == ("denied", 0, "reveal")
    assert ev["event_id"] == out.event_id
    return out.reason, out.message


def test_no_assignment_is_refused_in_words_a_courier_understands(world: World) -> None:
    reason, message = deny_case(world, "courier")
    assert reason == "no_assignment"
    assert message == "这件快递不在你的派送任务中 / This parcel is not assigned to you for delivery"


def test_an_assignment_for_another_purpose_does_not_count(world: World) -> None:
    world.assign("courier", "p1", "pickup")
    assert deny_case(world, "courier")[0] == "other_purpose"


def test_an_expired_window_is_refused(world: World) -> None:
    world.assign("courier", "p1", "delivery", length=timedelta(hours=1))
    world.clock.advance(timedelta(hours=2))
    assert deny_case(world, "courier")[0] == "assignment_expired"


def test_a_window_not_yet_open_is_refused(world: World) -> None:
    world.assign("courier", "p1", "delivery", start=timedelta(hours=1))
    assert deny_case(world, "courier")[0] == "assignment_not_started"


def test_a_revoked_assignment_is_refused(world: World) -> None:
    a = world.assign("courier", "p1", "delivery")
    a.revoked = True
    world.session.flush()
    assert deny_case(world, "courier")[0] == "assignment_revoked"


def test_someone_elses_assignment_does_not_count(world: World) -> None:
    world.assign("courier2", "p1", "delivery")
    assert deny_case(world, "courier")[0] == "no_assignment"


def test_an_employee_who_left_is_refused(world: World) -> None:
    # Their assignment was revoked at offboarding; the standing is what the gate names.
    assert deny_case(world, "gone")[0] == "employee_left"


@pytest.mark.parametrize(("name", "reason"), [("pending", "background_check_pending"),
                                              ("failed", "background_check_failed")])
def test_background_check_must_have_passed(world: World, name: str, reason: str) -> None:
    world.assign(name, "p1", "delivery")
    assert deny_case(world, name)[0] == reason


def test_a_role_may_not_see_a_field_outside_its_table(world: World) -> None:
    world.assign("courier", "p1", "delivery")
    reason, message = deny_case(world, "courier", fields=["recipient_name", "sender_phone"])
    assert reason == "field_not_allowed"
    assert "sender_phone" in message


def test_the_sender_id_number_is_for_pickup_verification_only(world: World) -> None:
    world.assign("cs", "p1", "customer_service")
    reason, _ = deny_case(world, "cs", purpose="customer_service",
                          fields=["sender_id_number"])
    assert reason == "id_number_pickup_only"


def test_a_sorter_sees_only_the_masked_label(world: World) -> None:
    world.assign("sorter", "p1", "sorting")
    assert deny_case(world, "sorter", purpose="sorting")[0] == "no_permission"


def test_warehouse_roles_see_nothing(world: World) -> None:
    assert deny_case(world, "warehouse")[0] == "no_permission"


def test_a_suspension_takes_effect_at_once_and_lifting_restores(world: World) -> None:
    world.assign("courier", "p1", "delivery")
    s = suspend(world.session, enterprise_id=ENT, employee_id="emp-courier",
                reason="under investigation after an alert", by="acc-sec", clock=world.clock)
    assert deny_case(world, "courier")[0] == "suspended"
    lift(world.session, enterprise_id=ENT, suspension_id=s.id, by="acc-sec", clock=world.clock)
    out = world.gate().reveal(world.caller("courier"), waybill_no=world.waybills["p1"],
                              purpose="delivery", fields=RECIPIENT)
    assert out.allowed
    assert [e["outcome"] for e in world.access_events()] == ["denied", "allowed"]


def test_an_erased_person_is_refused(world: World) -> None:
    world.assign("courier", "p1", "delivery")
    world.vault.erase_subject(world.session, ENT, "sub-bob", reason="deletion request",
                              at=world.clock.now())
    world.clock.advance(timedelta(minutes=1))
    assert deny_case(world, "courier")[0] == "subject_erased"


def test_a_pending_deletion_stops_all_but_delivery(world: World) -> None:
    from parcelguard.consent.subject_requests import open_request

    world.assign("courier", "p1", "delivery")
    world.assign("cs", "p1", "customer_service")
    open_request(world.session, world.admin, subject_id="sub-bob", kind="deletion",
                 channel="app", clock=world.clock)
    assert deny_case(world, "cs", purpose="customer_service",
                     fields=["recipient_phone"])[0] == "subject_restricted"
    out = world.gate().reveal(world.caller("courier"), waybill_no=world.waybills["p1"],
                              purpose="delivery", fields=RECIPIENT)
    assert out.allowed  # the parcel under way is still delivered (PIPL Art. 47)


def test_delivery_needs_no_acknowledgement_from_the_recipient(world: World) -> None:
    # No notice was published and nobody acknowledged one: contract necessity.
    world.assign("courier", "p1", "delivery")
    out = world.gate().reveal(world.caller("courier"), waybill_no=world.waybills["p1"],
                              purpose="delivery", fields=["recipient_phone"])
    assert out.allowed


def test_an_unknown_or_malformed_waybill_is_refused_without_echoing_it(world: World) -> None:
    out = world.gate().reveal(world.caller("courier"), waybill_no="13812345678",
                              purpose="delivery", fields=RECIPIENT)
    assert (out.allowed, out.reason) == (False, "parcel_not_found")
    ev = only_event(world)
    assert ev["waybill_no"] is None


def test_unknown_purpose_and_fields_are_recorded_safely(world: World) -> None:
    out = world.gate().reveal(world.caller("courier"), waybill_no=world.waybills["p1"],
                              purpose="curiosity", fields=["recipient_phone", "salary"])
    assert out.reason == "unknown_purpose"
    ev = only_event(world)
    assert (ev["purpose"], ev["fields"]) == ("other", ["recipient_phone"])


def test_offboarding_through_logistics_closes_the_gate(world: World) -> None:
    world.assign("courier", "p1", "delivery")
    logistics.employee_left(world.session, world.admin, employee_id="emp-courier",
                            clock=world.clock)
    assert deny_case(world, "courier")[0] == "employee_left"


def test_a_delivered_parcel_needs_no_more_delivery_reveals(world: World) -> None:
    """The courier's window runs on after the delivery reported in the stream; from
    the delivery on, the gate refuses the recipient's details (decided as of the
    attempt's time, so a reveal before the delivery stays allowed)."""
    world.assign("courier", "p1", "delivery", length=timedelta(hours=8))
    delivered_at = world.clock.now() + timedelta(minutes=30)
    record_events(world.session, [{
        "event_id": "ev-delivered", "kind": "parcel", "occurred_at": delivered_at.isoformat(),
        "enterprise_id": ENT, "waybill_no": world.waybills["p1"], "step": "delivered"}],
        clock_now=world.clock.now)

    def reveal() -> Any:
        return world.gate().reveal(world.caller("courier"), waybill_no=world.waybills["p1"],
                                   purpose="delivery", fields=RECIPIENT)

    assert reveal().allowed
    world.clock.set(delivered_at)
    after = reveal()
    assert (after.allowed, after.reason) == (False, "parcel_finished")
    assert after.values.by_field == {}
    assert "already delivered or closed" in after.message
    assert [e["outcome"] for e in world.access_events()] == ["allowed", "denied"]
