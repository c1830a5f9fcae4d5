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
    # the second slice, ten minutes after the first, shows the slicing (before this
    # the alert waited for the day's 1,000th record, the 50th slice, 8 h later);
    # every slice, then and after, is evidence
    assert alert.raised_us == run_time(s, ids[1])
    assert alert.event_ids == ids


def test_exports_an_hour_apart_alert_when_their_records_add_up() -> None:
    """A slicer slower than export_repeat_minutes is still caught by the day's total."""
    s = Stream()
    s.hire(DAY0, "emp-it", role="it")
    t = DAY0 + 2 * H
    ids = []
    for _ in range(20):
        ids.append(s.access(t, "emp-it", "export", records=50, channel="web"))
        t += 50 * M
    (alert,) = by_detector(run(s))["cumulative_access"]
    assert alert.raised_us == run_time(s, ids[19])  # the 1,000th record


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


def test_uncovered_reads_trickled_all_day_alert_at_the_first() -> None:
    """Three uncovered reveals an hour: unassigned_access alerts at the first (it
    used to wait for 5 in 60 min, which a trickle never reaches), and the day's
    eighth adds the cumulative alert."""
    s = Stream()
    s.hire(DAY0, "emp-1")
    t = DAY0 + 8 * H
    ids = []
    for i in range(30):
        s.parcel(t, f"WB{i}", "arrived")
        ids.append(s.access(t + M, "emp-1", wb=f"WB{i}"))
        t += 20 * M
    alerts = by_detector(run(s))
    assert alerts["unassigned_access"][0].raised_us == run_time(s, ids[0])
    assert alerts["cumulative_access"][0].raised_us == run_time(s, ids[7])


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
