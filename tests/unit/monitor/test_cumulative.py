"""cumulative_access: slow abuse below every single-hour and single-day threshold."""

from __future__ import annotations

from datetime import timedelta

from parcelguard.monitor.alerts import AlertBook
from parcelguard.monitor.engine import Pipeline
from parcelguard.monitor.model import DAY_US
from parcelguard.monitor.settings import MonitorSettings
from parcelguard.monitor.state import state_decoder, state_encoder
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


def _monthly_searcher(daily: list[int]) -> tuple[Stream, list[str]]:
    """A security officer's searches, 7 a day (records split evenly), one day each."""
    s = Stream()
    s.hire(DAY0, "emp-w", role="security")
    ids = []
    for day, records in enumerate(daily):
        t = DAY0 + timedelta(days=day) + 9 * H
        for _ in range(7 if records else 0):
            ids.append(s.access(t, "emp-w", "search", records=records // 7, channel="web",
                                purpose="security"))
            t += H
    return s, ids


def test_a_month_of_searches_alerts_at_the_record_that_reaches_the_monthly_threshold() -> None:
    # 350 a day: each week under 2,500, the month's 10,000th record on day 28
    s, ids = _monthly_searcher([350] * 31)
    (alert,) = by_detector(run(s))["cumulative_access"]
    assert alert.raised_us == run_time(s, ids[199])  # 200 searches of 50 records
    assert "within 30 days" in alert.summary


def test_days_older_than_the_month_no_longer_count() -> None:
    # 350 a day for ten days, ten quiet days, then 350 a day for 28: 13,300 in all,
    # at most 9,800 within 30 days (each week 2,450: under 2,500)
    s, _ = _monthly_searcher([350] * 10 + [0] * 10 + [350] * 28)
    assert "cumulative_access" not in by_detector(run(s))
    # without the quiet days thirty days hold 10,500
    s, _ = _monthly_searcher([350] * 38)
    assert "cumulative_access" in by_detector(run(s))


def test_state_saved_daily_gives_the_same_alerts_as_one_pass() -> None:
    """The runner saves and reloads subject state between batches; a state saved by
    a version that kept no running sums is taken up too (they are taken again)."""
    s, _ = _monthly_searcher([350] * 31)
    whole = run(s)
    evs, ts = s.events()
    pipe = Pipeline(MonitorSettings())
    book = AlertBook(MonitorSettings().evidence_cap)
    for day in range(32):
        chunk = [(e, t) for e, t in zip(evs, ts, strict=True)
                 if t // DAY_US == ts[0] // DAY_US + day]
        if chunk:
            book.apply(pipe.feed([e for e, _ in chunk], [t for _, t in chunk]))
        for by_key in pipe.engine.subjects.values():
            for key, st in by_key.items():
                again = state_decoder.decode(state_encoder.encode(st))
                if day % 2:
                    again.cum_sums.clear()
                by_key[key] = again
    assert [(a.detector, a.raised_us, a.event_ids) for a in book.sorted()] == \
        [(a.detector, a.raised_us, a.event_ids) for a in whole]
    assert any(a.detector == "cumulative_access" for a in whole)
