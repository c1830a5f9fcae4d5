"""Field encryption: AES-256-GCM under a data subject's key, bound to where the value lives.

Ciphertext format, version 1 (33 bytes of overhead per field):

    0x01 | DEK version (u32, big-endian) | nonce (12 bytes) | ciphertext + tag (16 bytes)

The associated data binds the value to (enterprise, field, record), each length-prefixed
so no two different triples encode to the same bytes (naive concatenation would make
("e1", "23") and ("e12", "3") collide). A ciphertext copied to another record, field or
enterprise therefore fails to authenticate. The header (format and DEK version) ends
the associated data, so it cannot be altered either, and checking that a ciphertext is
under the key given costs nothing on the happy path: a mismatch fails the tag, and only
then is the header read to say which version it names.

    AD = "parcelguard/field/v1\0" | len|enterprise | len|field | len|record | header

Nonces are 96 random bits. Each DEK belongs to one data subject and encrypts a handful
of values, far below the 2**32 messages per key at which random nonces start to risk a
collision (NIST SP 800-38D, section 8.3).

The same module holds `seal`/`unseal`, the small sealed-box format used to wrap keys
(by the KMS and by KEKs), so every AES-GCM framing in the vault lives in one place.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from parcelguard.vault.errors import DecryptionError

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # the GCM nonce size that needs no extra GHASH pass
TAG_BYTES = 16
FORMAT_V1 = 1
HEADER_BYTES = 5  # format byte + u32 DEK version
_BODY_START = HEADER_BYTES + NONCE_BYTES
MIN_CIPHERTEXT_BYTES = _BODY_START + TAG_BYTES  # an empty string encrypts to 33 bytes

_FIELD_AD_TAG = b"parcelguard/field/v1\x00"
_SEAL_FORMAT = b"\x01"
_SEAL_AD_TAG = b"parcelguard/seal/v1\x00"

# One urandom call per this many fields: a syscall per value would dominate the hot
# path, one call for a million values would hold 12 MB of nonces at once.
_NONCE_CHUNK = 4096

PlainItem = tuple["DataKey", str, str, str]
"""`(dek, record_id, field, plaintext)`, an item for `encrypt_many`."""
CipherItem = tuple["DataKey", str, str, bytes]
"""`(dek, record_id, field, ciphertext)`, an item for `decrypt_many`."""


def u32(value: int) -> bytes:
    """A non-negative integer below 2**32 as 4 big-endian bytes (versions, lengths)."""
    if not 0 <= value < 2**32:
        raise ValueError("value does not fit in an unsigned 32-bit integer")
    return value.to_bytes(4, "big")


# Length prefixes of short ids: a table lookup beats int.to_bytes on the hot path.
_LEN4 = tuple(n.to_bytes(4, "big") for n in range(256))


def frame(*parts: bytes) -> bytes:
    """Length-prefix and join byte strings so the encoding is unambiguous."""
    return b"".join(u32(len(p)) + p for p in parts)


def _utf8(value: str, what: str) -> bytes:
    try:
        return value.encode()
    except UnicodeEncodeError:
        # The codec's own message quotes the offending character: never let it out.
        raise ValueError(f"{what} is not encodable as UTF-8 (lone surrogate)") from None


class DataKey:
    """An unwrapped data-encryption key, ready to use; lives only in memory.

    It keeps the `AESGCM` object rather than the key bytes: building the cipher object
    is the expensive part of a call, and nothing else here needs the raw bytes.
    """

    __slots__ = ("_aead", "header", "version")

    def __init__(self, key: bytes, version: int = 1) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"a data key is {KEY_BYTES} bytes")
        self._aead = AESGCM(key)
        self.version = version
        self.header = bytes((FORMAT_V1,)) + u32(version)

    def __repr__(self) -> str:
        return f"DataKey(version={self.version})"


def field_ad(enterprise_id: str, record_id: str, field: str, dek: DataKey) -> bytes:
    """The associated data binding a field ciphertext to its place and key version."""
    place = frame(
        _utf8(enterprise_id, "enterprise_id"), _utf8(field, "field"), _utf8(record_id, "record_id")
    )
    return _FIELD_AD_TAG + place + dek.header


def dek_version_of(ciphertext: bytes) -> int:
    """The DEK version a field ciphertext was made with (to pick the key during rotation)."""
    if len(ciphertext) < MIN_CIPHERTEXT_BYTES or ciphertext[0] != FORMAT_V1:
        raise DecryptionError("not a parcelguard field ciphertext (unknown format or truncated)")
    return int.from_bytes(ciphertext[1:HEADER_BYTES], "big")


def encrypt_field(
    dek: DataKey, plaintext: str, *, enterprise_id: str, record_id: str, field: str
) -> bytes:
    """Encrypt one field value; see the module docstring for the format."""
    nonce = os.urandom(NONCE_BYTES)
    ad = field_ad(enterprise_id, record_id, field, dek)
    body = dek._aead.encrypt(nonce, _utf8(plaintext, "plaintext"), ad)
    return dek.header + nonce + body


def decrypt_field(
    dek: DataKey, ciphertext: bytes, *, enterprise_id: str, record_id: str, field: str
) -> str:
    """Decrypt one field value, or raise `DecryptionError` if it is not exactly where it
    was encrypted, was altered, or belongs to another key."""
    return decrypt_many([(dek, record_id, field, ciphertext)], enterprise_id=enterprise_id)[0]


def _decrypt_error(ciphertext: bytes, dek: DataKey, where: str, index: int) -> DecryptionError:
    try:
        version = dek_version_of(ciphertext)
    except DecryptionError as exc:
        return DecryptionError(f"{where}: {exc}", index=index)
    if version != dek.version:
        return DecryptionError(
            f"{where}: ciphertext is under DEK version {version} but DEK version "
            f"{dek.version} was given",
            index=index,
        )
    return DecryptionError(
        f"{where} failed to decrypt: it was moved from another record, field or "
        "enterprise, altered, or encrypted under a different key",
        index=index,
    )


def _where(record_id: str, field: str, index: int) -> str:
    # Record ids and field names are pseudonymous identifiers, safe in messages.
    return f"field {field!r} of record {record_id!r} (batch item {index})"


def encrypt_many(items: Iterable[PlainItem], *, enterprise_id: str) -> list[bytes]:
    """Encrypt `(dek, record_id, field, plaintext)` items of one enterprise, in order.

    The hot path for bulk collection: AD prefixes are built once per field name,
    nonces come from one urandom call per chunk, and no object is made per item beyond
    the bytes it must produce.
    """
    seq = items if isinstance(items, Sequence) else list(items)
    ent = _FIELD_AD_TAG + frame(_utf8(enterprise_id, "enterprise_id"))
    prefixes: dict[str, bytes] = {}
    lens = _LEN4
    out: list[bytes] = []
    append = out.append
    try:
        for start in range(0, len(seq), _NONCE_CHUNK):
            chunk = seq[start : start + _NONCE_CHUNK]
            nonces = os.urandom(NONCE_BYTES * len(chunk))
            offset = 0
            for dek, record_id, field, plaintext in chunk:
                prefix = prefixes.get(field)
                if prefix is None:
                    prefix = prefixes[field] = ent + frame(field.encode())
                rid = record_id.encode()
                n = len(rid)
                header = dek.header
                nonce = nonces[offset : offset + NONCE_BYTES]
                offset += NONCE_BYTES
                body = dek._aead.encrypt(
                    nonce,
                    plaintext.encode(),
                    prefix + (lens[n] if n < 256 else u32(n)) + rid + header,
                )
                append(header + nonce + body)
    except UnicodeEncodeError:
        raise ValueError(
            f"batch item {len(out)}: a text value is not encodable as UTF-8 (lone surrogate)"
        ) from None
    return out


def decrypt_many(items: Iterable[CipherItem], *, enterprise_id: str) -> list[str]:
    """Decrypt `(dek, record_id, field, ciphertext)` items of one enterprise, in order.

    Raises `DecryptionError` (with `.index` set) at the first item that does not
    authenticate; the message names the record and field, never the value.
    """
    seq = items if isinstance(items, Sequence) else list(items)
    ent = _FIELD_AD_TAG + frame(_utf8(enterprise_id, "enterprise_id"))
    prefixes: dict[str, bytes] = {}
    lens = _LEN4
    out: list[str] = []
    append = out.append
    # Bound before the loop so the error path can name the item that failed.
    dek: DataKey | None = None
    record_id = field = ""
    ciphertext = b""
    try:
        for dek, record_id, field, ciphertext in seq:
            prefix = prefixes.get(field)
            if prefix is None:
                prefix = prefixes[field] = ent + frame(field.encode())
            rid = record_id.encode()
            n = len(rid)
            # The header read from the ciphertext, not the key's: if either differs from
            # what was encrypted (wrong key version, altered header) the tag fails.
            plain = dek._aead.decrypt(
                ciphertext[HEADER_BYTES:_BODY_START],
                ciphertext[_BODY_START:],
                prefix + (lens[n] if n < 256 else u32(n)) + rid + ciphertext[:HEADER_BYTES],
            )
            append(plain.decode())
    except UnicodeEncodeError:
        where = _where(record_id, field, len(out))  # ids are pseudonymous, safe to name
        raise ValueError(f"{where}: an id is not encodable as UTF-8") from None
    except (InvalidTag, UnicodeDecodeError):
        # Moved, altered, another key or key version. (Bytes that are not UTF-8 could
        # only follow a forged tag; the codec's message quotes them, so it is dropped.)
        assert dek is not None
        where = _where(record_id, field, len(out))
        raise _decrypt_error(ciphertext, dek, where, len(out)) from None
    except ValueError:
        # The library rejects a truncated ciphertext's short nonce; anything else is a
        # malformed item (not a 4-tuple) and keeps its own message.
        if dek is None or len(ciphertext) >= MIN_CIPHERTEXT_BYTES:
            raise
        where = _where(record_id, field, len(out))
        raise _decrypt_error(ciphertext, dek, where, len(out)) from None
    return out


def reencrypt_many(
    old: DataKey,
    new: DataKey,
    items: Iterable[tuple[str, str, bytes]],
    *,
    enterprise_id: str,
) -> list[bytes]:
    """Re-encrypt `(record_id, field, ciphertext)` items from one DEK to another.

    Used by DEK rotation: the subject's fields are decrypted with the old key and
    encrypted under the new one in the same order, so the caller can write them back
    in one transaction and then delete the old wrapped DEK.
    """
    seq = list(items)
    plain = decrypt_many([(old, r, f, c) for r, f, c in seq], enterprise_id=enterprise_id)
    return encrypt_many(
        [(new, r, f, p) for (r, f, _), p in zip(seq, plain, strict=True)],
        enterprise_id=enterprise_id,
    )


def seal(aead: AESGCM, plaintext: bytes, ad: bytes) -> bytes:
    """Wrap key bytes: `0x01 | nonce | ciphertext + tag`, with `ad` authenticated."""
    nonce = os.urandom(NONCE_BYTES)
    return _SEAL_FORMAT + nonce + aead.encrypt(nonce, plaintext, _SEAL_AD_TAG + ad)


def unseal(aead: AESGCM, sealed: bytes, ad: bytes, *, what: str) -> bytes:
    """Unwrap what `seal` made with the same `ad`, or raise `DecryptionError` naming `what`."""
    if len(sealed) < 1 + NONCE_BYTES + TAG_BYTES or sealed[:1] != _SEAL_FORMAT:
        raise DecryptionError(f"{what}: not a parcelguard wrapped key (unknown format)")
    try:
        return aead.decrypt(
            sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :], _SEAL_AD_TAG + ad
        )
    except InvalidTag:
        raise DecryptionError(
            f"{what} failed to unwrap: wrong wrapping key, wrong context "
            "(enterprise, subject or version), or altered"
        ) from None
