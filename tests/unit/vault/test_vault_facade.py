from __future__ import annotations

import os
from dataclasses import replace

import pytest

from parcelguard.vault import keys
from parcelguard.vault.blind_index import phone_full_index
from parcelguard.vault.cipher import DataKey, decrypt_field, dek_version_of
from parcelguard.vault.errors import DecryptionError, VaultError
from parcelguard.vault.facade import Vault
from parcelguard.vault.keys import KeysetRecord, SubjectKeyRecord
from parcelguard.vault.kms import InMemoryKms

FIELDS = {"name": "张伟", "phone": "13800138000", "address": "北京市朝阳区建国路88号"}


def _encrypt_parcel(
    vault: Vault, keyset: KeysetRecord, subject: SubjectKeyRecord, record_id: str
) -> dict[str, bytes]:
    items = [(subject, record_id, f, v) for f, v in FIELDS.items()]
    return dict(zip(FIELDS, vault.encrypt_many(keyset, items), strict=True))


def test_crypto_shred_makes_one_subject_unrecoverable_and_spares_the_rest(
    vault: Vault, keyset: KeysetRecord
) -> None:
    store = {s: vault.new_subject_key(keyset, s) for s in ("subj-a", "subj-b")}
    parcels = {s: _encrypt_parcel(vault, keyset, store[s], f"parcel-{s}") for s in store}

    del store["subj-a"]  # the erasure: delete the wrapped DEK row...
    vault.forget_subject("ent-a", "subj-a")  # ...and drop it from memory
    assert vault.cached_subjects == 1

    # Everything that remains - master key, keyset, every other subject key - is
    # tried against A's ciphertexts from a clean process; none opens them.
    survivor = Vault(vault.kms)
    remaining = [survivor.data_key(keyset, r) for r in store.values()]
    for field, ciphertext in parcels["subj-a"].items():
        for dek in remaining:
            with pytest.raises(DecryptionError):
                decrypt_field(
                    dek, ciphertext, enterprise_id="ent-a", record_id="parcel-subj-a", field=field
                )
    b = store["subj-b"]
    got = survivor.decrypt_many(
        keyset, [(b, "parcel-subj-b", f, c) for f, c in parcels["subj-b"].items()]
    )
    assert got == list(FIELDS.values())


def test_a_cached_key_is_not_reused_for_a_new_key_of_an_erased_subject(
    vault: Vault, keyset: KeysetRecord
) -> None:
    old = vault.new_subject_key(keyset, "subj-a")
    old_ct = vault.encrypt(keyset, old, "旧地址", record_id="p1", field="address")
    # Erased without forget_subject (say, by another worker), then the person returns.
    new = vault.new_subject_key(keyset, "subj-a")
    new_ct = vault.encrypt(keyset, new, "新地址", record_id="p2", field="address")
    with pytest.raises(DecryptionError):
        vault.decrypt(keyset, new, old_ct, record_id="p1", field="address")
    assert Vault(vault.kms).decrypt(keyset, new, new_ct, record_id="p2", field="address") == (
        "新地址"
    )


def test_dek_rotation_reencrypts_a_subject_and_the_old_key_then_goes(
    vault: Vault, keyset: KeysetRecord
) -> None:
    v1 = vault.new_subject_key(keyset, "subj-a")
    parcel = _encrypt_parcel(vault, keyset, v1, "p1")
    v2 = vault.rotate_subject_key(keyset, v1)
    assert (v2.dek_version, v2.subject_id) == (2, "subj-a")
    moved = vault.reencrypt(keyset, v1, v2, [("p1", f, c) for f, c in parcel.items()])
    assert {dek_version_of(c) for c in moved} == {2}
    assert vault.reencrypt(keyset, v1, v2, [("p1", "name", moved[0])]) == [moved[0]]  # resumable

    fresh = Vault(vault.kms)  # v1's row is deleted; only v2 remains
    got = fresh.decrypt_many(keyset, [(v2, "p1", f, c) for f, c in zip(FIELDS, moved, strict=True)])
    assert got == list(FIELDS.values())
    with pytest.raises(DecryptionError, match="DEK version 1 but DEK version 2"):
        fresh.decrypt(keyset, v2, parcel["phone"], record_id="p1", field="phone")


def test_subject_keys_are_scoped_to_their_enterprise(vault: Vault, keyset: KeysetRecord) -> None:
    other = vault.new_keyset("ent-b")
    alice = vault.new_subject_key(keyset, "subj-a")
    with pytest.raises(VaultError, match="belongs to enterprise 'ent-a'"):
        vault.encrypt(other, alice, "x", record_id="p", field="f")


def test_the_cache_is_bounded_and_evicted_keys_are_unwrapped_again(
    kms: InMemoryKms, keyset: KeysetRecord
) -> None:
    vault = Vault(kms, max_cached_subjects=2)
    subjects = [vault.new_subject_key(keyset, f"subj-{i}") for i in range(3)]
    assert vault.cached_subjects == 2
    cts = [vault.encrypt(keyset, s, "v", record_id="p", field="f") for s in subjects]
    for s, c in zip(subjects, cts, strict=True):
        assert vault.decrypt(keyset, s, c, record_id="p", field="f") == "v"


def test_no_secret_in_reprs_or_error_messages(vault: Vault, keyset: KeysetRecord) -> None:
    alice = vault.new_subject_key(keyset, "subj-a")
    kek = vault.kek(keyset, 1)
    bidx = vault.blind_index_key(keyset)
    wrapped = [k.wrapped_key for k in keyset.keks] + [
        keyset.blind_index_key.wrapped_key,
        alice.wrapped_dek,
    ]
    dek_bytes = keys._unwrap_dek_bytes(kek, alice)
    reprs = " ".join(
        repr(o) for o in (keyset, alice, kek, bidx, vault, vault.data_key(keyset, alice))
    )
    for secret in [*wrapped, dek_bytes]:
        assert repr(secret) not in reprs
        assert secret.hex() not in reprs

    phone = FIELDS["phone"]
    ciphertext = vault.encrypt(keyset, alice, phone, record_id="p1", field="phone")
    messages = []
    attempts = [
        lambda: vault.decrypt(keyset, alice, ciphertext, record_id="p2", field="phone"),
        lambda: vault.decrypt(
            keyset,
            alice,
            ciphertext[:-1] + bytes([ciphertext[-1] ^ 1]),
            record_id="p1",
            field="phone",
        ),
        lambda: decrypt_field(
            DataKey(os.urandom(32), 7),
            ciphertext,
            enterprise_id="ent-a",
            record_id="p1",
            field="phone",
        ),
        lambda: Vault(vault.kms).data_key(
            keyset, replace(alice, wrapped_dek=alice.wrapped_dek[:-1])
        ),
        lambda: Vault(InMemoryKms()).kek(keyset, 1),
        lambda: phone_full_index(bidx, "138 secret"),
    ]
    for attempt in attempts:
        with pytest.raises((VaultError, ValueError)) as err:
            attempt()
        messages.append(str(err.value))
    text = " ".join(messages)
    assert len(messages) == len(attempts)
    assert phone not in text
    assert "secret" not in text
    for secret in [*wrapped, dek_bytes, ciphertext]:
        assert secret.hex() not in text
        assert repr(secret) not in text
