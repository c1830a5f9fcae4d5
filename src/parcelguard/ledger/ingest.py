"""Event ingest: validate, canonicalise and append events to their enterprise's log.

Rules (the same for the CLI, the API and parcelguard's own events):
- every event is validated against the contract by decode.py (version 2: no field
  outside it, ids by the id pattern and never a phone or ID number, the same
  line-size limit on every path); a bad one is rejected with its line number and a
  reason that never echoes the offending value (it may be PI);
- ``(enterprise_id, event_id)`` is the idempotency key: a re-sent identical event is
  a no-op, a re-sent event with different content is rejected;
- stored events get gap-free log positions per enterprise, in arrival order;
- the caller commits once per batch, so a crash loses only the uncommitted batch,
  which a re-run stores exactly once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import count
from typing import Any

import msgspec
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from parcelguard.core.bulk import bulk_insert
from parcelguard.ledger.decode import Decoded, Rejected, decode_batch
from parcelguard.ledger.models import LedgerEvent, LedgerHead
from parcelguard.ledger.parcels import fold_steps, upsert_states
from parcelguard.ledger.store import append_leaf_batch

# SQLite's default limit on bound parameters is 32766; stay well below it.
_LOOKUP_CHUNK = 10_000

COLUMNS = ("enterprise_id", "seq", "event_id", "kind", "occurred_at_us", "subject_id",
           "waybill_no", "leaf")


@dataclass
class BatchResult:
    stored: int = 0
    duplicates: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    by_enterprise: Counter[str] = field(default_factory=Counter)


_plain_json = msgspec.json.Encoder().encode  # parcelguard's own events


class EventLog:
    """Appends validated events to per-enterprise logs inside the caller's
    transaction. ``accept_enterprise`` decides per enterprise id whether this
    caller may write to it (tenancy); ``on_new_enterprises`` may register ids seen
    for the first time and returns the ones it refuses, with the reason: their
    events are rejected lines, the rest of the batch is stored."""

    def __init__(
        self,
        *,
        clock_now: Callable[[], datetime],
        accept_enterprise: Callable[[str], str | None] | None = None,
        on_new_enterprises: Callable[[Session, set[str]], Mapping[str, str]] | None = None,
    ) -> None:
        self._now = clock_now
        self._accept = accept_enterprise
        self._on_new = on_new_enterprises
        self._known_heads: set[str] = set()

    def append_raw(self, session: Session, lines: Iterable[tuple[int, bytes | str]],
                   *, max_line_bytes: int = 65536) -> BatchResult:
        """Decode and append one batch of raw lines; the caller commits. The line
        size limit holds here, so it is the same on every path."""
        result = BatchResult()
        decoded = decode_batch(lines, result.rejected, max_line_bytes=max_line_bytes)
        self.append(session, decoded, result)
        return result

    def append(self, session: Session, events: Sequence[Decoded],
               result: BatchResult | None = None) -> BatchResult:
        result = result or BatchResult()
        by_ent: dict[str, list[Decoded]] = {}
        accept = self._accept
        for ev in events:
            ent = ev[1]  # enterprise_id (indexing: this loop runs once per event)
            evs = by_ent.get(ent)
            if evs is None:
                refusal = accept(ent) if accept is not None else None
                if refusal:
                    result.rejected.append(Rejected(ev.line_no, refusal))
                    continue
                evs = by_ent[ent] = []
            evs.append(ev)
        for ent, reason in self._ensure_heads(session, set(by_ent)).items():
            result.rejected.extend(Rejected(ev.line_no, reason) for ev in by_ent.pop(ent))
        conn = session.connection()
        states: list[tuple[Any, ...]] = []
        for ent, evs in by_ent.items():
            states += self._append_enterprise(session, conn, ent, evs, result)
        # --- parcel projection (ledger/parcels.py): one upsert for the batch's
        # enterprises, of the events stored just now, so re-sent ones never count twice.
        upsert_states(conn, states)
        # --- end parcel projection
        result.rejected.sort(key=lambda r: r.line_no)
        return result

    def _ensure_heads(self, session: Session, enterprise_ids: set[str]) -> Mapping[str, str]:
        """Create the heads of logs seen for the first time; returns the refused ids."""
        missing = enterprise_ids - self._known_heads
        if not missing:
            return {}
        have = set(session.scalars(select(LedgerHead.enterprise_id)
                                   .where(LedgerHead.enterprise_id.in_(missing))))
        new = missing - have
        refused: Mapping[str, str] = {}
        if new:
            if self._on_new is not None:
                refused = self._on_new(session, new)
                new -= refused.keys()
            now = self._now()
            session.add_all(LedgerHead(enterprise_id=e, size=0, updated_at=now) for e in new)
            session.flush()
        self._known_heads |= missing - refused.keys()
        return refused

    def _append_enterprise(self, session: Session, conn: Any, ent: str,
                           evs: list[Decoded], result: BatchResult) -> list[tuple[Any, ...]]:
        """Store one enterprise's events; returns the parcel state rows they fold to."""
        # Take the head's row lock first (a write), then read the size: concurrent
        # writers to one log serialise here on SQLite and PostgreSQL alike.
        conn.execute(update(LedgerHead).where(LedgerHead.enterprise_id == ent)
                     .values(updated_at=self._now()))
        size: int = conn.execute(select(LedgerHead.size)
                                 .where(LedgerHead.enterprise_id == ent)).scalar_one()
        # Indexing, not attribute names, in the loops below: they run once per event.
        unique = {ev[2]: ev for ev in evs}  # by event_id
        if len(unique) != len(evs):  # an id repeats within the batch: keep its first line
            unique = {}
            for ev in evs:
                first = unique.setdefault(ev.event_id, ev)
                if first is ev:
                    continue
                if first.leaf == ev.leaf:
                    result.duplicates += 1
                else:
                    result.rejected.append(Rejected(
                        ev.line_no,
                        f"event_id repeats line {first.line_no} with different content"))
        rows = _rows(ent, size, unique.values())
        if not _insert_if_all_new(conn, rows):
            # Some were sent before: find them, tell identical re-sends from
            # conflicting ones, and store the rest.
            for event_id, leaf in _stored_leaves(conn, ent, list(unique)):
                ev = unique.pop(event_id)
                if ev.leaf == leaf:
                    result.duplicates += 1
                else:
                    result.rejected.append(Rejected(
                        ev.line_no, "event_id already stored with different content"))
            rows = _rows(ent, size, unique.values())
            bulk_insert(conn, LedgerEvent.__tablename__, COLUMNS, rows)
        if rows:
            # --- Merkle log (ledger/store.py): the new leaves join the enterprise's
            # tiles in this transaction, so the tree always covers exactly the stored rows.
            append_leaf_batch(conn, ent, size, [ev[9] for ev in unique.values()])
            # --- end Merkle log
            conn.execute(update(LedgerHead).where(LedgerHead.enterprise_id == ent)
                         .values(size=size + len(rows)))
        result.stored += len(rows)
        result.by_enterprise[ent] += len(rows)
        if not rows:
            return []
        return fold_steps(ent, [p for ev in unique.values() if (p := ev[8]) is not None])


def _rows(ent: str, size: int, events: Iterable[Decoded]) -> list[tuple[Any, ...]]:
    """The ledger rows (COLUMNS order) of ``events``, at positions from ``size`` on."""
    return [(ent, seq, ev[2], ev[3], ev[4], ev[5], ev[6], ev[7])
            for seq, ev in zip(count(size), events)]


def _insert_if_all_new(conn: Any, rows: list[tuple[Any, ...]]) -> bool:
    """Insert the batch under a savepoint; False (and nothing inserted) if any event
    id is already stored. Fresh events are the common case, so they skip the
    duplicate lookup and let the unique index do the check."""
    if not rows:
        return True
    savepoint = conn.begin_nested()
    try:
        bulk_insert(conn, LedgerEvent.__tablename__, COLUMNS, rows)
    except conn.dialect.dbapi.IntegrityError:
        savepoint.rollback()
        return False
    savepoint.commit()
    return True


def _stored_leaves(conn: Any, enterprise_id: str,
                   event_ids: list[str]) -> Iterator[tuple[str, bytes]]:
    """(event_id, leaf) of the ids already in the enterprise's log. Plain DBAPI:
    SQLAlchemy's expanding IN costs more than the lookup itself at this volume."""
    dbapi: Any = conn.connection.dbapi_connection
    cur = dbapi.cursor()
    try:
        if conn.dialect.name == "postgresql":
            cur.execute("SELECT event_id, leaf FROM ledger_events WHERE enterprise_id = %s "
                        "AND event_id = ANY(%s)", (enterprise_id, event_ids))
            yield from ((e, bytes(leaf)) for e, leaf in cur.fetchall())
            return
        for i in range(0, len(event_ids), _LOOKUP_CHUNK):
            chunk = event_ids[i:i + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            cur.execute(f"SELECT event_id, leaf FROM ledger_events WHERE enterprise_id = ? "
                        f"AND event_id IN ({marks})", (enterprise_id, *chunk))
            yield from cur.fetchall()
    finally:
        cur.close()


def record_events(session: Session, docs: Sequence[dict[str, Any]], *,
                  clock_now: Callable[[], datetime]) -> BatchResult:
    """Append events that parcelguard itself produced (roster changes, parcel steps,
    gate decisions). They must be valid: an invalid one is a bug, so it raises."""
    log = EventLog(clock_now=clock_now)
    result = log.append_raw(session, [(i, _plain_json(d)) for i, d in enumerate(docs)])
    if result.rejected:
        raise ValueError(f"internal event rejected: {result.rejected[0].reason}")
    return result
