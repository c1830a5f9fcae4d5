"""The log's side of C2SP tlog-witness: ask witnesses to cosign the newest checkpoint.

For each witness the enterprise signs its log as it stands (ledger/tlog.py
``publish_checkpoint``), sends ``old <size>``, the consistency proof from that size and
the checkpoint to ``<witness>/add-checkpoint``, checks the cosignature that comes back
with the witness's public key (tlog-cosignature rules: key ID, ``cosignature/v1``
message) and stores it, so ``<prefix>/checkpoint`` serves the checkpoint with every
cosignature collected. The old size is the largest one this witness cosigned for us;
when the witness holds another (409, ``text/x.tlog.size``), the request is made once
more from the size it names.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx2
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parcelguard.core.clock import Clock
from parcelguard.ledger.cosign import CosignerVerifier
from parcelguard.ledger.merkle import consistency_proof
from parcelguard.ledger.models import LedgerCheckpoint, LedgerCosignature
from parcelguard.ledger.signing import KeyWrapper
from parcelguard.ledger.store import SqlTileStore
from parcelguard.ledger.tlog import add_cosignatures, publish_checkpoint


@dataclass(frozen=True)
class WitnessEndpoint:
    """A witness: its submission prefix URL and its cosigner verifier key."""

    url: str
    verifier_key: str


@dataclass(frozen=True)
class CosignOutcome:
    witness: str
    size: int
    # cosigned | refused | unavailable
    status: str
    http_status: int | None = None
    detail: str | None = None


def _witnessed_size(session: Session, enterprise_id: str, witness: str) -> int:
    size = session.scalar(select(func.max(LedgerCheckpoint.size))
                          .join(LedgerCosignature,
                                LedgerCosignature.checkpoint_id == LedgerCheckpoint.id)
                          .where(LedgerCheckpoint.enterprise_id == enterprise_id,
                                 LedgerCosignature.witness == witness))
    return int(size or 0)


def _body(session: Session, enterprise_id: str, old: int, new: int, note: str) -> bytes:
    proof = consistency_proof(SqlTileStore(session.connection(), enterprise_id), old, new)
    lines = [f"old {old}"] + [base64.b64encode(h).decode("ascii") for h in proof]
    return ("\n".join(lines) + "\n\n" + note).encode("utf-8")


def request_cosignatures(session: Session, enterprise_id: str,
                         witnesses: Sequence[WitnessEndpoint], *, kms: KeyWrapper,
                         clock: Clock, client: httpx2.Client,
                         before_post: Callable[[], None] | None = None
                         ) -> list[CosignOutcome]:
    """Sign the log now and collect each witness's cosignature on it (flushed, not
    committed: the caller commits). A witness that refuses or is down is reported,
    never fatal: the others still cosign. ``before_post`` runs before each request to
    a witness: a node passes its unit of work's commit, so no transaction (on SQLite,
    the writer lock) is held while a witness answers or times out."""
    checkpoint_id, signed = publish_checkpoint(session, enterprise_id, kms=kms, clock=clock)
    body_text = signed.note[:signed.note.rindex("\n\n") + 1]
    outcomes = []
    for witness in witnesses:
        verifier = CosignerVerifier.from_key(witness.verifier_key)
        old = _witnessed_size(session, enterprise_id, verifier.name)
        url = f"{witness.url.rstrip('/')}/add-checkpoint"
        outcome = None
        for _attempt in range(2):
            if old > signed.size:
                outcome = CosignOutcome(verifier.name, signed.size, "refused", 409,
                                        f"the witness holds size {old}, larger than ours")
                break
            body = _body(session, enterprise_id, old, signed.size, signed.note)
            if before_post is not None:
                before_post()
            try:
                resp = client.post(url, content=body)
            except httpx2.HTTPError as exc:
                outcome = CosignOutcome(verifier.name, signed.size, "unavailable", None,
                                        type(exc).__name__)
                break
            if resp.status_code == 409 and \
                    resp.headers.get("content-type", "").startswith("text/x.tlog.size") \
                    and resp.text.strip().isdigit() and int(resp.text) != old:
                old = int(resp.text)
                continue
            if resp.status_code != 200:
                outcome = CosignOutcome(verifier.name, signed.size, "refused",
                                        resp.status_code, resp.text[:200])
                break
            lines = [ln + "\n" for ln in resp.text.split("\n") if ln]
            good = [ln for ln in lines if verifier.verify_line(body_text, ln) is not None]
            if not good:
                outcome = CosignOutcome(verifier.name, signed.size, "refused", 200,
                                        "no valid cosignature by this witness's key")
                break
            add_cosignatures(session, checkpoint_id, good[:1])
            outcome = CosignOutcome(verifier.name, signed.size, "cosigned", 200)
            break
        assert outcome is not None
        outcomes.append(outcome)
    return outcomes
