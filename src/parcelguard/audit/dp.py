"""Differentially private counts (OpenDP) and the privacy budget they spend.

Mechanism: OpenDP's ``make_laplace`` on a vector of integer counts, which for
integers is the discrete Laplace (geometric) mechanism, pure epsilon-DP. The
privacy unit is one record (an access event, an alert, an incident, a complaint, a
sanction): adding or removing one changes at most ``d_in`` counts by one each, so
the vector's L1 sensitivity is ``d_in``. The epsilon reported is what OpenDP's own
privacy map gives for that ``d_in``, not a figure we compute beside it.

Budget: every event falls in exactly one calendar month, so each month of each
enterprise has a budget; a report spends its epsilon in every month it covers
(a quarterly report draws on three months). An event's total privacy loss is then
at most its month's budget however many reports overlap it, and publishing past it
is refused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from parcelguard.audit.model import PERIOD_TZ, Period
from parcelguard.audit.models import AuditDpBudget
from parcelguard.core.errors import Conflict, InvalidInput

MECHANISM = "OpenDP make_laplace on integer counts (discrete Laplace), pure epsilon-DP"
_SLACK = 1e-9  # float sums of epsilons must not refuse an exactly-fitting report


# The confidence of the interval shown beside each noisy count.
INTERVAL_CONFIDENCE = 0.95


@dataclass(frozen=True)
class Release:
    """Noisy counts with what a reader needs to read them: ``half_width`` is the 95 %
    interval of the noise (the true count lies within +/- it with that confidence),
    and a count below ``floor`` is not distinguishable from zero and is published as
    "below the floor", never as a figure."""

    values: dict[str, int]
    epsilon: float
    scale: float
    d_in: int
    half_width: int = 0
    floor: int = 0
    mechanism: str = MECHANISM


def interval_half_width(scale: float, confidence: float = INTERVAL_CONFIDENCE) -> int:
    """The smallest h with P(|Z| > h) <= 1 - confidence for discrete Laplace noise Z
    of ``scale`` (P(Z = k) proportional to a^|k|, a = exp(-1/scale)):
    P(|Z| > h) = 2 a^(h+1) / (1 + a)."""
    a = math.exp(-1.0 / scale)
    h = 0
    while 2 * a ** (h + 1) / (1 + a) > 1 - confidence:
        h += 1
    return h


@dataclass(frozen=True)
class Mechanism:
    """A discrete Laplace measurement over ``d_in``-sensitive count vectors, built
    before anything is released so the budget is charged OpenDP's own epsilon."""

    epsilon: float  # what OpenDP's privacy map says this spends
    scale: float
    d_in: int
    _measurement: Any

    def release(self, counts: Mapping[str, int]) -> Release:
        """Noisy counts as non-negative integers (post-processing: free of privacy
        cost), with the interval and release floor that go with them."""
        names = list(counts)
        noisy = self._measurement([int(counts[n]) for n in names])
        half = interval_half_width(self.scale)
        return Release({n: max(0, int(v)) for n, v in zip(names, noisy, strict=True)},
                       self.epsilon, self.scale, self.d_in, half_width=half,
                       floor=half + 1)


def mechanism(*, epsilon: float, d_in: int) -> Mechanism:
    """The measurement spending at most ``epsilon`` for sensitivity ``d_in``."""
    import opendp.prelude as dp

    if epsilon <= 0 or d_in < 1:
        raise InvalidInput("epsilon must be positive and d_in at least 1")
    dp.enable_features("contrib")  # the discrete Laplace is a contrib measurement
    space = dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int)
    scale = d_in / epsilon
    meas = dp.m.make_laplace(*space, scale=scale)
    if float(meas.map(d_in)) > epsilon:  # float rounding: let OpenDP find the scale
        scale = float(dp.binary_search_param(
            lambda s: dp.m.make_laplace(*space, scale=s), d_in=d_in, d_out=epsilon))
        meas = dp.m.make_laplace(*space, scale=scale)
    return Mechanism(float(meas.map(d_in)), scale, d_in, meas)


def months_of(period: Period) -> list[str]:
    """The calendar months (``YYYY-MM``) a period covers; it must be whole months."""
    start, end = period.start.astimezone(PERIOD_TZ), period.end.astimezone(PERIOD_TZ)
    for t in (start, end):
        if (t.day, t.hour, t.minute, t.second, t.microsecond) != (1, 0, 0, 0, 0):
            raise InvalidInput("transparency reports cover whole calendar months (2026-11, "
                               "2026-Q4, 2026-H2 or 2026), so each month's budget is kept")
    out = []
    y, m = start.year, start.month
    while datetime(y, m, 1, tzinfo=PERIOD_TZ) < end:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def budgets(session: Session, enterprise_id: str, months: list[str], *, total: float,
            now: datetime, create: bool = True) -> list[AuditDpBudget]:
    """The months' budget rows, created with ``total`` on first use (with ``create``;
    without, months never charged come back as unsaved full budgets: reading the
    budget writes nothing)."""
    rows = {b.period: b for b in session.scalars(select(AuditDpBudget).where(
        AuditDpBudget.enterprise_id == enterprise_id, AuditDpBudget.period.in_(months)))}
    for month in months:
        if month not in rows:
            rows[month] = AuditDpBudget(enterprise_id=enterprise_id, period=month, total=total,
                                        spent=0.0, updated_at=now)
            if create:
                session.add(rows[month])
    if create:
        session.flush()
    return [rows[m] for m in months]


def spend(session: Session, enterprise_id: str, period: Period, epsilon: float, *,
          total: float, now: datetime) -> list[AuditDpBudget]:
    """Charge ``epsilon`` to every month of ``period``, or refuse (409) without
    charging any when one of them would go past its budget. The conditional UPDATE
    keeps two concurrent publications from both fitting in the last of a budget."""
    months = months_of(period)
    rows = budgets(session, enterprise_id, months, total=total, now=now)
    short = [b.period for b in rows if b.spent + epsilon > b.total + _SLACK]
    if short:
        left = min(b.total - b.spent for b in rows)
        raise Conflict.of("privacy budget exhausted for %(months)s: this report needs "
                          "epsilon %(eps)s, %(left)s is left", months=", ".join(short),
                          eps=f"{epsilon:g}", left=f"{max(left, 0.0):g}")
    for b in rows:
        res = session.execute(
            update(AuditDpBudget)
            .where(AuditDpBudget.enterprise_id == enterprise_id,
                   AuditDpBudget.period == b.period,
                   AuditDpBudget.spent + epsilon <= AuditDpBudget.total + _SLACK)
            .values(spent=AuditDpBudget.spent + epsilon, updated_at=now)
            .execution_options(synchronize_session=False))
        if res.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(f"privacy budget for {b.period} was spent concurrently; retry")
    for b in rows:
        session.refresh(b)
    return rows
