"""Ledger use cases: file ingest with per-batch commits, and log reads."""

from __future__ import annotations

import gc
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.core.db import Database
from parcelguard.ledger.decode import Rejected
from parcelguard.ledger.decode_process import decoded_batches
from parcelguard.ledger.ingest import BatchResult, EventLog
from parcelguard.ledger.models import LedgerHead


@dataclass
class IngestReport:
    lines: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    by_enterprise: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.lines / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, object]:
        return {"lines": self.lines, "stored": self.stored, "duplicates": self.duplicates,
                "rejected": len(self.rejected), "by_enterprise": dict(self.by_enterprise),
                "seconds": round(self.seconds, 3), "events_per_second": round(self.rate)}


def ingest_file(
    db: Database,
    path: Path,
    *,
    log: EventLog,
    batch_size: int,
    max_line_bytes: int,
    rejects_path: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> IngestReport:
    """Ingest a JSONL or Parquet file, one transaction per batch.

    ``progress(lines_done, bytes_done)`` is called after each committed batch, so
    what it reports as stored is durable. Rejected lines go to ``rejects_path`` as
    JSONL (line number, reason and the line as received, for fixing and re-sending);
    the file is private to the user because a malformed line may hold anything.
    """
    if not path.is_file():
        raise FileNotFoundError(f"no such events file: {path}")
    report = IngestReport()
    started = time.perf_counter()
    rejects_fh = None
    if rejects_path is not None:
        rejects_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(rejects_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        rejects_fh = os.fdopen(fd, "wb")
    # Read and decoded one batch ahead by a child process, while this one stores.
    batches = decoded_batches(path, max_line_bytes=max_line_bytes, batch_size=batch_size)
    # A batch allocates tens of thousands of short-lived objects without cycles;
    # letting the collector walk them cost a tenth of the time (and collecting after
    # each batch still 0.8 us an event). The few cycles a unit of work leaves are
    # collected every 64 batches.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for n, (lines, decoded, rejected, raw_by_line) in enumerate(batches, 1):
            with db.unit_of_work() as uow:
                result = log.append(uow.session, decoded, BatchResult(rejected=rejected))
                uow.commit()
            if n % 64 == 0:
                gc.collect()
            report.lines += lines
            report.stored += result.stored
            report.duplicates += result.duplicates
            report.by_enterprise.update(result.by_enterprise)
            if result.rejected:
                report.rejected.extend(result.rejected)
                if rejects_fh is not None:
                    # A line refused after decoding (a conflicting re-send, a refused
                    # enterprise) is written in its canonical form.
                    leaves = {ev.line_no: ev.leaf for ev in decoded}
                    for rej in result.rejected:
                        raw = raw_by_line.get(rej.line_no, leaves.get(rej.line_no))
                        rejects_fh.write(msgspec.json.encode({
                            "line": rej.line_no, "reason": rej.reason,
                            "raw": raw.decode("utf-8", "replace")
                            if isinstance(raw, bytes) else None}) + b"\n")
            if progress is not None:
                progress(report.lines, 0)
    finally:
        batches.close()
        if was_enabled:
            gc.enable()
        if rejects_fh is not None:
            rejects_fh.close()
    report.seconds = time.perf_counter() - started
    return report


def log_sizes(session: Session) -> dict[str, int]:
    # .all(): a Result has .keys(), so dict(result) would take it for a mapping.
    return dict(session.execute(select(LedgerHead.enterprise_id, LedgerHead.size))
                .tuples().all())
