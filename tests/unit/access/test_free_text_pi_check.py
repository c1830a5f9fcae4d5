"""Free text (justifications, reasons) may name records and dates, never people."""

import pytest

from parcelguard.access.policy import looks_like_pi
from parcelguard.core.ids import new_id


def test_our_own_record_ids_never_read_as_phone_numbers() -> None:
    # ids are random; some hold seven digits in a row, which once refused
    # system-written suspension reasons at random
    for _ in range(2000):
        assert not looks_like_pi(f"intervention {new_id('itv')}: incident {new_id('inc')}")


@pytest.mark.parametrize("text", ["drill held 2026-11-02", "filed at 2026-11-02T09:30:00",
                                  "waybill SF1234567890128 was reprinted 12 times"])
def test_dates_and_waybill_numbers_are_allowed(text: str) -> None:
    assert not looks_like_pi(text)


@pytest.mark.parametrize("text", ["call 13812345678", "138 1234 5678", "ID 11010519491231002X",
                                  "mail zhang@example.com", "一三八一二三四五六七八"])
def test_phones_ids_and_mails_are_refused(text: str) -> None:
    assert looks_like_pi(text)
