from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parcelguard.vault.blind_index import (
    INDEX_BYTES,
    PHONE_FULL,
    PHONE_LAST4,
    BlindIndexKey,
    blind_index,
    normalize_phone,
    phone_full_index,
    phone_last4_index,
)
from parcelguard.vault.facade import Vault
from parcelguard.vault.keys import KeysetRecord

KEY = BlindIndexKey(bytes(range(32)))
FULLWIDTH = str.maketrans("0123456789+-", "０１２３４５６７８９＋－")

FORMATS = [
    "13800138000",
    "138 0013 8000",
    "138-0013-8000",
    "+86 138 0013 8000",
    "+8613800138000",
    "0086-138-0013-8000",
    "86 13800138000",
    "(+86) 138.0013.8000",
    "１３８００１３８０００",
    "＋８６　１３８－００１３－８０００",
    "138—0013—8000",
]


@pytest.mark.parametrize("written", FORMATS)
def test_the_same_phone_in_any_format_has_the_same_index(written: str) -> None:
    assert normalize_phone(written) == "13800138000"
    assert phone_full_index(KEY, written) == phone_full_index(KEY, "13800138000")
    assert phone_last4_index(KEY, written) == phone_last4_index(KEY, "8000")


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.sampled_from(["", " ", "-"]))
def test_formatting_never_changes_a_mobile_index(mobile: str, sep: str) -> None:
    written = f"+86{sep}{mobile[:3]}{sep}{mobile[3:7]}{sep}{mobile[7:]}".translate(FULLWIDTH)
    assert phone_full_index(KEY, written) == phone_full_index(KEY, mobile)


def test_landlines_match_in_domestic_and_international_form() -> None:
    assert normalize_phone("+86 10 6512 3456") == normalize_phone("010-6512-3456") == "01065123456"
    assert normalize_phone("+86 755 8888 6666") == "075588886666"
    assert normalize_phone("+44 20 7946 0000") == "00442079460000"


def test_last4_groups_numbers_that_end_alike_and_full_separates_them() -> None:
    a, b = "13800138000", "13912348000"
    assert phone_last4_index(KEY, a) == phone_last4_index(KEY, b)
    assert phone_full_index(KEY, a) != phone_full_index(KEY, b)
    assert phone_last4_index(KEY, a) != phone_last4_index(KEY, "13800138001")


def test_a_last4_index_never_equals_a_full_index() -> None:
    # Same digits hashed under both tags: the domain tag keeps them apart.
    assert KEY.index(PHONE_LAST4, "8000") != KEY.index(PHONE_FULL, "8000")
    assert phone_last4_index(KEY, "0138000") != phone_full_index(KEY, "0138000")


def test_different_enterprises_get_different_indexes(vault: Vault, keyset: KeysetRecord) -> None:
    other = vault.new_keyset("ent-b")
    a, b = vault.blind_index_key(keyset), vault.blind_index_key(other)
    assert phone_full_index(a, "13800138000") != phone_full_index(b, "13800138000")
    assert phone_last4_index(a, "8000") != phone_last4_index(b, "8000")
    # ...and the same enterprise's key, unwrapped again elsewhere, gives the same index.
    again = Vault(vault.kms).blind_index_key(keyset)
    assert phone_full_index(again, "13800138000") == phone_full_index(a, "13800138000")


def test_indexes_are_truncated_and_deterministic() -> None:
    index = phone_full_index(KEY, "13800138000")
    assert len(index) == INDEX_BYTES
    assert index == phone_full_index(BlindIndexKey(bytes(range(32))), "13800138000")
    assert index != phone_full_index(BlindIndexKey(os.urandom(32)), "13800138000")


@pytest.mark.parametrize("bad", ["", "138abc00138000", "13800138000 ext 12", "١٣٨٠٠١٣٨٠٠٠"])
def test_non_numbers_are_refused_without_quoting_them(bad: str) -> None:
    with pytest.raises(ValueError, match="only digits") as err:
        phone_full_index(KEY, bad)
    assert bad not in str(err.value) or not bad


def test_partial_numbers_are_refused_by_the_full_index() -> None:
    with pytest.raises(ValueError, match="last four"):
        phone_full_index(KEY, "8000")
    with pytest.raises(ValueError, match="four digits"):
        phone_last4_index(KEY, "800")


def test_generic_indexes_use_their_own_domain() -> None:
    assert blind_index(KEY, domain="id-last4/v1", value="8000") != phone_last4_index(KEY, "8000")
    with pytest.raises(ValueError, match="phone_full_index"):
        blind_index(KEY, domain="phone-full/v1", value="13800138000")


def test_key_repr_holds_no_key() -> None:
    assert repr(KEY) == "BlindIndexKey(version=1)"
