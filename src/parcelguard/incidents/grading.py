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
