"""The partner payload: HPKE round trips, key formats, refusals (no database)."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st

from parcelguard.core.errors import InvalidInput
from parcelguard.waybill import partner_payload

HEADER = {"share_id": "shr_1", "enterprise_id": "ent-a", "partner_id": "partner-b",
          "waybill_no": "SF0000000000018", "sealed_at": "2026-11-11T09:00:00+00:00"}
PRIVATE, PUBLIC = partner_payload.generate_keypair()


@settings(max_examples=25, deadline=None)
@given(st.dictionaries(st.sampled_from(partner_payload.SHAREABLE_FIELDS), st.text(max_size=60),
                       min_size=1))
def test_what_is_sealed_opens_unchanged(values: dict[str, str]) -> None:
    payload = partner_payload.seal_for_partner(values, public_key=PUBLIC, header=HEADER)
    opened = partner_payload.open_shared(payload, PRIVATE)
    assert opened.fields == values
    assert {k: opened.header[k] for k in HEADER} == HEADER


def test_public_keys_are_read_from_pem_base64_or_raw_bytes() -> None:
    pem = PRIVATE.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    assert partner_payload.parse_public_key(pem) == PUBLIC
    assert partner_payload.parse_public_key(base64.b64encode(PUBLIC)) == PUBLIC
    assert partner_payload.parse_public_key(base64.urlsafe_b64encode(PUBLIC).rstrip(b"=")) == PUBLIC
    assert partner_payload.parse_public_key(PUBLIC) == PUBLIC
    for bad in (b"", b"abc", base64.b64encode(b"x" * 31), b"-----BEGIN PUBLIC KEY-----\nx"):
        with pytest.raises(InvalidInput, match="public key"):
            partner_payload.parse_public_key(bad)


def test_another_key_cannot_open_and_the_error_names_no_value() -> None:
    payload = partner_payload.seal_for_partner({"recipient_phone": "13812345678"},
                                               public_key=PUBLIC, header=HEADER)
    with pytest.raises(partner_payload.ShareOpenError) as err:
        partner_payload.open_shared(payload, partner_payload.generate_keypair()[0])
    assert "13812345678" not in str(err.value)
    assert b"13812345678" not in payload
