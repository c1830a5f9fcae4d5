"""Retention: move an old prefix of an enterprise's leaves to Parquet, keep the tree.

Network logs stay at least six months (Cybersecurity Law art. 21(3)); past that the
oldest leaves may leave the database. Only a *prefix* of the log moves (positions
``[first_seq, end_seq)``, all of whose events occurred before the cut-off), so the
live table always holds a suffix. The tiles stay where they are: roots, inclusion
and consistency proofs work exactly as before. The file's SHA-256 is recorded with
its range; ``ledger verify`` checks it and then recomputes the archived leaves too.

Archived events no longer take part in ingest's duplicate check: a re-sent event
older than the archive would be stored again as a new leaf (docs/ledger.md).
"""

from __future__ import annotations

import calendar
import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from parcelguard.core.clock import Clock
from parcelguard.core.errors import DomainError, InvalidInput
from parcelguard.ledger.models import LedgerArchive, LedgerEvent
from parcelguard.ledger.signing import log_size

# Cybersecurity Law of the PRC, art. 21(3): network logs are kept no less than six months.
RETENTION_MONTHS = 6
_ARCHIVE_BATCH = 50_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


class ArchiveDamaged(DomainError):
    """An archive file is missing or not the file that was archived."""

    status_code = 500
    code = "archive_damaged"

    def __init__(self, message: str, first_seq: int) -> None:
        super().__init__(message)
        self.first_seq = first_seq


def months_before(when: datetime, months: int) -> datetime:
    """The same wall time ``months`` calendar months earlier (day clamped to the month)."""
    month0 = when.month - 1 - months
    year, month = when.year + month0 // 12, month0 % 12 + 1
    return when.replace(year=year, month=month,
                        day=min(when.day, calendar.monthrange(year, month)[1]))


def _archives(session: Session, enterprise_id: str) -> list[LedgerArchive]:
    return list(session.scalars(select(LedgerArchive)
                                .where(LedgerArchive.enterprise_id == enterprise_id)
                                .order_by(LedgerArchive.first_seq)))


def archived_end(session: Session, enterprise_id: str) -> int:
    """The first position still in the database (0 when nothing was archived)."""
    end = session.scalar(select(func.max(LedgerArchive.end_seq))
                         .where(LedgerArchive.enterprise_id == enterprise_id))
    return int(end or 0)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def iter_archived(session: Session, enterprise_id: str) -> Iterator[tuple[int, bytes]]:
    """(position, leaf) of every archived leaf in order, each file checked first."""
    import pyarrow.parquet as pq

    for arc in _archives(session, enterprise_id):
        path = Path(arc.path)
        if not path.is_file():
            raise ArchiveDamaged(f"archive file for leaves {arc.first_seq}..{arc.end_seq - 1} "
                                 f"is missing: {path}", arc.first_seq)
        if _sha256_file(path) != arc.sha256:
            raise ArchiveDamaged(f"archive file for leaves {arc.first_seq}..{arc.end_seq - 1} "
                                 "was altered (SHA-256 differs)", arc.first_seq)
        for batch in pq.ParquetFile(path).iter_batches(columns=["seq", "leaf"]):
            yield from zip(batch.column(0).to_pylist(), batch.column(1).to_pylist(),
                           strict=True)


def archived_leaf(session: Session, enterprise_id: str, index: int) -> bytes | None:
    """One archived leaf (for a proof; the verifier checks it against the root)."""
    import pyarrow.parquet as pq

    arc = session.scalars(select(LedgerArchive).where(
        LedgerArchive.enterprise_id == enterprise_id, LedgerArchive.first_seq <= index,
        LedgerArchive.end_seq > index)).first()
    if arc is None or not Path(arc.path).is_file():
        return None
    table = pq.read_table(arc.path, columns=["leaf"], filters=[("seq", "=", index)])
    leaves = table.column(0).to_pylist()
    return leaves[0] if leaves else None


def archive(session: Session, enterprise_id: str, *, before: datetime, archive_dir: Path,
            clock: Clock) -> LedgerArchive | None:
    """Archive the longest prefix of not-yet-archived leaves whose events all occurred
    before ``before``, which must be at least six months ago. Returns the new archive
    row, or None when no leaf qualifies. The caller commits."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if before.tzinfo is None:
        raise InvalidInput("the archive cut-off needs a timezone")
    limit = months_before(clock.now(), RETENTION_MONTHS)
    if before > limit:
        raise InvalidInput(f"events are kept at least {RETENTION_MONTHS} months "
                           f"(Cybersecurity Law art. 21): the cut-off must be on or before "
                           f"{limit.astimezone(UTC).isoformat()}")
    size = log_size(session, enterprise_id)
    start = archived_end(session, enterprise_id)
    cutoff_us = (before - _EPOCH) // _US
    first_young = session.scalar(select(func.min(LedgerEvent.seq)).where(
        LedgerEvent.enterprise_id == enterprise_id, LedgerEvent.seq >= start,
        LedgerEvent.occurred_at_us >= cutoff_us))
    end = size if first_young is None else int(first_young)
    if end <= start:
        return None

    directory = archive_dir / enterprise_id
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{start:012d}-{end:012d}.parquet"
    tmp = path.with_suffix(".tmp")
    schema = pa.schema([("seq", pa.int64()), ("event_id", pa.string()), ("leaf", pa.binary())])
    conn = session.connection()
    with pq.ParquetWriter(tmp, schema) as writer:
        for lo in range(start, end, _ARCHIVE_BATCH):
            rows = conn.execute(select(LedgerEvent.seq, LedgerEvent.event_id, LedgerEvent.leaf)
                                .where(LedgerEvent.enterprise_id == enterprise_id,
                                       LedgerEvent.seq >= lo,
                                       LedgerEvent.seq < min(end, lo + _ARCHIVE_BATCH))
                                .order_by(LedgerEvent.seq)).all()
            if [r[0] for r in rows] != list(range(lo, min(end, lo + _ARCHIVE_BATCH))):
                raise DomainError(f"positions {lo}.. of {enterprise_id} have gaps; run "
                                  "`parcelguard ledger verify` before archiving")
            writer.write_table(pa.table({"seq": [r[0] for r in rows],
                                         "event_id": [r[1] for r in rows],
                                         "leaf": [bytes(r[2]) for r in rows]}, schema=schema))
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    tmp.chmod(0o600)
    tmp.replace(path)
    row = LedgerArchive(enterprise_id=enterprise_id, first_seq=start, end_seq=end,
                        path=str(path.resolve()), sha256=_sha256_file(path),
                        created_at=clock.now())
    session.add(row)
    session.execute(delete(LedgerEvent).where(LedgerEvent.enterprise_id == enterprise_id,
                                              LedgerEvent.seq >= start, LedgerEvent.seq < end))
    session.flush()
    return row

