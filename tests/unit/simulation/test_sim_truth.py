"""Ground truth is exact, and the benign traffic around it is clean.

The monitor's recall and precision are measured against this ground truth, so two
things must hold: every listed event is malicious and really shows its pattern, and
the unlisted (benign) traffic breaks none of the rules the patterns break.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from sim_support import SMALL

from parcelguard.simulation.model import SCENARIO_KINDS, World

Event = dict[str, Any]


def _truth(world: World) -> dict[str, str]:
    return {eid: s.scenario for s in world.scenarios for eid in s.event_ids}


def _assignments(world: World) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(waybill, assignee) -> [(from, until)] as RFC 3339 strings (all +08:00, so
    they compare correctly as text)."""
    out: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for ev in world.events:
        if ev["kind"] == "parcel" and ev["step"] == "assigned":
            out[ev["waybill_no"], ev["assignee_id"]].append(
                (ev["occurred_at"], ev["assignment_until"]))
    return out


def _covered(ev: Event, assignments: dict[tuple[str, str], list[tuple[str, str]]]) -> bool:
    return any(a <= ev["occurred_at"] <= b
               for a, b in assignments.get((ev["waybill_no"], ev["actor_id"]), []))


def test_every_kind_is_injected_after_the_baseline_day(small_world: World) -> None:
    assert {s.scenario for s in small_world.scenarios} == set(SCENARIO_KINDS)
    day2 = SMALL.start.replace(day=SMALL.start.day + 1)
    assert all(s.start >= day2 for s in small_world.scenarios)
    # spread over the enterprises, not piled on one
    assert len({s.enterprise_id for s in small_world.scenarios}) == SMALL.enterprises


def test_ground_truth_ids_exist_and_match_the_scenario(small_world: World) -> None:
    by_id = {ev["event_id"]: ev for ev in small_world.events}
    seen: set[str] = set()
    for s in small_world.scenarios:
        assert s.event_ids, s.scenario
        assert not seen & set(s.event_ids), "an event belongs to one scenario only"
        seen |= set(s.event_ids)
        events = [by_id[eid] for eid in s.event_ids]
        assert {ev["enterprise_id"] for ev in events} == {s.enterprise_id}
        assert {ev["kind"] for ev in events} == {"access"}
        assert sorted({ev["actor_id"] for ev in events}) == s.actors
        times = [datetime.fromisoformat(ev["occurred_at"]) for ev in events]
        assert (min(times), max(times)) == (s.start, s.end)
    # abuse is a small part of the stream, as in life
    assert len(seen) < 0.25 * len(small_world.events)


def test_benign_reveals_and_prints_stay_inside_assignments(small_world: World) -> None:
    truth = _truth(small_world)
    assignments = _assignments(small_world)
    outside = [
        ev for ev in small_world.events
        if ev["kind"] == "access" and ev["event_id"] not in truth
        and ev["actor_type"] == "employee" and ev["outcome"] == "allowed"
        and ev["action"] in ("reveal", "print_label") and not _covered(ev, assignments)
    ]
    assert outside == []
    # the benign noise a detector must tolerate is present
    denied = [ev for ev in small_world.events if ev["kind"] == "access"
              and ev["event_id"] not in truth and ev["action"] == "reveal"
              and ev["outcome"] == "denied"]
    assert denied
    assert all(not _covered(ev, assignments) for ev in denied)


def test_nobody_benign_works_after_leaving_or_before_the_check(small_world: World) -> None:
    truth = _truth(small_world)
    left: dict[str, str] = {}
    check: dict[str, str] = {}
    offenders = []
    for ev in small_world.events:
        if ev["kind"] == "employee":
            if ev["change"] == "left":
                left[ev["employee_id"]] = ev["occurred_at"]
            elif ev["change"] == "background_check":
                check[ev["employee_id"]] = ev["background_check"]
        elif (ev["kind"] == "access" and ev["actor_type"] == "employee"
              and ev["event_id"] not in truth
              and (ev["actor_id"] in left or check.get(ev["actor_id"]) != "passed")):
            offenders.append(ev)
    assert offenders == []


def test_benign_traffic_has_no_external_actors_or_bulk_exports(small_world: World) -> None:
    truth = _truth(small_world)
    benign = [ev for ev in small_world.events
              if ev["kind"] == "access" and ev["event_id"] not in truth]
    assert {ev["actor_type"] for ev in benign} == {"employee", "partner"}
    exports = [ev["record_count"] for ev in benign if ev["action"] == "export"]
    assert exports
    assert max(exports) <= 300
    # at most two devices per employee per day (a spare PDA), and someone has two
    devices: dict[tuple[str, str], set[str]] = defaultdict(set)
    for ev in benign:
        if ev["actor_type"] == "employee":
            devices[ev["actor_id"], ev["occurred_at"][:10]].add(ev["device_id"])
    assert max(len(d) for d in devices.values()) == 2


def _gaps_regular(events: list[Event]) -> bool:
    """Per device, consecutive reveals are machine-paced: nearly all gaps sit within
    a second of that device's typical gap (a person's gaps vary by minutes)."""
    by_device: dict[str, list[datetime]] = defaultdict(list)
    for ev in events:
        if ev["action"] == "reveal":
            by_device[ev["device_id"]].append(datetime.fromisoformat(ev["occurred_at"]))
    regular = total = 0
    for times in by_device.values():
        gaps = sorted((b - a).total_seconds() for a, b in pairwise(times))
        if gaps:
            typical = gaps[len(gaps) // 2]
            regular += sum(abs(g - typical) <= 1 for g in gaps)
            total += len(gaps)
    return total > 0 and regular >= 0.9 * total


@pytest.mark.parametrize("kind", SCENARIO_KINDS)
def test_scenarios_show_their_pattern(small_world: World, kind: str) -> None:
    by_id = {ev["event_id"]: ev for ev in small_world.events}
    assignments = _assignments(small_world)
    role = {e.id: e.role for e in small_world.employees}
    parcel = {p.waybill_no: p for p in small_world.parcels}
    roster_events = defaultdict(list)
    for ev in small_world.events:
        if ev["kind"] == "employee":
            roster_events[ev["employee_id"]].append(ev)
    cases = [s for s in small_world.scenarios if s.scenario == kind]
    assert cases
    for s in cases:
        events = [by_id[eid] for eid in s.event_ids]
        actions = Counter(ev["action"] for ev in events)
        reveals = [ev for ev in events if ev["action"] == "reveal"]
        if kind not in ("credential_stuffing", "label_reprint_burst", "bulk_export"):
            assert reveals
            # nothing malicious hides inside a legitimate assignment
            assert not any(_covered(ev, assignments) for ev in reveals)
        if kind == "out_of_assignment":
            assert [role[a] for a in s.actors] == ["courier"]
            assert all(parcel[ev["waybill_no"]].destination_station_id == ev["station_id"]
                       for ev in reveals)
        elif kind == "out_of_station":
            assert [role[a] for a in s.actors] == ["courier", "courier"]
            station = events[0]["station_id"]
            assert {ev["station_id"] for ev in events} == {station}
            assert all(station not in (parcel[ev["waybill_no"]].origin_station_id,
                                       parcel[ev["waybill_no"]].destination_station_id)
                       for ev in reveals)
        elif kind == "warehouse_bulk_query":
            assert [role[a] for a in s.actors] == ["warehouse"]
            assert actions["login"] >= 4 * (SMALL.days - 1)  # benign staff: one or two a day
        elif kind == "rented_account":
            assert len({ev["device_id"] for ev in events}) >= 2
            assert len({ev["ip"] for ev in events}) >= 2
            assert _gaps_regular(events)
        elif kind == "bulk_export":
            assert [role[a] for a in s.actors] == ["it"]
            exports = [ev["record_count"] for ev in events if ev["action"] == "export"]
            assert (exports and min(exports) > 300) or _gaps_regular(events)
        elif kind == "label_reprint_burst":
            assert [role[a] for a in s.actors] == ["sorter"]
            assert actions["print_label"] >= 10
            assert s.end - s.start < timedelta(hours=1)
        elif kind == "after_leaving":
            (left,) = [ev for ev in roster_events[s.actors[0]] if ev["change"] == "left"]
            assert left["occurred_at"] < events[0]["occurred_at"]
        elif kind == "before_background_check":
            checks = [ev["background_check"] for ev in roster_events[s.actors[0]]
                      if ev["change"] == "background_check"]
            assert checks == ["pending"]
        elif kind == "credential_stuffing":
            assert {ev["actor_type"] for ev in events} == {"external"}
            assert len({(ev["ip"], ev["device_id"]) for ev in events}) == 1
            assert actions["login_failed"] > 40
            assert actions["login"] >= 1
            assert len(s.actors) > 10
        elif kind == "scraping":
            assert {(ev["actor_type"], ev["channel"]) for ev in events} == {("external", "api")}
            assert len(s.actors) == 1
            assert len(events) >= 100
