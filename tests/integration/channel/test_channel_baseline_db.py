"""Triangulation's baseline is one carrier's: an actor id in its log that happens to
be another carrier's employee id never picks up that employee's station."""

from __future__ import annotations

from sqlalchemy.orm import Session

from parcelguard.channel.history import load_baseline
from parcelguard.identity import service as identity
from parcelguard.identity.permissions import Principal
from parcelguard.ledger.ingest import record_events
from parcelguard.logistics import service as logistics

from .channel_world import ENT, INSIDER, T0, _access, make_world

RIVAL = "ent-rival"


def test_the_baseline_counts_only_the_carriers_own_roster(session: Session) -> None:
    w = make_world(session, parcels=20)
    identity.create_organization(session, org_id=RIVAL, kind="enterprise", name="乙快递",
                                 clock=w.clock)
    rival = Principal(RIVAL, "enterprise", "enterprise_admin", account_id="acc-rival")
    logistics.create_station(session, rival, station_id="st-rival", name="st-rival",
                             region_code="310115", clock=w.clock)
    logistics.hire_employee(session, rival, role="courier", station_id="st-rival",
                            shift_start="08:00", shift_end="20:00", employee_id="emp-rival",
                            clock=w.clock)
    # the carrier's own log names an actor "emp-rival" (a typo, a contractor, a forgery)
    record_events(session, [_access(wb, "emp-rival", T0, "st-1") for wb in w.waybills[:3]],
                  clock_now=w.clock.now)
    baseline = load_baseline(session, ENT)
    assert "st-rival" not in baseline.by_station
    assert baseline.by_actor["emp-rival"] == 3
    assert baseline.station_of[INSIDER] in baseline.by_station
