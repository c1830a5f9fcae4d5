"""Pure audit logic: periods, control results and scores, the engagement lifecycle
and the rotation rule. No SQLAlchemy or FastAPI here; services persist what these
decide."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from parcelguard.audit.rulebook import Control
from parcelguard.core.errors import Conflict, InvalidInput

# Regulatory periods (months, quarters, years) are calendar periods in China.
PERIOD_TZ = ZoneInfo("Asia/Shanghai")
# The same audit firm (with its affiliates) or lead auditor may not audit the same
# entity "连续三次以上" (CAC PI protection compliance audit measures). Civil Code
# Art. 1259: "以上" includes the number itself, so three in a row is already barred and
# at most two consecutive audits are allowed (DOMAIN.md "Audits").
MAX_CONSECUTIVE = 2

Status = Literal["pass", "partial", "fail", "not_evaluable"]
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_HALF = re.compile(r"^(\d{4})-H([12])$")
_YEAR = re.compile(r"^(\d{4})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class Period:
    """A half-open time range [start, end) with a stable key (budgets are per key)."""

    start: datetime
    end: datetime
    key: str

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise InvalidInput("a period needs timezone-aware bounds")
        if not self.start < self.end:
            raise InvalidInput("a period must end after it starts")

    @property
    def start_us(self) -> int:
        return _us(self.start)

    @property
    def end_us(self) -> int:
        return _us(self.end)

    def contains(self, when: datetime) -> bool:
        return self.start <= when < self.end


def _us(when: datetime) -> int:
    return (when - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _local(year: int, month: int, day: int = 1) -> datetime:
    return datetime(year, month, day, tzinfo=PERIOD_TZ)


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    m0 = month - 1 + months
    return year + m0 // 12, m0 % 12 + 1


def parse_period(text: str) -> Period:
    """``2026-11`` (a month), ``2026-Q4``, ``2026-H2``, ``2026`` or an explicit
    ``2026-11-09..2026-11-12`` (end date exclusive), in China Standard Time."""
    text = text.strip()
    if m := _MONTH.match(text):
        y, mo = int(m[1]), int(m[2])
        if not 1 <= mo <= 12:
            raise InvalidInput(f"no month {mo}")
        return Period(_local(y, mo), _local(*_add_months(y, mo, 1)), text)
    if m := _QUARTER.match(text):
        y, q = int(m[1]), int(m[2])
        return Period(_local(y, 3 * q - 2), _local(*_add_months(y, 3 * q - 2, 3)), text)
    if m := _HALF.match(text):
        y, h = int(m[1]), int(m[2])
        return Period(_local(y, 6 * h - 5), _local(*_add_months(y, 6 * h - 5, 6)), text)
    if m := _YEAR.match(text):
        return Period(_local(int(m[1]), 1), _local(int(m[1]) + 1, 1), text)
    if m := _RANGE.match(text):
        try:
            a, b = (datetime.fromisoformat(x).replace(tzinfo=PERIOD_TZ) for x in (m[1], m[2]))
        except ValueError:
            raise InvalidInput(f"not a date range: {text}") from None
        return Period(a, b, text)
    raise InvalidInput("period: use 2026-11, 2026-Q4, 2026-H2, 2026 or "
                       "2026-11-09..2026-11-12")


def period_of(start: datetime, end: datetime) -> Period:
    """The period of stored bounds, keyed as ``parse_period`` would name it: a
    calendar month, quarter, half or year by that name, else by its local dates."""
    a, b = start.astimezone(PERIOD_TZ), end.astimezone(PERIOD_TZ)
    if a == _local(a.year, a.month):
        for months, key in ((1, f"{a:%Y-%m}"), (3, f"{a.year}-Q{(a.month + 2) // 3}"),
                            (6, f"{a.year}-H{(a.month + 5) // 6}"), (12, f"{a.year}")):
            if (a.month - 1) % months == 0 and b == _local(*_add_months(a.year, a.month,
                                                                        months)):
                return Period(start, end, key)
    return Period(start, end, f"{a:%Y-%m-%d}..{b:%Y-%m-%d}")


@dataclass(frozen=True)
class Measurement:
    """What an evaluator measured: a value on the control's metric (None when the
    control cannot be evaluated, with the reason), a summary and evidence. Evidence
    is counts, shares and ids, never PI."""

    value: float | None
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def not_evaluable(cls, reason: str, **evidence: Any) -> Measurement:
        return cls(None, reason, dict(evidence))


@dataclass(frozen=True)
class ControlResult:
    control_id: str
    control_version: int
    status: Status
    score: float | None
    value: float | None
    weight: float
    summary: str
    evidence: dict[str, Any]


def judge(control: Control, m: Measurement) -> ControlResult:
    """Score a measurement by the control's thresholds."""
    if m.value is None:
        return ControlResult(control.id, control.version, "not_evaluable", None, None,
                             control.weight, m.summary, m.evidence)
    score = round(control.scoring.score(m.value), 4)
    status: Status = "pass" if score >= 1.0 else "fail" if score <= 0.0 else "partial"
    return ControlResult(control.id, control.version, status, score, round(m.value, 6),
                         control.weight, m.summary, m.evidence)


@dataclass(frozen=True)
class Score:
    score: float | None  # 0..100, None when nothing could be evaluated
    coverage: float  # share of the scope's weight that was evaluable


def aggregate(results: Iterable[ControlResult]) -> Score:
    """100 x the weighted mean of evaluable controls; not-evaluable controls leave the
    mean (a missing table is the platform's gap, not the enterprise's) and show in
    the coverage instead."""
    total = scored = points = 0.0
    for r in results:
        total += r.weight
        if r.score is not None:
            scored += r.weight
            points += r.weight * r.score
    if not scored:
        return Score(None, 0.0)
    return Score(round(100 * points / scored, 1), round(scored / total, 4))


def weakest(results: Iterable[ControlResult], n: int = 3) -> list[ControlResult]:
    """The ``n`` evaluable controls that cost the most points (weight x shortfall)."""
    scored = [r for r in results if r.score is not None and r.score < 1.0]
    scored.sort(key=lambda r: (-(r.weight * (1 - (r.score or 0.0))), r.control_id))
    return scored[:n]


# --- engagements -------------------------------------------------------------------------

EngagementStatus = Literal["planned", "fieldwork", "delivered", "cancelled"]
_MOVES: dict[str, set[str]] = {
    "planned": {"fieldwork", "cancelled"},
    "fieldwork": {"delivered", "cancelled"},
    "delivered": set(),
    "cancelled": set(),
}


def move(current: str, to: str) -> str:
    """The engagement's next status; refuses a move the lifecycle does not allow."""
    if to not in _MOVES.get(current, set()):
        raise Conflict(f"an engagement that is {current} cannot become {to}")
    return to


def rotation_problem(history: Sequence[tuple[str, str]], firm: str, lead: str,
                     limit: int = MAX_CONSECUTIVE) -> str | None:
    """Why (firm, lead) may not take the next engagement of an entity, or None.

    ``history`` is the entity's earlier engagements as (firm, lead), oldest first,
    cancelled ones left out. The firm or the lead auditor must not have done each of
    the last ``limit`` engagements: that would make ``limit + 1`` in a row."""
    last = list(history)[-limit:]
    if len(last) < limit:
        return None
    if all(f == firm for f, _ in last):
        return (f"audit firm {firm} did the last {limit} audits of this enterprise in a "
                f"row; another firm must audit it next")
    if all(ld == lead for _, ld in last):
        return (f"lead auditor {lead} led the last {limit} audits of this enterprise in a "
                f"row; another lead auditor must lead the next")
    return None


def access_open(status: str, now: datetime, access_from: datetime | None,
                access_until: datetime | None) -> bool:
    """The auditor's read-only grant holds only in fieldwork and inside its window."""
    return (status == "fieldwork" and access_from is not None and access_until is not None
            and access_from <= now < access_until)
