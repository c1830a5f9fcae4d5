"""Canary parcels on SQLite and PostgreSQL: seeded like any parcel, any touch at the
gate or any call to the monitored number is a hit naming everyone who ever had
access, and the hit becomes a critical monitor alert through the wiring's glue."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.access.caller import caller_for_employee
from parcelguard.access.service import AccessGate
from parcelguard.bridges.reactions import raise_canary_alerts
from parcelguard.channel import canary
from parcelguard.channel.models import ChannelCanaryHit
from parcelguard.logistics.identifiers import is_valid_waybill_no
from parcelguard.logistics.models import Parcel
from parcelguard.monitor.models import MonitorAlert
from parcelguard.waybill.telephony import LocalTelephony

from .channel_world import COURIERS, ENT, INSIDER, World, make_world


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session, parcels=30)


def _seed(w: World, n: int = 2) -> list[str]:
    rows = canary.seed(w.session, w.vault, LocalTelephony(), enterprise_id=ENT, count=n,
                       by="acc-security", clock=w.clock, rng_seed=3)
    return [r.waybill_no for r in rows]


def test_canaries_look_like_parcels(world: World) -> None:
    waybills = _seed(world)
    parcels = world.session.scalars(select(Parcel).where(Parcel.waybill_no.in_(waybills))).all()
    assert len(parcels) == 2
    assert all(is_valid_waybill_no(w) for w in waybills)
    assert all(w[:2] == world.waybills[0][:2] for w in waybills)  # the enterprise's series
    assert all(p.recipient_phone_ct and p.recipient_name_ct for p in parcels)  # sealed PI
    assert canary.scan(world.session, enterprise_id=ENT) == []  # seeding is no hit


def test_a_look_at_a_canary_raises_a_critical_alert_naming_everyone(world: World) -> None:
    [cw, _] = _seed(world)
    gate = AccessGate(world.session, world.vault, world.clock)
    for emp in (COURIERS[0], INSIDER):
        out = gate.reveal(caller_for_employee(ENT, emp, "courier", channel="pda"),
                          waybill_no=cw, purpose="delivery", fields=["recipient_phone"])
        assert not out.allowed  # nobody is ever assigned a canary; the attempt still counts
    touched = canary.scan(world.session, enterprise_id=ENT)
    assert [(t.kind, t.actor_id) for t in touched] == [("access", COURIERS[0]),
                                                       ("access", INSIDER)]
    assert touched[-1].exposed_to == tuple(sorted((COURIERS[0], INSIDER)))
    assert canary.scan(world.session, enterprise_id=ENT) == []  # each hit once
    ids = raise_canary_alerts(world.session, touched)
    alerts = world.session.scalars(select(MonitorAlert).where(MonitorAlert.id.in_(ids))).all()
    assert {a.severity for a in alerts} == {"critical"}
    assert {a.subject_id for a in alerts} == {COURIERS[0], INSIDER}
    assert all(INSIDER in a.summary and COURIERS[0] in a.summary for a in alerts[-1:])


def test_a_call_to_a_canary_number_is_a_hit_and_other_numbers_are_not(world: World) -> None:
    [cw] = _seed(world, 1)
    number = canary.canaries(world.session, ENT)[0].monitored_number
    assert canary.call(world.session, number="13800000000", at=world.clock.now()) is None
    hit = canary.call(world.session, number=f"+86 {number}", at=world.clock.now())
    assert hit is not None
    assert hit.kind == "call"
    assert hit.waybill_no == cw
    assert world.session.scalars(select(ChannelCanaryHit.kind)).all() == ["call"]
    [alert_id] = raise_canary_alerts(world.session, [hit])
    alert = world.session.get(MonitorAlert, alert_id)
    assert alert is not None
    assert alert.severity == "critical"
    assert alert.subject_type == "enterprise"
    assert "called" in alert.summary
