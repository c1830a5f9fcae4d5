"""The parcel projection: each parcel's current state, folded from its ``parcel``
events inside the ingest transaction that stores them, and its history, which is
those events read back from the log by waybill.

This is the one source of a parcel's state: erasure deferral, virtual-number
expiry, tracking and the gate read it, and only ingest writes it, so a step
reported by a carrier's stream counts exactly like one recorded through
parcelguard. Ingest hands over only the events it newly stored, so a re-sent event
changes nothing; the state follows the newest event by event time (ties: the
lifecycle order below, then the event id), so the order events arrive in changes
nothing either. The write is one bulk upsert per batch, a row per parcel touched,
whose conditional SET keeps the newer of the stored and the incoming state.

The history is not copied into a table of its own: four events in five are parcel
events, and a second row for each cost more ingest throughput than the bench
allows (docs/ingest.md has the figures), while the log holds the same facts and
its waybill index finds them. Once a log prefix is archived (retention) the
history of those parcels is in the archive; their state stays here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import msgspec
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from parcelguard.core.bulk import bulk_upsert
from parcelguard.ledger.models import LedgerEvent, ParcelState

# Status after each lifecycle step. ``assigned`` hands a parcel to someone without
# moving it, so it sets the assignee, never the status.
STEP_STATUS: Final = {
    "created": "created",
    "picked_up": "picked_up",
    "arrived": "in_transit",
    "departed": "in_transit",
    "delivery_attempted": "out_for_delivery",
    "delivered": "delivered",
    "returned": "returned",
    "closed": "closed",
}
# Lifecycle order, to order two steps of one parcel reported at the same instant.
STEP_RANK: Final = {s: i for i, s in enumerate((
    "created", "picked_up", "arrived", "departed", "assigned", "delivery_attempted",
    "delivered", "returned", "closed"))}
# The parcel has reached its recipient, or will never move again.
FINAL_STATUSES: Final = frozenset({"delivered", "closed"})


class _Fields(msgspec.Struct, gc=False):
    """The fields of a stored ``parcel`` leaf the projection needs (the leaf was
    validated at ingest; other fields are ignored)."""

    waybill_no: str
    step: str
    station_id: str | None = None
    assignee_id: str | None = None
    assignment_purpose: str | None = None
    assignment_until: str | None = None


_decode = msgspec.json.Decoder(_Fields).decode

_STATE_COLUMNS = ("enterprise_id", "waybill_no", "first_at_us", "status", "step", "step_at_us",
                  "step_rank", "step_event_id", "station_id", "assignee_id",
                  "assignment_purpose", "assignment_until_us", "assigned_at_us",
                  "assigned_event_id")
_STATUS_GROUP = ("status", "step", "step_at_us", "step_rank", "step_event_id", "station_id")
_ASSIGN_GROUP = ("assignee_id", "assignment_purpose", "assignment_until_us", "assigned_at_us",
                 "assigned_event_id")
# Indexes into a state row (a list in _STATE_COLUMNS order).
_FIRST, _STATUS, _AT, _RANK, _EID, _ASSIGNED_AT, _ASSIGNED_EID = 2, 3, 5, 6, 7, 12, 13


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def _us(value: str) -> int:
    return (datetime.fromisoformat(value) - _EPOCH) // _ONE_US


def project(conn: Connection, enterprise_id: str,
            events: Iterable[tuple[str, int, bytes]]) -> None:
    """Fold stored ``parcel`` events, ``(event_id, occurred_at_us, leaf)``, into the
    enterprise's parcel states, inside the caller's transaction (the migration that
    built the projection from the logs)."""
    steps = []
    for event_id, us, leaf in events:
        f = _decode(leaf)
        until = f.assignment_until
        steps.append((event_id, us, f.waybill_no, f.step, f.station_id, f.assignee_id,
                      f.assignment_purpose, _us(until) if until is not None else None))
    upsert_states(conn, fold_steps(enterprise_id, steps))


StepRow = tuple[str, int, str, str, str | None, str | None, str | None, int | None]


def fold_steps(enterprise_id: str, steps: Iterable[StepRow]) -> list[tuple[Any, ...]]:
    """The state rows (``_STATE_COLUMNS`` order, a row per waybill) of newly stored
    parcel steps, ``(event_id, occurred_at_us, waybill_no, step, station_id,
    assignee_id, assignment_purpose, assignment_until_us)`` as ingest decoded them;
    ``upsert_states`` merges them with what is stored."""
    states: dict[str, list[Any]] = {}
    get = states.get
    for event_id, us, waybill, step, station, assignee, purpose, until_us in steps:
        row = get(waybill)
        if row is None:
            row = states[waybill] = [enterprise_id, waybill, us, None, None, None, None,
                                     None, None, None, None, None, None, None]
        elif us < row[_FIRST]:
            row[_FIRST] = us
        if step == "assigned":
            if row[_ASSIGNED_AT] is None or (us, event_id) > (row[_ASSIGNED_AT],
                                                               row[_ASSIGNED_EID]):
                row[9:14] = [assignee, purpose, until_us, us, event_id]
        else:
            rank = STEP_RANK[step]
            if row[_AT] is None or (us, rank, event_id) > (row[_AT], row[_RANK], row[_EID]):
                row[3:9] = [STEP_STATUS[step], step, us, rank, event_id, station]
    return [tuple(r) for r in states.values()]


def _on_conflict(pg: bool) -> str:
    """Each stored state keeps the newer step and the newer assignment."""
    # Event ids break ties: compare them bytewise on PostgreSQL too, as Python does.
    c = ' COLLATE "C"' if pg else ""
    t, x = "parcel_states", "excluded"
    newer_step = (f"({x}.step_at_us IS NOT NULL AND ({t}.step_at_us IS NULL OR "
                  f"({x}.step_at_us, {x}.step_rank, {x}.step_event_id{c}) > "
                  f"({t}.step_at_us, {t}.step_rank, {t}.step_event_id{c})))")
    newer_assign = (f"({x}.assigned_at_us IS NOT NULL AND ({t}.assigned_at_us IS NULL OR "
                    f"({x}.assigned_at_us, {x}.assigned_event_id{c}) > "
                    f"({t}.assigned_at_us, {t}.assigned_event_id{c})))")
    sets = [f"first_at_us = CASE WHEN {x}.first_at_us < {t}.first_at_us "
            f"THEN {x}.first_at_us ELSE {t}.first_at_us END"]
    sets += [f"{col} = CASE WHEN {newer_step} THEN {x}.{col} ELSE {t}.{col} END"
             for col in _STATUS_GROUP]
    sets += [f"{col} = CASE WHEN {newer_assign} THEN {x}.{col} ELSE {t}.{col} END"
             for col in _ASSIGN_GROUP]
    return f"ON CONFLICT (enterprise_id, waybill_no) DO UPDATE SET {', '.join(sets)}"


def upsert_states(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Merge state rows (``fold_steps``; one per enterprise and waybill) into the
    stored states: each keeps the newer step and the newer assignment."""
    # In key order, consecutive rows share B-tree pages: SQLite reads each page
    # once rather than once per row of it (a batch's parcels are spread over the
    # whole table). The upsert took 15-20% less CPU at a million events.
    bulk_upsert(conn, "parcel_states", _STATE_COLUMNS, sorted(rows), _on_conflict)


# -- reading ------------------------------------------------------------------------


def utc_of_us(us: int) -> datetime:
    """The UTC datetime of an epoch-microsecond count (exact, unlike float seconds)."""
    return _EPOCH + us * _ONE_US


def _dt(us: int | None) -> datetime | None:
    return None if us is None else utc_of_us(us)


@dataclass(frozen=True, slots=True)
class Step:
    step: str
    at: datetime
    station_id: str | None
    assignee_id: str | None
    event_id: str


@dataclass(frozen=True, slots=True)
class ParcelView:
    """A parcel's state and history as the projection holds them (ids only, no PI)."""

    enterprise_id: str
    waybill_no: str
    status: str | None  # None: only assignments reported so far
    step: str | None
    status_at: datetime | None
    station_id: str | None
    assignee_id: str | None
    assignment_purpose: str | None
    assignment_until: datetime | None
    history: tuple[Step, ...]

    @property
    def last_step(self) -> Step | None:
        return self.history[-1] if self.history else None

    def as_dict(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return t.isoformat() if t is not None else None
        return {"enterprise_id": self.enterprise_id, "waybill_no": self.waybill_no,
                "status": self.status, "step": self.step, "status_at": iso(self.status_at),
                "station_id": self.station_id, "assignee_id": self.assignee_id,
                "assignment_purpose": self.assignment_purpose,
                "assignment_until": iso(self.assignment_until),
                "history": [{"step": s.step, "at": s.at.isoformat(), "station_id": s.station_id,
                             "assignee_id": s.assignee_id, "event_id": s.event_id}
                            for s in self.history]}


def state(session: Session, enterprise_id: str, waybill_no: str) -> ParcelState | None:
    # populate_existing: ingest writes below the ORM, so a row loaded earlier in this
    # session may be stale.
    return session.scalars(select(ParcelState).where(
        ParcelState.enterprise_id == enterprise_id, ParcelState.waybill_no == waybill_no)
        .execution_options(populate_existing=True)).first()


def status_of(session: Session, enterprise_id: str, waybill_no: str) -> str | None:
    """The parcel's current status, or None if no lifecycle step was reported."""
    return session.scalar(select(ParcelState.status).where(
        ParcelState.enterprise_id == enterprise_id, ParcelState.waybill_no == waybill_no))


def statuses(session: Session, enterprise_id: str, waybills: Iterable[str], *,
             for_update: bool = False) -> dict[str, str]:
    """The status of each waybill that has one. ``for_update`` locks the states
    (PostgreSQL) until the caller commits, so no step lands between a decision on
    them and its effect."""
    out: dict[str, str] = {}
    wanted = sorted(set(waybills))
    for i in range(0, len(wanted), 500):
        stmt = select(ParcelState.waybill_no, ParcelState.status).where(
            ParcelState.enterprise_id == enterprise_id,
            ParcelState.waybill_no.in_(wanted[i:i + 500]), ParcelState.status.is_not(None))
        if for_update:
            stmt = stmt.with_for_update()
        out.update((wb, st) for wb, st in session.execute(stmt) if st is not None)
    return out


def _history(session: Session, enterprise_id: str, waybill_no: str,
             until_us: int | None = None) -> list[Step]:
    """The parcel's steps in event-time order (ties: lifecycle order, event id)."""
    stmt = select(LedgerEvent.event_id, LedgerEvent.occurred_at_us, LedgerEvent.leaf).where(
        LedgerEvent.enterprise_id == enterprise_id, LedgerEvent.waybill_no == waybill_no,
        LedgerEvent.kind == "parcel")
    if until_us is not None:
        stmt = stmt.where(LedgerEvent.occurred_at_us <= until_us)
    rows = []
    for event_id, us, leaf in session.execute(stmt):
        f = _decode(leaf)
        rows.append((us, STEP_RANK[f.step], event_id, f))
    rows.sort(key=lambda r: r[:3])
    return [Step(f.step, utc_of_us(us), f.station_id, f.assignee_id, event_id)
            for us, _, event_id, f in rows]


def status_as_of(session: Session, enterprise_id: str, waybill_no: str,
                 at_us: int) -> str | None:
    """The parcel's status at a moment (the gate decides as of the attempt's time,
    which a replay sets in the past); None before any step. The state answers when
    its step is not later than the moment, the history otherwise."""
    st = session.execute(select(ParcelState.status, ParcelState.step_at_us).where(
        ParcelState.enterprise_id == enterprise_id,
        ParcelState.waybill_no == waybill_no)).first()
    if st is None:
        return None
    if st.step_at_us is not None and st.step_at_us <= at_us:
        return st.status
    steps = [s for s in _history(session, enterprise_id, waybill_no, at_us)
             if s.step != "assigned"]
    return STEP_STATUS[steps[-1].step] if steps else None


def view(session: Session, enterprise_id: str, waybill_no: str) -> ParcelView | None:
    """The parcel's state with its history in event-time order, or None if the
    enterprise's stream never mentioned it."""
    st = state(session, enterprise_id, waybill_no)
    if st is None:
        return None
    return ParcelView(enterprise_id, waybill_no, st.status, st.step, _dt(st.step_at_us),
                      st.station_id, st.assignee_id, st.assignment_purpose,
                      _dt(st.assignment_until_us),
                      tuple(_history(session, enterprise_id, waybill_no)))
