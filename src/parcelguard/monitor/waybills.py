"""Stage 1, keyed by (enterprise, waybill): what the stream says about each parcel.

An assignment (``parcel`` event, step ``assigned``) grants its assignee
purpose-bound access until ``assignment_until``. Every parcel event with a station
tells which stations the parcel passed. Label prints are remembered for a day so a
reprint can be told from a first print. Nothing here is about people; the access
is annotated and handed on to the subject stage.
"""

from __future__ import annotations

import msgspec

from parcelguard.monitor.model import DAY_US, HOUR_US, WAYBILL_READS, Annot, Ev, epoch_us, rfc3339


class WaybillState(msgspec.Struct, gc=False, array_like=True):
    """Tuples, not lists: a tuple of strings and ints is untracked by the cyclic
    garbage collector, so the week of waybills a node remembers (hundreds of
    thousands) costs its full collections nothing. With lists, those collections
    walked two containers per waybill: the runner's cost per event grew with the log
    (bench/bench_monitor_growth.py). The MessagePack form is the same arrays."""

    last_us: int
    stations: tuple[str, ...] = ()
    # (assignee, until as sent: RFC 3339); most parcels never have a print, and
    # assignments are compared as text when the offsets agree (no parsing)
    assignments: tuple[tuple[str, str], ...] | None = None
    # (actor, printed at)
    prints: tuple[tuple[str, int], ...] | None = None


state_encoder = msgspec.msgpack.Encoder()
state_decoder = msgspec.msgpack.Decoder(WaybillState)

_PRINT_MEMORY_US = DAY_US
# Parcel steps that can tell a station the parcel had not been seen at: a departure
# follows the arrival or pickup at the same station, a delivery the arrival.
STATION_STEPS = frozenset({"assigned", "arrived", "picked_up"})


def _not_after(at: str, t: int, until: str) -> bool:
    """t (sent as ``at``) is not after ``until``. RFC 3339 strings of one shape and
    one offset sort like the instants they name, so most checks need no parsing."""
    if len(at) == 25 and len(until) == 25 and at[19:] == until[19:]:
        return at <= until
    return t <= epoch_us(until)


def needs_annotation(ev: Ev) -> bool:
    """Which accesses the waybill stage annotates: an employee's waybill reads (the
    only ones an assignment can cover; partners and outsiders hold none)."""
    return (ev.actor_type == "employee" and ev.waybill_no is not None
            and ev.action in WAYBILL_READS)


class WaybillIndex:
    """Per-waybill state for one or many enterprises (``states[enterprise][waybill]``).

    ``lookback_us``: a waybill silent for longer is forgotten (``expire``)."""

    def __init__(self, lookback_hours: int) -> None:
        self.lookback_us = lookback_hours * HOUR_US
        self.states: dict[str, dict[str, WaybillState]] = {}
        self.touched: set[tuple[str, str]] = set()
        self.track_touched = False

    def _get(self, ent: str, wb: str, t: int) -> WaybillState:
        by_wb = self.states.get(ent)
        if by_wb is None:
            by_wb = self.states[ent] = {}
        st = by_wb.get(wb)
        if st is None or t - st.last_us > self.lookback_us:
            st = by_wb[wb] = WaybillState(t)
        elif t > st.last_us:
            st.last_us = t
        if self.track_touched:
            self.touched.add((ent, wb))
        return st

    def observe_parcel(self, ev: Ev, t: int) -> None:
        """Remember a parcel event's station and assignment. ``last_us`` moves only
        when something is added (a waybill is forgotten a lookback after that).
        One lookup per event: this runs for a third of the stream."""
        wb, station = ev.waybill_no, ev.station_id
        assigned = ev.step == "assigned" and ev.assignee_id
        # An assignment grants access whatever its purpose and whether or not it names
        # a station (customer service works waybills from no station at all).
        if not wb or not (station or assigned) or ev.step not in STATION_STEPS:
            return
        ent = ev.enterprise_id
        by_wb = self.states.get(ent)
        if by_wb is None:
            by_wb = self.states[ent] = {}
        st = by_wb.get(wb)
        if st is None or t - st.last_us > self.lookback_us:
            # new, or forgotten whether or not expire() ran yet
            st = by_wb[wb] = WaybillState(t, (station,) if station else ())
        elif not station:
            st.last_us = max(st.last_us, t)
        elif station in st.stations:
            if not assigned:
                return
            st.last_us = max(st.last_us, t)
        else:
            st.stations += (station,)
            st.last_us = max(st.last_us, t)
        if assigned:
            entry = (ev.assignee_id or "", ev.assignment_until or rfc3339(t + DAY_US, 0))
            if st.assignments is None:
                st.assignments = (entry,)
            else:
                st.assignments += (entry,)
        if self.track_touched:
            self.touched.add((ent, wb))

    def annotate(self, ev: Ev, t: int) -> Annot:
        """Annotate a waybill read (reveal, print_label, share) and remember prints."""
        wb = ev.waybill_no
        assert wb is not None
        # _get(), inlined: this runs for every employee's waybill read
        ent = ev.enterprise_id
        by_wb = self.states.get(ent)
        st = by_wb.get(wb) if by_wb is not None else None
        if st is None or t - st.last_us > self.lookback_us or self.track_touched:
            st = self._get(ent, wb, t)
        elif t > st.last_us:
            st.last_us = t
        actor = ev.actor_id
        covered = False
        if st.assignments is not None:
            at = ev.occurred_at
            for assignee, until in st.assignments:
                if assignee == actor and _not_after(at, t, until):
                    covered = True
                    break
        station = ev.station_id
        match: bool | None = None
        if station and st.stations:
            match = station in st.stations
        reprints = 0
        if ev.action == "print_label":
            prints = st.prints
            if prints is None:
                st.prints = ((actor or "", t),)
            else:
                horizon = t - _PRINT_MEMORY_US
                if prints[0][1] < horizon:
                    prints = tuple(p for p in prints if p[1] >= horizon)
                reprints = sum(1 for a, _ in prints if a == actor)
                st.prints = (*prints, (actor or "", t))
        return Annot(covered, match, reprints)

    def expire(self, now_us: int, enterprise_id: str | None = None) -> None:
        """Forget waybills silent for longer than the lookback. (Memory only: a stale
        waybill is treated as forgotten wherever it is read.)"""
        horizon = now_us - self.lookback_us
        for ent, by_wb in self.states.items():
            if enterprise_id is not None and ent != enterprise_id:
                continue
            for wb in [wb for wb, st in by_wb.items() if st.last_us < horizon]:
                del by_wb[wb]

    def size(self) -> int:
        return sum(len(v) for v in self.states.values())
