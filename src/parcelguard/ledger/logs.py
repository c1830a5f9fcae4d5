"""An enterprise's stored log as a reader sees it: leaves, proofs, export, verify.

Proofs come from the tiles (O(log n): one head read, one tile read, one leaf read).
``verify`` trusts nothing but the leaf bytes: it recomputes every stored hash from
them (recompute.audit), checks the positions are gap-free, and binds the result to
the last checkpoint the enterprise signed.

Leaves archived for retention (retention.py) are read back from their Parquet files,
whose SHA-256 is checked first, so every function here covers the whole log.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.core.errors import InvalidInput, NotFound
from parcelguard.ledger import retention
from parcelguard.ledger.decode import Rejected, decode_stored_leaf
from parcelguard.ledger.merkle import consistency_proof, inclusion_proof, verify_consistency
from parcelguard.ledger.models import LedgerEvent
from parcelguard.ledger.recompute import audit
from parcelguard.ledger.signing import latest_checkpoint, log_size
from parcelguard.ledger.store import SqlTileStore
from parcelguard.ledger.tiles import TileMissingError

# Leaves fetched per round trip when streaming a whole log (export, verify).
STREAM_BATCH = 20_000


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _store(session: Session, enterprise_id: str) -> SqlTileStore:
    return SqlTileStore(session.connection(), enterprise_id)


def _sizes(session: Session, enterprise_id: str, size: int | None) -> int:
    current = log_size(session, enterprise_id)
    if size is None:
        return current
    if not 1 <= size <= current:
        raise InvalidInput(f"tree size must be between 1 and {current}, got {size}")
    return size


def leaf_at(session: Session, enterprise_id: str, index: int) -> bytes:
    """The stored bytes of leaf ``index`` (from its archive file if archived)."""
    leaf = session.scalar(select(LedgerEvent.leaf).where(
        LedgerEvent.enterprise_id == enterprise_id, LedgerEvent.seq == index))
    if leaf is not None:
        return bytes(leaf)
    archived = retention.archived_leaf(session, enterprise_id, index)
    if archived is None:
        raise NotFound(f"leaf {index} of {enterprise_id} is not stored")
    return archived


def prove(session: Session, enterprise_id: str, index: int,
          size: int | None = None) -> dict[str, Any]:
    """Inclusion proof of leaf ``index`` in the tree of ``size`` (default: current)."""
    tree_size = _sizes(session, enterprise_id, size)
    if not 0 <= index < tree_size:
        raise InvalidInput(f"leaf index must be between 0 and {tree_size - 1}, got {index}")
    proof = inclusion_proof(_store(session, enterprise_id), index, tree_size)
    return {"leaf_index": index, "tree_size": tree_size,
            "leaf": _b64(leaf_at(session, enterprise_id, index)),
            "inclusion": [_b64(h) for h in proof]}


def consistency(session: Session, enterprise_id: str, old: int, new: int) -> dict[str, Any]:
    """Consistency proof between two sizes of the log (0 <= old <= new <= size)."""
    current = log_size(session, enterprise_id)
    if not 0 <= old <= new <= current:
        raise InvalidInput(f"need 0 <= old <= new <= {current}, got old={old} new={new}")
    proof = consistency_proof(_store(session, enterprise_id), old, new)
    return {"old_size": old, "new_size": new, "consistency": [_b64(h) for h in proof]}


def iter_leaves(session: Session, enterprise_id: str) -> Iterator[tuple[int, bytes]]:
    """(position, leaf) for every stored leaf in log order, archived ones first.

    Positions are the stored ones (``seq``), so a reader can spot gaps.
    """
    yield from ((row[0], row[1]) for row in _rows(session, enterprise_id, with_columns=False))


# The columns ingest derives from each leaf (ingest.decode_stored_leaf); queries and the
# monitor read them instead of the leaf, so verify checks they still agree with it.
_DERIVED = (LedgerEvent.event_id, LedgerEvent.kind, LedgerEvent.occurred_at_us,
            LedgerEvent.subject_id, LedgerEvent.waybill_no)


def _rows(session: Session, enterprise_id: str, *,
          with_columns: bool) -> Iterator[tuple[Any, ...]]:
    """(seq, leaf[, derived columns]) in log order; archived rows carry no columns."""
    yield from retention.iter_archived(session, enterprise_id)
    after = retention.archived_end(session, enterprise_id)
    conn = session.connection()
    stmt = (select(LedgerEvent.seq, LedgerEvent.leaf, *(_DERIVED if with_columns else ()))
            .where(LedgerEvent.enterprise_id == enterprise_id)
            .order_by(LedgerEvent.seq).limit(STREAM_BATCH))
    while True:  # keyset pagination: constant memory, no long-lived server cursor
        rows = conn.execute(stmt.where(LedgerEvent.seq >= after)).all()
        for row in rows:
            yield (row[0], bytes(row[1]), *row[2:])
        if len(rows) < STREAM_BATCH:
            return
        after = rows[-1][0] + 1


def export(session: Session, enterprise_id: str, out: IO[bytes]) -> int:
    """Write the leaves in log order, one canonical JSON per line; return the count."""
    log_size(session, enterprise_id)
    count = 0
    for _, leaf in iter_leaves(session, enterprise_id):
        out.write(leaf)
        out.write(b"\n")
        count += 1
    return count


@dataclass
class VerifyReport:
    ok: bool
    size: int
    first_bad_index: int | None
    reason: str | None
    root: bytes | None = None
    checkpoint_size: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "size": self.size, "first_bad_index": self.first_bad_index,
                "reason": self.reason, "root": _b64(self.root) if self.root else None,
                "checkpoint_size": self.checkpoint_size}


class _Positions:
    """Passes leaves through to the audit and notes the first position that is not
    the next one, and the first row whose columns or bytes disagree with its leaf."""

    def __init__(self, rows: Iterator[tuple[Any, ...]]) -> None:
        self.rows = rows
        self.first_gap: tuple[int, str] | None = None
        self.first_bad_row: tuple[int, str] | None = None

    def __iter__(self) -> Iterator[bytes]:
        expected = 0
        for seq, leaf, *columns in self.rows:
            if seq != expected and self.first_gap is None:
                self.first_gap = (expected, f"leaf {expected} is missing (next stored "
                                            f"position is {seq})")
            if columns and self.first_bad_row is None:
                problem = _row_problem(seq, leaf, columns)
                if problem:
                    self.first_bad_row = (seq, problem)
            expected = seq + 1
            yield leaf


def _row_problem(seq: int, leaf: bytes, columns: list[Any]) -> str | None:
    decoded = decode_stored_leaf(seq, leaf)
    if isinstance(decoded, Rejected):
        return "stored leaf is not a valid event"
    if decoded.leaf != leaf:
        return "stored leaf is not canonical JSON"
    derived = (decoded.event_id, decoded.kind, decoded.occurred_at_us, decoded.subject_id,
               decoded.waybill_no)
    for column, want, have in zip(_DERIVED, derived, columns, strict=True):
        if want != have:
            return f"column {column.key} disagrees with the leaf"
    return None


def verify(session: Session, enterprise_id: str) -> VerifyReport:
    """Recompute the log from its leaves; name the first bad index if anything differs."""
    size = log_size(session, enterprise_id)
    try:
        positions = _Positions(_rows(session, enterprise_id, with_columns=True))
        report = audit(_store(session, enterprise_id), size, positions)
    except retention.ArchiveDamaged as exc:
        return VerifyReport(False, size, exc.first_seq, str(exc))
    merkle_bad = None
    if report.first_bad is not None:
        what = {0: "leaf"}.get(report.first_bad.level, f"level-{report.first_bad.level} hash")
        merkle_bad = (report.first_bad.first_leaf,
                      f"{report.first_bad.reason} ({what} {report.first_bad.index})")
    # On a tie the earlier entry explains the later: a gap shifts every hash after it,
    # and a changed leaf usually also disagrees with its columns.
    found = [f for f in (positions.first_gap, merkle_bad, positions.first_bad_row) if f]
    if found:
        index, reason = min(found, key=lambda f: f[0])
        return VerifyReport(False, size, index, reason, report.root)
    return _against_checkpoint(session, enterprise_id, size, report.root)


def _against_checkpoint(session: Session, enterprise_id: str, size: int,
                        leaves_root: bytes) -> VerifyReport:
    """Bind the recomputed tree to the last signed checkpoint: a history rewritten
    together with its tiles passes the audit but not this."""
    last = latest_checkpoint(session, enterprise_id)
    if last is None:
        return VerifyReport(True, size, None, None, leaves_root)
    if last.size > size:
        return VerifyReport(False, size, size, f"the log has {size} leaves but a checkpoint "
                            f"was signed at {last.size}", leaves_root, last.size)
    try:
        # The tiles were just shown to match the leaves, so this proof is sound; checking
        # it against the recomputed root makes the signed root a prefix of the leaves.
        proof = consistency_proof(_store(session, enterprise_id), last.size, size)
        ok = verify_consistency(last.size, size, bytes(last.root), leaves_root, proof)
    except (TileMissingError, ValueError):
        ok = False
    if ok:
        return VerifyReport(True, size, None, None, leaves_root, last.size)
    return VerifyReport(False, size, None, f"the leaves do not extend the checkpoint signed at "
                        f"size {last.size}: history was rewritten", leaves_root, last.size)
