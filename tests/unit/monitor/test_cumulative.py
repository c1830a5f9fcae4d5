"""cumulative_access: slow abuse below every single-hour and single-day threshold."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.monitor.builders import DAY0, Stream, by_detector, run

H = timedelta(hours=1)
M = timedelta(minutes=1)


def test_export_slicing_over_five_days_alerts_with_every_slice_as_evidence() -> None:
    """Issue 15: 250 exports of 20 records over 5 days raised no alert."""
    s = Stream()
    s.hire(DAY0, "emp-it", role="it")
    ids = []
    for day in range(5):
        t = DAY0 + timedelta(days=day) + 9 * H
        for _ in range(50):
            ids.append(s.access(t, "emp-it", "export", records=20, channel="web"))
            t += 10 * M
    alerts = by_detector(run(s))
    assert "bulk_access" not in alerts  # 1,000 a day: under the single-day rule
    (alert,) = alerts["cumulative_access"]
    assert alert.subject_id == "emp-it"
    # the first day's slices reach 1,000 records (what one approval covers) on the
    # 50th; every slice, then and after, is evidence
    assert alert.raised_us == run_time(s, ids[49])
    assert alert.event_ids == ids
    assert set(ids) <= set(alert.event_ids)


def run_time(s: Stream, event_id: str) -> int:
    evs, ts = s.events()
    return next(t for e, t in zip(evs, ts, strict=True) if e.event_id == event_id)


def test_a_few_approved_exports_a_week_stay_quiet() -> None:
    s = Stream()
    s.hire(DAY0, "emp-a", role="admin")
    for day in range(0, 28, 4):
        s.access(DAY0 + timedelta(days=day) + 10 * H, "emp-a", "export", records=300,
                 channel="web")
    assert "cumulative_access" not in by_detector(run(s))


def test_uncovered_reads_trickled_all_day_alert() -> None:
    """Three uncovered reveals an hour never reach unassigned_access (5 in 60 min)."""
    s = Stream()
    s.hire(DAY0, "emp-1")
    t = DAY0 + 8 * H
    for i in range(30):
        s.parcel(t, f"WB{i}", "arrived")
        s.access(t + M, "emp-1", wb=f"WB{i}")
        t += 20 * M
    alerts = by_detector(run(s))
    assert "unassigned_access" not in alerts
    assert alerts["cumulative_access"][0].subject_id == "emp-1"


def test_a_couple_of_denied_call_backs_a_day_for_a_month_stay_quiet() -> None:
    s = Stream()
    s.hire(DAY0, "emp-1")
    for day in range(30):
        t = DAY0 + timedelta(days=day) + 11 * H
        for i in range(2):
            wb = f"WB{day}-{i}"
            s.parcel(t, wb, "arrived")
            s.access(t + M, "emp-1", wb=wb, outcome="denied")
            t += 3 * H
    assert "cumulative_access" not in by_detector(run(s))


def test_searches_adding_up_over_a_week_alert() -> None:
    s = Stream()
    s.hire(DAY0, "emp-w", role="security")
    for day in range(7):
        t = DAY0 + timedelta(days=day) + 9 * H
        for _ in range(8):  # 800 a day: under bulk_access's 2,500
            s.access(t, "emp-w", "search", records=100, channel="web", purpose="security")
            t += H
    alerts = by_detector(run(s))
    assert "bulk_access" not in alerts
    assert "cumulative_access" in alerts
