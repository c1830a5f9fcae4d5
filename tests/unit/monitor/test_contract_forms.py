"""Every legitimate form of waybill access the event contract allows raises nothing,
and the same accesses without that form still alert (so each test can fail).

Issue 15: customer-service agents working waybills assigned to them with
``station_id: null`` were flagged; the waybill stage dropped station-less
assignments."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.monitor.builders import DAY0, Stream, by_detector, run

H = timedelta(hours=1)
M = timedelta(minutes=1)
SCOPE = {"unassigned_access", "out_of_station_access", "label_reprint_burst",
         "cumulative_access"}


def _work(*, role: str, assign: dict[str, object] | None, purpose: str,
          station: str | None = "st-1", parcel_station: str | None = "st-1",
          action: str = "reveal", n: int = 12) -> set[str]:
    """``n`` accesses by emp-1 (``role``) to distinct waybills over an hour, each
    assigned to them as ``assign`` says (None: not assigned); the detectors that
    fired on emp-1."""
    s = Stream()
    s.hire(DAY0, "emp-1", role=role, station=station or "st-1")
    t = DAY0 + 10 * H
    for i in range(n):
        wb = f"WB{i:04d}"
        if parcel_station is not None:
            s.parcel(t, wb, "arrived", parcel_station)
        if assign is not None:
            s.assign(t + M, wb, "emp-1", **assign)  # type: ignore[arg-type]
        s.access(t + 2 * M, "emp-1", action, wb=wb, station=station, purpose=purpose)
        t += 5 * M
    return {a.detector for a in run(s) if a.subject_id == "emp-1"} & SCOPE


@pytest.mark.parametrize("purpose", ["pickup", "sorting", "delivery", "customer_service", None])
def test_assignments_of_every_purpose_with_a_station(purpose: str | None) -> None:
    assert _work(role="courier", assign={"purpose": purpose}, purpose="delivery") == set()


@pytest.mark.parametrize("purpose", ["customer_service", "delivery", None])
def test_assignments_without_a_station(purpose: str | None) -> None:
    """The reported case: customer service, assignments with station_id null, the
    agent at no station, parcels elsewhere."""
    got = _work(role="customer_service", purpose="customer_service", station=None,
                parcel_station="st-9", assign={"station": None, "purpose": purpose})
    assert got == set()


def test_the_same_customer_service_reads_unassigned_alert() -> None:
    got = _work(role="customer_service", purpose="customer_service", station=None,
                parcel_station="st-9", assign=None)
    assert "unassigned_access" in got


def test_assignment_without_an_end_covers_a_day() -> None:
    assert _work(role="courier", assign={"hours": None}, purpose="delivery") == set()


def test_complaint_handling_on_an_assigned_waybill() -> None:
    got = _work(role="customer_service", purpose="complaint_handling", station=None,
                assign={"station": None, "purpose": "customer_service"})
    assert got == set()


def test_label_prints_of_assigned_parcels() -> None:
    assert _work(role="courier", assign={}, purpose="delivery", action="print_label") == set()


def test_sorting_at_the_sorters_own_station() -> None:
    assert _work(role="sorter", assign=None, purpose="sorting") == set()


def test_sorting_purpose_on_parcels_of_other_stations_alerts() -> None:
    got = _work(role="sorter", assign=None, purpose="sorting", parcel_station="st-9")
    assert "out_of_station_access" in got


def test_pickup_at_the_couriers_own_station() -> None:
    assert _work(role="courier", assign=None, purpose="pickup") == set()


def test_pickup_claimed_by_a_role_that_does_not_pick_up_alerts() -> None:
    assert "unassigned_access" in _work(role="customer_service", assign=None, purpose="pickup")


@pytest.mark.parametrize(("role", "purpose"), [("security", "security"),
                                               ("security", "law_enforcement"),
                                               ("security", "audit"), ("admin", "audit"),
                                               ("it", "audit")])
def test_security_and_audit_work_by_their_roles(role: str, purpose: str) -> None:
    assert _work(role=role, assign=None, purpose=purpose, parcel_station="st-9") == set()


def test_audit_claimed_by_a_courier_alerts() -> None:
    got = _work(role="courier", assign=None, purpose="audit", parcel_station="st-9")
    assert "out_of_station_access" in got


def test_another_employees_assignment_covers_nothing() -> None:
    s = Stream()
    s.hire(DAY0, "emp-1", role="customer_service")
    t = DAY0 + 10 * H
    for i in range(8):
        s.assign(t, f"WB{i}", "emp-2", station=None, purpose="customer_service")
        s.access(t + M, "emp-1", wb=f"WB{i}", station=None, purpose="customer_service")
        t += 5 * M
    assert "unassigned_access" in by_detector(run(s))
