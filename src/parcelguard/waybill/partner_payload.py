"""The partner payload: a parcel's shared fields sealed to a partner's key.

HPKE (RFC 9180; base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM,
from ``cryptography``) to the partner's registered public key, so the link stays
encrypted end to end whatever carries it. The header (enterprise, partner, waybill,
share id, key id) is the HPKE ``info``: it is bound into the key schedule, so a
payload whose header was edited, or replayed under another waybill, does not open.

Pure crypto and formats, no database: whether a share is lawful, and the record of
it, is the access gate's (``access/waybills/sharing.py``). ``open_shared`` is the partner side.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from parcelguard.core.canonical import canonical_json
from parcelguard.core.errors import InvalidInput

SUITE: Final = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
SUITE_NAME: Final = "DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/AES-256-GCM"
_INFO_TAG: Final = b"parcelguard/share/v1\x00"
# What a partner may receive: what a label shows, in full. The sender's ID number is
# verified at pickup and never leaves the enterprise.
SHAREABLE_FIELDS: Final = ("sender_name", "sender_phone", "sender_address",
                           "recipient_name", "recipient_phone", "recipient_address")
LAST_MILE_FIELDS: Final = ("recipient_name", "recipient_phone", "recipient_address")
_HEADER_KEYS: Final = ("v", "suite", "share_id", "enterprise_id", "partner_id", "waybill_no",
                       "key_id", "sealed_at")


class ShareOpenError(InvalidInput):
    """A payload that cannot be opened: altered, or sealed to another key."""


# -- keys ---------------------------------------------------------------------------


def key_id(public_key: bytes) -> str:
    """A short, stable fingerprint of a raw X25519 public key."""
    return hashlib.sha256(b"parcelguard/partner-key/v1\x00" + public_key).hexdigest()[:16]


def parse_public_key(data: bytes) -> bytes:
    """A partner's X25519 public key as raw 32 bytes, from PEM, base64 or raw bytes."""
    text = data.strip()
    if text.startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text)
        except ValueError:
            raise InvalidInput("public key: not a readable PEM key") from None
        if not isinstance(key, X25519PublicKey):
            raise InvalidInput("public key: must be an X25519 key")
        return key.public_bytes_raw()
    if len(data) == 32:
        return data
    try:
        raw = base64.b64decode(text + b"=" * (-len(text) % 4), altchars=b"-_", validate=False)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise InvalidInput("public key: expected an X25519 key (PEM, base64 or 32 raw bytes)")
    return raw


def generate_keypair() -> tuple[X25519PrivateKey, bytes]:
    """A partner's key pair: the private key stays with the partner."""
    private = X25519PrivateKey.generate()
    return private, private.public_key().public_bytes_raw()


# -- sealing ------------------------------------------------------------------------


def _info(header: Mapping[str, Any]) -> bytes:
    return _INFO_TAG + canonical_json({k: header[k] for k in _HEADER_KEYS})


def seal_for_partner(values: Mapping[str, str], *, public_key: bytes,
                     header: Mapping[str, Any]) -> bytes:
    """The JSON payload: the header in clear, the fields HPKE-sealed under it."""
    full = {"v": 1, "suite": SUITE_NAME, "key_id": key_id(public_key), **header}
    sealed = SUITE.encrypt(msgspec.json.encode({"fields": dict(values)}),
                           X25519PublicKey.from_public_bytes(public_key), info=_info(full))
    return msgspec.json.encode({**{k: full[k] for k in _HEADER_KEYS},
                                "ct": base64.urlsafe_b64encode(sealed).decode()})


@dataclass(frozen=True, slots=True)
class OpenedShare:
    """What a partner reads from a payload; ``fields`` is hidden from repr."""

    header: dict[str, Any]
    fields: dict[str, str] = field(repr=False)


def open_shared(payload: bytes | str, private_key: X25519PrivateKey) -> OpenedShare:
    """Open a payload with the partner's private key. Raises ShareOpenError when it
    was sealed to another key, or its header or ciphertext was altered."""
    try:
        doc = msgspec.json.decode(payload)
        header = {k: doc[k] for k in _HEADER_KEYS}
        sealed = base64.urlsafe_b64decode(doc["ct"])
    except (msgspec.DecodeError, KeyError, TypeError, ValueError, binascii.Error):
        raise ShareOpenError("not a parcelguard share payload") from None
    if header["v"] != 1 or header["suite"] != SUITE_NAME:
        raise ShareOpenError("unsupported payload version or cipher suite")
    if header["key_id"] != key_id(private_key.public_key().public_bytes_raw()):
        raise ShareOpenError("payload is sealed to another partner's key")
    try:
        plain = SUITE.decrypt(sealed, private_key, info=_info(header))
    except (InvalidTag, ValueError):
        raise ShareOpenError("payload was altered or is not for this key") from None
    return OpenedShare(header=header, fields=msgspec.json.decode(plain)["fields"])
