"""Data-subject request lifecycle, deadline arithmetic and the retention rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from parcelguard.consent.dsr import (
    CHINA_TZ,
    DSR_RESPONSE_WORKING_DAYS,
    REAL_NAME_RETENTION_DAYS,
    DsrKind,
    DsrStatus,
    RequestLifecycle,
    SubjectParcel,
    add_working_days,
    response_deadline,
    retention_hold,
)
from parcelguard.core.errors import Conflict, InvalidInput

# Friday 2026-11-13, 10:00 China time
FRI = datetime(2026, 11, 13, 10, 0, tzinfo=CHINA_TZ)


def test_working_days_skip_weekends_and_not_the_first_day() -> None:
    assert add_working_days(date(2026, 11, 13), 1) == date(2026, 11, 16)  # Fri -> Mon
    assert add_working_days(date(2026, 11, 14), 1) == date(2026, 11, 16)  # Sat -> Mon
    assert add_working_days(date(2026, 11, 16), 5) == date(2026, 11, 23)  # a full week
    assert add_working_days(date(2026, 11, 16), 0) == date(2026, 11, 16)


def test_deadline_is_midnight_after_the_fifteenth_working_day_china_time() -> None:
    assert DSR_RESPONSE_WORKING_DAYS == 15
    deadline = response_deadline(FRI)
    # 15 working days after Fri 13 Nov is Fri 4 Dec; the period ends at 24:00 that day.
    assert deadline == datetime(2026, 12, 5, 0, 0, tzinfo=CHINA_TZ)
    assert deadline.tzinfo is UTC


def test_the_receipt_day_is_the_china_calendar_day() -> None:
    # 17:00 UTC Friday is already 01:00 Saturday in China: counting starts from Saturday,
    # whose next working day is the same Monday, so the deadline does not move.
    late_friday_utc = datetime(2026, 11, 13, 17, 0, tzinfo=UTC)
    assert response_deadline(late_friday_utc) == response_deadline(FRI)
    # 15:00 UTC Thursday is 23:00 Thursday in China: one working day earlier.
    thursday = datetime(2026, 11, 12, 15, 0, tzinfo=UTC)
    assert response_deadline(thursday) == datetime(2026, 12, 4, 0, 0, tzinfo=CHINA_TZ)


def test_overdue_only_while_unanswered_past_the_deadline() -> None:
    lc = RequestLifecycle.receive(DsrKind.ACCESS, FRI)
    assert not lc.overdue(lc.deadline_at - timedelta(seconds=1))
    assert lc.overdue(lc.deadline_at)
    lc.start(FRI + timedelta(days=1))
    assert lc.overdue(lc.deadline_at)
    lc.complete(FRI + timedelta(days=30), "export handed over")
    assert not lc.overdue(lc.deadline_at + timedelta(days=1))


def test_the_happy_paths() -> None:
    lc = RequestLifecycle.receive(DsrKind.DELETION, FRI)
    assert lc.status is DsrStatus.RECEIVED
    lc.start(FRI)
    lc.defer(FRI, "parcel still in transit", None)
    assert lc.status is DsrStatus.DEFERRED
    resumed = FRI + timedelta(days=40)
    lc.start(resumed)
    assert lc.deadline_at == response_deadline(resumed)  # a fresh period once the hold ends
    lc.complete(resumed, "keys destroyed")
    assert (lc.status, lc.closed_at) == (DsrStatus.COMPLETED, resumed)


ALL = list(DsrStatus)
LEGAL = {(DsrStatus.RECEIVED, DsrStatus.IN_PROGRESS), (DsrStatus.RECEIVED, DsrStatus.REJECTED),
         (DsrStatus.IN_PROGRESS, DsrStatus.COMPLETED),
         (DsrStatus.IN_PROGRESS, DsrStatus.REJECTED),
         (DsrStatus.IN_PROGRESS, DsrStatus.DEFERRED),
         (DsrStatus.DEFERRED, DsrStatus.IN_PROGRESS)}


def _move(lc: RequestLifecycle, to: DsrStatus) -> None:
    at = FRI + timedelta(days=1)
    {DsrStatus.RECEIVED: lambda: pytest.fail("nothing moves back to received"),
     DsrStatus.IN_PROGRESS: lambda: lc.start(at),
     DsrStatus.COMPLETED: lambda: lc.complete(at, "done"),
     DsrStatus.REJECTED: lambda: lc.reject(at, "identity could not be verified"),
     DsrStatus.DEFERRED: lambda: lc.defer(at, "retention", None)}[to]()


@pytest.mark.parametrize(("src", "dst"), [(s, d) for s in ALL for d in ALL
                                          if (s, d) not in LEGAL and d is not DsrStatus.RECEIVED])
def test_illegal_moves_are_refused_and_change_nothing(src: DsrStatus, dst: DsrStatus) -> None:
    lc = RequestLifecycle(DsrKind.DELETION, src, FRI, response_deadline(FRI), note="before")
    before = vars(lc).copy()
    with pytest.raises(Conflict, match=f"cannot become {dst}"):
        _move(lc, dst)
    assert vars(lc) == before


@pytest.mark.parametrize(("src", "dst"), sorted(LEGAL))
def test_legal_moves_are_accepted(src: DsrStatus, dst: DsrStatus) -> None:
    lc = RequestLifecycle(DsrKind.DELETION, src, FRI, response_deadline(FRI))
    _move(lc, dst)
    assert lc.status is dst


def test_rejection_and_deferral_need_a_reason_and_only_deletions_defer() -> None:
    lc = RequestLifecycle.receive(DsrKind.ACCESS, FRI)
    with pytest.raises(InvalidInput, match="needs a reason"):
        lc.reject(FRI, "   ")
    assert lc.status is DsrStatus.RECEIVED
    lc.start(FRI)
    with pytest.raises(Conflict, match="only deletion requests"):
        lc.defer(FRI, "retention", None)
    with pytest.raises(InvalidInput, match="longer than"):
        lc.reject(FRI, "x" * 501)


NOW = datetime(2027, 3, 1, tzinfo=UTC)


def test_an_open_parcel_holds_the_deletion_until_delivered() -> None:
    hold = retention_hold([SubjectParcel("recipient", "delivered", NOW - timedelta(days=900)),
                           SubjectParcel("recipient", "out_for_delivery", NOW)], NOW)
    assert hold is not None
    assert (hold.code, hold.until) == ("parcel_open", None)
    assert "1 parcel(s)" in hold.reason


def test_real_name_records_hold_a_senders_deletion_for_the_statutory_period() -> None:
    sent = NOW - timedelta(days=100)
    hold = retention_hold([SubjectParcel("sender", "closed", sent),
                           SubjectParcel("sender", "delivered", NOW - timedelta(days=200))], NOW)
    assert hold is not None
    assert hold.code == "real_name_retention"
    assert hold.until == sent + timedelta(days=REAL_NAME_RETENTION_DAYS)  # the newest record


def test_no_hold_for_delivered_recipients_or_expired_sender_records() -> None:
    assert retention_hold([SubjectParcel("recipient", "delivered", NOW)], NOW) is None
    old = NOW - timedelta(days=REAL_NAME_RETENTION_DAYS, seconds=1)
    assert retention_hold([SubjectParcel("sender", "closed", old)], NOW) is None
    assert retention_hold([], NOW) is None
