"""Pure rules for data-subject requests (PIPL Arts. 44-47): the request lifecycle,
the response deadline, and the retention rule that defers a deletion.

No database, no framework: the service loads a row into a `RequestLifecycle`,
applies a transition (illegal moves raise `Conflict`) and writes it back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from enum import StrEnum

from parcelguard.core.errors import Conflict, InvalidInput

# -- the response deadline ---------------------------------------------------------

# PIPL Art. 50 only says "promptly" (及时). 15 working days is the figure commonly
# applied in practice: the 2019 method for identifying illegal collection and use of
# PI by apps (App违法违规收集使用个人信息行为认定方法) treats a promised handling time
# for correction/deletion longer than 15 working days as non-compliant, while
# GB/T 35273-2020 §8.7 allows up to 30 days. We adopt the stricter 15 (ASSUMPTION:
# the brief's "common reading"; to be confirmed by counsel).
DSR_RESPONSE_WORKING_DAYS = 15
# Working days are Monday-Friday. Statutory holidays and the weekend make-up working
# days (调休) are announced by the State Council each year and are NOT modelled: the
# deadline computed here can only fall earlier than the legal one, never later.
# Days are counted in China Standard Time, which has been UTC+8 without daylight
# saving since 1991, so a fixed offset is exact and needs no tz database.
CHINA_TZ = timezone(timedelta(hours=8), "CST")


def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days (Mon-Fri) after ``start``; ``start`` itself is
    not counted (Civil Code Art. 201: a period starts the day after the event)."""
    if days < 0:
        raise ValueError("days must be >= 0")
    current = start
    left = days
    while left:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


def response_deadline(received_at: datetime,
                      working_days: int = DSR_RESPONSE_WORKING_DAYS) -> datetime:
    """24:00 China time at the end of the last working day (Civil Code Art. 203: a
    period ends at 24:00 of its last day), as an aware UTC datetime."""
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    last = add_working_days(received_at.astimezone(CHINA_TZ).date(), working_days)
    return datetime.combine(last + timedelta(days=1), time(0), CHINA_TZ).astimezone(UTC)


# -- the lifecycle -----------------------------------------------------------------


class DsrKind(StrEnum):
    ACCESS = "access"  # view and copy (Art. 45)
    CORRECTION = "correction"  # correct or complete (Art. 46)
    DELETION = "deletion"  # Art. 47, done by crypto-shredding the person's keys


class DsrStatus(StrEnum):
    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    DEFERRED = "deferred"  # deletion held by a retention rule; the person was told why
    COMPLETED = "completed"
    REJECTED = "rejected"  # with the reason given to the person (Art. 50)


_NEXT: dict[DsrStatus, frozenset[DsrStatus]] = {
    DsrStatus.RECEIVED: frozenset({DsrStatus.IN_PROGRESS, DsrStatus.REJECTED}),
    DsrStatus.IN_PROGRESS: frozenset({DsrStatus.COMPLETED, DsrStatus.REJECTED,
                                      DsrStatus.DEFERRED}),
    DsrStatus.DEFERRED: frozenset({DsrStatus.IN_PROGRESS}),
    DsrStatus.COMPLETED: frozenset(),
    DsrStatus.REJECTED: frozenset(),
}
OPEN_STATUSES = frozenset({DsrStatus.RECEIVED, DsrStatus.IN_PROGRESS, DsrStatus.DEFERRED})
MAX_NOTE = 500


def _reason(text: str, what: str) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise InvalidInput(f"{what} needs a reason the person can be told")
    if len(cleaned) > MAX_NOTE:
        raise InvalidInput(f"{what} reason is longer than {MAX_NOTE} characters")
    return cleaned


@dataclass
class RequestLifecycle:
    """A request's state. Transitions refuse illegal moves with `Conflict` and
    leave the object unchanged when they do."""

    kind: DsrKind
    status: DsrStatus
    received_at: datetime
    deadline_at: datetime
    started_at: datetime | None = None
    closed_at: datetime | None = None
    deferred_until: datetime | None = None
    note: str = ""

    @classmethod
    def receive(cls, kind: DsrKind, at: datetime) -> RequestLifecycle:
        return cls(kind=kind, status=DsrStatus.RECEIVED, received_at=at,
                   deadline_at=response_deadline(at))

    def _move(self, to: DsrStatus) -> None:
        if to not in _NEXT[self.status]:
            raise Conflict(f"a {self.status} request cannot become {to}")

    def start(self, at: datetime) -> None:
        self._move(DsrStatus.IN_PROGRESS)
        if self.status is DsrStatus.DEFERRED:
            # The person was answered when the hold was explained; once the hold ends
            # the erasure is due within a fresh response period.
            self.deadline_at = response_deadline(at)
            self.deferred_until = None
        self.status, self.started_at = DsrStatus.IN_PROGRESS, self.started_at or at

    def complete(self, at: datetime, note: str) -> None:
        self._move(DsrStatus.COMPLETED)
        if len(note) > MAX_NOTE:
            raise InvalidInput(f"result note is longer than {MAX_NOTE} characters")
        self.status, self.closed_at, self.note = DsrStatus.COMPLETED, at, note

    def reject(self, at: datetime, reason: str) -> None:
        self._move(DsrStatus.REJECTED)
        self.note = _reason(reason, "a rejection")
        self.status, self.closed_at = DsrStatus.REJECTED, at

    def defer(self, at: datetime, reason: str, until: datetime | None) -> None:
        if self.kind is not DsrKind.DELETION:
            raise Conflict(f"only deletion requests can be deferred, not {self.kind}")
        self._move(DsrStatus.DEFERRED)
        self.note = _reason(reason, "a deferral")
        self.status, self.deferred_until = DsrStatus.DEFERRED, until

    def overdue(self, now: datetime) -> bool:
        """Not yet answered (received or in progress) after its deadline."""
        return (self.status in (DsrStatus.RECEIVED, DsrStatus.IN_PROGRESS)
                and now >= self.deadline_at)


# -- the retention rule ------------------------------------------------------------

# Statuses in which the parcel is still being carried: its PI is needed to perform
# the contract, so the purpose is not yet achieved (Art. 47(1)(1) does not apply).
OPEN_PARCEL_STATUSES = frozenset({"created", "picked_up", "in_transit", "out_for_delivery",
                                  "returned"})
# Real-name collection records (the sender's identity as verified at pickup) are kept
# for a statutory period even against a deletion request; in that period processing
# is restricted to storage and security (Art. 47 para. 2). ASSUMPTION: one year from
# collection, our reading of the real-name delivery rules (邮件快件实名收寄管理办法
# under the Anti-Terrorism Law Art. 20); to be confirmed by counsel. The privacy
# notice states the same figure.
REAL_NAME_RETENTION_DAYS = 365


@dataclass(frozen=True, slots=True)
class SubjectParcel:
    """One parcel the person appears on, as far as retention is concerned (no PI)."""

    role: str  # "sender" | "recipient"
    status: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RetentionHold:
    code: str  # "parcel_open" | "real_name_retention"
    reason: str  # safe to tell the person; no PI
    until: datetime | None  # None: until an event (delivery), not a date


def retention_hold(parcels: Iterable[SubjectParcel], now: datetime) -> RetentionHold | None:
    """Why a deletion must wait, or None when it may go ahead now.

    1. Any parcel still being carried: deletion waits until it is delivered or closed
       (the contract is being performed).
    2. As the sender of a parcel collected less than `REAL_NAME_RETENTION_DAYS` ago:
       deletion waits until the newest such record's period ends.
    Crypto-shredding destroys all of a person's keys at once, so one held record holds
    the whole deletion; the person's other processing is restricted meanwhile.
    """
    items = list(parcels)
    open_count = sum(1 for p in items if p.status in OPEN_PARCEL_STATUSES)
    if open_count:
        return RetentionHold(
            "parcel_open",
            f"{open_count} parcel(s) are still being delivered; the PI is needed to perform "
            "the shipping contract (PIPL Art. 13(1)(2)). Deletion follows once they are "
            "delivered or closed.", None)
    period = timedelta(days=REAL_NAME_RETENTION_DAYS)
    held = [p.created_at + period for p in items if p.role == "sender"
            and p.created_at + period > now]
    if held:
        until = max(held)
        return RetentionHold(
            "real_name_retention",
            f"real-name collection records of {len(held)} parcel(s) must be kept for "
            f"{REAL_NAME_RETENTION_DAYS} days from collection; until "
            f"{until.astimezone(CHINA_TZ).date().isoformat()} they are only stored and "
            "protected (PIPL Art. 47 para. 2), then deleted.", until)
    return None
