"""Leak-source triangulation: who explains a cluster of leaked waybills better than
chance?

Model. The enterprise's log names N distinct waybills that anyone accessed; subject
s (an employee, partner, external client, or a station as the sum of its staff)
accessed b_s of them. If the n leaked waybills of a cluster were a random draw from
the N, the number s accessed would follow Binomial(n, p_s) with p_s = b_s / N. The
score is -log10 of the exact upper tail P(X >= k_s): a courier who delivers a fifth
of a town's parcels touching a fifth of the victims scores about 0; a clerk who
normally touches 1 % of parcels and touched every victim scores n * 2.

Two details keep the test honest. The baseline leaves the cluster out (b_s and N
count only the other waybills), so a subject's leaking is not part of its own
"normal"; and p_s is smoothed ((b + 0.5) / (N + 1)), so a subject with no other
history is not infinitely surprising. ``confidence`` is 1 minus the Bonferroni-
corrected p-value over every subject tested (the search over subjects would
otherwise find a "suspect" in pure noise).

The statistics are pure (``rank``); ``rank_leak_sources`` reads the log for them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

_LN10 = math.log(10)


@dataclass(frozen=True, order=True)
class Subject:
    type: str  # employee | station | partner | external | system | consumer
    id: str


@dataclass(frozen=True)
class Ranked:
    subject_type: str
    subject_id: str
    score: float
    accessed: int
    expected: float
    p_value: float
    confidence: float

    def as_dict(self) -> dict[str, object]:
        """The published shape: exactly these keys (the CLI prints a list of them)."""
        return {"subject_type": self.subject_type, "subject_id": self.subject_id,
                "score": self.score, "accessed": self.accessed, "expected": self.expected}

    def as_detail(self) -> dict[str, object]:
        return {**self.as_dict(), "p_value": self.p_value, "confidence": self.confidence}


def _log_pmf(k: int, n: int, log_p: float, log_q: float) -> float:
    return (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
            + k * log_p + (n - k) * log_q)


def log_binom_sf(k: int, n: int, p: float) -> float:
    """ln P(X >= k) for X ~ Binomial(n, p), exact (log-sum-exp over the tail)."""
    if k <= 0:
        return 0.0
    if k > n:
        return -math.inf
    if p <= 0:
        return -math.inf
    if p >= 1:
        return 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    terms = [_log_pmf(i, n, log_p, log_q) for i in range(k, n + 1)]
    top = max(terms)
    return min(0.0, top + math.log(sum(math.exp(t - top) for t in terms)))


def rank(n: int, accessed: Mapping[Subject, int], baseline: Mapping[Subject, int],
         population: int, *, tested: int | None = None) -> list[Ranked]:
    """Rank the subjects that accessed any of the ``n`` leaked waybills.

    ``accessed``: leaked waybills each subject accessed; ``baseline``: other waybills
    each accessed, out of ``population``; ``tested``: subjects searched over (for the
    confidence; default all in the baseline)."""
    m = max(1, tested if tested is not None else len(set(baseline) | set(accessed)))
    out = []
    for s, hits in accessed.items():
        if hits <= 0 or n <= 0:
            continue
        k = min(hits, n)
        p = (baseline.get(s, 0) + 0.5) / (max(population, 0) + 1)
        log_sf = log_binom_sf(k, n, p)
        p_value = math.exp(log_sf)
        out.append(Ranked(
            subject_type=s.type, subject_id=s.id, score=round(-log_sf / _LN10, 2),
            accessed=k, expected=round(n * p, 2), p_value=p_value,
            confidence=round(max(0.0, 1.0 - p_value * m), 6)))
    out.sort(key=lambda r: (-r.score, -r.accessed, r.subject_type, r.subject_id))
    return out


@dataclass(frozen=True)
class Triangulation:
    enterprise_id: str
    waybills: int  # as given
    known: int  # of those, waybills the enterprise's log has accesses to
    population: int
    ranking: list[Ranked] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"enterprise_id": self.enterprise_id, "waybills": self.waybills,
                "known": self.known, "population": self.population,
                "ranking": [r.as_detail() for r in self.ranking]}


@dataclass(frozen=True, slots=True)
class AccessRow:
    """One access event to a waybill, as far as triangulation and evidence care."""

    seq: int
    event_id: str
    occurred_at_us: int
    actor_type: str
    actor_id: str
    action: str
    outcome: str
    waybill_no: str | None
    record_count: int


@dataclass(frozen=True)
class Baseline:
    """Distinct waybills accessed, per subject and in all, over an enterprise's log."""

    population: int
    by_actor: Mapping[str, int]
    by_station: Mapping[str, int]
    station_of: Mapping[str, str]  # employee id -> station id

    @property
    def subjects(self) -> int:
        return len(self.by_actor) + len(self.by_station)

    def count(self, s: Subject) -> int:
        return (self.by_station if s.type == "station" else self.by_actor).get(s.id, 0)


def triangulate_rows(enterprise_id: str, cluster: Sequence[str], rows: Iterable[AccessRow],
                     base: Baseline, *, top: int | None = None) -> Triangulation:
    """The pure core of ``rank_leak_sources`` over already-read access rows."""
    seen_any: dict[Subject, set[str]] = {}
    allowed: dict[Subject, set[str]] = {}
    known: set[str] = set()
    cluster_set = set(cluster)
    for row in rows:
        if row.waybill_no is None or row.waybill_no not in cluster_set:
            continue
        known.add(row.waybill_no)
        subjects = [Subject(row.actor_type, row.actor_id)]
        station = base.station_of.get(row.actor_id) if row.actor_type == "employee" else None
        if station:
            subjects.append(Subject("station", station))
        for s in subjects:
            seen_any.setdefault(s, set()).add(row.waybill_no)
            if row.outcome == "allowed":
                allowed.setdefault(s, set()).add(row.waybill_no)
    population = base.population - len(known)
    left_out = {s: max(0, base.count(s) - len(seen_any.get(s, ()))) for s in seen_any}
    ranking = rank(len(known), {s: len(w) for s, w in allowed.items()}, left_out, population,
                   tested=base.subjects)
    return Triangulation(enterprise_id, len(cluster_set), len(known), population,
                         ranking[:top] if top else ranking)


def explain(enterprise_id: str, cluster: Sequence[str], rows: Sequence[AccessRow],
            base: Baseline, *, min_confidence: float, max_suspects: int = 3,
            min_accessed: int = 2) -> list[Ranked]:
    """The individuals who explain the cluster, one after the other: the best-ranked
    one (if confident), then the best on the waybills it did not access, and so on.

    Why not simply everyone above the confidence: when the victims concentrate on one
    station (a courier browsing their own outlet's parcels), the outlet's honest
    couriers delivered some of them and look surprising against the enterprise-wide
    baseline. Once the browsing courier explains those waybills, the couriers explain
    nothing left over, so they are never named to the police."""
    residual = set(cluster)
    found: list[Ranked] = []
    allowed: dict[str, set[str]] = {}
    for row in rows:
        if row.outcome == "allowed" and row.waybill_no is not None:
            allowed.setdefault(row.actor_id, set()).add(row.waybill_no)
    while residual and len(found) < max_suspects:
        tri = triangulate_rows(enterprise_id, sorted(residual), rows, base)
        best = next((r for r in tri.ranking if r.subject_type != "station"), None)
        if best is None or best.confidence < min_confidence or best.accessed < min_accessed:
            break
        found.append(best)
        residual -= allowed.get(best.subject_id, set())
    return found
