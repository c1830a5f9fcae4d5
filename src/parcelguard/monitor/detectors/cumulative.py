"""cumulative_access: slow abuse, below every single-day and single-hour threshold.

Per actor, three counters are kept in local-day buckets for 30 days: records
exported, records returned by searches, and allowed waybill reads no assignment or
honoured work covered. Each has a threshold per window (1, 7 and 30 days, the
``cumulative_*`` settings); the first window to reach its threshold fires. Exports
are counted from the first record (each export event is evidence a court counts);
searches and uncovered reads keep their event ids only once a window is past half
its threshold (a sorter searches all day: the state stays small).

Exports are also watched at the slice: ``export_repeat_count`` exports within
``export_repeat_minutes`` fire before the records add up (approved exports come one
at a time, days apart; a slicer needs many in a row).
"""

from __future__ import annotations

from collections.abc import Sequence

from parcelguard.monitor.detectors import base
from parcelguard.monitor.model import DAY_US, MINUTE_US, Ev
from parcelguard.monitor.state import Ctx, SubjectState, evidence, fire, score_for

NAME = "cumulative_access"
WINDOW_DAYS = (1, 7, 30)
_KEEP_DAYS = WINDOW_DAYS[-1]
_IDS_CAP = 2_000  # evidence ids kept per counter (an alert keeps evidence_cap of them)
_WHAT = {"export": "exported {n:,.0f} records", "search": "searched {n:,.0f} records",
         "uncovered": "read {n:g} waybills no assignment covered"}


def _thresholds(ctx: Ctx, counter: str) -> Sequence[float]:
    s = ctx.settings
    if counter == "export":
        return s.cumulative_export_records
    if counter == "search":
        return s.cumulative_search_records
    return s.cumulative_uncovered_reads


def add(ctx: Ctx, st: SubjectState, ev: Ev, t: int, *, counter: str, amount: float) -> None:
    """Count ``amount`` into the actor's counter; fire when a window reaches its
    threshold, else add evidence to the open episode (a day long)."""
    day = (t + ctx.offset_min * 60_000_000) // DAY_US
    sums = _count(st, counter, day, amount)
    if evidence(ctx, st, NAME, t, ev.event_id, window_us=DAY_US):
        return
    thresholds = _thresholds(ctx, counter)
    # sums[-1] is every bucket's (30 days are kept)
    if counter != "export" and sums[-1] * 2 < min(thresholds):
        return  # every window is under half its threshold (the common case: a sorter)
    share = max(n / thr for n, thr in zip(sums, thresholds, strict=True))
    ids = st.cum_ids.get(counter)
    if counter == "export" or share >= 0.5:
        if ids is None:
            ids = st.cum_ids[counter] = []
        ids.append((t, ev.event_id))
        if len(ids) > _IDS_CAP:
            del ids[0]
    if share < 1.0:
        if counter == "export" and ids is not None:
            _repeated_export(ctx, st, t, ids)
        return
    i = next(i for i, (n, thr) in enumerate(zip(sums, thresholds, strict=True)) if n >= thr)
    days, n, thr = WINDOW_DAYS[i], sums[i], thresholds[i]
    horizon = t - days * DAY_US
    kept = [(u, e) for u, e in ids or [] if u >= horizon - DAY_US] or [(t, ev.event_id)]
    fire(ctx, st, NAME, t, [e for _, e in kept], first_us=kept[0][0],
         score=score_for(base(NAME), n, thr),
         summary=f"{st.subject_id} {_WHAT[counter].format(n=n)} within {days} "
         f"day{'s' if days > 1 else ''} (threshold {thr:,.0f})")
    st.cum_ids.pop(counter, None)


def _count(st: SubjectState, counter: str, day: int, amount: float) -> list[float]:
    """Add ``amount`` to the counter's bucket for ``day``; its sums over 1, 7 and 30
    days up to that day."""
    buckets = st.cum.get(counter)
    if buckets is None:
        buckets = st.cum[counter] = []
    sums = st.cum_sums.get(counter)
    if buckets and buckets[-1][0] == day:
        buckets[-1] = (day, buckets[-1][1] + amount)
        if sums is not None:
            sums[0] += amount
            sums[1] += amount
            sums[2] += amount
            return sums
    else:
        buckets.append((day, amount))
        while buckets[0][0] <= day - _KEEP_DAYS:
            del buckets[0]
    # a new day (or state saved before the sums were kept): the windows moved, so
    # their sums are taken again, once a day rather than per event (a 30-day list)
    sums = st.cum_sums[counter] = [sum(n for d, n in buckets if d > day - w)
                                   for w in WINDOW_DAYS]
    return sums


def _repeated_export(ctx: Ctx, st: SubjectState, t: int, ids: list[tuple[int, str]]) -> None:
    """Slicing seen at the slice: export_repeat_count exports within
    export_repeat_minutes, before their records add up to any window's threshold."""
    s = ctx.settings
    recent = [(u, e) for u, e in ids if u >= t - s.export_repeat_minutes * MINUTE_US]
    if len(recent) < s.export_repeat_count:
        return
    fire(ctx, st, NAME, t, [e for _, e in recent], first_us=recent[0][0], score=base(NAME),
         summary=f"{st.subject_id} ran {len(recent)} exports within "
         f"{s.export_repeat_minutes} min: an export taken in slices")
