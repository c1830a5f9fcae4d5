"""A C2SP tlog-witness: ``POST <prefix>/add-checkpoint`` answering with cosignatures.

https://c2sp.org/tlog-witness. The request body is::

    old <size the client believes the witness holds>
    <base64 consistency proof hash>      (zero to 63 lines)
    <empty line>
    <signed checkpoint note>

and the answers are: 200 with ``cosignature/v1`` lines (https://c2sp.org/tlog-cosignature,
ledger/cosign.py); 400 for a malformed body or an old size above the checkpoint's;
404 for an origin the witness does not know; 403 when no signature by a key it trusts
for that origin verifies; 409 (``text/x.tlog.size``, the size it holds) when the old
size is not the one it holds, or when the same size comes with another root; 422 when
the consistency proof does not verify.

Per origin the witness keeps only the latest checkpoint it cosigned (``tlog_witness_logs``),
read under a row lock and updated in the same transaction as the answer is computed,
so two concurrent requests can never both move it (the rollback race the spec warns
about). A validly signed checkpoint that forks (409 with another root) or comes with
a proof that fails (422) is evidence against the log: it is kept as a ``ledger_tamper``
finding with a ``LedgerTamperDetected`` event, as the in-process witness
(supervision/witness.py) records its findings.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from parcelguard.core.clock import Clock
from parcelguard.core.http import ClockDep, SessionDep
from parcelguard.core.outbox import emit
from parcelguard.ledger import read as ledger_read
from parcelguard.ledger.checkpoint import (
    CheckpointError,
    NoteVerifier,
    open_note,
    parse_checkpoint,
)
from parcelguard.ledger.cosign import Cosigner
from parcelguard.ledger.merkle import EMPTY_ROOT, verify_consistency
from parcelguard.supervision.events import LedgerTamperDetected
from parcelguard.supervision.models import SupervisionFinding, TlogWitnessLog
from parcelguard.supervision.witness import LEDGER_TAMPER

MAX_PROOF_LINES = 63
# A checkpoint is a few hundred bytes; with 63 proof lines and 100 signatures the body
# stays under 16 KiB. Anything larger is refused before it is parsed.
MAX_BODY = 32_768
SIZE_TYPE = "text/x.tlog.size"

_OLD = re.compile(r"old (0|[1-9][0-9]{0,19})")


@dataclass(frozen=True)
class KnownLog:
    """A log the witness cosigns: whose it is and the verifier keys it trusts for it."""

    enterprise_id: str
    verifier_keys: tuple[str, ...]


# origin -> the log, or None for an origin the witness does not witness (404). A
# federated node answers from its signed directory; one process from its own tables.
LogResolver = Callable[[Session, str], KnownLog | None]


def registered_logs(session: Session, origin: str) -> KnownLog | None:
    """The logs of this store's enterprises, by their registered checkpoint keys."""
    found = ledger_read.log_of_origin(session, origin)
    return None if found is None else KnownLog(found[0], (found[1],))


class WitnessRefusal(Exception):
    """An add-checkpoint the witness answers with an error status."""

    def __init__(self, status: int, message: str, *, size: int | None = None,
                 finding_id: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.size = size
        self.finding_id = finding_id

    def response(self) -> Response:
        if self.size is not None:
            return Response(f"{self.size}\n", status_code=self.status, media_type=SIZE_TYPE)
        return Response(f"{self}\n", status_code=self.status,
                        media_type="text/plain; charset=utf-8")


@dataclass(frozen=True)
class AddCheckpoint:
    old_size: int
    proof: tuple[bytes, ...]
    note: str


def parse_request(body: bytes) -> AddCheckpoint:
    """Split an add-checkpoint body; WitnessRefusal(400) if it is malformed."""
    if len(body) > MAX_BODY:
        raise WitnessRefusal(400, "request body too large")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WitnessRefusal(400, "request body is not UTF-8") from None
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise WitnessRefusal(400, "no empty line before the checkpoint")
    lines = head.split("\n")
    match = _OLD.fullmatch(lines[0])
    if match is None:
        raise WitnessRefusal(400, "the first line must be 'old <size>'")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise WitnessRefusal(400, f"more than {MAX_PROOF_LINES} consistency proof lines")
    proof = []
    for line in lines[1:]:
        try:
            h = base64.b64decode(line.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            h = b""
        if len(h) != 32:
            raise WitnessRefusal(400, "a consistency proof line is not a base64 hash")
        proof.append(h)
    return AddCheckpoint(int(match.group(1)), tuple(proof), note)


def _finding(session: Session, log: KnownLog, *, reason: str, evidence: dict[str, Any],
             accepted_size: int, presented_size: int | None, clock: Clock) -> int:
    # A log that keeps presenting the same bad checkpoint (a federated enterprise asks
    # every checkpoint period) is one piece of evidence, not one per request.
    presented = evidence.get("presented_note")
    if presented is not None:
        for earlier in session.scalars(select(SupervisionFinding).where(
                SupervisionFinding.enterprise_id == log.enterprise_id,
                SupervisionFinding.kind == LEDGER_TAMPER,
                SupervisionFinding.summary == reason[:500])):
            if earlier.evidence.get("presented_note") == presented:
                return earlier.id
    now = clock.now()
    finding = SupervisionFinding(enterprise_id=log.enterprise_id, kind=LEDGER_TAMPER,
                                 status="open", summary=reason[:500], detected_at=now,
                                 evidence=evidence)
    session.add(finding)
    session.flush()
    emit(session, LedgerTamperDetected(enterprise_id=log.enterprise_id,
                                       finding_id=finding.id, accepted_size=accepted_size,
                                       presented_size=presented_size, reason=reason,
                                       detected_at=now))
    return finding.id


def record_tamper(session: Session, enterprise_id: str, *, reason: str,
                  evidence: dict[str, Any], accepted_size: int,
                  presented_size: int | None, clock: Clock) -> int:
    """A ``ledger_tamper`` finding with its event (the mirror records its refusals so)."""
    return _finding(session, KnownLog(enterprise_id, ()), reason=reason, evidence=evidence,
                    accepted_size=accepted_size, presented_size=presented_size, clock=clock)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def add_checkpoint(session: Session, cosigner: Cosigner, body: bytes, *,
                   logs: LogResolver = registered_logs, clock: Clock) -> str:
    """Check one add-checkpoint request and return the cosignature line(s).

    Raises WitnessRefusal with the status the spec gives. The caller commits in every
    case but a 400-404 (nothing was written then): a refusal with a finding carries
    evidence that must be kept.
    """
    req = parse_request(body)
    try:
        text = req.note[:req.note.rindex("\n\n") + 1]
        cp = parse_checkpoint(text)
    except (ValueError, CheckpointError):
        raise WitnessRefusal(400, "the checkpoint is malformed") from None
    log = logs(session, cp.origin)
    if log is None:
        raise WitnessRefusal(404, f"unknown log origin {cp.origin}")
    try:
        verifiers = [NoteVerifier.from_key(k) for k in log.verifier_keys]
        open_note(req.note, verifiers)
    except CheckpointError:
        raise WitnessRefusal(403, "no valid signature by a key trusted for this log") from None
    if req.old_size > cp.size:
        raise WitnessRefusal(400, "old size is larger than the checkpoint size")

    state = session.scalars(select(TlogWitnessLog)
                            .where(TlogWitnessLog.witness == cosigner.name,
                                   TlogWitnessLog.origin == cp.origin)
                            .with_for_update()).first()
    held = 0 if state is None else state.size
    if req.old_size != held:
        raise WitnessRefusal(409, "old size does not match the witnessed size", size=held)
    held_root = EMPTY_ROOT if state is None else bytes(state.root)
    evidence = {
        "observed_by": f"witness {cosigner.name}",
        "witnessed_checkpoint": None if state is None else
        {"size": state.size, "root": _b64(held_root), "note": state.note},
        "presented_note": req.note,
        "proof": {"type": "consistency", "old_size": req.old_size, "new_size": cp.size,
                  "hashes": [_b64(h) for h in req.proof], "verified": False},
    }
    if state is not None and cp.size == held and cp.root != held_root:
        reason = f"fork: the log signed another root for size {held}"
        fid = _finding(session, log, reason=reason, evidence=evidence, accepted_size=held,
                       presented_size=cp.size, clock=clock)
        raise WitnessRefusal(409, reason, size=held, finding_id=fid)
    if not verify_consistency(req.old_size, cp.size, held_root, cp.root, list(req.proof)):
        reason = (f"the checkpoint at size {cp.size} is not shown to extend the "
                  f"witnessed size {held}: consistency proof does not verify")
        fid = _finding(session, log, reason=reason, evidence=evidence, accepted_size=held,
                       presented_size=cp.size, clock=clock)
        raise WitnessRefusal(422, reason, finding_id=fid)

    now = clock.now()
    if state is None:
        # No row to lock yet: two first requests race to insert it, and the loser must
        # not cosign (the winner may have moved past its size).
        try:
            with session.begin_nested():
                session.add(TlogWitnessLog(witness=cosigner.name, origin=cp.origin,
                                           size=cp.size, root=cp.root, note=req.note,
                                           updated_at=now))
        except IntegrityError:
            winner = session.get(TlogWitnessLog, (cosigner.name, cp.origin),
                                 populate_existing=True)
            raise WitnessRefusal(409, "old size does not match the witnessed size",
                                 size=None if winner is None else winner.size) from None
    else:
        state.size, state.root, state.note, state.updated_at = cp.size, cp.root, req.note, now
    session.flush()
    return cosigner.cosign(text, int(now.timestamp()))


CosignerSource = Cosigner | Callable[[Request], Cosigner]


def witness_router(cosigner: CosignerSource, logs: LogResolver = registered_logs,
                   prefix: str = "/witness") -> APIRouter:
    """``POST <prefix>/add-checkpoint`` for a node that witnesses logs.

    ``cosigner`` is the witness key (or a function of the request that gives it, for an
    app that loads it lazily); ``logs`` says which origins it witnesses and their keys.
    No client authentication: the spec relies on the log's signature alone.
    """
    router = APIRouter(prefix=prefix, tags=["witness"])

    @router.post("/add-checkpoint", response_class=Response,
                 responses={200: {"content": {"text/plain": {}}}})
    async def post_add_checkpoint(request: Request, session: SessionDep,
                                  clock: ClockDep) -> Response:
        """Cosign a checkpoint that extends the last one this witness cosigned."""
        body = await request.body()
        signer = cosigner if isinstance(cosigner, Cosigner) else cosigner(request)
        try:
            lines = await run_in_threadpool(add_checkpoint, session, signer, body,
                                            logs=logs, clock=clock)
        except WitnessRefusal as refusal:
            # Commit the finding (if any): it is the evidence. Nothing else was written.
            return refusal.response()
        return Response(lines, media_type="text/plain; charset=utf-8")

    return router
