"""Enterprise checkpoint keys and signed checkpoints over the stored log.

Each enterprise signs its log with its own Ed25519 key (C2SP signed note, see
checkpoint.py). The key is created on first use; its private half is stored only
wrapped by the KMS master key under a context naming the enterprise, so a wrapped
key copied to another enterprise's row does not unwrap. The KMS implementation is
chosen in vault/provider.py; this module only needs its wrap/unwrap seam.

The log origin, which is also the key name, is ``<ORIGIN_PREFIX>/<enterprise_id>``:
unique per enterprise, a schema-less URL as C2SP tlog-checkpoint recommends, and
free of spaces and '+' because enterprise ids are (identity.ORG_ID_RE).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.core.clock import Clock
from parcelguard.core.errors import DomainError, NotFound
from parcelguard.ledger.checkpoint import (
    NoteSigner,
    NoteVerifier,
    generate_key,
    sign_checkpoint,
)
from parcelguard.ledger.merkle import root
from parcelguard.ledger.models import LedgerCheckpoint, LedgerHead, LedgerSigningKey
from parcelguard.ledger.store import SqlTileStore

# Not a real domain on purpose (RFC 2606): a deployment that publishes its
# checkpoints beyond the regulator should own the name it signs under. Changing it
# affects only keys created afterwards; each key keeps the origin it was made with.
ORIGIN_PREFIX = "parcelguard.example"

_WRAP_CONTEXT = b"parcelguard/ledger-checkpoint-key/v1\x00"


class KeyWrapper(Protocol):
    """The KMS seam (vault.kms.Kms satisfies it): wraps key bytes under a context."""

    @property
    def key_id(self) -> str: ...

    def wrap(self, plaintext_key: bytes, context: bytes) -> bytes: ...

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes: ...


class SigningKeyError(DomainError):
    """An enterprise's checkpoint key cannot be used (wrong master key, bad data)."""

    status_code = 500
    code = "signing_key_error"


def origin_for(enterprise_id: str, prefix: str = ORIGIN_PREFIX) -> str:
    """The log origin (and checkpoint key name) of an enterprise's log."""
    return f"{prefix}/{enterprise_id}"


def _context(enterprise_id: str) -> bytes:
    return _WRAP_CONTEXT + enterprise_id.encode("utf-8")


def log_size(session: Session, enterprise_id: str) -> int:
    """The size of an enterprise's log (the head row); NotFound if it has none."""
    size = session.scalar(select(LedgerHead.size).where(LedgerHead.enterprise_id
                                                        == enterprise_id))
    if size is None:
        raise NotFound(f"enterprise {enterprise_id} has no event log")
    return int(size)


def ensure_signing_key(session: Session, enterprise_id: str, *, kms: KeyWrapper,
                       clock: Clock) -> LedgerSigningKey:
    """The enterprise's checkpoint key row, created (and flushed) on first use."""
    row = session.get(LedgerSigningKey, enterprise_id)
    if row is not None:
        return row
    origin = origin_for(enterprise_id)
    signer_key, verifier_key = generate_key(origin)
    row = LedgerSigningKey(
        enterprise_id=enterprise_id, origin=origin, verifier_key=verifier_key,
        kms_key_id=kms.key_id,
        wrapped_signer_key=kms.wrap(signer_key.encode("ascii"), _context(enterprise_id)),
        created_at=clock.now())
    session.add(row)
    session.flush()
    return row


def registered_verifier(session: Session, enterprise_id: str) -> LedgerSigningKey | None:
    """The enterprise's key row, if it has one (the witness reads the public half)."""
    return session.get(LedgerSigningKey, enterprise_id)


def _signer(row: LedgerSigningKey, kms: KeyWrapper) -> NoteSigner:
    if row.kms_key_id != kms.key_id:
        raise SigningKeyError(
            f"the checkpoint key of {row.enterprise_id} was wrapped by master key "
            f"{row.kms_key_id}, but {kms.key_id} is configured")
    signer = NoteSigner.from_key(
        kms.unwrap(row.wrapped_signer_key, _context(row.enterprise_id)).decode("ascii"))
    if signer.verifier().key_string() != row.verifier_key:
        raise SigningKeyError(f"the checkpoint key of {row.enterprise_id} does not match "
                              "its registered verifier key")
    return signer


@dataclass(frozen=True)
class SignedCheckpoint:
    enterprise_id: str
    origin: str
    size: int
    root: bytes
    note: str


def checkpoint(session: Session, enterprise_id: str, *, kms: KeyWrapper,
               clock: Clock) -> SignedCheckpoint:
    """Sign the log as stored now: its head size and the root its tiles give.

    The note is recorded in ``ledger_checkpoints`` unless it repeats the last one
    (Ed25519 is deterministic: same size and root, same note).
    """
    size = log_size(session, enterprise_id)
    key = ensure_signing_key(session, enterprise_id, kms=kms, clock=clock)
    tree_root = root(SqlTileStore(session.connection(), enterprise_id), size)
    note = sign_checkpoint(_signer(key, kms), key.origin, size, tree_root)
    last = latest_checkpoint(session, enterprise_id)
    if last is None or (last.size, last.root) != (size, tree_root):
        session.add(LedgerCheckpoint(enterprise_id=enterprise_id, size=size, root=tree_root,
                                     note=note, created_at=clock.now()))
        session.flush()
    return SignedCheckpoint(enterprise_id, key.origin, size, tree_root, note)


def latest_checkpoint(session: Session, enterprise_id: str) -> LedgerCheckpoint | None:
    return session.scalars(select(LedgerCheckpoint)
                           .where(LedgerCheckpoint.enterprise_id == enterprise_id)
                           .order_by(LedgerCheckpoint.id.desc()).limit(1)).first()


def verifier_key(session: Session, enterprise_id: str, *, kms: KeyWrapper,
                 clock: Clock) -> str:
    """The note verifier key ``<origin>+<hash>+<base64 key>`` (created on first use)."""
    log_size(session, enterprise_id)  # refuse ids that have no log
    row = ensure_signing_key(session, enterprise_id, kms=kms, clock=clock)
    NoteVerifier.from_key(row.verifier_key)  # never hand out a malformed stored key
    return row.verifier_key


def sign_snapshot(session: Session, enterprise_id: str, *,
                  kms: KeyWrapper) -> SignedCheckpoint | None:
    """A checkpoint of the log as this (possibly read-only) session sees it, signed
    but not recorded: backups sign the snapshot they copy. None when the enterprise
    has no checkpoint key yet (nothing signed, nothing to vouch for)."""
    key = registered_verifier(session, enterprise_id)
    if key is None:
        return None
    size = log_size(session, enterprise_id)
    tree_root = root(SqlTileStore(session.connection(), enterprise_id), size)
    note = sign_checkpoint(_signer(key, kms), key.origin, size, tree_root)
    return SignedCheckpoint(enterprise_id, key.origin, size, tree_root, note)
