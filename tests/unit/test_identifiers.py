from hypothesis import given
from hypothesis import strategies as st

from parcelguard.logistics.identifiers import (
    id_check_char,
    is_valid_resident_id,
    is_valid_waybill_no,
    make_waybill_no,
    normalize_mobile,
)


@given(st.integers(0, 10**12 - 1), st.sampled_from(["SF", "YTO", "ZTOX"]))
def test_waybill_numbers_carry_a_valid_check_digit(serial: int, prefix: str) -> None:
    assert is_valid_waybill_no(make_waybill_no(prefix, serial))


@given(st.integers(0, 10**12 - 1), st.integers(0, 11), st.integers(1, 9))
def test_any_single_digit_typo_is_caught(serial: int, pos: int, delta: int) -> None:
    no = make_waybill_no("SF", serial)
    digits = list(no[2:])
    digits[pos] = str((int(digits[pos]) + delta) % 10)
    assert not is_valid_waybill_no("SF" + "".join(digits))


def test_waybill_shape_is_enforced() -> None:
    assert not is_valid_waybill_no("sf1234567890128")
    assert not is_valid_waybill_no("SF123")


def test_resident_id_check_character_follows_gb11643() -> None:
    # The standard's own worked example: 11010519491231002X.
    assert id_check_char("11010519491231002") == "X"
    assert is_valid_resident_id("11010519491231002X")
    assert is_valid_resident_id("11010519491231002x")
    assert not is_valid_resident_id("110105194912310021")


def test_mobile_numbers_normalise_and_reject_non_mobiles() -> None:
    assert normalize_mobile("+86 138-1234-5678") == "13812345678"
    assert normalize_mobile("8613812345678") == "13812345678"
    assert normalize_mobile("12812345678") is None  # 12x is not a mobile prefix
    assert normalize_mobile("010-12345678") is None
