"""Deadline arithmetic in event time, across time zones and day boundaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from parcelguard.incidents.deadlines import (
    DeadlinePolicy,
    Recipient,
    ReportKind,
    after_days,
    after_hours,
    initial_obligations,
    local,
    on_time,
    overdue,
    people_notice_due,
    summary_obligation,
)
from parcelguard.incidents.grading import Grade

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
POLICY = DeadlinePolicy()


def _due(grade: Grade, detected: datetime, *, cii: bool = False) -> dict[ReportKind, datetime]:
    return {o.kind: o.due_at for o in initial_obligations(grade, detected_at=detected, cii=cii,
                                                          policy=POLICY)}


def test_four_hours_for_relatively_major_crossing_midnight_in_shanghai() -> None:
    detected = datetime(2026, 11, 10, 22, 30, tzinfo=SH)
    due = _due(Grade.RELATIVELY_MAJOR, detected)
    assert local(due[ReportKind.CAC_INITIAL], POLICY) == datetime(2026, 11, 11, 2, 30,
                                                                  tzinfo=SH)
    assert ReportKind.PIPL_NOTICE not in due
    assert due[ReportKind.POSTAL] == detected + timedelta(hours=24)


def test_one_hour_for_critical_information_infrastructure() -> None:
    detected = datetime(2026, 12, 31, 23, 15, tzinfo=SH)  # across the year's end
    obs = initial_obligations(Grade.MAJOR, detected_at=detected, cii=True, policy=POLICY)
    cac = next(o for o in obs if o.kind is ReportKind.CAC_INITIAL)
    assert cac.recipient is Recipient.CII_PROTECTING_DEPARTMENT
    assert local(cac.due_at, POLICY) == datetime(2027, 1, 1, 0, 15, tzinfo=SH)


def test_below_the_thresholds_pipl_asks_for_an_immediate_notice() -> None:
    detected = datetime(2026, 11, 10, 9, 0, tzinfo=SH)
    obs = initial_obligations(Grade.GENERAL, detected_at=detected, cii=True, policy=POLICY)
    assert [(o.kind, o.recipient) for o in obs] == [
        (ReportKind.PIPL_NOTICE, Recipient.SUPERVISION_DEPARTMENT),
        (ReportKind.POSTAL, Recipient.POSTAL_AUTHORITY)]
    assert obs[0].due_at == detected + timedelta(hours=24)
    assert people_notice_due(detected, POLICY) == obs[0].due_at


def test_the_same_instant_in_any_zone_gives_the_same_deadline() -> None:
    instant = datetime(2026, 11, 10, 14, 30, tzinfo=UTC)
    views = [instant, instant.astimezone(SH), instant.astimezone(NY),
             instant.astimezone(timezone(timedelta(hours=-9, minutes=-30)))]
    dues = {_due(Grade.MAJOR, v)[ReportKind.CAC_INITIAL] for v in views}
    assert dues == {datetime(2026, 11, 10, 18, 30, tzinfo=UTC)}


def test_hour_periods_ignore_daylight_saving_changes() -> None:
    # New York leaves DST at 02:00 on 2026-11-01: 4 elapsed hours, 3 on the wall clock
    detected = datetime(2026, 11, 1, 0, 30, tzinfo=NY)
    due = after_hours(detected, 4)
    assert due - detected == timedelta(hours=4)
    assert due.astimezone(NY).hour == 3


def test_summary_is_due_at_midnight_ending_the_thirtieth_local_day() -> None:
    resolved = datetime(2026, 11, 10, 15, 0, tzinfo=SH)
    ob = summary_obligation(Grade.GENERAL, resolved_at=resolved, cii=False, policy=POLICY)
    assert ob.kind is ReportKind.SUMMARY
    assert ob.recipient is Recipient.SUPERVISION_DEPARTMENT
    assert local(ob.due_at, POLICY) == datetime(2026, 12, 11, 0, 0, tzinfo=SH)


def test_one_minute_either_side_of_local_midnight_is_a_day_apart() -> None:
    before = after_days(datetime(2026, 11, 10, 23, 59, tzinfo=SH), 30, SH)
    after = after_days(datetime(2026, 11, 11, 0, 1, tzinfo=SH), 30, SH)
    assert after - before == timedelta(days=1)


def test_the_local_day_counts_not_the_utc_day() -> None:
    # 17:30 UTC on 10 Nov is already 01:30 on 11 Nov in Shanghai
    resolved = datetime(2026, 11, 10, 17, 30, tzinfo=UTC)
    assert after_days(resolved, 30, SH) == datetime(2026, 12, 11, 16, 0, tzinfo=UTC)
    assert after_days(resolved, 30, UTC) == datetime(2026, 12, 11, 0, 0, tzinfo=UTC)


def test_day_periods_follow_the_wall_clock_across_daylight_saving() -> None:
    # resolved on 20 Oct (EDT, UTC-4); 30 days later New York is on EST (UTC-5)
    due = after_days(datetime(2026, 10, 20, 12, 0, tzinfo=NY), 30, NY)
    assert due.astimezone(NY) == datetime(2026, 11, 20, 0, 0, tzinfo=NY)
    assert due == datetime(2026, 11, 20, 5, 0, tzinfo=UTC)


def test_cac_grades_send_the_summary_where_the_first_report_went() -> None:
    resolved = datetime(2026, 11, 10, 15, 0, tzinfo=SH)
    assert summary_obligation(Grade.MAJOR, resolved_at=resolved, cii=False,
                              policy=POLICY).recipient is Recipient.PROVINCIAL_CAC
    assert summary_obligation(Grade.MAJOR, resolved_at=resolved, cii=True,
                              policy=POLICY).recipient is Recipient.CII_PROTECTING_DEPARTMENT


def test_the_deadline_instant_itself_is_on_time() -> None:
    due = datetime(2026, 11, 10, 18, 30, tzinfo=UTC)
    assert on_time(due, due)
    assert on_time(due, due.astimezone(SH))
    assert not on_time(due, due + timedelta(microseconds=1))
    assert not overdue(due, filed_at=None, now=due)
    assert overdue(due, filed_at=None, now=due + timedelta(seconds=1))
    assert not overdue(due, filed_at=due, now=due + timedelta(days=3))


def test_settings_change_the_figures() -> None:
    policy = DeadlinePolicy(report_hours=2, immediate_notice_hours=72, summary_days=10,
                            timezone="UTC")
    detected = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
    obs = initial_obligations(Grade.MAJOR, detected_at=detected, cii=False, policy=policy)
    assert obs[0].due_at == detected + timedelta(hours=2)
    assert summary_obligation(Grade.GENERAL, resolved_at=detected, cii=False,
                              policy=policy).due_at == datetime(2026, 11, 21, tzinfo=UTC)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        after_hours(datetime(2026, 11, 10, 12, 0), 4)
    with pytest.raises(ValueError, match="time zone"):
        on_time(datetime(2026, 11, 10, tzinfo=UTC), datetime(2026, 11, 10))
