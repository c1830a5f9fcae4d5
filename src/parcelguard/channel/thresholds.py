"""The criminal thresholds for illegally providing or obtaining personal information
(SPC/SPP 2017 interpretation on Art. 253-1 Criminal Law, Art. 5). Pure.

- 50 records of location, communications content, credit or property data;
- 500 records of accommodation, call logs, health or transaction data;
- 5,000 other records (waybill records: name + phone + address);
- or 5,000 RMB of gains.

Insiders (staff of the carrier, its outlets and franchisees, and partners acting in
its service) reach the threshold at half these figures; ten times a figure is
"especially serious". Counts are distinct records (incidents.impact counts them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

# SPC/SPP 2017 interpretation, Art. 5 (1) 3-5 and 9.
THRESHOLDS: Final = {
    "location": 50, "communications": 50, "credit": 50, "property": 50,
    "accommodation": 500, "call_logs": 500, "health": 500, "transaction": 500,
    "other": 5_000, "gains_rmb": 5_000,
}
INSIDER_FACTOR: Final = 0.5  # Art. 5 (1) 8: insiders who provide PI from their job or service
ESPECIALLY_SERIOUS_FACTOR: Final = 10  # Art. 5 para. 2: ten times the threshold


@dataclass(frozen=True)
class ThresholdCheck:
    category: str
    count: int
    threshold: int
    applied: int  # the threshold that applies (halved for insiders; every half is whole)
    reached: bool
    especially_serious: bool
    share: Fraction = Fraction(0)  # count / applied, exact (the combined check's sum)

    def as_dict(self) -> dict[str, object]:
        return {"category": self.category, "count": self.count, "threshold": self.threshold,
                "applied": self.applied, "reached": self.reached,
                "especially_serious": self.especially_serious,
                # cut, not rounded: 24,999 of 25,000 must not read as 1.0
                "share_of_threshold": math.floor(self.share * 10_000) / 10_000}


def assess(counts: Mapping[str, int], *, insider: bool) -> list[ThresholdCheck]:
    """Each counted category against its threshold, and the combined check of Art. 5
    (1) 6: records of several kinds that each fall short still reach the threshold
    when their shares of their own thresholds add up to one. Decided on exact
    fractions (as incidents.grading decides whether to propose the referral): a
    float sum such as 3/50 + 282/500 + 1,880/5,000 falls just short of 1."""
    unknown = set(counts) - set(THRESHOLDS)
    if unknown:
        raise ValueError(f"unknown record categories: {', '.join(sorted(unknown))}")
    factor = Fraction(INSIDER_FACTOR) if insider else Fraction(1)
    out = []
    for category, count in sorted(counts.items()):
        threshold = THRESHOLDS[category]
        applied = threshold * factor
        share = Fraction(count) / applied
        out.append(ThresholdCheck(category, count, threshold, _whole(applied), share >= 1,
                                  share >= ESPECIALLY_SERIOUS_FACTOR, share))
    records = {c: n for c, n in counts.items() if c != "gains_rmb" and n}
    if len(records) > 1:
        share = sum((Fraction(n) / (THRESHOLDS[c] * factor) for c, n in records.items()),
                    Fraction(0))
        # expressed on the "other" scale so count/applied reads as the combined share;
        # cut, so a share short of one never shows a count at the threshold
        applied = 5_000 * factor
        out.append(ThresholdCheck("combined", math.floor(share * applied), 5_000,
                                  _whole(applied), share >= 1,
                                  share >= ESPECIALLY_SERIOUS_FACTOR, share))
    return out


def _whole(x: Fraction) -> int:
    assert x.denominator == 1, "every Art. 5 figure and its half is a whole number"
    return x.numerator


def crime_suspected(checks: list[ThresholdCheck]) -> bool:
    return any(c.reached for c in checks)
