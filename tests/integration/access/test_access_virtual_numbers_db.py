"""Virtual numbers on SQLite and PostgreSQL: binding, resolution only for the
bound courier inside the window, calls that never show the number, expiry
(``access.virtual_numbers`` over the binding storage of ``waybill.virtual``)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session
from waybill_world import T0, WINDOW, World, make_world

from parcelguard.access.waybills import virtual_numbers
from parcelguard.core.errors import PermissionDenied
from parcelguard.core.settings import Settings
from parcelguard.logistics import service as logistics
from parcelguard.waybill import read as waybill_read
from parcelguard.waybill import virtual
from parcelguard.waybill.read import BindingInfo
from parcelguard.waybill.telephony import BindingMode


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session)


def _now(world: World, binding_id: str) -> BindingInfo:
    """The binding as it stands now (what bind_for_assignment answered is a snapshot)."""
    got = waybill_read.binding(world.session, binding_id)
    assert got is not None
    return got


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def test_only_the_bound_courier_inside_the_window_gets_the_real_number(world: World) -> None:
    b = virtual_numbers.bind_for_assignment(world.session, world.tel,
                                            assignment=world.assignment, at=T0)
    assert b.number.startswith("170")
    assert b.extension is not None
    real = world.people["sub-bob"].phone

    def attempt(employee: str, at_offset: timedelta) -> virtual_numbers.Resolution:
        return virtual_numbers.resolve(world.session, world.vault, enterprise_id="ent-a",
                                       employee_id=employee, waybill_no=world.waybill,
                                       at=T0 + at_offset)

    ok = attempt(world.courier, timedelta(hours=1))
    other = attempt(world.other_courier, timedelta(hours=1))
    late = attempt(world.courier, WINDOW + timedelta(minutes=1))
    early = attempt(world.courier, -timedelta(minutes=1))

    assert (ok.allowed, ok.phone) == (True, real)
    assert real not in repr(ok)  # the number never reaches a log line through repr
    assert [(r.allowed, r.reason, r.phone) for r in (other, late, early)] == [
        (False, "not_bound_courier", None), (False, "outside_window", None),
        (False, "outside_window", None)]

    events = world.access_events("reveal")
    assert [(e["actor_id"], e["outcome"], e["record_count"]) for e in events] == [
        (world.courier, "allowed", 1), (world.other_courier, "denied", 0),
        (world.courier, "denied", 0), (world.courier, "denied", 0)]
    assert all(e["fields"] == ["recipient_phone"] and e["purpose"] == "delivery"
               and e["station_id"] == "st-a1" for e in events)
    assert _digits(real) not in _digits(str(events))


def test_a_revoked_assignment_or_an_unknown_waybill_is_refused_and_recorded(
        world: World) -> None:
    virtual_numbers.bind_for_assignment(world.session, world.tel,
                                        assignment=world.assignment, at=T0)
    world.assignment.revoked = True
    r = virtual_numbers.resolve(world.session, world.vault, enterprise_id="ent-a",
                                employee_id=world.courier, waybill_no=world.waybill,
                                at=T0 + timedelta(hours=1))
    assert (r.allowed, r.reason) == (False, "assignment_revoked")
    other_tenant = world.parcel(9, enterprise="ent-b")
    r = virtual_numbers.resolve(world.session, world.vault, enterprise_id="ent-a",
                                employee_id=world.courier, waybill_no=other_tenant, at=T0)
    assert (r.allowed, r.reason) == (False, "not_found")
    assert [e["outcome"] for e in world.access_events("reveal")] == ["denied", "denied"]


def test_the_printed_number_keeps_working_for_the_courier_assigned_later(
        world: World) -> None:
    waybill = world.parcel(2)
    printed = virtual.binding_for_label(world.session, world.tel, enterprise_id="ent-a",
                                        waybill_no=waybill, recipient_subject_id="sub-bob",
                                        at=T0)
    assert printed.courier_id is None
    first = virtual_numbers.bind_for_assignment(
        world.session, world.tel, assignment=world.assign(waybill, world.courier), at=T0)
    again = virtual_numbers.bind_for_assignment(
        world.session, world.tel, assignment=world.assign(waybill, world.other_courier), at=T0)
    assert first.id == again.id == printed.id
    assert (again.number, again.extension, again.courier_id) == (
        printed.number, printed.extension, world.other_courier)
    r = virtual_numbers.resolve(world.session, world.vault, enterprise_id="ent-a",
                                employee_id=world.courier, waybill_no=waybill,
                                at=T0 + timedelta(hours=1))
    assert r.reason == "not_bound_courier"  # the earlier courier lost it on reassignment


def test_axb_numbers_are_never_shared_by_one_party_twice(world: World) -> None:
    def axb(waybill: str, courier: str) -> str:
        return virtual_numbers.bind_for_assignment(
            world.session, world.tel, assignment=world.assign(waybill, courier), at=T0,
            mode=BindingMode.AXB).number

    first = axb(world.parcel(3, recipient="sub-bob"), world.courier)
    same_courier = axb(world.parcel(4, recipient="sub-carol"), world.courier)
    same_recipient = axb(world.parcel(5, recipient="sub-bob"), world.other_courier)
    fresh_pair = axb(world.parcel(6, recipient="sub-carol"), world.other_courier)
    assert first.startswith("171")
    assert first not in (same_courier, same_recipient)
    assert fresh_pair == first  # a pair with neither party on it reuses the number


def test_a_call_connects_the_bound_courier_without_showing_the_number(world: World) -> None:
    b = virtual_numbers.bind_for_assignment(world.session, world.tel,
                                            assignment=world.assignment, at=T0)
    receipt = virtual_numbers.place_call(world.session, world.vault, world.tel,
                                         enterprise_id="ent-a", employee_id=world.courier,
                                         waybill_no=world.waybill, at=T0 + timedelta(hours=1))
    real = _digits(world.people["sub-bob"].phone)
    assert receipt.connected
    assert receipt.dialled == virtual.display_number(b)
    assert real not in _digits(repr(receipt))
    call = world.tel.calls[-1]
    assert _digits(call.routed_to) == real  # the simulator rang the recipient ...
    assert real not in _digits(repr(call))  # ... and never prints whom
    with pytest.raises(PermissionDenied, match="not_bound_courier"):
        virtual_numbers.place_call(world.session, world.vault, world.tel,
                                   enterprise_id="ent-a", employee_id=world.other_courier,
                                   waybill_no=world.waybill, at=T0 + timedelta(hours=1))
    assert len(world.tel.calls) == 1


def test_bindings_expire_after_delivery_plus_grace(world: World) -> None:
    grace = timedelta(days=Settings().waybill.binding_grace_days)
    assert grace == timedelta(days=15)
    b = virtual_numbers.bind_for_assignment(world.session, world.tel,
                                            assignment=world.assignment, at=T0)
    for step in ("picked_up", "arrived", "delivered"):
        world.clock.advance(timedelta(minutes=30))
        logistics.record_step(world.session, world.admin, waybill_no=world.waybill, step=step,
                              clock=world.clock)
    delivered = world.clock.now()
    def expire(at: datetime) -> int:
        return virtual_numbers.expire_bindings(world.session, at, telephony=world.tel,
                                               grace=grace)

    assert expire(delivered + grace - timedelta(seconds=1)) == 0
    assert _now(world, b.id).expires_at == delivered + grace
    assert expire(delivered + grace) == 1
    assert _now(world, b.id).expired_at == delivered + grace
    assert world.tel.unbound == [b.id]
    assert expire(delivered + 2 * grace) == 0  # idempotent
    # The extension is free again for the next parcel on that host number.
    nxt = virtual.binding_for_label(world.session, world.tel, enterprise_id="ent-a",
                                    waybill_no=world.parcel(7), recipient_subject_id="sub-bob",
                                    at=delivered + grace)
    assert nxt.number == b.number
