"""Grading an incident and weighing its evidence against the criminal thresholds.
Pure functions; the thresholds that are settings arrive as arguments.

Grades (CAC National Cybersecurity Incident Reporting Measures, in force
2025-11-01), by people whose PI leaked: particularly major (特别重大), major (重大),
relatively major (较大), general (一般). Relatively major and above are reported to
the provincial cyberspace administration within hours.

Criminal thresholds (SPC/SPP 2017 interpretation on infringing citizens' PI, Art. 5):
"serious circumstances" of illegally providing or obtaining PI are
  (3) >= 50 records of whereabouts/location, communications content, credit or
      property information;
  (4) >= 500 records of accommodation, call logs, health, transaction information;
  (5) >= 5,000 other records;
  (6) below each, but the proportions together reach one (e.g. 25 location records
      and 2,500 other records);
  (7) >= 5,000 RMB illegal gains;
  (8) insiders providing PI obtained in their job: half of items (3)-(7).
Ten times a standard is "especially serious" (para. 2). Waybill records (name, phone,
address) are "other" records; a parcel's track is location data only when it was
illegally provided or obtained, never the carrier's own scan events (DOMAIN.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Final


class Grade(StrEnum):
    GENERAL = "general"
    RELATIVELY_MAJOR = "relatively_major"
    MAJOR = "major"
    PARTICULARLY_MAJOR = "particularly_major"

    @property
    def rank(self) -> int:
        return GRADES.index(self)

    @property
    def zh(self) -> str:
        return GRADE_ZH[self]


GRADES: Final = tuple(Grade)
GRADE_ZH: Final = {Grade.GENERAL: "一般", Grade.RELATIVELY_MAJOR: "较大",
                   Grade.MAJOR: "重大", Grade.PARTICULARLY_MAJOR: "特别重大"}


@dataclass(frozen=True)
class GradeThresholds:
    """People affected from which each grade starts (defaults in IncidentSettings)."""

    relatively_major: int
    major: int
    particularly_major: int

    def __post_init__(self) -> None:
        if not 0 < self.relatively_major < self.major < self.particularly_major:
            raise ValueError("grade thresholds must be positive and rising")


def grade_for(people: int, thresholds: GradeThresholds) -> Grade:
    """The grade of a PI leak affecting ``people`` people (thresholds inclusive:
    exactly 1,000,000 people is relatively major)."""
    if people < 0:
        raise ValueError("people affected cannot be negative")
    if people >= thresholds.particularly_major:
        return Grade.PARTICULARLY_MAJOR
    if people >= thresholds.major:
        return Grade.MAJOR
    if people >= thresholds.relatively_major:
        return Grade.RELATIVELY_MAJOR
    return Grade.GENERAL


# -- grading inputs beyond people ------------------------------------------------------
# The annex's "通常情况下" items: direct economic loss; for critical-information-
# infrastructure operators, how long a system was down as a whole or in its main
# functions; and a leak of important or core data (数据安全法 Art. 21) graded by the
# threat it poses to national security and social stability. That threat is a judgment
# the operator records; the software takes it as given, never guesses it.


class DataClass(StrEnum):
    IMPORTANT = "important"  # 重要数据
    CORE = "core"  # 核心数据


class DataThreat(StrEnum):
    RELATIVELY_SERIOUS = "relatively_serious"  # 较严重威胁: 较大
    SERIOUS = "serious"  # 严重威胁: 重大
    ESPECIALLY_SERIOUS = "especially_serious"  # 特别严重威胁: 特别重大


THREAT_GRADE: Final = {DataThreat.RELATIVELY_SERIOUS: Grade.RELATIVELY_MAJOR,
                       DataThreat.SERIOUS: Grade.MAJOR,
                       DataThreat.ESPECIALLY_SERIOUS: Grade.PARTICULARLY_MAJOR}


@dataclass(frozen=True)
class ImpactThresholds:
    """From which figure each grade starts, per input: (relatively major, major,
    particularly major); defaults in IncidentSettings, read from the annex."""

    loss_rmb: tuple[float, float, float]
    outage_hours: tuple[float, float, float]
    main_outage_hours: tuple[float, float, float]


@dataclass(frozen=True)
class OtherInputs:
    """What the handler established besides the people affected (None: not known)."""

    direct_loss_rmb: int | None = None
    outage_hours: float | None = None
    main_outage_hours: float | None = None
    data_class: str | None = None
    data_threat: str | None = None


def _by_figure(value: float | None, limits: tuple[float, float, float]) -> Grade:
    if value is None:
        return Grade.GENERAL
    grades = (Grade.RELATIVELY_MAJOR, Grade.MAJOR, Grade.PARTICULARLY_MAJOR)
    reached = [g for g, limit in zip(grades, limits, strict=True) if value >= limit]
    return reached[-1] if reached else Grade.GENERAL


def grade_overall(people: int, other: OtherInputs, *, thresholds: GradeThresholds,
                  impact: ImpactThresholds, cii: bool) -> tuple[Grade, list[str]]:
    """The highest grade any input reaches, and one line per input that reached a
    reportable grade (the basis a report states). Outage figures grade only CII
    systems: the annex gives hours for those alone."""
    if other.direct_loss_rmb is not None and other.direct_loss_rmb < 0:
        raise ValueError("direct loss cannot be negative")
    for hours in (other.outage_hours, other.main_outage_hours):
        if hours is not None and hours < 0:
            raise ValueError("outage length cannot be negative")
    if (other.data_class is None) != (other.data_threat is None):
        raise ValueError("important or core data is graded by the threat it poses: give "
                         "the data class and the threat together")
    found: list[tuple[Grade, str]] = [(grade_for(people, thresholds),
                                       f"{people:,} people affected")]
    found.append((_by_figure(other.direct_loss_rmb, impact.loss_rmb),
                  f"direct economic loss {other.direct_loss_rmb or 0:,} RMB"))
    if cii:
        found.append((_by_figure(other.outage_hours, impact.outage_hours),
                      f"CII system down as a whole {other.outage_hours or 0:g} h"))
        found.append((_by_figure(other.main_outage_hours, impact.main_outage_hours),
                      f"CII main functions down {other.main_outage_hours or 0:g} h"))
    if other.data_class is not None and other.data_threat is not None:
        cls, threat = DataClass(other.data_class), DataThreat(other.data_threat)
        found.append((THREAT_GRADE[threat],
                      f"{cls.value} data leaked, {threat.value.replace('_', ' ')} threat"))
    grade = max((g for g, _ in found), key=lambda g: g.rank)
    basis = [f"{g.value} ({g.zh}): {why}" for g, why in found
             if g.rank >= Grade.RELATIVELY_MAJOR.rank]
    return grade, basis


def reportable_to_cac(grade: Grade) -> bool:
    """Relatively major and above go to the cyberspace administration (CAC measures);
    below, PIPL Art. 57 still requires an immediate notice to the regulator."""
    return grade.rank >= Grade.RELATIVELY_MAJOR.rank


# -- criminal thresholds --------------------------------------------------------------


class DataCategory(StrEnum):
    LOCATION = "location"  # 行踪轨迹: parcel tracks
    COMMUNICATIONS = "communications"
    CREDIT = "credit"
    PROPERTY = "property"
    ACCOMMODATION = "accommodation"
    CALL_LOGS = "call_logs"
    HEALTH = "health"
    TRANSACTION = "transaction"
    OTHER = "other"  # waybill records: name, phone, address


# SPC/SPP 2017 interpretation, Art. 5 items (3)-(5): records for "serious circumstances".
CRIMINAL_RECORDS: Final[Mapping[DataCategory, int]] = {
    DataCategory.LOCATION: 50, DataCategory.COMMUNICATIONS: 50, DataCategory.CREDIT: 50,
    DataCategory.PROPERTY: 50,
    DataCategory.ACCOMMODATION: 500, DataCategory.CALL_LOGS: 500, DataCategory.HEALTH: 500,
    DataCategory.TRANSACTION: 500,
    DataCategory.OTHER: 5_000,
}
CRIMINAL_GAINS_RMB: Final = 5_000  # Art. 5 item (7)
ESPECIALLY_SERIOUS_FACTOR: Final = 10  # Art. 5 para. 2: ten times a standard
INSIDER_FACTOR: Final = 0.5  # Art. 5 item (8): insiders reach it at half


@dataclass(frozen=True)
class CriminalAssessment:
    """How the evidence stands against Art. 5. ``ratio`` is the sum over categories
    of records / threshold (halved thresholds for insiders), item (6)'s proportional
    combination; 1.0 crosses the line, 10.0 is especially serious."""

    crossed: bool
    especially_serious: bool
    insider: bool
    ratio: float
    records: Mapping[str, int]
    basis: str


def _threshold(category: DataCategory, insider: bool) -> Fraction:
    return CRIMINAL_RECORDS[category] * (Fraction(INSIDER_FACTOR) if insider else Fraction(1))


def _num(x: Fraction) -> str:
    """An exact figure: an integer as is, else its value cut (not rounded) at 4
    decimals with an ellipsis, so 24,999/2,500 never reads as 10."""
    if x.denominator == 1:
        return f"{x.numerator:,}"
    cut = math.floor(x * 10_000) / 10_000
    return f"{cut:,.4f}..."


def assess_criminal(records: Mapping[DataCategory | str, int], *, insider: bool,
                    gains_rmb: float = 0.0) -> CriminalAssessment:
    """Weigh distinct records by category (and any known illegal gains) against Art. 5.
    Decisions are taken on exact fractions; the basis states the exact figures."""
    counts: dict[DataCategory, int] = {}
    for key, n in records.items():
        if n < 0:
            raise ValueError("record counts cannot be negative")
        if n:
            cat = DataCategory(key)
            counts[cat] = counts.get(cat, 0) + n
    if gains_rmb < 0:
        raise ValueError("gains cannot be negative")
    share = sum((Fraction(n) / _threshold(c, insider) for c, n in counts.items()), Fraction(0))
    gains_limit = CRIMINAL_GAINS_RMB * (Fraction(INSIDER_FACTOR) if insider else Fraction(1))
    gains_share = Fraction(gains_rmb) / gains_limit
    ratio = max(share, gains_share)
    who = ("insider (staff, outlets, franchisees and partners in the enterprise's service): "
           "half thresholds, Art. 5(8)") if insider else "Art. 5(3)-(7)"
    parts = [f"{n:,} distinct {c.value} records against a threshold of "
             f"{_num(_threshold(c, insider))}" for c, n in sorted(counts.items())]
    if gains_rmb:
        parts.append(f"{gains_rmb:,.2f} RMB gains against {_num(gains_limit)}")
    if len(counts) == 1 and not gains_rmb:
        ((cat, n),) = counts.items()
        thr = _threshold(cat, insider)
        serious = thr * ESPECIALLY_SERIOUS_FACTOR
        verdict = (f"{'reached' if n >= thr else 'not reached'} ({n:,} "
                   f"{'>=' if n >= thr else '<'} {_num(thr)}); especially serious "
                   f"{'reached' if n >= serious else 'not reached'} ({n:,} "
                   f"{'>=' if n >= serious else '<'} {_num(serious)})")
    else:
        verdict = (f"combined share of the thresholds {_num(ratio)} ("
                   f"{'reached' if ratio >= 1 else 'not reached'} at 1; especially serious "
                   f"{'reached' if ratio >= ESPECIALLY_SERIOUS_FACTOR else 'not reached'} "
                   f"at {ESPECIALLY_SERIOUS_FACTOR})")
    basis = f"{'; '.join(parts) or 'no records'}: {verdict} [{who}]"
    return CriminalAssessment(crossed=ratio >= 1,
                              especially_serious=ratio >= ESPECIALLY_SERIOUS_FACTOR,
                              insider=insider, ratio=math.floor(ratio * 10_000) / 10_000,
                              records={c.value: n for c, n in sorted(counts.items())},
                              basis=basis)
