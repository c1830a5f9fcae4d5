"""Triangulation on a synthetic carrier (pure): the planted insider ranks first, busy
legitimate staff do not, and the statistics are the exact binomial tail."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest

from parcelguard.channel.triangulate import (
    AccessRow,
    Baseline,
    Subject,
    explain,
    log_binom_sf,
    rank,
    triangulate_rows,
)


def _brute_sf(k: int, n: int, p: Fraction) -> float:
    return float(sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1)))


@pytest.mark.parametrize(("k", "n", "p"), [(0, 10, "1/3"), (3, 10, "1/3"), (10, 10, "1/100"),
                                           (7, 40, "1/5"), (1, 1, "1/2"), (25, 25, "1/50")])
def test_the_tail_is_the_exact_binomial_tail(k: int, n: int, p: str) -> None:
    exact = _brute_sf(k, n, Fraction(p))
    assert math.exp(log_binom_sf(k, n, float(Fraction(p)))) == pytest.approx(exact, rel=1e-9)


def test_no_excess_scores_about_zero_and_excess_scores_high() -> None:
    ranked = rank(20, {Subject("employee", "busy"): 4, Subject("employee", "nosy"): 20},
                  {Subject("employee", "busy"): 2_000, Subject("employee", "nosy"): 100},
                  10_000)
    assert [r.subject_id for r in ranked] == ["nosy", "busy"]
    nosy, busy = ranked
    assert nosy.score > 35
    assert nosy.confidence > 0.999
    assert busy.score < 1
    assert busy.expected == pytest.approx(4.0, abs=0.01)


def _carrier(seed: int) -> tuple[list[AccessRow], Baseline, list[str], str]:
    """10 outlets x 6 couriers deliver their outlet's parcels, 2 hubs' sorters print
    labels for half of everything, a partner prints a fifth; an insider at outlet 3
    looks up 250 parcels all over, 30 of which end up in scammers' hands."""
    rng = random.Random(seed)
    waybills = [f"W{i:06d}" for i in range(12_000)]
    outlet = {w: rng.randrange(10) for w in waybills}
    rows: list[AccessRow] = []
    station_of: dict[str, str] = {}
    seq = 0

    def touch(actor_type: str, actor: str, wb: str, outcome: str = "allowed") -> None:
        nonlocal seq
        rows.append(AccessRow(seq, f"ev{seq}", seq, actor_type, actor, "reveal", outcome, wb, 1))
        seq += 1

    for o in range(10):
        for c in range(6):
            station_of[f"c{o}-{c}"] = f"st-{o}"
    for h in range(2):
        for s in range(4):
            station_of[f"s{h}-{s}"] = f"hub-{h}"
    for wb in waybills:
        touch("employee", f"c{outlet[wb]}-{rng.randrange(6)}", wb)
        if rng.random() < 0.5:
            h = rng.randrange(2)
            touch("employee", f"s{h}-{rng.randrange(4)}", wb)
        if rng.random() < 0.2:
            touch("partner", "ptn-01", wb)
    insider = "c3-2"
    looked_up = rng.sample(waybills, 250)
    for wb in looked_up:
        touch("employee", insider, wb, outcome="allowed" if rng.random() < 0.9 else "denied")
    seen = [r.waybill_no for r in rows if r.actor_id == insider and r.outcome == "allowed"
            and outlet[r.waybill_no or ""] != 3]
    leaked = rng.sample(seen, 30)
    by_actor: dict[str, set[str]] = {}
    by_station: dict[str, set[str]] = {}
    for r in rows:
        assert r.waybill_no is not None
        by_actor.setdefault(r.actor_id, set()).add(r.waybill_no)
        if r.actor_id in station_of:
            by_station.setdefault(station_of[r.actor_id], set()).add(r.waybill_no)
    base = Baseline(population=len(waybills),
                    by_actor={a: len(w) for a, w in by_actor.items()},
                    by_station={s: len(w) for s, w in by_station.items()}, station_of=station_of)
    return rows, base, leaked, insider


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_planted_insider_ranks_first(seed: int) -> None:
    rows, base, leaked, insider = _carrier(seed)
    tri = triangulate_rows("ent", leaked, rows, base)
    top = tri.ranking[0]
    assert (top.subject_type, top.subject_id) == ("employee", insider)
    assert top.accessed == 30
    assert top.expected < 3
    assert top.confidence > 0.999
    # legitimate staff who touched some victims are unremarkable
    others = [r for r in tri.ranking if r.subject_type == "employee" and r.subject_id != insider]
    assert others
    assert max(r.score for r in others) < top.score / 5
    assert [r.subject_id for r in explain('ent', leaked, rows, base, min_confidence=0.99)] \
        == [insider]
    assert set(top.as_dict()) == {"subject_type", "subject_id", "score", "accessed", "expected"}


def test_denied_attempts_do_not_count_as_leaks_and_unknown_waybills_are_left_out() -> None:
    rows, base, leaked, _insider = _carrier(4)
    denied = [AccessRow(10**7 + i, f"d{i}", 0, "employee", "c9-9", "reveal", "denied", wb, 0)
              for i, wb in enumerate(leaked)]
    tri = triangulate_rows("ent", [*leaked, "NOT-OURS"], [*rows, *denied], base)
    assert tri.waybills == 31
    assert tri.known == 30
    assert all(r.subject_id != "c9-9" for r in tri.ranking)


def test_honest_couriers_of_the_browsed_outlet_are_explained_away() -> None:
    """The insider browses their own outlet's parcels: the outlet's couriers delivered
    some victims and look surprising enterprise-wide, but not once the insider
    explains the cluster."""
    rows, base, _, insider = _carrier(5)
    outlet3 = sorted({r.waybill_no or "" for r in rows
                      if r.actor_id.startswith("c3-") and r.actor_id != insider})
    extra = [AccessRow(10**7 + i, f"x{i}", 0, "employee", insider, "reveal", "allowed", wb, 1)
             for i, wb in enumerate(outlet3[:40])]
    rows = [*rows, *extra]
    tri = triangulate_rows("ent", outlet3[:40], rows, base)
    confident = [r.subject_id for r in tri.ranking
                 if r.subject_type == "employee" and r.confidence >= 0.99]
    assert confident[0] == insider
    assert len(confident) > 1
    named = explain("ent", outlet3[:40], rows, base, min_confidence=0.99)
    assert [r.subject_id for r in named] == [insider]
