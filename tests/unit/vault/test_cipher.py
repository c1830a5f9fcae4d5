from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parcelguard.vault.cipher import (
    MIN_CIPHERTEXT_BYTES,
    DataKey,
    decrypt_field,
    decrypt_many,
    dek_version_of,
    encrypt_field,
    encrypt_many,
    reencrypt_many,
)
from parcelguard.vault.errors import DecryptionError

KEY = bytes(range(32))
DEK = DataKey(KEY)
WHERE = {"enterprise_id": "ent-a", "record_id": "parcel-0001", "field": "recipient_phone"}
PHONE = "13800138000"

ids = st.text(min_size=0, max_size=12)


@given(st.text())
def test_any_text_round_trips(plaintext: str) -> None:
    ciphertext = encrypt_field(DEK, plaintext, **WHERE)
    assert decrypt_field(DEK, ciphertext, **WHERE) == plaintext


def test_cjk_and_empty_values_round_trip() -> None:
    for value in ["", "北京市朝阳区建国路88号", "张伟", "🙂 ＋８６ １３８"]:
        assert decrypt_field(DEK, encrypt_field(DEK, value, **WHERE), **WHERE) == value


def test_ciphertext_is_randomised_and_hides_the_value() -> None:
    a, b = encrypt_field(DEK, PHONE, **WHERE), encrypt_field(DEK, PHONE, **WHERE)
    assert a != b
    assert PHONE.encode() not in a
    assert len(encrypt_field(DEK, "", **WHERE)) == MIN_CIPHERTEXT_BYTES


@pytest.mark.parametrize(
    "moved",
    [
        {"record_id": "parcel-0002"},
        {"field": "sender_phone"},
        {"enterprise_id": "ent-b"},
    ],
)
def test_ciphertext_moved_elsewhere_fails(moved: dict[str, str]) -> None:
    ciphertext = encrypt_field(DEK, PHONE, **WHERE)
    with pytest.raises(DecryptionError, match="failed to decrypt"):
        decrypt_field(DEK, ciphertext, **(WHERE | moved))


@given(a=st.tuples(ids, ids, ids), b=st.tuples(ids, ids, ids))
def test_places_are_encoded_unambiguously(a: tuple[str, str, str], b: tuple[str, str, str]) -> None:
    # ("e1", "23", ...) and ("e12", "3", ...) must be different places.
    ciphertext = encrypt_field(DEK, "v", enterprise_id=a[0], record_id=a[1], field=a[2])
    place = {"enterprise_id": b[0], "record_id": b[1], "field": b[2]}
    if a == b:
        assert decrypt_field(DEK, ciphertext, **place) == "v"
    else:
        with pytest.raises(DecryptionError):
            decrypt_field(DEK, ciphertext, **place)


def test_concatenation_lookalikes_do_not_decrypt() -> None:
    ciphertext = encrypt_field(DEK, PHONE, enterprise_id="e1", record_id="23", field="f")
    with pytest.raises(DecryptionError):
        decrypt_field(DEK, ciphertext, enterprise_id="e12", record_id="3", field="f")


def test_every_tampered_byte_fails() -> None:
    ciphertext = encrypt_field(DEK, PHONE, **WHERE)
    for i in range(len(ciphertext)):
        tampered = bytearray(ciphertext)
        tampered[i] ^= 0x01
        with pytest.raises(DecryptionError):
            decrypt_field(DEK, bytes(tampered), **WHERE)


def test_truncated_ciphertexts_fail_cleanly() -> None:
    ciphertext = encrypt_field(DEK, PHONE, **WHERE)
    for n in range(len(ciphertext)):
        with pytest.raises(DecryptionError):
            decrypt_field(DEK, ciphertext[:n], **WHERE)


def test_wrong_dek_fails() -> None:
    ciphertext = encrypt_field(DEK, PHONE, **WHERE)
    with pytest.raises(DecryptionError, match="failed to decrypt"):
        decrypt_field(DataKey(os.urandom(32)), ciphertext, **WHERE)


def test_dek_version_is_recorded_and_checked() -> None:
    v2 = DataKey(os.urandom(32), version=2)
    ciphertext = encrypt_field(v2, PHONE, **WHERE)
    assert dek_version_of(ciphertext) == 2
    with pytest.raises(DecryptionError, match="under DEK version 2 but DEK version 1"):
        decrypt_field(DEK, ciphertext, **WHERE)


def test_batches_round_trip_across_keys_fields_and_records() -> None:
    deks = [DataKey(os.urandom(32), version=v) for v in (1, 1, 3)]
    items = [
        (deks[i % 3], f"parcel-{i}", ("name", "phone", "address")[i % 3], f"值-{i}" * (i % 5))
        for i in range(10_000)  # crosses the nonce chunk boundary
    ]
    ciphertexts = encrypt_many(iter(items), enterprise_id="ent-a")
    assert len({c[5:17] for c in ciphertexts}) == len(items)  # every nonce fresh
    back = decrypt_many(
        [(d, r, f, c) for (d, r, f, _), c in zip(items, ciphertexts, strict=True)],
        enterprise_id="ent-a",
    )
    assert back == [p for *_, p in items]


def test_batch_error_names_the_item_not_the_value() -> None:
    items = [(DEK, f"parcel-{i}", "phone", f"1380013{i:04d}") for i in range(5)]
    ciphertexts = encrypt_many(items, enterprise_id="ent-a")
    ciphertexts[3] = ciphertexts[2]  # a value copied onto another parcel
    with pytest.raises(DecryptionError) as err:
        decrypt_many(
            [(d, r, f, c) for (d, r, f, _), c in zip(items, ciphertexts, strict=True)],
            enterprise_id="ent-a",
        )
    assert err.value.index == 3
    assert "parcel-3" in str(err.value)
    assert "1380013" not in str(err.value)
    assert err.value.__cause__ is None
    assert err.value.__suppress_context__


def test_unencodable_text_is_refused_without_quoting_it() -> None:
    with pytest.raises(ValueError, match="lone surrogate") as err:
        encrypt_field(DEK, "secret\udc80", **WHERE)
    assert "secret" not in str(err.value)
    assert "\udc80" not in str(err.value)
    with pytest.raises(ValueError, match="batch item 1") as err2:
        encrypt_many([(DEK, "r", "f", "ok"), (DEK, "r", "f", "secret\udc80")], enterprise_id="e")
    assert "\udc80" not in str(err2.value)


def test_reencrypt_moves_values_to_a_new_dek() -> None:
    new = DataKey(os.urandom(32), version=2)
    items = [("parcel-1", "phone", PHONE), ("parcel-1", "name", "张伟")]
    old_ct = encrypt_many([(DEK, r, f, p) for r, f, p in items], enterprise_id="ent-a")
    new_ct = reencrypt_many(
        DEK,
        new,
        [(r, f, c) for (r, f, _), c in zip(items, old_ct, strict=True)],
        enterprise_id="ent-a",
    )
    assert [dek_version_of(c) for c in new_ct] == [2, 2]
    assert decrypt_many(
        [(new, r, f, c) for (r, f, _), c in zip(items, new_ct, strict=True)],
        enterprise_id="ent-a",
    ) == [PHONE, "张伟"]


def test_data_key_repr_holds_no_key() -> None:
    text = repr(DEK)
    assert text == "DataKey(version=1)"
    assert KEY.hex() not in text
