"""The checkpoint witness: every checkpoint must extend the last one accepted.

For each enterprise the witness keeps the newest checkpoint it accepted and the
verifier key it first saw (pinned: a key swapped in the enterprise's tables later
does not sign for it). A new checkpoint is accepted only if

1. it is signed by the pinned key for the enterprise's origin, and
2. an RFC 9162 consistency proof from the accepted size to the new one verifies
   against the accepted root and the new signed root.

In this single-node deployment the witness asks the enterprise's stored tiles for
the proof, which it then checks with the pure verifier: a store that lies produces a
proof that fails, never a false acceptance. When the check fails the accepted
checkpoint stays, a ``ledger_tamper`` finding records both checkpoints and the failed
proof, and a ``LedgerTamperDetected`` event is emitted to the outbox with it (and
returned), so whichever entry point pushed the checkpoint, the alert follows.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.core.clock import Clock
from parcelguard.core.errors import InvalidInput, NotFound
from parcelguard.core.outbox import emit
from parcelguard.ledger import read as ledger_read
from parcelguard.ledger.checkpoint import Checkpoint, CheckpointError, open_checkpoint
from parcelguard.ledger.merkle import consistency_proof, verify_consistency
from parcelguard.ledger.signing import KeyWrapper, checkpoint, registered_verifier
from parcelguard.ledger.store import SqlTileStore
from parcelguard.ledger.tiles import TileConflictError, TileMissingError
from parcelguard.supervision.events import LedgerTamperDetected
from parcelguard.supervision.models import SupervisionFinding, WitnessedCheckpoint

LEDGER_TAMPER = "ledger_tamper"


class CheckpointRejected(InvalidInput):
    """A pushed note is not a checkpoint the witness can check (bad signature, wrong
    origin, no registered key). Nothing is recorded: anyone can send garbage."""

    code = "checkpoint_rejected"


@dataclass(frozen=True)
class WitnessOutcome:
    enterprise_id: str
    # first | accepted | unchanged | stale | tamper
    status: str
    size: int | None
    accepted_size: int | None
    finding_id: int | None = None
    reason: str | None = None
    events: tuple[object, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status != "tamper"

    def as_dict(self) -> dict[str, Any]:
        return {"enterprise_id": self.enterprise_id, "status": self.status, "size": self.size,
                "accepted_size": self.accepted_size, "finding_id": self.finding_id,
                "reason": self.reason}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _checkpoint_evidence(size: int, root: bytes, note: str) -> dict[str, Any]:
    return {"size": size, "root": _b64(root), "note": note}


@dataclass
class _Proof:
    old_size: int
    new_size: int
    hashes: list[bytes] | None
    verified: bool
    error: str | None

    def evidence(self) -> dict[str, Any]:
        return {"type": "consistency", "old_size": self.old_size, "new_size": self.new_size,
                "hashes": None if self.hashes is None else [_b64(h) for h in self.hashes],
                "verified": self.verified, "error": self.error}


def _check(session: Session, enterprise_id: str, old: tuple[int, bytes],
           new: tuple[int, bytes]) -> _Proof:
    """Ask the enterprise's log for PROOF(old, new) and check it with the pure verifier."""
    (old_size, old_root), (new_size, new_root) = old, new
    try:
        hashes = consistency_proof(SqlTileStore(session.connection(), enterprise_id),
                                   old_size, new_size)
    except (TileMissingError, ValueError) as exc:
        return _Proof(old_size, new_size, None, False, f"no proof: {exc}")
    ok = verify_consistency(old_size, new_size, old_root, new_root, hashes)
    return _Proof(old_size, new_size, hashes, ok, None if ok else "proof does not verify")


def _trusted_key(session: Session, enterprise_id: str,
                 accepted: WitnessedCheckpoint | None) -> tuple[str, str]:
    if accepted is not None:
        return accepted.verifier_key, accepted.origin
    key = registered_verifier(session, enterprise_id)
    if key is None:
        raise CheckpointRejected(f"enterprise {enterprise_id} has no registered checkpoint key")
    return key.verifier_key, key.origin


def witness_note(session: Session, enterprise_id: str, note: str, *, clock: Clock,
                 fresh: bool = False) -> WitnessOutcome:
    """Check one signed checkpoint of ``enterprise_id`` against the last accepted one.

    ``fresh`` says the note was just signed over the live log (the operator's
    ``ledger witness``): then a smaller size is a rollback and a note the pinned key
    did not sign is tampering. A pushed note (``fresh=False``) that is merely older
    than the accepted one is ``stale`` if it is a prefix of it, and a bad signature
    is the sender's error (CheckpointRejected).
    """
    accepted = session.get(WitnessedCheckpoint, enterprise_id)
    vkey, origin = _trusted_key(session, enterprise_id, accepted)
    try:
        cp = open_checkpoint(note, vkey, origin=origin)
    except CheckpointError as exc:
        if fresh and accepted is not None:
            return _tamper(session, accepted, None, note, None, clock=clock,
                           reason=f"checkpoint is not signed by the pinned key: {exc}")
        raise CheckpointRejected(f"checkpoint rejected: {exc}") from None

    if accepted is None:
        session.add(WitnessedCheckpoint(enterprise_id=enterprise_id, origin=origin,
                                        verifier_key=vkey, size=cp.size, root=cp.root,
                                        note=note, accepted_at=clock.now()))
        session.flush()
        return WitnessOutcome(enterprise_id, "first", cp.size, None)

    if cp.size == accepted.size:
        return _same_size(session, accepted, cp, note, clock=clock)
    if cp.size > accepted.size:
        return _grown(session, accepted, cp, note, clock=clock)
    return _shrunk(session, accepted, cp, note, clock=clock, fresh=fresh)


def _same_size(session: Session, accepted: WitnessedCheckpoint, cp: Checkpoint, note: str, *,
               clock: Clock) -> WitnessOutcome:
    if cp.root == bytes(accepted.root):
        return WitnessOutcome(accepted.enterprise_id, "unchanged", cp.size, accepted.size)
    proof = _Proof(cp.size, cp.size, [], False, "two different roots for one size")
    return _tamper(session, accepted, cp, note, proof, clock=clock,
                   reason=f"fork: another root signed for size {cp.size}")


def _grown(session: Session, accepted: WitnessedCheckpoint, cp: Checkpoint, note: str, *,
           clock: Clock) -> WitnessOutcome:
    old_size = accepted.size
    proof = _check(session, accepted.enterprise_id, (old_size, bytes(accepted.root)),
                   (cp.size, cp.root))
    if not proof.verified:
        return _tamper(session, accepted, cp, note, proof, clock=clock,
                       reason=f"the log at size {cp.size} does not extend the accepted "
                       f"size {old_size}: history was rewritten")
    accepted.size, accepted.root, accepted.note = cp.size, cp.root, note
    accepted.accepted_at = clock.now()
    session.flush()
    return WitnessOutcome(accepted.enterprise_id, "accepted", cp.size, old_size)


def _shrunk(session: Session, accepted: WitnessedCheckpoint, cp: Checkpoint, note: str, *,
            clock: Clock, fresh: bool) -> WitnessOutcome:
    proof = _check(session, accepted.enterprise_id, (cp.size, cp.root),
                   (accepted.size, bytes(accepted.root)))
    if fresh:
        return _tamper(session, accepted, cp, note, proof, clock=clock,
                       reason=f"rollback: the log shrank from {accepted.size} to {cp.size}")
    if proof.verified:
        return WitnessOutcome(accepted.enterprise_id, "stale", cp.size, accepted.size)
    return _tamper(session, accepted, cp, note, proof, clock=clock,
                   reason=f"fork: size {cp.size} is not a prefix of the accepted "
                   f"size {accepted.size}")


def _tamper(session: Session, accepted: WitnessedCheckpoint, cp: Checkpoint | None,
            note: str | None, proof: _Proof | None, *, clock: Clock,
            reason: str) -> WitnessOutcome:
    now = clock.now()
    finding = SupervisionFinding(
        enterprise_id=accepted.enterprise_id, kind=LEDGER_TAMPER, status="open",
        summary=reason[:500], detected_at=now,
        evidence={
            "accepted_checkpoint": _checkpoint_evidence(accepted.size, bytes(accepted.root),
                                                        accepted.note),
            "presented_checkpoint": None if cp is None or note is None
            else _checkpoint_evidence(cp.size, cp.root, note),
            "presented_note": note,
            "proof": None if proof is None else proof.evidence(),
        })
    session.add(finding)
    session.flush()
    event = LedgerTamperDetected(enterprise_id=accepted.enterprise_id, finding_id=finding.id,
                                 accepted_size=accepted.size,
                                 presented_size=None if cp is None else cp.size,
                                 reason=reason, detected_at=now)
    emit(session, event)
    return WitnessOutcome(accepted.enterprise_id, "tamper", None if cp is None else cp.size,
                          accepted.size, finding.id, reason, (event,))


def witnessed_enterprises(session: Session) -> list[str]:
    """Every enterprise with a log or a witnessed checkpoint (a log that vanished
    entirely must still be checked)."""
    heads = set(ledger_read.log_sizes(session))
    seen = set(session.scalars(select(WitnessedCheckpoint.enterprise_id)))
    return sorted(heads | seen)


def witness_enterprise(session: Session, enterprise_id: str, *, kms: KeyWrapper,
                       clock: Clock) -> WitnessOutcome:
    """Take a fresh checkpoint of the live log and witness it (operator run)."""
    try:
        signed = checkpoint(session, enterprise_id, kms=kms, clock=clock)
    except (NotFound, TileMissingError, TileConflictError) as exc:
        accepted = session.get(WitnessedCheckpoint, enterprise_id)
        if accepted is None:
            raise
        # The log is gone or cannot even state its own root: its storage lost data
        # the accepted checkpoint vouched for. (Key or KMS faults propagate: they are
        # configuration errors, not evidence.)
        return _tamper(session, accepted, None, None, None, clock=clock,
                       reason=f"the log cannot produce a checkpoint: {exc}")
    return witness_note(session, enterprise_id, signed.note, clock=clock, fresh=True)


def findings(session: Session, enterprise_id: str) -> list[SupervisionFinding]:
    return list(session.scalars(select(SupervisionFinding)
                                .where(SupervisionFinding.enterprise_id == enterprise_id)
                                .order_by(SupervisionFinding.id)))
