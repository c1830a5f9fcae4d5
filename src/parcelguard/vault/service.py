"""Vault use cases over the database: keysets, subject keys, sealing and opening
PI fields in bulk, blind indexes, erasure (crypto-shredding).

The crypto lives in ``facade.Vault`` and friends; this module only loads and stores
their records, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from parcelguard.core.bulk import bulk_insert
from parcelguard.vault.blind_index import (
    BlindIndexKey,
    phone_full_index,
    phone_last4_index,
)
from parcelguard.vault.facade import Vault
from parcelguard.vault.keys import BlindIndexKeyRecord, KekRecord, KeysetRecord, KeyStatus
from parcelguard.vault.keys import SubjectKeyRecord as SubjectKey
from parcelguard.vault.models import VaultBlindIndexKey, VaultErasure, VaultKek, VaultSubjectKey

# (subject_id, record_id, field, value)
SealItem = tuple[str, str, str, str]
OpenItem = tuple[str, str, str, bytes | None]
_CHUNK = 5_000


class VaultService:
    """The vault bound to the database. One instance per process (it caches
    unwrapped keys); methods take the session of the caller's transaction."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self._keysets: dict[str, KeysetRecord] = {}

    # -- keysets --------------------------------------------------------------

    def keyset(self, session: Session, enterprise_id: str, *, create: bool = True) -> KeysetRecord:
        """The enterprise's keyset, created on first use."""
        rows = list(session.scalars(
            select(VaultKek).where(VaultKek.enterprise_id == enterprise_id)))
        if not rows:
            if not create:
                raise LookupError(f"enterprise {enterprise_id} has no keyset")
            ks = self.vault.new_keyset(enterprise_id)
            self.store_keyset(session, ks, new=True)
            return ks
        bi = session.scalars(select(VaultBlindIndexKey).where(
            VaultBlindIndexKey.enterprise_id == enterprise_id)
            .order_by(VaultBlindIndexKey.version.desc())).first()
        assert bi is not None, "keyset rows without a blind-index key"
        return KeysetRecord(
            enterprise_id=enterprise_id,
            keks=tuple(KekRecord(enterprise_id=r.enterprise_id, version=r.version,
                                 status=KeyStatus(r.status), kms_key_id=r.kms_key_id,
                                 wrapped_key=r.wrapped_key) for r in rows),
            blind_index_key=BlindIndexKeyRecord(enterprise_id=bi.enterprise_id,
                                                version=bi.version, kms_key_id=bi.kms_key_id,
                                                wrapped_key=bi.wrapped_key))

    def store_keyset(self, session: Session, ks: KeysetRecord, *, new: bool = False) -> None:
        """Write a keyset's rows (new versions inserted, statuses and retirements
        updated)."""
        now = _now()
        existing = {r.version: r for r in session.scalars(
            select(VaultKek).where(VaultKek.enterprise_id == ks.enterprise_id))}
        # Demote before promoting, so the one-primary index never sees two.
        for rec in sorted(ks.keks, key=lambda k: k.status is KeyStatus.PRIMARY):
            row = existing.get(rec.version)
            if row is None:
                session.add(VaultKek(enterprise_id=rec.enterprise_id, version=rec.version,
                                     status=rec.status.value, kms_key_id=rec.kms_key_id,
                                     wrapped_key=rec.wrapped_key, created_at=now))
            else:
                row.status, row.wrapped_key = rec.status.value, rec.wrapped_key
            session.flush()
        if new:
            b = ks.blind_index_key
            session.add(VaultBlindIndexKey(enterprise_id=b.enterprise_id, version=b.version,
                                           kms_key_id=b.kms_key_id, wrapped_key=b.wrapped_key))
            session.flush()

    def blind_index_key(self, session: Session, enterprise_id: str) -> BlindIndexKey:
        return self.vault.blind_index_key(self.keyset(session, enterprise_id))

    # -- subject keys ---------------------------------------------------------

    def subject_keys(self, session: Session, keyset: KeysetRecord, subject_ids: Iterable[str],
                     *, create: bool) -> dict[str, SubjectKey]:
        """The newest data key of each subject; with ``create`` the missing ones are
        generated and stored in bulk. Erased subjects are never given a new key."""
        wanted = list(dict.fromkeys(subject_ids))
        ent = keyset.enterprise_id
        found: dict[str, SubjectKey] = {}
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i:i + _CHUNK]
            for r in session.scalars(select(VaultSubjectKey).where(
                    VaultSubjectKey.enterprise_id == ent,
                    VaultSubjectKey.subject_id.in_(chunk))):
                prev = found.get(r.subject_id)
                if prev is None or r.dek_version > prev.dek_version:
                    found[r.subject_id] = SubjectKey(
                        enterprise_id=ent, subject_id=r.subject_id, dek_version=r.dek_version,
                        kek_version=r.kek_version, wrapped_dek=r.wrapped_dek)
        if create:
            missing = [s for s in wanted if s not in found]
            erased = self.erased(session, ent, missing)
            if erased:
                raise PermissionError(f"{len(erased)} subject(s) were erased; their PI cannot "
                                      "be collected again under the same id")
            new = [self.vault.new_subject_key(keyset, s) for s in missing]
            bulk_insert(session.connection(), VaultSubjectKey.__tablename__,
                        ("enterprise_id", "subject_id", "dek_version", "kek_version",
                         "wrapped_dek"),
                        [(k.enterprise_id, k.subject_id, k.dek_version, k.kek_version,
                          k.wrapped_dek) for k in new])
            found.update((k.subject_id, k) for k in new)
        return found

    def erased(self, session: Session, enterprise_id: str, subject_ids: Sequence[str]) -> set[str]:
        out: set[str] = set()
        for i in range(0, len(subject_ids), _CHUNK):
            out.update(session.scalars(select(VaultErasure.subject_id).where(
                VaultErasure.enterprise_id == enterprise_id,
                VaultErasure.subject_id.in_(subject_ids[i:i + _CHUNK]))))
        return out

    # -- fields ---------------------------------------------------------------

    def seal(self, session: Session, enterprise_id: str, items: Sequence[SealItem]) -> list[bytes]:
        """Encrypt PI fields at collection, each under its subject's key and bound to
        (enterprise, record, field)."""
        ks = self.keyset(session, enterprise_id)
        keys = self.subject_keys(session, ks, (s for s, _, _, _ in items), create=True)
        return self.vault.encrypt_many(ks, [(keys[s], rec, f, v) for s, rec, f, v in items])

    def open(self, session: Session, enterprise_id: str,
             items: Sequence[OpenItem]) -> list[str | None]:
        """Decrypt PI fields; None where the subject was erased or the field is empty.
        Callers are the access gate and the data subject's own export, nothing else."""
        ks = self.keyset(session, enterprise_id, create=False)
        keys = self.subject_keys(session, ks, (s for s, _, _, _ in items), create=False)
        known = {k.version for k in ks.keks}
        if any(k.kek_version not in known for k in keys.values()):
            # A rotation started between the two reads and moved some keys to its new
            # KEK version (on PostgreSQL each statement sees the latest commits): the
            # keyset read again has that version.
            ks = self.keyset(session, enterprise_id, create=False)
        live = [(i, (keys[s], rec, f, ct)) for i, (s, rec, f, ct) in enumerate(items)
                if ct is not None and s in keys]
        out: list[str | None] = [None] * len(items)
        for (i, _), value in zip(live, self.vault.decrypt_many(ks, [it for _, it in live]),
                                 strict=True):
            out[i] = value
        return out

    def phone_indexes(self, session: Session, enterprise_id: str,
                      phone: str) -> tuple[bytes, bytes]:
        """(full-number index, last-four index) for a phone number."""
        key = self.blind_index_key(session, enterprise_id)
        return phone_full_index(key, phone), phone_last4_index(key, phone)

    # -- erasure --------------------------------------------------------------

    def erase_subject(self, session: Session, enterprise_id: str, subject_id: str, *,
                      reason: str, at: datetime) -> int:
        """Crypto-shred: destroy every data key of the subject. Their ciphertexts stay
        where they are and can never be decrypted again; a tombstone records it."""
        result: CursorResult[Any] = session.execute(delete(VaultSubjectKey).where(  # type: ignore[assignment]
            VaultSubjectKey.enterprise_id == enterprise_id,
            VaultSubjectKey.subject_id == subject_id))
        n = result.rowcount
        if session.get(VaultErasure, (enterprise_id, subject_id)) is None:
            session.add(VaultErasure(enterprise_id=enterprise_id, subject_id=subject_id,
                                     erased_at=at, reason=reason))
        self.vault.forget_subject(enterprise_id, subject_id)
        session.flush()
        return int(n or 0)


def _now() -> datetime:
    # Key rows record wall-clock creation: key management is an operational fact,
    # not part of a simulated or replayed event timeline.
    return datetime.now(UTC)
