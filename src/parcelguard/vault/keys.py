"""Enterprise keysets and per-subject data keys: the key hierarchy, as rows.

    KMS master key
      └─ wraps each enterprise's KEK v1, v2, ... (context: enterprise + version)
      │    └─ the primary KEK wraps each data subject's DEK (context: enterprise,
      │       subject, DEK version, KEK version)
      │          └─ the DEK encrypts that subject's field values (cipher.py)
      └─ wraps each enterprise's blind-index key (context: enterprise + version)

Everything persistent is a frozen dataclass holding wrapped bytes, versions and
statuses, one per table row; the functions here take what they need and return new
records for the caller to write. Nothing touches a database.

KEK statuses: PRIMARY wraps new DEKs (exactly one per enterprise); ACTIVE only unwraps
(an old version whose DEKs are still being re-wrapped); RETIRED means the key material
was destroyed (`wrapped_key` is empty) - it unwraps nothing, ever again. Versions are
never reused. Because retiring destroys the key, `retire_kek` refuses while any DEK is
still wrapped under that version; a DEK row that nonetheless names a retired version
(say, restored from an old backup) fails with `KeyRetiredError`, not a generic error.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from parcelguard.vault.blind_index import BlindIndexKey
from parcelguard.vault.cipher import (
    _LEN4,
    _SEAL_AD_TAG,
    _SEAL_FORMAT,
    KEY_BYTES,
    NONCE_BYTES,
    TAG_BYTES,
    DataKey,
    frame,
    seal,
    u32,
    unseal,
)
from parcelguard.vault.errors import (
    DecryptionError,
    KeyNotFoundError,
    KeyRetiredError,
    KeysetInvariantError,
    KeyStillInUseError,
    KmsMismatchError,
)
from parcelguard.vault.kms import Kms

_KEK_CONTEXT = b"parcelguard/kek/"
_BLIND_INDEX_CONTEXT = b"parcelguard/blind-index-key/"
_DEK_CONTEXT = b"parcelguard/dek/v1\x00"
_SEALED_BODY = 1 + NONCE_BYTES  # where a sealed key's ciphertext starts (`cipher.seal`)


class KeyStatus(StrEnum):
    PRIMARY = "primary"
    ACTIVE = "active"
    RETIRED = "retired"


@dataclass(frozen=True, slots=True)
class KekRecord:
    """One enterprise key-encryption key version; a row keyed by (enterprise_id, version)."""

    enterprise_id: str
    version: int
    status: KeyStatus
    kms_key_id: str  # the KMS master key that wrapped it (`Kms.key_id`)
    wrapped_key: bytes = field(repr=False)  # KMS-wrapped; b"" once retired


@dataclass(frozen=True, slots=True)
class BlindIndexKeyRecord:
    """An enterprise's blind-index (HMAC) key; a row keyed by (enterprise_id, version)."""

    enterprise_id: str
    version: int
    kms_key_id: str
    wrapped_key: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class KeysetRecord:
    """All of an enterprise's keys: its KEK versions and its blind-index key.

    Built from rows, it checks the invariants the rows must keep (one primary, no
    repeated version, one enterprise) so a bad database state fails loudly at load.
    """

    enterprise_id: str
    keks: tuple[KekRecord, ...]
    blind_index_key: BlindIndexKeyRecord

    def __post_init__(self) -> None:
        versions = [k.version for k in self.keks]
        if len(set(versions)) != len(versions):
            raise KeysetInvariantError(f"keyset {self.enterprise_id!r} repeats a KEK version")
        primaries = [k for k in self.keks if k.status is KeyStatus.PRIMARY]
        if len(primaries) != 1:
            raise KeysetInvariantError(
                f"keyset {self.enterprise_id!r} has {len(primaries)} primary KEKs, expected 1"
            )
        owners = {k.enterprise_id for k in self.keks} | {self.blind_index_key.enterprise_id}
        if owners != {self.enterprise_id}:
            raise KeysetInvariantError(
                f"keyset {self.enterprise_id!r} holds keys of another enterprise"
            )
        object.__setattr__(self, "keks", tuple(sorted(self.keks, key=lambda k: k.version)))

    @property
    def primary(self) -> KekRecord:
        return next(k for k in self.keks if k.status is KeyStatus.PRIMARY)

    def kek(self, version: int) -> KekRecord:
        for k in self.keks:
            if k.version == version:
                return k
        raise KeyNotFoundError(f"enterprise {self.enterprise_id!r} has no KEK version {version}")

    @property
    def stale_versions(self) -> tuple[int, ...]:
        """KEK versions that still unwrap but no longer wrap: DEKs under these need a
        re-wrap (`WHERE kek_version IN (...)`) before the version can be retired."""
        return tuple(k.version for k in self.keks if k.status is KeyStatus.ACTIVE)


@dataclass(frozen=True, slots=True)
class SubjectKeyRecord:
    """One data subject's wrapped DEK; a row keyed by (enterprise_id, subject_id,
    dek_version). Deleting the row (and every copy of it) is the crypto-shred."""

    enterprise_id: str
    subject_id: str  # pseudonymous subject id
    dek_version: int  # written into each field ciphertext's header
    kek_version: int  # the KEK version that wrapped it
    wrapped_dek: bytes = field(repr=False)


class KeyEncryptionKey:
    """An unwrapped KEK version; lives only in memory."""

    __slots__ = ("_aead", "enterprise_id", "version")

    def __init__(self, enterprise_id: str, version: int, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"a key-encryption key is {KEY_BYTES} bytes")
        self._aead = AESGCM(key)
        self.enterprise_id = enterprise_id
        self.version = version

    def __repr__(self) -> str:
        return f"KeyEncryptionKey(enterprise_id={self.enterprise_id!r}, version={self.version})"


# -- contexts: length-prefixed, so enterprise "e1" version 12 != "e11" version 2 -------


def kek_context(enterprise_id: str, version: int) -> bytes:
    """The KMS context a KEK version is wrapped under."""
    return _KEK_CONTEXT + frame(enterprise_id.encode()) + u32(version)


def blind_index_key_context(enterprise_id: str, version: int) -> bytes:
    """The KMS context a blind-index key is wrapped under."""
    return _BLIND_INDEX_CONTEXT + frame(enterprise_id.encode()) + u32(version)


def _dek_context(enterprise_id: str, subject_id: str, dek_version: int, kek_version: int) -> bytes:
    return (
        _DEK_CONTEXT
        + frame(enterprise_id.encode(), subject_id.encode())
        + u32(dek_version)
        + u32(kek_version)
    )


# -- keysets --------------------------------------------------------------------------


def _new_kek(kms: Kms, enterprise_id: str, version: int) -> KekRecord:
    wrapped = kms.wrap(os.urandom(KEY_BYTES), kek_context(enterprise_id, version))
    return KekRecord(enterprise_id, version, KeyStatus.PRIMARY, kms.key_id, wrapped)


def create_keyset(kms: Kms, enterprise_id: str) -> KeysetRecord:
    """A new enterprise's keyset: KEK v1 (primary) and blind-index key v1."""
    if not enterprise_id:
        raise ValueError("enterprise_id must not be empty")
    blind = BlindIndexKeyRecord(
        enterprise_id,
        1,
        kms.key_id,
        kms.wrap(os.urandom(KEY_BYTES), blind_index_key_context(enterprise_id, 1)),
    )
    return KeysetRecord(enterprise_id, (_new_kek(kms, enterprise_id, 1),), blind)


def rotate_keyset(kms: Kms, keyset: KeysetRecord) -> KeysetRecord:
    """Add a new primary KEK version; the old primary becomes ACTIVE (decrypt only).

    Persist every KEK row of the result (upsert on enterprise_id, version). A unique
    key on (enterprise_id, version) makes two concurrent rotations collide instead
    of both succeeding.
    """
    version = max(k.version for k in keyset.keks) + 1  # retired versions are not reused
    demoted = tuple(
        replace(k, status=KeyStatus.ACTIVE) if k.status is KeyStatus.PRIMARY else k
        for k in keyset.keks
    )
    new = _new_kek(kms, keyset.enterprise_id, version)
    return replace(keyset, keks=(*demoted, new))


def retire_kek(keyset: KeysetRecord, version: int, *, deks_remaining: int) -> KeysetRecord:
    """Retire a KEK version: destroy its wrapped key so it can never unwrap again.

    `deks_remaining` is the caller's count of subject keys still wrapped under
    `version` (`SELECT count(*) ... WHERE kek_version = :v`, in the same transaction
    as the update). Retiring is refused while it is non-zero, and for the primary.
    """
    kek = keyset.kek(version)
    if kek.status is KeyStatus.RETIRED:
        return keyset
    if kek.status is KeyStatus.PRIMARY:
        raise KeyStillInUseError(
            f"KEK version {version} of enterprise {keyset.enterprise_id!r} is the primary; "
            "rotate first"
        )
    if deks_remaining:
        raise KeyStillInUseError(
            f"KEK version {version} of enterprise {keyset.enterprise_id!r} still wraps "
            f"{deks_remaining} subject keys; re-wrap them before retiring it"
        )
    retired = replace(kek, status=KeyStatus.RETIRED, wrapped_key=b"")
    return replace(keyset, keks=tuple(retired if k is kek else k for k in keyset.keks))


def unwrap_kek(kms: Kms, record: KekRecord) -> KeyEncryptionKey:
    """Unwrap one KEK version with the KMS."""
    if record.status is KeyStatus.RETIRED:
        raise KeyRetiredError(
            f"KEK version {record.version} of enterprise {record.enterprise_id!r} is "
            "retired; keys wrapped under it are unrecoverable"
        )
    _check_kms(kms, record.kms_key_id, f"KEK version {record.version}", record.enterprise_id)
    key = kms.unwrap(record.wrapped_key, kek_context(record.enterprise_id, record.version))
    return KeyEncryptionKey(record.enterprise_id, record.version, key)


def unwrap_blind_index_key(kms: Kms, record: BlindIndexKeyRecord) -> BlindIndexKey:
    """Unwrap an enterprise's blind-index key with the KMS."""
    _check_kms(kms, record.kms_key_id, "blind-index key", record.enterprise_id)
    context = blind_index_key_context(record.enterprise_id, record.version)
    return BlindIndexKey(kms.unwrap(record.wrapped_key, context), record.version)


def rewrap_keyset(keyset: KeysetRecord, *, source: Kms, target: Kms) -> KeysetRecord:
    """Move a keyset to another KMS master key (e.g. local file -> cloud KMS).

    Only the KEK and blind-index rows change; subject keys and ciphertexts do not.
    """

    def move(wrapped: bytes, context: bytes) -> bytes:
        return target.wrap(source.unwrap(wrapped, context), context)

    keks = tuple(
        k
        if k.status is KeyStatus.RETIRED
        else replace(
            k,
            kms_key_id=target.key_id,
            wrapped_key=move(k.wrapped_key, kek_context(k.enterprise_id, k.version)),
        )
        for k in keyset.keks
    )
    b = keyset.blind_index_key
    blind = replace(
        b,
        kms_key_id=target.key_id,
        wrapped_key=move(b.wrapped_key, blind_index_key_context(b.enterprise_id, b.version)),
    )
    return replace(keyset, keks=keks, blind_index_key=blind)


def _check_kms(kms: Kms, wrapped_by: str, what: str, enterprise_id: str) -> None:
    if wrapped_by != kms.key_id:
        raise KmsMismatchError(
            f"{what} of enterprise {enterprise_id!r} was wrapped by KMS key {wrapped_by!r} "
            f"but this vault uses {kms.key_id!r}: wrong master key file or KMS settings?"
        )


# -- subject keys ---------------------------------------------------------------------


def _wrap_dek(kek: KeyEncryptionKey, subject_id: str, dek_version: int, key: bytes) -> bytes:
    context = _dek_context(kek.enterprise_id, subject_id, dek_version, kek.version)
    return seal(kek._aead, key, context)


def create_subject_key(
    primary: KeyEncryptionKey, subject_id: str, *, dek_version: int = 1
) -> tuple[SubjectKeyRecord, DataKey]:
    """A fresh DEK for a data subject, wrapped under `primary` (pass the keyset's
    primary KEK). Also used for DEK rotation, with the next `dek_version`."""
    if not subject_id:
        raise ValueError("subject_id must not be empty")
    key = os.urandom(KEY_BYTES)
    record = SubjectKeyRecord(
        primary.enterprise_id,
        subject_id,
        dek_version,
        primary.version,
        _wrap_dek(primary, subject_id, dek_version, key),
    )
    return record, DataKey(key, dek_version)


def unwrap_subject_key(kek: KeyEncryptionKey, record: SubjectKeyRecord) -> DataKey:
    """Unwrap a subject's DEK with the KEK version its record names."""
    return DataKey(_unwrap_dek_bytes(kek, record), record.dek_version)


def _unwrap_dek_bytes(kek: KeyEncryptionKey, record: SubjectKeyRecord) -> bytes:
    if (kek.enterprise_id, kek.version) != (record.enterprise_id, record.kek_version):
        raise ValueError(
            f"subject key of {record.subject_id!r} is wrapped under KEK version "
            f"{record.kek_version} of {record.enterprise_id!r}; got version {kek.version} "
            f"of {kek.enterprise_id!r}"
        )
    context = _dek_context(
        record.enterprise_id, record.subject_id, record.dek_version, record.kek_version
    )
    what = f"subject key {record.subject_id!r} (DEK v{record.dek_version})"
    return unseal(kek._aead, record.wrapped_dek, context, what=what)


def needs_rewrap(keyset: KeysetRecord, record: SubjectKeyRecord) -> bool:
    """True while a subject key is wrapped under anything but the primary KEK."""
    return record.kek_version != keyset.primary.version


def rewrap_subject_keys(
    records: Iterable[SubjectKeyRecord],
    *,
    keks: Mapping[int, KeyEncryptionKey],
    primary: KeyEncryptionKey,
) -> list[SubjectKeyRecord]:
    """Re-wrap a batch of subject keys under `primary`; the DEKs themselves (and so
    every field ciphertext) stay the same.

    Returns new records only for those that changed. Write them with
    `UPDATE ... SET kek_version, wrapped_dek WHERE enterprise_id, subject_id,
    dek_version AND kek_version = <old>` - an UPDATE, never an upsert, so a subject
    erased meanwhile is not brought back. Idempotent and resumable: run batches of
    `WHERE kek_version IN keyset.stale_versions` until none are left.
    """
    batch = [r for r in records if r.kek_version != primary.version]
    out: list[SubjectKeyRecord] = []
    for enterprise_id in sorted({r.enterprise_id for r in batch}):
        rows = [(r.subject_id, r.dek_version, r.kek_version, r.wrapped_dek) for r in batch
                if r.enterprise_id == enterprise_id]
        out += [SubjectKeyRecord(enterprise_id, sid, dv, primary.version, w)
                for (sid, dv, _, _), w in zip(rows, rewrap_rows(enterprise_id, rows, keks=keks,
                                                                primary=primary), strict=True)]
    return out


WrappedRow = tuple[str, int, int, bytes]
"""``(subject_id, dek_version, kek_version, wrapped_dek)`` of one enterprise."""


def rewrap_rows(enterprise_id: str, rows: Sequence[tuple[Any, ...]], *,
                keks: Mapping[int, KeyEncryptionKey],
                primary: KeyEncryptionKey) -> list[bytes]:
    """The hot loop of a rotation (a million subjects): each row's DEK unsealed and
    sealed again under ``primary``; the new wrapped bytes, in the order of ``rows``.
    A row is a `WrappedRow`, possibly followed by more columns (the caller's locator).

    Per row it does what a bare AES-GCM re-wrap loop does plus building the row's
    context (`_dek_context`: a per-length head, the subject, and a tail per DEK and KEK
    version, made again only when those change from the row before - in a rotation
    they hardly ever do): no objects per row, one urandom call per batch, and the
    seal format checked only when a row fails (a bad header fails the tag anyway)."""
    if primary.enterprise_id != enterprise_id or any(
            k.enterprise_id != enterprise_id for k in keks.values()):
        raise ValueError(f"the KEKs given are not all {enterprise_id!r}'s")
    prefix = _SEAL_AD_TAG + _DEK_CONTEXT + frame(enterprise_id.encode())
    heads = [prefix + n for n in _LEN4]
    opens = {v: k._aead.decrypt for v, k in keks.items()}
    seal_new, new_version = primary._aead.encrypt, u32(primary.version)
    fmt, body = _SEAL_FORMAT, _SEALED_BODY
    nonces = os.urandom(NONCE_BYTES * len(rows))
    out: list[bytes] = []
    append = out.append
    at = 0
    versions: Any = None
    old_tail = new_tail = b""
    unseal_old: Any = None
    try:
        for row in rows:
            sid = row[0].encode()
            wrapped = row[3]
            if row[1:3] != versions:
                versions = row[1:3]
                dv = u32(versions[0])
                old_tail, new_tail = dv + u32(versions[1]), dv + new_version
                unseal_old = opens[versions[1]]
            n = len(sid)
            base = (heads[n] if n < 256 else prefix + u32(n)) + sid
            nonce = nonces[at:at + NONCE_BYTES]
            at += NONCE_BYTES
            append(fmt + nonce + seal_new(nonce, unseal_old(wrapped[1:body], wrapped[body:],
                                                            base + old_tail), base + new_tail))
    except KeyError:
        sid_, dv_, kv_, _ = rows[len(out)][:4]
        raise KeyNotFoundError(f"no unwrapped KEK version {kv_} given for subject key "
                               f"{sid_!r}") from None
    except (InvalidTag, ValueError):  # ValueError: a nonce cut short by truncation
        sid_, dv_, kv_, wrapped = rows[len(out)][:4]
        what = f"subject key {sid_!r} (DEK v{dv_})"
        if len(wrapped) < _SEALED_BODY + TAG_BYTES or wrapped[:1] != _SEAL_FORMAT:
            raise DecryptionError(f"{what}: not a parcelguard wrapped key (unknown format)") \
                from None
        raise DecryptionError(f"{what} failed to unwrap: wrong wrapping key, wrong context "
                              "(enterprise, subject or version), or altered") from None
    return out
