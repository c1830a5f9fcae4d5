"""Event ingest: validate, canonicalise and append events to their enterprise's log.

Rules (the same for the CLI and the API):
- every event is validated against the contract; a bad one is rejected with its
  line number and a reason that never echoes the offending value (it may be PI);
- ``(enterprise_id, event_id)`` is the idempotency key: a re-sent identical event is
  a no-op, a re-sent event with different content is rejected;
- stored events get gap-free log positions per enterprise, in arrival order;
- the caller commits once per batch, so a crash loses only the uncommitted batch,
  which a re-run stores exactly once.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import orjson
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from parcelguard.core.bulk import bulk_insert
from parcelguard.core.canonical import canonical_json, canonical_json_fast
from parcelguard.ledger.contract import KNOWN_KEYS, AccessEvent, EmployeeEvent, decoder
from parcelguard.ledger.models import LedgerEvent, LedgerHead

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_SHIFT_KEYS = frozenset({"start", "end", "tz"})
_QUOTED = re.compile(r"'[^']*'")
# SQLite's default limit on bound parameters is 32766; stay well below it.
_LOOKUP_CHUNK = 10_000

COLUMNS = ("enterprise_id", "seq", "event_id", "kind", "occurred_at_us", "subject_id",
           "waybill_no", "leaf")


@dataclass(frozen=True, slots=True)
class Decoded:
    line_no: int
    enterprise_id: str
    event_id: str
    kind: str
    occurred_at_us: int
    subject_id: str | None
    waybill_no: str | None
    leaf: bytes


@dataclass(frozen=True, slots=True)
class Rejected:
    line_no: int
    reason: str


@dataclass
class BatchResult:
    stored: int = 0
    duplicates: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    by_enterprise: Counter[str] = field(default_factory=Counter)


def _reason(exc: Exception) -> str:
    # msgspec quotes offending values ("Invalid enum value '1381…'"); a value in the
    # wrong field may be PI, so reasons name the place and the rule, never the value.
    return _QUOTED.sub("(value hidden)", str(exc))


def decode_event(line_no: int, raw: bytes) -> Decoded | Rejected:
    """Validate one JSON event and compute its canonical leaf bytes."""
    try:
        ev = decoder.decode(raw)
    except msgspec.ValidationError as exc:  # subclass of DecodeError: test it first
        return Rejected(line_no, f"does not match the event contract: {_reason(exc)}")
    except msgspec.DecodeError as exc:
        return Rejected(line_no, f"not valid JSON: {_reason(exc)}")
    doc: dict[str, Any] = orjson.loads(raw)
    kind = doc["kind"]
    shift = doc.get("shift")
    if doc.keys() <= KNOWN_KEYS[kind] and not (isinstance(shift, dict)
                                               and not shift.keys() <= _SHIFT_KEYS):
        leaf = canonical_json_fast(doc)
    else:  # extension fields may hold floats or non-ASCII keys: full JCS rules
        leaf = canonical_json(doc)
    if isinstance(ev, AccessEvent):
        subject: str | None = ev.actor_id
        waybill = ev.waybill_no if isinstance(ev.waybill_no, str) else None
    elif isinstance(ev, EmployeeEvent):
        subject, waybill = ev.employee_id, None
    else:
        subject, waybill = None, ev.waybill_no
    return Decoded(line_no, ev.enterprise_id, ev.event_id, kind,
                   (ev.occurred_at - _EPOCH) // _US, subject, waybill, leaf)


def read_jsonl(path: Path, *, max_line_bytes: int) -> Iterator[tuple[int, bytes | None]]:
    """(line number, raw line) for each non-blank line; None for over-long lines."""
    with path.open("rb") as fh:
        for line_no, line in enumerate(fh, start=1):
            if len(line) > max_line_bytes:
                yield line_no, None
                continue
            stripped = line.strip()
            if stripped:
                yield line_no, stripped


def read_parquet(path: Path, *, batch_rows: int = 50_000) -> Iterator[tuple[int, bytes | None]]:
    """Rows of a Parquet event file as JSON. Parquet cannot tell an absent field from
    a null one, so null columns are treated as absent."""
    import pyarrow.parquet as pq

    row_no = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows):
        for row in batch.to_pylist():
            row_no += 1
            doc = {k: v for k, v in row.items() if v is not None}
            yield row_no, orjson.dumps(doc, option=orjson.OPT_NAIVE_UTC)


def read_events_file(path: Path, *, max_line_bytes: int) -> Iterator[tuple[int, bytes | None]]:
    if path.suffix.lower() in {".parquet", ".pq"}:
        return read_parquet(path)
    return read_jsonl(path, max_line_bytes=max_line_bytes)


class EventLog:
    """Appends validated events to per-enterprise logs inside the caller's
    transaction. ``accept_enterprise`` decides per enterprise id whether this
    caller may write to it (tenancy); ``on_new_enterprises`` may register ids seen
    for the first time and must raise to refuse them."""

    def __init__(
        self,
        *,
        clock_now: Callable[[], datetime],
        accept_enterprise: Callable[[str], str | None] | None = None,
        on_new_enterprises: Callable[[Session, set[str]], None] | None = None,
    ) -> None:
        self._now = clock_now
        self._accept = accept_enterprise
        self._on_new = on_new_enterprises
        self._known_heads: set[str] = set()

    def append_raw(self, session: Session, lines: Iterable[tuple[int, bytes | None]],
                   *, max_line_bytes: int = 65536) -> BatchResult:
        """Decode and append one batch of raw lines; the caller commits."""
        decoded: list[Decoded] = []
        result = BatchResult()
        for line_no, raw in lines:
            if raw is None:
                result.rejected.append(Rejected(line_no, f"line longer than {max_line_bytes} "
                                                         "bytes"))
                continue
            item = decode_event(line_no, raw)
            if isinstance(item, Rejected):
                result.rejected.append(item)
            else:
                decoded.append(item)
        self.append(session, decoded, result)
        return result

    def append(self, session: Session, events: Sequence[Decoded],
               result: BatchResult | None = None) -> BatchResult:
        result = result or BatchResult()
        by_ent: dict[str, list[Decoded]] = {}
        for ev in events:
            if self._accept is not None:
                refusal = self._accept(ev.enterprise_id)
                if refusal:
                    result.rejected.append(Rejected(ev.line_no, refusal))
                    continue
            by_ent.setdefault(ev.enterprise_id, []).append(ev)
        self._ensure_heads(session, set(by_ent))
        conn = session.connection()
        for ent, evs in by_ent.items():
            self._append_enterprise(session, conn, ent, evs, result)
        result.rejected.sort(key=lambda r: r.line_no)
        return result

    def _ensure_heads(self, session: Session, enterprise_ids: set[str]) -> None:
        missing = enterprise_ids - self._known_heads
        if not missing:
            return
        have = set(session.scalars(select(LedgerHead.enterprise_id)
                                   .where(LedgerHead.enterprise_id.in_(missing))))
        new = missing - have
        if new:
            if self._on_new is not None:
                self._on_new(session, new)
            now = self._now()
            session.add_all(LedgerHead(enterprise_id=e, size=0, updated_at=now) for e in new)
            session.flush()
        self._known_heads |= missing

    def _append_enterprise(self, session: Session, conn: Any, ent: str,
                           evs: list[Decoded], result: BatchResult) -> None:
        # Take the head's row lock first (a write), then read the size: concurrent
        # writers to one log serialise here on SQLite and PostgreSQL alike.
        conn.execute(update(LedgerHead).where(LedgerHead.enterprise_id == ent)
                     .values(updated_at=self._now()))
        size: int = conn.execute(select(LedgerHead.size)
                                 .where(LedgerHead.enterprise_id == ent)).scalar_one()
        unique: dict[str, Decoded] = {}
        for ev in evs:
            first = unique.get(ev.event_id)
            if first is None:
                unique[ev.event_id] = ev
            elif first.leaf == ev.leaf:
                result.duplicates += 1
            else:
                result.rejected.append(Rejected(
                    ev.line_no, f"event_id repeats line {first.line_no} with different content"))
        ids = list(unique)
        stmt = (select(LedgerEvent.event_id, LedgerEvent.leaf)
                .where(LedgerEvent.enterprise_id == ent)
                .where(LedgerEvent.event_id.in_(bindparam("ids", expanding=True))))
        for i in range(0, len(ids), _LOOKUP_CHUNK):
            for event_id, leaf in conn.execute(stmt, {"ids": ids[i:i + _LOOKUP_CHUNK]}):
                ev = unique.pop(event_id)
                if ev.leaf == leaf:
                    result.duplicates += 1
                else:
                    result.rejected.append(Rejected(
                        ev.line_no, "event_id already stored with different content"))
        rows = [(ent, size + i, ev.event_id, ev.kind, ev.occurred_at_us, ev.subject_id,
                 ev.waybill_no, ev.leaf) for i, ev in enumerate(unique.values())]
        bulk_insert(conn, LedgerEvent.__tablename__, COLUMNS, rows)
        if rows:
            conn.execute(update(LedgerHead).where(LedgerHead.enterprise_id == ent)
                         .values(size=size + len(rows)))
        result.stored += len(rows)
        result.by_enterprise[ent] += len(rows)


def record_events(session: Session, docs: Sequence[dict[str, Any]], *,
                  clock_now: Callable[[], datetime]) -> BatchResult:
    """Append events that parcelguard itself produced (roster changes, parcel steps,
    gate decisions). They must be valid: an invalid one is a bug, so it raises."""
    log = EventLog(clock_now=clock_now)
    result = log.append_raw(session, [(i, orjson.dumps(d)) for i, d in enumerate(docs)])
    if result.rejected:
        raise ValueError(f"internal event rejected: {result.rejected[0].reason}")
    return result
