"""Witness cosignatures: C2SP tlog-cosignature ``cosignature/v1`` over Ed25519.

A cosignature is a signed-note signature line added to a checkpoint by a witness::

    — <witness name> base64(key ID || u64 timestamp || Ed25519 signature)

The key ID is SHA-256(name || "\\n" || 0x04 || public key)[:4] (0x04 is the
cosignature/v1 algorithm byte, so a log key and a witness key never share IDs), and the
signed message is two lines followed by the whole checkpoint body::

    cosignature/v1
    time <POSIX seconds>
    <origin>
    <size>
    <base64 root>

Keys travel as signed-note key strings like the log's own (checkpoint.py), with the
algorithm byte 0x04: a verifier key ``<name>+<8 hex key ID>+<base64(0x04 || key)>`` and a
signer key ``PRIVATE+KEY+<name>+<8 hex key ID>+<base64(0x04 || seed)>``.

Pure: no storage, no HTTP. The witness (supervision/tlog_witness.py) signs with it, the
enterprise (ledger/witnessing.py) checks what witnesses send back.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from parcelguard.ledger.checkpoint import SIG_PREFIX, MalformedError

ALG_COSIGNATURE_V1 = 4
HEADER = "cosignature/v1"
# tlog-cosignature: the timestamp MUST NOT exceed 2^63 - 1.
MAX_TIMESTAMP = 2**63 - 1

_HEX8 = re.compile(r"[0-9a-f]{8}")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None


def _valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(
        ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name)


def key_id(name: str, public_key: bytes) -> int:
    """The tlog-cosignature Ed25519 key ID of ``name`` and a raw 32-byte public key."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ALG_COSIGNATURE_V1])
                            + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def signed_message(body: str, timestamp: int) -> bytes:
    """What a cosignature/v1 signs: header, time line, then the checkpoint body."""
    if not body.endswith("\n"):
        raise MalformedError("checkpoint body must end with a newline")
    return f"{HEADER}\ntime {timestamp}\n{body}".encode()


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class CosignerVerifier:
    """A witness's public key, as a client of the witness is configured with it."""

    name: str
    key_id: int
    public_key: Ed25519PublicKey

    @classmethod
    def from_key(cls, vkey: str) -> CosignerVerifier:
        """Parse ``<name>+<key ID hex>+<base64(0x04 || public key)>``."""
        name, _, rest = vkey.partition("+")
        hex8, _, key64 = rest.partition("+")
        key = _unb64(key64)
        if not (_valid_name(name) and _HEX8.fullmatch(hex8) and key and len(key) == 33
                and key[0] == ALG_COSIGNATURE_V1):
            raise MalformedError("malformed cosigner verifier key")
        if int(hex8, 16) != key_id(name, key[1:]):
            raise MalformedError("cosigner key ID does not match the key")
        return cls(name, int(hex8, 16), Ed25519PublicKey.from_public_bytes(key[1:]))

    def key_string(self) -> str:
        raw = bytes([ALG_COSIGNATURE_V1]) + _raw(self.public_key)
        return f"{self.name}+{self.key_id:08x}+{_b64(raw)}"

    def verify_line(self, body: str, line: str) -> int | None:
        """The timestamp of ``line`` if it is this witness's valid cosignature on the
        checkpoint ``body``; None if the line is by another key or does not verify."""
        parsed = parse_line(line)
        if parsed is None:
            return None
        name, kid, timestamp, signature = parsed
        if (name, kid) != (self.name, self.key_id):
            return None
        try:
            self.public_key.verify(signature, signed_message(body, timestamp))
        except InvalidSignature:
            return None
        return timestamp


def parse_line(line: str) -> tuple[str, int, int, bytes] | None:
    """(name, key ID, timestamp, signature) of a cosignature/v1 line; None if the line
    is not shaped like one (another signature type, or garbage)."""
    line = line.rstrip("\n")
    if not line.startswith(SIG_PREFIX):
        return None
    name, _, b64 = line[len(SIG_PREFIX):].partition(" ")
    blob = _unb64(b64)
    if not _valid_name(name) or blob is None or len(blob) != 4 + 8 + 64:
        return None
    timestamp = int.from_bytes(blob[4:12], "big")
    if timestamp > MAX_TIMESTAMP:
        return None
    return name, int.from_bytes(blob[:4], "big"), timestamp, blob[12:]


@dataclass(frozen=True, repr=False)
class Cosigner:
    """A witness's private key. ``repr`` never shows it."""

    name: str
    private_key: Ed25519PrivateKey

    def __repr__(self) -> str:
        return f"Cosigner(name={self.name!r})"

    @classmethod
    def generate(cls, name: str) -> Cosigner:
        if not _valid_name(name):
            raise MalformedError(f"invalid cosigner name {name!r}")
        return cls(name, Ed25519PrivateKey.from_private_bytes(secrets.token_bytes(32)))

    @classmethod
    def from_key(cls, skey: str) -> Cosigner:
        """Parse ``PRIVATE+KEY+<name>+<key ID hex>+<base64(0x04 || seed)>``."""
        parts = skey.split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise MalformedError("malformed cosigner signer key")
        name, hex8, key64 = parts[2:]
        key = _unb64(key64)
        if not (_valid_name(name) and _HEX8.fullmatch(hex8) and key and len(key) == 33
                and key[0] == ALG_COSIGNATURE_V1):
            raise MalformedError("malformed cosigner signer key")
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(key[1:]))
        if signer.verifier().key_id != int(hex8, 16):
            raise MalformedError("cosigner key ID does not match the key")
        return signer

    def key_string(self) -> str:
        """The signer key string (secret: store it like any private key)."""
        seed = self.private_key.private_bytes_raw()
        return (f"PRIVATE+KEY+{self.name}+{self.verifier().key_id:08x}+"
                f"{_b64(bytes([ALG_COSIGNATURE_V1]) + seed)}")

    def verifier(self) -> CosignerVerifier:
        public = self.private_key.public_key()
        return CosignerVerifier(self.name, key_id(self.name, _raw(public)), public)

    def cosign(self, body: str, timestamp: int) -> str:
        """The cosignature line (with its newline) on checkpoint ``body`` at ``timestamp``."""
        if not 0 <= timestamp <= MAX_TIMESTAMP:
            raise ValueError(f"timestamp {timestamp} out of range")
        signature = self.private_key.sign(signed_message(body, timestamp))
        blob = self.verifier().key_id.to_bytes(4, "big") + timestamp.to_bytes(8, "big") + signature
        return f"{SIG_PREFIX}{self.name} {_b64(blob)}\n"
