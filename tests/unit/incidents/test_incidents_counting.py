"""Which Art. 5 category a record is in, from the fields its access exposed
(SPC/SPP 2017 interpretation; DOMAIN.md: waybill records are "other" records)."""

from __future__ import annotations

import pytest

from parcelguard.incidents import impact
from parcelguard.incidents.grading import DataCategory
from parcelguard.ledger.contract import PI_FIELDS


def test_every_contract_field_is_classed_and_is_an_other_record() -> None:
    """The contract's PI fields are waybill fields (names, phones, addresses, the
    sender's ID number): a record exposing any of them is an "other" record. A field
    the contract adds (a track would be location data) fails here until it is
    classed."""
    assert set(impact.FIELD_CATEGORY) == set(PI_FIELDS)
    assert {impact.category_of([f]) for f in PI_FIELDS} == {DataCategory.OTHER}
    assert impact.category_of(PI_FIELDS) is DataCategory.OTHER


def test_a_record_is_in_the_most_sensitive_category_of_its_fields(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """As a contract field of another category would class it (the threshold table
    in tests/e2e/test_criminal_counting.py re-classes fields the same way)."""
    monkeypatch.setitem(impact.FIELD_CATEGORY,  # type: ignore[arg-type]
                        "sender_id_number", DataCategory.ACCOMMODATION)
    assert impact.category_of(["recipient_phone", "sender_id_number"]) is \
        DataCategory.ACCOMMODATION
    monkeypatch.setitem(impact.FIELD_CATEGORY,  # type: ignore[arg-type]
                        "recipient_address", DataCategory.LOCATION)
    assert impact.category_of(["sender_id_number", "recipient_address"]) is \
        DataCategory.LOCATION
