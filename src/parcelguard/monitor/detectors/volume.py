"""volume_spike: PI records in an hour against the actor's own history and the
role's peers, with robust statistics (median and MAD), never a fixed threshold.

Peers are compared by their daily peak hour on the previous day (the ``PeerBook``).
The book is the one piece of cross-subject state: the embedded runner keeps it as
it goes; the Spark runner builds the same book per enterprise with the same code
(``PeerBook.observe``) and hands it to the subject stage as a side input.
"""

from __future__ import annotations

from typing import Protocol

import msgspec

from parcelguard.monitor.detectors import base
from parcelguard.monitor.model import DAY_US, HOUR_US, Ev
from parcelguard.monitor.settings import MonitorSettings
from parcelguard.monitor.state import Ctx, SubjectState, evidence, fire, score_for

_HISTORY_HOURS = 48  # active hours of own history kept (two working days and more)
MAD_SCALE = 1.4826  # MAD of a normal sample times this estimates its sigma


def volume_records(ev: Ev) -> int:
    """PI records an access put in front of its actor, for the volume baseline.
    Exports are left to bulk_access: approved ones are legitimately large."""
    if ev.outcome != "allowed" or ev.action not in ("reveal", "print_label", "share", "search"):
        return 0
    return max(ev.record_count, 1) if ev.action != "search" else ev.record_count


def robust(values: list[int]) -> tuple[float, float]:
    """(median, scaled MAD) of a sample."""
    xs = sorted(values)
    n = len(xs)
    med = (xs[n // 2] + xs[(n - 1) // 2]) / 2
    dev = sorted(abs(x - med) for x in xs)
    mad = (dev[n // 2] + dev[(n - 1) // 2]) / 2 * MAD_SCALE
    return med, mad


class PeerDay(msgspec.Struct, gc=False):
    peaks: dict[str, int] = msgspec.field(default_factory=dict)


class HourTally(Protocol):
    """The running hourly sum and daily peak of one subject (a SubjectState, or the
    Spark pre-pass's own ``Tally``)."""

    hour: int
    hour_sum: int
    peak_day: int
    peak: int


class Tally(msgspec.Struct, gc=False):
    hour: int = -1
    hour_sum: int = 0
    peak_day: int = -1
    peak: int = 0


def add_records(tally: HourTally, t: int, records: int, offset_us: int) -> bool:
    """Add records to the subject's hour; True when a new hour began (its sum
    restarted; on a new local day the daily peak restarts too). Callers then hand
    the tally to ``PeerBook.note`` when ``hour_sum`` passed ``peak``."""
    hour = t // HOUR_US
    if hour != tally.hour:
        tally.hour, tally.hour_sum = hour, records
        day = (t + offset_us) // DAY_US
        if day != tally.peak_day:
            tally.peak_day, tally.peak = day, 0
        return True
    tally.hour_sum += records
    return False


class PeerBook(msgspec.Struct, gc=False):
    """Daily peak-hour PI records per subject, by (enterprise, role, local day)."""

    offset_us: int = 8 * HOUR_US
    days: dict[str, PeerDay] = msgspec.field(default_factory=dict)

    def day_of(self, t: int) -> int:
        return (t + self.offset_us) // DAY_US

    def note(self, tally: HourTally, ent: str, role: str, subject: str) -> None:
        """Record the subject's hour sum as its new peak of the day (call when
        ``tally.hour_sum > tally.peak``)."""
        tally.peak = tally.hour_sum
        dkey = f"{ent}|{role}|{tally.peak_day}"
        entry = self.days.get(dkey)
        if entry is None:
            entry = self.days[dkey] = PeerDay()
            self._forget(ent, tally.peak_day)
        if tally.peak > entry.peaks.get(subject, 0):
            entry.peaks[subject] = tally.peak

    def peers(self, ent: str, role: str, t: int, min_peers: int,
              cache: dict[str, tuple[float, float] | None]) -> tuple[float, float] | None:
        """(median, MAD) of the role's peak hours on the day before t's day. That day
        is complete once t's day has begun (streams are in time order per
        enterprise), so the figures are computed once and cached (not persisted)."""
        key = f"{ent}|{role}|{self.day_of(t) - 1}"
        if key in cache:
            return cache[key]
        day = self.days.get(key)
        values = list(day.peaks.values()) if day is not None else []
        stats = cache[key] = robust(values) if len(values) >= min_peers else None
        return stats

    def _forget(self, ent: str, day: int) -> None:
        """Two days back is all ``peers`` reads. Per enterprise: the database runner
        reads one enterprise's log after another, so their clocks differ."""
        prefix = f"{ent}|"
        for k in [k for k in self.days
                  if k.startswith(prefix) and int(k.rsplit("|", 1)[1]) < day - 2]:
            del self.days[k]


book_encoder = msgspec.msgpack.Encoder()
book_decoder = msgspec.msgpack.Decoder(PeerBook)


def role_of(st: SubjectState, ev: Ev) -> str | None:
    if ev.actor_type == "employee":
        return st.role
    if ev.actor_type == "partner":
        return "partner"
    return None


def on_volume(ctx: Ctx, st: SubjectState, ev: Ev, t: int, records: int, *,
              book: PeerBook | None, given: PeerBook) -> None:
    """Count the records into the subject's hour; fire when the hour crosses its
    threshold (fixed at the hour's first access from the history then). ``book``:
    the book to keep up to date (None when it is a side input, ``given``)."""
    hour = t // HOUR_US
    closing = st.hour_sum if hour != st.hour else 0
    if add_records(st, t, records, given.offset_us):
        if closing > 0:
            st.hist.append(closing)
            if len(st.hist) > _HISTORY_HOURS:
                del st.hist[0]
        st.hour_threshold = _threshold(ctx, st, ev, t, given)
    if book is not None and st.hour_sum > st.peak:
        role = role_of(st, ev)
        if role is not None:
            book.note(st, st.enterprise_id, role, st.subject_id)
    thr = st.hour_threshold
    if thr <= 0 or evidence(ctx, st, "volume_spike", t, ev.event_id, window_us=HOUR_US):
        return
    if st.hour_sum * 2 < thr:
        return
    # ids are kept only past half the threshold: evidence without a list per access
    window = st.wins.setdefault("volume", [])
    if window and window[0][0] // HOUR_US != hour:
        window.clear()
    window.append((t, float(records), ev.event_id))
    if st.hour_sum >= thr:
        fire(ctx, st, "volume_spike", t, [e for _, _, e in window], first_us=window[0][0],
             score=score_for(base("volume_spike"), st.hour_sum, thr),
             summary=f"{st.subject_id} accessed {st.hour_sum:,} PI records in an hour; own "
             f"and peer baselines allow {thr:,.0f}")
        window.clear()


def _threshold(ctx: Ctx, st: SubjectState, ev: Ev, t: int, book: PeerBook) -> float:
    s = ctx.settings
    if st.vol_since < 0:
        st.vol_since = t // HOUR_US
    # a day's rhythm at least, else the first busy hour of a new subject is a "spike"
    if len(st.hist) < s.volume_min_history_hours or t // HOUR_US - st.vol_since < 24:
        return -1.0
    med, mad = robust(st.hist)
    own = max(med + s.volume_mad_k * max(mad, 0.1 * med, 1.0),
              s.volume_peak_factor * max(st.hist))
    role = role_of(st, ev)
    peer = None if role is None else book.peers(st.enterprise_id, role, t, s.volume_min_peers,
                                                 ctx.peer_cache)
    thr = max(own, float(s.volume_min_records))
    if peer is not None:
        pmed, pmad = peer
        thr = max(thr, pmed + s.volume_mad_k * max(pmad, 0.1 * pmed, 1.0))
    return thr


def build_peer_book(events: list[Ev], ts: list[int], settings: MonitorSettings) -> PeerBook:
    """The peer book from a time-ordered stream, without the detectors: what the
    embedded engine builds as it goes (same records, roles and tallies). The Spark
    runner's side input."""
    book = PeerBook(offset_us=settings.day_offset_hours * HOUR_US)
    roles: dict[tuple[str, str], str] = {}
    tallies: dict[tuple[str, str], Tally] = {}
    for ev, t in zip(events, ts, strict=True):
        if ev.kind == "employee":
            if ev.role:
                roles[(ev.enterprise_id, ev.employee_id or "")] = ev.role
            continue
        if ev.kind != "access" or ev.actor_type not in ("employee", "partner"):
            continue
        records = volume_records(ev)
        if not records:
            continue
        key = (ev.enterprise_id, ev.actor_id or "")
        tally = tallies.get(key)
        if tally is None:
            tally = tallies[key] = Tally()
        add_records(tally, t, records, book.offset_us)
        role = roles.get(key) if ev.actor_type == "employee" else "partner"
        if role is not None and tally.hour_sum > tally.peak:
            book.note(tally, ev.enterprise_id, role, key[1])
    return book
