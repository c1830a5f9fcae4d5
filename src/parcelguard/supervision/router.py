"""Checkpoint API: enterprises push signed checkpoints; the supervisor reads status."""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from parcelguard.core.errors import NotFound
from parcelguard.core.http import API, ClockDep, SessionDep
from parcelguard.identity.http import PrincipalDep
from parcelguard.supervision.models import WitnessedCheckpoint
from parcelguard.supervision.witness import findings, witness_note

# A checkpoint note is a few hundred bytes; cosignatures add ~100 each (at most 100).
MAX_NOTE_CHARS = 16_384

router = APIRouter(prefix=API, tags=["checkpoints"])


class CheckpointIn(BaseModel):
    note: str = Field(max_length=MAX_NOTE_CHARS,
                      description="The signed checkpoint note (C2SP signed-note text).")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@router.post("/checkpoints")
def push_checkpoint(body: CheckpointIn, principal: PrincipalDep, session: SessionDep,
                    clock: ClockDep) -> JSONResponse:
    """Push the caller's signed checkpoint to the supervision witness.

    The signature is checked against the enterprise's registered (then pinned)
    verifier key and the checkpoint must extend the last one accepted, shown by a
    consistency proof the witness verifies itself. 200 with ``status`` first,
    accepted, unchanged or stale; 409 with the finding id when the log's history was
    rewritten or rolled back; 422 when the note is not a valid checkpoint.
    """
    principal.require("events:write")
    outcome = witness_note(session, principal.org_id, body.note, clock=clock)
    # A tamper finding must be committed, so it is an answer, not an exception.
    return JSONResponse(outcome.as_dict(), status_code=200 if outcome.ok else 409)


@router.get("/checkpoints/{enterprise_id}")
def checkpoint_status(enterprise_id: str, principal: PrincipalDep,
                      session: SessionDep) -> dict[str, Any]:
    """The last checkpoint the witness accepted for an enterprise and its findings
    (supervision; an enterprise may read its own)."""
    principal.require("events:read")
    if not principal.may_read_org(enterprise_id, "events:read_all"):
        raise NotFound(f"no checkpoints for {enterprise_id}")
    accepted = session.get(WitnessedCheckpoint, enterprise_id)
    found = findings(session, enterprise_id)
    if accepted is None and not found:
        raise NotFound(f"no checkpoints for {enterprise_id}")
    return {
        "enterprise_id": enterprise_id,
        "accepted": None if accepted is None else {
            "size": accepted.size, "root": _b64(bytes(accepted.root)),
            "note": accepted.note, "verifier_key": accepted.verifier_key,
            "accepted_at": accepted.accepted_at.isoformat()},
        "findings": [{"id": f.id, "kind": f.kind, "status": f.status,
                      "summary": f.summary, "detected_at": f.detected_at.isoformat(),
                      "evidence": f.evidence} for f in found],
    }
