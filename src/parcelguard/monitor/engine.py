"""Stage 2, keyed by subject, and the one-process pipeline of both stages.

``SubjectEngine`` routes each event to the detectors of the subject it concerns:
roster events to the employee, access events to the actor, and logins additionally
to their source (IP, else device) for credential stuffing. A subject's state is
touched only by its own events, so the outcome does not depend on how the stream
is cut into micro-batches or spread over workers (the Spark runner relies on it).
"""

from __future__ import annotations

from dataclasses import dataclass

from parcelguard.monitor.detectors import cumulative
from parcelguard.monitor.detectors.access import (
    on_bulk,
    on_denied,
    on_external_pi,
    on_status,
    on_waybill_read,
    on_wide_scope,
)
from parcelguard.monitor.detectors.accounts import on_login_source, on_source, on_timing
from parcelguard.monitor.detectors.roster import on_roster
from parcelguard.monitor.detectors.volume import PeerBook, on_volume
from parcelguard.monitor.forms import honoured
from parcelguard.monitor.model import (
    DAY_US,
    HOUR_US,
    LOGINS,
    PI_ACTIONS,
    US,
    WAYBILL_READS,
    AlertUpdate,
    Annot,
    Ev,
    epoch_us,
)
from parcelguard.monitor.settings import MonitorSettings
from parcelguard.monitor.state import Ctx, SubjectState, expire_episodes
from parcelguard.monitor.waybills import STATION_STEPS, WaybillIndex

SOURCE_PREFIX = "src:"
_SUBJECT_TYPES = {"employee": "employee", "partner": "partner"}
_UNVETTED = frozenset({"pending", "failed"})
_VOLUME_ACTIONS = frozenset({"reveal", "print_label", "share", "search"})


def actor_key(ev: Ev) -> str | None:
    return ev.employee_id if ev.kind == "employee" else ev.actor_id


def source_key(ev: Ev) -> str | None:
    """The login source a credential-stuffing attack comes from."""
    if ev.kind != "access" or ev.action not in LOGINS:
        return None
    src = ev.ip or ev.device_id
    return f"{SOURCE_PREFIX}{src}" if src else None


class SubjectEngine:
    """Per-subject state and detectors. ``book``: the peer baselines; given (Spark),
    it is read only; otherwise the engine keeps it up to date itself."""

    def __init__(self, settings: MonitorSettings, book: PeerBook | None = None) -> None:
        self.ctx = Ctx(settings)
        self.subjects: dict[str, dict[str, SubjectState]] = {}
        self.book_given = book is not None
        self.book = book if book is not None else PeerBook(
            offset_us=settings.day_offset_hours * HOUR_US)
        self.touched: set[tuple[str, str]] = set()
        self.track_touched = False
        self.wide_roles = frozenset(settings.wide_scope_roles)
        self.max_gap = int(settings.timing_max_interval_seconds * US)

    def state(self, ent: str, key: str, subject_type: str) -> SubjectState:
        by_key = self.subjects.get(ent)
        if by_key is None:
            by_key = self.subjects[ent] = {}
        st = by_key.get(key)
        if st is None:
            sid = key[len(SOURCE_PREFIX):] if key.startswith(SOURCE_PREFIX) else key
            st = by_key[key] = SubjectState(enterprise_id=ent, subject_type=subject_type,
                                            subject_id=sid)
        if self.track_touched:
            self.touched.add((ent, key))
        return st

    def on_employee(self, ev: Ev, t: int) -> None:
        on_roster(self.state(ev.enterprise_id, ev.employee_id or "", "employee"), ev, t)

    def on_access(self, ev: Ev, t: int, annot: Annot | None) -> None:
        """Both keys of an access (the embedded runner); Spark calls the two halves
        from the groups of their own keys."""
        self.actor_access(ev, t, annot)
        if ev.action in LOGINS:  # source_key()'s first test, inlined (most are not)
            src = source_key(ev)
            if src is not None:
                self.source_access(ev, t, src)

    def actor_access(self, ev: Ev, t: int, annot: Annot | None) -> None:
        ctx = self.ctx
        kind = _SUBJECT_TYPES.get(ev.actor_type or "", "external")
        # state() inlined: this runs for every access
        by_key = self.subjects.get(ev.enterprise_id)
        st = by_key.get(ev.actor_id or "") if by_key is not None else None
        if st is None or self.track_touched:
            st = self.state(ev.enterprise_id, ev.actor_id or "", kind)
        if kind == "employee" and st.subject_type != "employee":
            st.subject_type = "employee"
        st.last_us = t
        action = ev.action
        if st.left or st.check in _UNVETTED:
            on_status(ctx, st, ev, t)
        if annot is not None and not annot.covered and honoured(st.role, ev.purpose, annot):
            annot = Annot(True, annot.station_match, annot.reprints)
        if annot is not None and (not annot.covered or annot.reprints >= 2):
            on_waybill_read(ctx, st, ev, t, annot)  # (covered first prints need nothing)
        if kind == "external":
            if action in PI_ACTIONS:
                on_external_pi(ctx, st, ev, t)
        else:
            self._staff(ctx, st, ev, t, kind)
        if ev.outcome == "denied":
            on_denied(ctx, st, ev, t)
        self._where_and_when(ctx, st, ev, t)

    def _staff(self, ctx: Ctx, st: SubjectState, ev: Ev, t: int, kind: str) -> None:
        """Rules for employees and partners: volume, bulk, wide-scope searching."""
        action = ev.action
        # volume_records(), inlined
        records = 0
        if ev.outcome == "allowed" and action in _VOLUME_ACTIONS:
            records = ev.record_count if action == "search" else max(ev.record_count, 1)
        if records:
            total, thr = st.hour_sum + records, st.hour_threshold
            if (t // HOUR_US == st.hour and total <= st.peak
                    and (thr <= 0 or (total * 2 < thr and "volume_spike" not in st.episodes))):
                st.hour_sum = total  # on_volume's outcome here: nothing else to do
            else:
                on_volume(ctx, st, ev, t, records,
                          book=None if self.book_given else self.book, given=self.book)
        if action in ("export", "search") and ev.outcome == "allowed" and ev.record_count:
            on_bulk(ctx, st, ev, t)
            cumulative.add(ctx, st, ev, t, counter=action, amount=float(ev.record_count))
        if kind == "employee" and st.role in self.wide_roles:
            on_wide_scope(ctx, st, ev, t)

    def _where_and_when(self, ctx: Ctx, st: SubjectState, ev: Ev, t: int) -> None:
        """on_source and on_timing, with their commonest outcomes inlined (every
        access pays for them): the same device and IP as before; a pause that
        resets the timing sequence."""
        dev, ip = ev.device_id, ev.ip
        if dev or ip:
            src = st.src
            if src is not None and src[0] == dev and src[1] == ip:
                st.src_t = t
            else:
                on_source(ctx, st, ev, t)
        cad = st.timing.get(dev or "-")
        if cad is not None and t - cad.seq[-1][0] > self.max_gap:
            cad.run, cad.total, cad.squares, cad.seq = 0, 0, 0, [(t, ev.event_id)]
        else:
            on_timing(ctx, st, ev, t)

    def source_access(self, ev: Ev, t: int, key: str) -> None:
        st = self.state(ev.enterprise_id, key, "external")
        st.last_us = t
        on_login_source(self.ctx, st, ev, t)

    def drain(self) -> list[AlertUpdate]:
        out, self.ctx.updates = self.ctx.updates, []
        return out

    def maintain(self, now_us: int, enterprise_id: str | None = None) -> None:
        """Drop windows and episodes idle for a day (memory only: every rule already
        ignores what lies outside its window)."""
        for ent, by_key in self.subjects.items():
            if enterprise_id is not None and ent != enterprise_id:
                continue
            for st in by_key.values():
                if st.wins or st.episodes:
                    expire_episodes(st, now_us, DAY_US)

    def active_subjects(self, now_us: int, within_us: int = DAY_US) -> int:
        return sum(1 for by_key in self.subjects.values() for st in by_key.values()
                   if st.last_us >= now_us - within_us)


@dataclass(frozen=True)
class WaybillExpiry:
    """Waybills (of one enterprise, or of all) silent since before ``horizon_us``
    are forgotten."""

    enterprise_id: str | None
    horizon_us: int


class Pipeline:
    """Both stages in one process: the embedded runner and replay."""

    def __init__(self, settings: MonitorSettings) -> None:
        self.settings = settings
        self.index = WaybillIndex(settings.assignment_lookback_hours)
        self.engine = SubjectEngine(settings)
        self.now_us = 0
        self._maintained: dict[str, int] = {}
        self._expired: dict[str, int] = {}

    def feed(self, events: list[Ev], ts: list[int] | None = None) -> list[AlertUpdate]:
        """Process events in order (``ts``: their times if already parsed). This is
        the hot loop (a million events in a few seconds): locals on purpose."""
        index, engine = self.index, self.engine
        observe, annotate = index.observe_parcel, index.annotate
        on_access, on_employee = engine.on_access, engine.on_employee
        # the annotation test is needs_annotation(), inlined
        reads, station_steps = WAYBILL_READS, STATION_STEPS
        if ts is None:
            ts = [epoch_us(ev.occurred_at) for ev in events]
        now = self.now_us
        for ev, t in zip(events, ts, strict=True):
            if t > now:  # noqa: PLR1730 - max() would be a call per event
                now = t
            kind = ev.kind
            if kind == "parcel":
                if ev.step in station_steps:  # (checked again inside: a fast path)
                    observe(ev, t)
            elif kind == "access":
                on_access(ev, t, annotate(ev, t) if ev.actor_type == "employee"
                          and ev.waybill_no and ev.action in reads else None)
            elif kind == "employee":
                on_employee(ev, t)
        self.now_us = now
        return engine.drain()

    def maintain(self, *, enterprise_id: str | None = None, now_us: int | None = None,
                 force: bool = False) -> WaybillExpiry | None:
        """Free memory of idle state, at most once an hour of event time (each pass
        walks every waybill). The database runner passes the enterprise whose log it
        just read and that log's time: enterprises are read one after another.
        Returns the horizon waybills were forgotten before, when they were (the
        runner deletes their saved rows)."""
        now = self.now_us if now_us is None else now_us
        key = enterprise_id or "*"
        if not force and now - self._maintained.get(key, 0) < HOUR_US:
            return None
        self._maintained[key] = now
        self.engine.maintain(now, enterprise_id)
        # walking every waybill is the costly part; a quarter of the lookback is often
        # enough to bound memory
        if not force and now - self._expired.get(key, 0) < self.index.lookback_us // 4:
            return None
        self._expired[key] = now
        self.index.expire(now, enterprise_id)
        return WaybillExpiry(enterprise_id, now - self.index.lookback_us)
