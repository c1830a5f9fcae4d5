"""Persistence of the pipeline in the database: state rows, cursors and alerts, all
written inside the caller's transaction (one per micro-batch)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.core.bulk import bulk_upsert, raw
from parcelguard.core.errors import Conflict
from parcelguard.core.outbox import emit
from parcelguard.monitor.alerts import Alert, new_alert
from parcelguard.monitor.detectors.volume import book_decoder, book_encoder
from parcelguard.monitor.engine import Pipeline, WaybillExpiry
from parcelguard.monitor.events import AlertRaised
from parcelguard.monitor.model import AlertUpdate, Ev
from parcelguard.monitor.models import MonitorAlert, MonitorCursor, MonitorState
from parcelguard.monitor.settings import MonitorSettings
from parcelguard.monitor.state import state_decoder, state_encoder
from parcelguard.monitor.waybills import state_decoder as wb_decoder
from parcelguard.monitor.waybills import state_encoder as wb_encoder

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BOOK = ("*", "b", "peers")
_CHUNK = 2_000  # rows per statement: below every backend's parameter limit
_WAYBILL_KINDS = frozenset({"parcel", "access"})


def us_to_dt(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def load_pipeline(session: Session, settings: MonitorSettings) -> Pipeline:
    """The pipeline as the last committed batch left it, but for its waybills: those
    stay in the database, and each batch brings in the ones it needs
    (``load_waybills``)."""
    pipe = Pipeline(settings)
    subjects = pipe.engine.subjects
    rows = session.execute(select(MonitorState.enterprise_id, MonitorState.kind,
                                  MonitorState.key, MonitorState.data)
                           .where(MonitorState.kind != "w"))
    with _versioned():
        for ent, kind, key, data in rows:
            if kind == "s":
                subjects.setdefault(ent, {})[key] = state_decoder.decode(data)
            elif (ent, kind, key) == _BOOK:
                pipe.engine.book = book_decoder.decode(data)
    pipe.engine.track_touched = pipe.index.track_touched = True
    return pipe


@contextmanager
def _versioned() -> Iterator[None]:
    try:
        yield
    except msgspec.ValidationError:
        # Never guess at state: a wrong window or episode would raise wrong alerts.
        raise Conflict("the monitor's saved state was written by another version of "
                       "parcelguard; empty monitor_state and monitor_cursors to rebuild it "
                       "from the logs") from None


_LOAD_CHUNK = 500  # keys per SELECT (SQLite's parameter limit is 999 in old builds)
_SQLITE_LOAD = ("SELECT key, data FROM monitor_state WHERE enterprise_id = ? AND kind = 'w' "
                "AND key IN ({})")
_PG_LOAD = ("SELECT key, data FROM monitor_state WHERE enterprise_id = %s AND kind = 'w' "
            "AND key = ANY(%s)")


def load_waybills(session: Session, pipe: Pipeline, events: Sequence[Ev]) -> None:
    """Bring the saved state of every waybill these events name into the pipeline.

    The runner keeps no waybill in memory between batches (``save_state`` lets them
    go): a week of parcels is hundreds of thousands of waybills at one node and
    hundreds of millions nationally, and held in memory they made every part of the
    runner dearer as the log grew (bench/bench_monitor_growth.py). A batch reads the
    rows of the waybills it names, a few thousand, by primary key. Any parcel or
    access event naming a waybill is loaded, a superset of what the waybill stage
    reads (``observe_parcel``, ``annotate``): a waybill missed here would be taken
    for a new one and lose its assignments."""
    wanted: dict[str, set[str]] = {}
    for ev in events:
        if ev.waybill_no and ev.kind in _WAYBILL_KINDS:
            wanted.setdefault(ev.enterprise_id, set()).add(ev.waybill_no)
    if not wanted:
        return
    conn = session.connection()
    dbapi: Any = conn.connection.dbapi_connection
    pg = conn.dialect.name == "postgresql"
    states = pipe.index.states
    cur = dbapi.cursor()
    try:
        with _versioned():
            for ent, wbs in sorted(wanted.items()):
                held = states.setdefault(ent, {})
                keys = sorted(wbs.difference(held))
                for i in range(0, len(keys), _LOAD_CHUNK):
                    chunk = keys[i:i + _LOAD_CHUNK]
                    if pg:
                        cur.execute(_PG_LOAD, (ent, chunk))
                    else:
                        cur.execute(_SQLITE_LOAD.format(",".join("?" * len(chunk))),
                                    (ent, *chunk))
                    for key, data in cur.fetchall():
                        held[key] = wb_decoder.decode(data)
    finally:
        cur.close()


def load_cursors(session: Session) -> dict[str, int]:
    # iter(): a Result has keys(), so dict() would take it for a mapping
    return dict(iter(session.execute(select(MonitorCursor.enterprise_id, MonitorCursor.seq))))


_COLUMNS = ("enterprise_id", "kind", "key", "data", "last_us")
_ON_CONFLICT = ("ON CONFLICT (enterprise_id, kind, key) DO UPDATE SET "
                "data = excluded.data, last_us = excluded.last_us")

Row = tuple[str, str, str, bytes, int]  # enterprise_id, kind, key, data, last_us


def _upsert(session: Session, rows: list[Row]) -> None:
    """One DBAPI statement for the batch's state rows, below SQLAlchemy: a multi-VALUES
    statement compiled per batch cost 2/3 of ``monitor run``'s time (bench_monitor_growth).
    Rows are written in key order (B-tree locality)."""
    rows.sort()
    bulk_upsert(session.connection(), "monitor_state", _COLUMNS, rows,
                lambda _pg: _ON_CONFLICT)


def _delete_silent_waybills(session: Session, expired: WaybillExpiry) -> None:
    """The saved waybills (of ``expired.enterprise_id``, or of every enterprise) silent
    past the horizon. A scan of those rows, once a quarter of the lookback of event
    time (``Pipeline.maintain``)."""
    sql = "DELETE FROM monitor_state WHERE kind = 'w' AND last_us < {p}"
    params: tuple[Any, ...] = (expired.horizon_us,)
    if expired.enterprise_id is not None:
        sql += " AND enterprise_id = {p}"
        params += (expired.enterprise_id,)
    raw(session.connection(), sql, params)


def save_state(session: Session, pipe: Pipeline, expired: WaybillExpiry | None) -> None:
    """Write every key the pipeline touched since the last save, then let the
    waybills go (the next batch reads the ones it names: ``load_waybills``).
    ``expired``: when ``Pipeline.maintain`` forgot silent waybills, their saved rows
    go too (a saved row is never newer than the waybill in memory)."""
    eng, idx = pipe.engine, pipe.index
    encode_s, encode_w = state_encoder.encode, wb_encoder.encode
    rows: list[Row] = [(ent, "s", key, encode_s(st), st.last_us)
                       for ent, key in eng.touched
                       if (st := eng.subjects.get(ent, {}).get(key)) is not None]
    # a waybill forgotten since it was touched is no longer in ``states``
    rows += [(ent, "w", wb, encode_w(ws), ws.last_us)
             for ent, wb in idx.touched
             if (ws := idx.states.get(ent, {}).get(wb)) is not None]
    rows.append((_BOOK[0], _BOOK[1], _BOOK[2], book_encoder.encode(eng.book), pipe.now_us))
    _upsert(session, rows)
    if expired is not None:
        _delete_silent_waybills(session, expired)
    eng.touched.clear()
    idx.touched.clear()
    idx.states.clear()


def set_cursor(session: Session, enterprise_id: str, seq: int, now: datetime) -> None:
    row = session.get(MonitorCursor, enterprise_id)
    if row is None:
        session.add(MonitorCursor(enterprise_id=enterprise_id, seq=seq, updated_at=now))
    else:
        row.seq, row.updated_at = seq, now


def _to_alert(row: MonitorAlert) -> Alert:
    return Alert(alert_id=row.id, detector=row.detector, enterprise_id=row.enterprise_id,
                 subject_type=row.subject_type, subject_id=row.subject_id, score=row.score,
                 raised_us=row.raised_us, first_us=row.first_us, last_us=row.last_us,
                 summary=row.summary, event_ids=list(row.event_ids),
                 record_count=row.record_count, status=row.status)


def _write(row: MonitorAlert, a: Alert) -> None:
    row.score, row.severity, row.summary = a.score, a.severity, a.summary[:500]
    row.first_us, row.last_us = a.first_us, a.last_us
    row.first_event_at, row.last_event_at = us_to_dt(a.first_us), us_to_dt(a.last_us)
    row.event_ids, row.record_count = list(a.event_ids), a.record_count


def open_key(enterprise_id: str, detector: str, subject_id: str) -> str:
    return f"{enterprise_id}|{detector}|{subject_id}"


def apply_updates(session: Session, updates: Iterable[AlertUpdate], *,
                  cap: int) -> list[AlertRaised]:
    """Fold updates into the open alerts (one per enterprise, detector and subject;
    an acknowledged alert is still open); returns the alerts this opened, each
    also emitted as ``AlertRaised`` in the same transaction."""
    updates = list(updates)
    keys = {open_key(u.enterprise_id, u.detector, u.subject_id) for u in updates}
    rows: dict[str, MonitorAlert] = {}
    key_list = sorted(keys)
    for i in range(0, len(key_list), _CHUNK):
        for row in session.scalars(select(MonitorAlert).where(
                MonitorAlert.open_key.in_(key_list[i:i + _CHUNK]))):
            assert row.open_key is not None
            rows[row.open_key] = row
    alerts = {k: _to_alert(r) for k, r in rows.items()}
    raised: list[AlertRaised] = []
    for u in updates:
        key = open_key(u.enterprise_id, u.detector, u.subject_id)
        a = alerts.get(key)
        if a is not None:
            a.add(u, cap)
            continue
        a = alerts[key] = new_alert(u, cap)
        row = rows[key] = MonitorAlert(
            id=a.alert_id, enterprise_id=a.enterprise_id, detector=a.detector,
            subject_type=a.subject_type, subject_id=a.subject_id, status="open",
            open_key=key, raised_at=us_to_dt(a.raised_us), raised_us=a.raised_us)
        session.add(row)
        raised.append(AlertRaised(alert_id=a.alert_id, enterprise_id=a.enterprise_id,
                                  detector=a.detector, subject_type=a.subject_type,
                                  subject_id=a.subject_id, severity=a.severity,
                                  score=a.score, raised_at=us_to_dt(a.raised_us)))
    for key, a in alerts.items():
        _write(rows[key], a)
    session.flush()
    emit(session, *raised)
    return raised
