"""wide_scope_query (SF 2016-18): a warehouse account that logs in again and again
and searches at volume within 24 h alerts, naming those logins and searches; the same
activity spread over more than a day, or by a courier, does not."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.monitor.builders import DAY0, Stream, by_detector, run

H = timedelta(hours=1)


def _warehouse_day(s: Stream, start_hour: float, step: timedelta, emp: str = "emp-w",
                   ) -> list[str]:
    """Four logins, each followed by a 60-record search, ``step`` apart."""
    ids = []
    t = DAY0 + start_hour * H
    for _ in range(4):
        ids.append(s.access(t, emp, "login", channel="web"))
        ids.append(s.access(t + timedelta(minutes=5), emp, "search", records=60,
                            channel="web", purpose="security"))
        t += step
    return ids


def test_warehouse_account_logging_in_and_searching_within_a_day_alerts() -> None:
    s = Stream()
    s.hire(DAY0, "emp-w", role="warehouse")
    ids = _warehouse_day(s, 9, 2 * H)
    alerts = by_detector(run(s)).get("wide_scope_query", [])
    assert len(alerts) == 1
    assert alerts[0].subject_id == "emp-w"
    assert set(alerts[0].event_ids) == set(ids)  # 4 logins and 240 records searched
    assert "logged in 4 times and searched 240 records" in alerts[0].summary


def test_the_same_activity_spread_over_more_than_a_day_or_by_a_courier_is_quiet() -> None:
    s = Stream()
    s.hire(DAY0, "emp-w", role="warehouse")
    s.hire(DAY0, "emp-c", role="courier")
    _warehouse_day(s, 1, 9 * H)  # logins 27 h apart end to end: never 4 within 24 h
    _warehouse_day(s, 2, 2 * H, emp="emp-c")
    assert by_detector(run(s)).get("wide_scope_query", []) == []


def test_a_long_busy_day_keeps_only_the_last_24_hours() -> None:
    s = Stream()
    s.hire(DAY0, "emp-w", role="warehouse")
    t = DAY0 + 8 * H
    for _ in range(3):  # three logins with big searches, then a day and more passes
        s.access(t, "emp-w", "login", channel="web")
        s.access(t, "emp-w", "search", records=500, channel="web", purpose="security")
        t += H
    assert by_detector(run(s)).get("wide_scope_query", []) == []
    s.access(t + 30 * H, "emp-w", "login", channel="web")  # the 4th, 30 h later
    assert by_detector(run(s)).get("wide_scope_query", []) == []
