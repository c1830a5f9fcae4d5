from __future__ import annotations

from dataclasses import replace

import pytest

from parcelguard.vault import keys
from parcelguard.vault.errors import (
    DecryptionError,
    KeyRetiredError,
    KeysetInvariantError,
    KeyStillInUseError,
    KmsMismatchError,
)
from parcelguard.vault.facade import Vault
from parcelguard.vault.keys import KeysetRecord, KeyStatus, SubjectKeyRecord
from parcelguard.vault.kms import InMemoryKms

WHERE = {"record_id": "parcel-1", "field": "recipient_phone"}


def _statuses(keyset: KeysetRecord) -> dict[int, KeyStatus]:
    return {k.version: k.status for k in keyset.keks}


def test_new_keyset_has_one_primary_kek_and_a_separate_blind_index_key(
    keyset: KeysetRecord, kms: InMemoryKms
) -> None:
    assert _statuses(keyset) == {1: KeyStatus.PRIMARY}
    assert keyset.primary.kms_key_id == kms.key_id
    kek = keyset.primary.wrapped_key
    blind = keyset.blind_index_key.wrapped_key
    assert kek != blind
    # Wrapped under different contexts: one cannot stand in for the other.
    with pytest.raises(DecryptionError):
        kms.unwrap(blind, keys.kek_context("ent-a", 1))


def test_contexts_are_unambiguous() -> None:
    assert keys.kek_context("e1", 12) != keys.kek_context("e11", 2)
    assert keys.kek_context("e", 1) != keys.blind_index_key_context("e", 1)


def test_a_kek_row_copied_to_another_enterprise_does_not_unwrap(
    vault: Vault, keyset: KeysetRecord, kms: InMemoryKms
) -> None:
    other = vault.new_keyset("ent-b")
    stolen = replace(keyset.primary, enterprise_id="ent-b")
    forged = KeysetRecord("ent-b", (stolen,), other.blind_index_key)
    with pytest.raises(DecryptionError, match="failed to unwrap"):
        vault.kek(forged, 1)


def test_a_subject_key_copied_to_another_subject_does_not_unwrap(
    vault: Vault, keyset: KeysetRecord
) -> None:
    alice = vault.new_subject_key(keyset, "subj-alice")
    fresh = Vault(vault.kms)  # no cached keys
    with pytest.raises(DecryptionError, match="failed to unwrap"):
        fresh.data_key(keyset, replace(alice, subject_id="subj-bob"))
    with pytest.raises(DecryptionError, match="failed to unwrap"):
        fresh.data_key(keyset, replace(alice, dek_version=2))  # relabelled version


def test_rotation_keeps_old_data_readable_and_wraps_new_keys_under_the_new_version(
    vault: Vault, keyset: KeysetRecord
) -> None:
    alice = vault.new_subject_key(keyset, "subj-alice")
    old = vault.encrypt(keyset, alice, "13800138000", **WHERE)

    rotated = vault.rotate(keyset)
    assert _statuses(rotated) == {1: KeyStatus.ACTIVE, 2: KeyStatus.PRIMARY}
    assert rotated.stale_versions == (1,)

    fresh = Vault(vault.kms)
    assert fresh.decrypt(rotated, alice, old, **WHERE) == "13800138000"
    bob = fresh.new_subject_key(rotated, "subj-bob")
    assert bob.kek_version == 2
    assert fresh.needs_rewrap(rotated, alice)
    assert not fresh.needs_rewrap(rotated, bob)


def test_rewrap_batches_move_old_keys_and_retiring_afterwards_keeps_data_readable(
    vault: Vault, keyset: KeysetRecord
) -> None:
    store: dict[str, SubjectKeyRecord] = {}
    ciphertexts: dict[str, bytes] = {}
    for i in range(7):
        sid = f"subj-{i}"
        store[sid] = vault.new_subject_key(keyset, sid)
        ciphertexts[sid] = vault.encrypt(keyset, store[sid], f"地址 {i}", **WHERE)
    keyset = vault.rotate(keyset)
    store["subj-new"] = vault.new_subject_key(keyset, "subj-new")

    # Resumable: each pass takes a batch of stale rows, as a SQL query would.
    fresh = Vault(vault.kms)
    passes = 0
    while stale := [r for r in store.values() if r.kek_version in keyset.stale_versions][:3]:
        for record in fresh.rewrap_batch(keyset, stale):
            store[record.subject_id] = record
        passes += 1
    assert passes == 3
    assert {r.kek_version for r in store.values()} == {2}
    assert fresh.rewrap_batch(keyset, store.values()) == []  # idempotent

    remaining = sum(r.kek_version == 1 for r in store.values())
    keyset = fresh.retire(keyset, 1, deks_remaining=remaining)
    assert _statuses(keyset) == {1: KeyStatus.RETIRED, 2: KeyStatus.PRIMARY}
    assert keyset.kek(1).wrapped_key == b""  # key material destroyed

    reader = Vault(vault.kms)
    for sid, ciphertext in ciphertexts.items():
        assert reader.decrypt(keyset, store[sid], ciphertext, **WHERE) == f"地址 {sid[5:]}"


def test_retiring_before_rewrap_is_refused(vault: Vault, keyset: KeysetRecord) -> None:
    vault.new_subject_key(keyset, "subj-alice")
    rotated = vault.rotate(keyset)
    with pytest.raises(KeyStillInUseError, match="still wraps 1 subject keys"):
        vault.retire(rotated, 1, deks_remaining=1)
    with pytest.raises(KeyStillInUseError, match="primary"):
        vault.retire(rotated, 2, deks_remaining=0)


def test_a_key_under_a_retired_version_fails_with_a_clear_error(
    vault: Vault, keyset: KeysetRecord
) -> None:
    old_backup = vault.new_subject_key(keyset, "subj-alice")
    keyset = vault.rotate(keyset)
    (current,) = vault.rewrap_batch(keyset, [old_backup])
    keyset = vault.retire(keyset, 1, deks_remaining=0)
    assert vault.data_key(keyset, current).version == 1
    with pytest.raises(KeyRetiredError, match="KEK version 1 of enterprise 'ent-a' is retired"):
        vault.data_key(keyset, old_backup)  # e.g. a row restored from an old backup
    with pytest.raises(KeyRetiredError):
        keys.unwrap_kek(vault.kms, keyset.kek(1))


def test_a_retired_version_is_refused_even_by_a_process_that_cached_it(
    vault: Vault, keyset: KeysetRecord
) -> None:
    alice = vault.new_subject_key(keyset, "subj-alice")  # `vault` now caches KEK v1 and the DEK
    keyset = vault.rotate(keyset)
    worker = Vault(vault.kms)  # another process re-wraps and retires v1
    (current,) = worker.rewrap_batch(keyset, [alice])
    keyset = worker.retire(keyset, 1, deks_remaining=0)
    with pytest.raises(KeyRetiredError):
        vault.data_key(keyset, alice)
    with pytest.raises(KeyRetiredError):
        vault.kek(keyset, 1)
    assert vault.data_key(keyset, current).version == 1


def test_versions_are_never_reused(vault: Vault, keyset: KeysetRecord) -> None:
    keyset = vault.retire(vault.rotate(keyset), 1, deks_remaining=0)
    keyset = vault.rotate(keyset)
    assert _statuses(keyset) == {1: KeyStatus.RETIRED, 2: KeyStatus.ACTIVE, 3: KeyStatus.PRIMARY}


def test_bad_rows_fail_at_load(keyset: KeysetRecord) -> None:
    v1 = keyset.primary
    with pytest.raises(KeysetInvariantError, match="2 primary"):
        KeysetRecord("ent-a", (v1, replace(v1, version=2)), keyset.blind_index_key)
    with pytest.raises(KeysetInvariantError, match="repeats"):
        KeysetRecord("ent-a", (v1, replace(v1, status=KeyStatus.ACTIVE)), keyset.blind_index_key)
    with pytest.raises(KeysetInvariantError, match="another enterprise"):
        KeysetRecord("ent-b", (v1,), replace(keyset.blind_index_key, enterprise_id="ent-b"))


def test_a_swapped_master_key_is_reported_as_such(keyset: KeysetRecord) -> None:
    with pytest.raises(KmsMismatchError, match="wrong master key"):
        Vault(InMemoryKms()).kek(keyset, 1)


def test_keysets_move_to_another_kms_without_touching_subject_keys(
    vault: Vault, keyset: KeysetRecord
) -> None:
    alice = vault.new_subject_key(keyset, "subj-alice")
    ciphertext = vault.encrypt(keyset, alice, "张伟", **WHERE)
    target = InMemoryKms()
    moved = keys.rewrap_keyset(keyset, source=vault.kms, target=target)
    assert moved.primary.kms_key_id == target.key_id
    assert Vault(target).decrypt(moved, alice, ciphertext, **WHERE) == "张伟"
