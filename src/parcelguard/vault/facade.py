"""`Vault`: the key hierarchy and field cipher behind one object, with key caching.

The vault holds a `Kms` and caches unwrapped keys in memory; all persistent state goes
in and out as the records of `keys.py`. Caches are keyed by the exact wrapped bytes
a caller presents, so a cached key is reachable only through a row that still exists:
once a subject's DEK row is deleted, no process can use its key through the vault,
even before `forget_subject` evicts it (which drops it from memory sooner).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from parcelguard.vault import keys
from parcelguard.vault.blind_index import BlindIndexKey
from parcelguard.vault.cipher import (
    DataKey,
    decrypt_many,
    dek_version_of,
    encrypt_many,
    reencrypt_many,
)
from parcelguard.vault.errors import KeyNotFoundError, KeyRetiredError
from parcelguard.vault.keys import (
    KekRecord,
    KeyEncryptionKey,
    KeysetRecord,
    KeyStatus,
    SubjectKeyRecord,
)
from parcelguard.vault.kms import Kms

SubjectPlainItem = tuple[SubjectKeyRecord, str, str, str]
"""`(subject_key, record_id, field, plaintext)`, an item for `Vault.encrypt_many`."""
SubjectCipherItem = tuple[SubjectKeyRecord, str, str, bytes]
"""`(subject_key, record_id, field, ciphertext)`, an item for `Vault.decrypt_many`."""

_Key = TypeVar("_Key")

# A cached subject costs ~3 KB (the AESGCM object holds an OpenSSL context; measured
# with cryptography 50), so 10,000 subjects is ~30 MB: a busy station's working set,
# not an enterprise's every key. A miss costs one ~1 us unwrap, no KMS call.
DEFAULT_MAX_CACHED_SUBJECTS = 10_000


class Vault:
    """Envelope encryption for one process: keysets, subject keys, fields, indexes."""

    def __init__(self, kms: Kms, *, max_cached_subjects: int = DEFAULT_MAX_CACHED_SUBJECTS):
        self.kms = kms
        self._max_subjects = max_cached_subjects
        self._lock = threading.Lock()
        self._keks: dict[tuple[str, int], tuple[bytes, KeyEncryptionKey]] = {}
        self._blind: dict[tuple[str, int], tuple[bytes, BlindIndexKey]] = {}
        # (enterprise, subject) -> {dek_version: (wrapped_dek, DataKey)}, in LRU order
        self._deks: OrderedDict[tuple[str, str], dict[int, tuple[bytes, DataKey]]] = OrderedDict()

    def __repr__(self) -> str:
        return f"Vault(kms={self.kms!r}, cached_subjects={self.cached_subjects})"

    @property
    def cached_subjects(self) -> int:
        """How many subjects have unwrapped DEKs in memory."""
        return len(self._deks)

    # -- keysets ------------------------------------------------------------------

    def new_keyset(self, enterprise_id: str) -> KeysetRecord:
        """Keys for a new enterprise; persist its KEK and blind-index rows."""
        return keys.create_keyset(self.kms, enterprise_id)

    def rotate(self, keyset: KeysetRecord) -> KeysetRecord:
        """New primary KEK version; then run `rewrap_batch` over `stale_versions`."""
        return keys.rotate_keyset(self.kms, keyset)

    def retire(self, keyset: KeysetRecord, version: int, *, deks_remaining: int) -> KeysetRecord:
        """Destroy a non-primary KEK version once no subject key uses it."""
        result = keys.retire_kek(keyset, version, deks_remaining=deks_remaining)
        with self._lock:
            self._keks.pop((keyset.enterprise_id, version), None)
        return result

    def kek(self, keyset: KeysetRecord, version: int) -> KeyEncryptionKey:
        """The unwrapped KEK version, from cache or the KMS; refuses retired versions."""
        record = _unretired(keyset, version)
        return self._cached(
            self._keks,
            (keyset.enterprise_id, version),
            record.wrapped_key,
            lambda: keys.unwrap_kek(self.kms, record),
        )

    def blind_index_key(self, keyset: KeysetRecord) -> BlindIndexKey:
        """The enterprise's unwrapped blind-index key, for `blind_index.*`."""
        record = keyset.blind_index_key
        return self._cached(
            self._blind,
            (keyset.enterprise_id, record.version),
            record.wrapped_key,
            lambda: keys.unwrap_blind_index_key(self.kms, record),
        )

    def _cached(
        self,
        cache: dict[tuple[str, int], tuple[bytes, _Key]],
        slot: tuple[str, int],
        wrapped: bytes,
        unwrap: Callable[[], _Key],
    ) -> _Key:
        # Hit only for the same wrapped bytes: a re-wrapped or retired row unwraps anew.
        hit = cache.get(slot)
        if hit is not None and hit[0] == wrapped:
            return hit[1]
        key = unwrap()
        with self._lock:
            cache[slot] = (wrapped, key)
        return key

    # -- subject keys ---------------------------------------------------------------

    def new_subject_key(self, keyset: KeysetRecord, subject_id: str) -> SubjectKeyRecord:
        """A DEK for a new data subject under the primary KEK; persist the record."""
        record, dek = keys.create_subject_key(self.kek(keyset, keyset.primary.version), subject_id)
        self._remember(record, dek)
        return record

    def data_key(self, keyset: KeysetRecord, record: SubjectKeyRecord) -> DataKey:
        """The subject's unwrapped DEK, from cache or by unwrapping the record."""
        if record.enterprise_id != keyset.enterprise_id:
            raise KeyNotFoundError(
                f"subject key of {record.subject_id!r} belongs to enterprise "
                f"{record.enterprise_id!r}, not {keyset.enterprise_id!r}"
            )
        # Checked on cache hits too: once another process retires a KEK version, a DEK
        # row still naming it (a restored backup) must fail here as well.
        _unretired(keyset, record.kek_version)
        slot = (record.enterprise_id, record.subject_id)
        with self._lock:
            versions = self._deks.get(slot)
            if versions is not None:
                hit = versions.get(record.dek_version)
                if hit is not None and hit[0] == record.wrapped_dek:
                    self._deks.move_to_end(slot)
                    return hit[1]
        dek = keys.unwrap_subject_key(self.kek(keyset, record.kek_version), record)
        self._remember(record, dek)
        return dek

    def needs_rewrap(self, keyset: KeysetRecord, record: SubjectKeyRecord) -> bool:
        """True while the subject key is wrapped under a KEK version other than the primary."""
        return keys.needs_rewrap(keyset, record)

    def rewrap_batch(
        self, keyset: KeysetRecord, records: Iterable[SubjectKeyRecord]
    ) -> list[SubjectKeyRecord]:
        """Re-wrap a batch of subject keys under the primary KEK; returns the changed
        records (see `keys.rewrap_subject_keys` for how to write them)."""
        batch = list(records)
        versions = {r.kek_version for r in batch} | {keyset.primary.version}
        keks = {v: self.kek(keyset, v) for v in versions}
        return keys.rewrap_subject_keys(batch, keks=keks, primary=keks[keyset.primary.version])

    def rewrap_rows(self, keyset: KeysetRecord,
                    rows: Sequence[tuple[Any, ...]]) -> list[bytes]:
        """`rewrap_batch` over plain rows, for rotations of millions of subjects: the
        new wrapped bytes of each row, in order."""
        versions = {r[2] for r in rows} | {keyset.primary.version}
        keks = {v: self.kek(keyset, v) for v in versions}
        return keys.rewrap_rows(keyset.enterprise_id, rows, keks=keks,
                                primary=keks[keyset.primary.version])

    def rotate_subject_key(
        self, keyset: KeysetRecord, record: SubjectKeyRecord
    ) -> SubjectKeyRecord:
        """A new DEK version for a subject. Re-encrypt its fields with `reencrypt`,
        write them and the new record, and delete the old record - one transaction."""
        primary = self.kek(keyset, keyset.primary.version)
        new, dek = keys.create_subject_key(
            primary, record.subject_id, dek_version=record.dek_version + 1
        )
        self._remember(new, dek)
        return new

    def forget_subject(self, enterprise_id: str, subject_id: str) -> None:
        """Drop a subject's cached DEKs; call after deleting its rows (erasure)."""
        with self._lock:
            self._deks.pop((enterprise_id, subject_id), None)

    def _remember(self, record: SubjectKeyRecord, dek: DataKey) -> None:
        slot = (record.enterprise_id, record.subject_id)
        with self._lock:
            versions = self._deks.get(slot)
            if versions is None:
                versions = self._deks[slot] = {}
            else:
                self._deks.move_to_end(slot)
            versions[record.dek_version] = (record.wrapped_dek, dek)
            while len(self._deks) > self._max_subjects:
                self._deks.popitem(last=False)

    # -- fields -------------------------------------------------------------------

    def encrypt(
        self,
        keyset: KeysetRecord,
        subject_key: SubjectKeyRecord,
        plaintext: str,
        *,
        record_id: str,
        field: str,
    ) -> bytes:
        """Encrypt one field value under the subject's DEK."""
        return self.encrypt_many(keyset, [(subject_key, record_id, field, plaintext)])[0]

    def decrypt(
        self,
        keyset: KeysetRecord,
        subject_key: SubjectKeyRecord,
        ciphertext: bytes,
        *,
        record_id: str,
        field: str,
    ) -> str:
        """Decrypt one field value with the subject's DEK."""
        return self.decrypt_many(keyset, [(subject_key, record_id, field, ciphertext)])[0]

    def encrypt_many(self, keyset: KeysetRecord, items: Iterable[SubjectPlainItem]) -> list[bytes]:
        """Encrypt `(subject_key, record_id, field, plaintext)` items of one enterprise."""
        batch = list(items)
        deks = self._resolve(keyset, [item[0] for item in batch])
        resolved = [(deks[id(r)], i, f, p) for r, i, f, p in batch]
        return encrypt_many(resolved, enterprise_id=keyset.enterprise_id)

    def decrypt_many(self, keyset: KeysetRecord, items: Iterable[SubjectCipherItem]) -> list[str]:
        """Decrypt `(subject_key, record_id, field, ciphertext)` items of one enterprise;
        each subject key must have the DEK version the ciphertext names
        (`cipher.dek_version_of`)."""
        batch = list(items)
        deks = self._resolve(keyset, [item[0] for item in batch])
        resolved = [(deks[id(r)], i, f, c) for r, i, f, c in batch]
        return decrypt_many(resolved, enterprise_id=keyset.enterprise_id)

    def _resolve(self, keyset: KeysetRecord, records: list[SubjectKeyRecord]) -> dict[int, DataKey]:
        # One cache lookup per record object, keyed by id(): hashing a record hashes
        # all its fields, and `records` keeps every object alive, so ids stay unique.
        deks: dict[int, DataKey] = {}
        for record in records:
            if id(record) not in deks:
                deks[id(record)] = self.data_key(keyset, record)
        return deks

    def reencrypt(
        self,
        keyset: KeysetRecord,
        old: SubjectKeyRecord,
        new: SubjectKeyRecord,
        items: Iterable[tuple[str, str, bytes]],
    ) -> list[bytes]:
        """Move `(record_id, field, ciphertext)` items of one subject from DEK `old`
        to DEK `new` (DEK rotation); fields already under `new` are left as they are."""
        new_dek = self.data_key(keyset, new)
        batch = list(items)
        todo = [i for i, (_, _, c) in enumerate(batch) if dek_version_of(c) != new.dek_version]
        moved = reencrypt_many(
            self.data_key(keyset, old),
            new_dek,
            [batch[i] for i in todo],
            enterprise_id=keyset.enterprise_id,
        )
        out = [c for _, _, c in batch]
        for i, c in zip(todo, moved, strict=True):
            out[i] = c
        return out


def _unretired(keyset: KeysetRecord, version: int) -> KekRecord:
    record = keyset.kek(version)
    if record.status is KeyStatus.RETIRED:
        raise KeyRetiredError(
            f"KEK version {version} of enterprise {keyset.enterprise_id!r} is retired; "
            "keys wrapped under it are unrecoverable"
        )
    return record
