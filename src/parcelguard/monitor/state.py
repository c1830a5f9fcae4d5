"""Per-subject state and the sliding-window episode logic every detector shares.

A subject is an actor (employee, partner, external client) or a login source. Its
state is small, plain data (msgspec, serialisable as MessagePack) so the embedded
runner can persist it per micro-batch and Spark can keep it in its state store.

Episodes: a detector fires when its window reaches the threshold; the events in the
window are the evidence. Until the detector has been quiet for one window length,
further qualifying events are added to the same episode as evidence, so an ongoing
abuse is one alert that grows, not a stream of alerts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec

from parcelguard.monitor.model import MINUTE_US, AlertUpdate, hhmm_minutes
from parcelguard.monitor.settings import MonitorSettings

Window = list[tuple[int, float, str]]  # (t, weight, event_id)


class Cadence(msgspec.Struct, gc=False, array_like=True):
    """One device's recent timing: consecutive short intervals (``run``), the sum
    and sum of squares of the last N intervals, and their (time, event id)s."""

    run: int = 0
    total: int = 0
    squares: int = 0
    seq: list[tuple[int, str]] = msgspec.field(default_factory=list)


class SubjectState(msgspec.Struct, gc=False, kw_only=True):
    enterprise_id: str
    subject_type: str
    subject_id: str
    role: str | None = None
    station: str | None = None
    left: bool = False
    check: str | None = None
    shift: tuple[int, int] | None = None  # local minutes of day
    last_us: int = 0
    wins: dict[str, Window] = msgspec.field(default_factory=dict)
    totals: dict[str, float] = msgspec.field(default_factory=dict)  # sum of each window
    episodes: dict[str, int] = msgspec.field(default_factory=dict)
    scores: dict[str, float] = msgspec.field(default_factory=dict)
    sources: dict[str, int] = msgspec.field(default_factory=dict)
    src: tuple[str | None, str | None] | None = None  # current (device, ip)
    src_t: int = 0
    timing: dict[str, Cadence] = msgspec.field(default_factory=dict)
    place: str | None = None
    hour: int = -1
    hour_sum: int = 0
    hour_threshold: float = -1.0
    vol_since: int = -1
    peak_day: int = -1
    peak: int = 0
    hist: list[int] = msgspec.field(default_factory=list)
    # cumulative_access: counter -> (local day, sum) for 30 days; recent evidence ids
    cum: dict[str, list[tuple[int, float]]] = msgspec.field(default_factory=dict)
    # counter -> its sums over 1, 7 and 30 days up to the last bucket's day
    cum_sums: dict[str, list[float]] = msgspec.field(default_factory=dict)
    cum_ids: dict[str, list[tuple[int, str]]] = msgspec.field(default_factory=dict)


state_encoder = msgspec.msgpack.Encoder()
state_decoder = msgspec.msgpack.Decoder(SubjectState)


@dataclass
class Ctx:
    """What detectors share: settings in microseconds, and the output."""

    settings: MonitorSettings
    updates: list[AlertUpdate] = field(default_factory=list)
    # peer baselines of days already complete, computed once (not persisted)
    peer_cache: dict[str, tuple[float, float] | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        s = self.settings
        self.offset_min = s.day_offset_hours * 60
        self.grace_min = s.off_shift_grace_minutes

    def minutes(self, n: int) -> int:
        return n * MINUTE_US


def off_shift(ctx: Ctx, st: SubjectState, t: int) -> bool:
    """Whether t falls outside the subject's rostered shift (with grace). A weak
    signal: it only raises the score of alerts other detectors raise."""
    if st.shift is None:
        return False
    start, end = st.shift
    minute = (t // MINUTE_US + ctx.offset_min) % 1440
    g = ctx.grace_min
    if start <= end:
        return not (start - g <= minute <= end + g)
    # overnight shift, e.g. 20:00-08:00
    return not (minute >= start - g or minute <= end + g)


def parse_shift(start: str | None, end: str | None) -> tuple[int, int] | None:
    s, e = hhmm_minutes(start), hhmm_minutes(end)
    return None if s is None or e is None else (s, e)


def score_for(base: float, total: float, threshold: float) -> float:
    """Base score of the detector, raised by how far past its threshold it went."""
    ratio = max(total / threshold, 1.0) if threshold > 0 else 1.0
    return round(min(1.0, base + 0.1 * math.log2(ratio)), 3)


SummaryFn = Callable[[float], str]


def slide(st: SubjectState, name: str, t: int, weight: float, event_id: str, *,
          window_us: int) -> tuple[Window, float]:
    """Append to a window, drop what slid out, and return it with its total (kept
    as a running sum: an abuse episode can put thousands of events in a window)."""
    window = st.wins.get(name)
    if window is None:
        window = st.wins[name] = []
        total = 0.0
    else:
        total = _total(st, name, window)
    window.append((t, weight, event_id))
    total += weight
    horizon = t - window_us
    i = 0
    while window[i][0] < horizon:  # stops at the event just appended at the latest
        total -= window[i][1]
        i += 1
    if i:
        del window[:i]
    st.totals[name] = total
    return window, total


def expire_window(st: SubjectState, name: str, horizon: int) -> float:
    """Drop a window's events before ``horizon`` (from the front: events arrive in
    time order) and return its total."""
    window = st.wins.get(name)
    if not window:
        return 0.0
    total = _total(st, name, window)
    i = 0
    n = len(window)
    while i < n and window[i][0] < horizon:
        total -= window[i][1]
        i += 1
    if i:
        del window[:i]
        st.totals[name] = total
    return total


def _total(st: SubjectState, name: str, window: Window) -> float:
    total = st.totals.get(name)
    if total is None:  # state saved before this window kept its total
        total = st.totals[name] = sum(w for _, w, _ in window)
    return total


def clear_window(st: SubjectState, name: str) -> None:
    st.wins[name] = []
    st.totals[name] = 0.0


def signal(ctx: Ctx, st: SubjectState, detector: str, t: int, event_id: str, *,
           weight: float, window_us: int, threshold: float, base: float,
           summary: SummaryFn, win: str | None = None,
           score_scale: float | None = None) -> None:
    """Add one qualifying event to the detector's window; fire on reaching the
    threshold, or add evidence to the open episode. ``score_scale``: the total the
    score starts rising from, when the rule fires earlier than that (one uncovered
    read alerts; it is not yet a burst)."""
    name = win or detector
    window, total = slide(st, name, t, weight, event_id, window_us=window_us)
    scale = threshold if score_scale is None else score_scale
    ep = st.episodes.get(detector)
    if ep is not None and t - ep <= window_us:
        st.episodes[detector] = t
        score = score_for(base, total, scale)
        if off_shift(ctx, st, t):
            score = min(1.0, score + ctx.settings.off_shift_boost)
        prev = st.scores.get(detector, 0.0)
        st.scores[detector] = max(prev, score)
        ctx.updates.append(AlertUpdate(
            enterprise_id=st.enterprise_id, detector=detector, subject_type=st.subject_type,
            subject_id=st.subject_id, fire=False, t_us=t, first_us=t, event_ids=[event_id],
            score=max(prev, score), summary=summary(total) if score > prev else ""))
        return
    if total < threshold:
        return
    fire(ctx, st, detector, t, [e for _, _, e in window], first_us=window[0][0],
         score=score_for(base, total, scale), summary=summary(total))
    clear_window(st, name)


def fire(ctx: Ctx, st: SubjectState, detector: str, t: int, event_ids: list[str], *,
         first_us: int, score: float, summary: str) -> None:
    """Open an episode now (t is the event that completed the evidence)."""
    if off_shift(ctx, st, t):
        score = min(1.0, score + ctx.settings.off_shift_boost)
        summary += " (outside the rostered shift)"
    st.episodes[detector] = t
    st.scores[detector] = score
    ctx.updates.append(AlertUpdate(
        enterprise_id=st.enterprise_id, detector=detector, subject_type=st.subject_type,
        subject_id=st.subject_id, fire=True, t_us=t, first_us=first_us,
        event_ids=event_ids, score=score, summary=summary))


def evidence(ctx: Ctx, st: SubjectState, detector: str, t: int, event_id: str, *,
             window_us: int) -> bool:
    """Add evidence to an open episode; False when none is open."""
    ep = st.episodes.get(detector)
    if ep is None or t - ep > window_us:
        return False
    st.episodes[detector] = t
    ctx.updates.append(AlertUpdate(
        enterprise_id=st.enterprise_id, detector=detector, subject_type=st.subject_type,
        subject_id=st.subject_id, fire=False, t_us=t, first_us=t, event_ids=[event_id],
        score=st.scores.get(detector, 0.0), summary=""))
    return True


def expire_episodes(st: SubjectState, t: int, horizon_us: int) -> None:
    """Drop windows and episodes nothing happened in for a long time (state size)."""
    for name in [k for k, v in st.wins.items() if not v or v[-1][0] < t - horizon_us]:
        del st.wins[name]
        st.totals.pop(name, None)
    for name in [k for k, v in st.episodes.items() if v < t - horizon_us]:
        del st.episodes[name]
        st.scores.pop(name, None)
