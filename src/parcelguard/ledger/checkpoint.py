"""Signed checkpoints: C2SP tlog-checkpoint bodies in C2SP signed notes, Ed25519.

A checkpoint commits a log to its size and root hash::

    <origin>
    <size>
    <base64 root>

    — <key name> <base64(4-byte key hash || 64-byte Ed25519 signature)>

The formats are those of https://c2sp.org/tlog-checkpoint and https://c2sp.org/signed-note,
byte for byte as golang.org/x/mod/sumdb/note produces and checks them, so any standard
verifier or witness (``note.Open`` with ``note.NewVerifier(vkey)``) accepts our
checkpoints, and the regulator's witness can cosign them by adding its own line.

Keys travel as the note package's strings: a verifier key
``<name>+<8 hex key hash>+<base64(0x01 || public key)>`` and a signer key
``PRIVATE+KEY+<name>+<8 hex key hash>+<base64(0x01 || seed)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ALG_ED25519 = 1  # the note package's algorithm byte for Ed25519
SIG_PREFIX = "\u2014 "  # em dash and space open every signature line
ROOT_SIZE = 32

# golang.org/x/mod/sumdb/note refuses notes with more signatures than this, so that
# parsing a hostile note cannot take forever; we refuse them too.
MAX_SIGNATURES = 100

_HEX8 = re.compile(r"[0-9a-fA-F]{8}")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_MAX_SIZE = 2**64 - 1  # sizes are uint64 in every tlog implementation


class CheckpointError(ValueError):
    """A key, note or checkpoint was rejected."""


class MalformedError(CheckpointError):
    """The text is not a well-formed key, signed note or checkpoint."""


class InvalidSignatureError(CheckpointError):
    """A signature by a known key does not verify."""


class UnknownKeyError(CheckpointError):
    """No signature in the note is by a key we were asked to trust."""


class OriginMismatchError(CheckpointError):
    """The checkpoint is for another log."""


def _is_valid_name(name: str) -> bool:
    # The note package's rule: non-empty UTF-8 with no Unicode space and no '+'.
    # Control characters are refused too (the note format forbids them anywhere).
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return False
    return (
        name != ""
        and "+" not in name
        and not any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name)
    )


def _b64decode(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def key_hash(name: str, encoded_key: bytes) -> int:
    """The note key hash: first 4 bytes (big-endian) of SHA-256(name || "\\n" || key).

    ``encoded_key`` is the algorithm byte followed by the public key.
    """
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + encoded_key).digest()
    return int.from_bytes(digest[:4], "big")


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class NoteVerifier:
    """A public key that checks signatures on notes."""

    name: str
    key_hash: int
    public_key: Ed25519PublicKey

    @classmethod
    def from_key(cls, vkey: str) -> NoteVerifier:
        """Parse a verifier key string ``<name>+<hash>+<base64 key>``."""
        name, _, rest = vkey.partition("+")
        hash16, _, key64 = rest.partition("+")
        key = _b64decode(key64)
        if not (_is_valid_name(name) and _HEX8.fullmatch(hash16) and key):
            raise MalformedError("malformed verifier key")
        if int(hash16, 16) != key_hash(name, key):
            raise MalformedError("verifier key hash does not match the key")
        if key[0] != ALG_ED25519:
            raise MalformedError(f"unknown verifier key algorithm {key[0]}")
        if len(key) != 1 + 32:
            raise MalformedError("malformed verifier key")
        return cls(name, int(hash16, 16), Ed25519PublicKey.from_public_bytes(key[1:]))

    @classmethod
    def from_public_key(cls, name: str, public_key: Ed25519PublicKey) -> NoteVerifier:
        if not _is_valid_name(name):
            raise MalformedError(f"invalid key name {name!r}")
        encoded = bytes([ALG_ED25519]) + _raw_public(public_key)
        return cls(name, key_hash(name, encoded), public_key)

    def key_string(self) -> str:
        """The verifier key string to publish (the regulator configures this)."""
        encoded = bytes([ALG_ED25519]) + _raw_public(self.public_key)
        return f"{self.name}+{self.key_hash:08x}+{_b64(encoded)}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            self.public_key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True, repr=False)
class NoteSigner:
    """A private key that signs notes. ``repr`` never shows the key."""

    name: str
    key_hash: int
    private_key: Ed25519PrivateKey

    def __repr__(self) -> str:
        return f"NoteSigner(name={self.name!r}, key_hash={self.key_hash:08x})"

    @classmethod
    def from_key(cls, skey: str) -> NoteSigner:
        """Parse a signer key string ``PRIVATE+KEY+<name>+<hash>+<base64 seed>``."""
        parts = skey.split("+", 4)
        if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
            raise MalformedError("malformed signer key")
        _, _, name, hash16, key64 = parts
        key = _b64decode(key64)
        if not (_is_valid_name(name) and _HEX8.fullmatch(hash16) and key):
            raise MalformedError("malformed signer key")
        if key[0] != ALG_ED25519:
            raise MalformedError(f"unknown signer key algorithm {key[0]}")
        if len(key) != 1 + 32:
            raise MalformedError("malformed signer key")
        private = Ed25519PrivateKey.from_private_bytes(key[1:])
        # The hash names the public key, so it can only be checked after deriving it.
        public = bytes([ALG_ED25519]) + _raw_public(private.public_key())
        if int(hash16, 16) != key_hash(name, public):
            raise MalformedError("signer key hash does not match the key")
        return cls(name, int(hash16, 16), private)

    def key_string(self) -> str:
        """The signer key string (secret: store it like any private key)."""
        seed = self.private_key.private_bytes_raw()
        return f"PRIVATE+KEY+{self.name}+{self.key_hash:08x}+{_b64(bytes([ALG_ED25519]) + seed)}"

    def verifier(self) -> NoteVerifier:
        return NoteVerifier.from_public_key(self.name, self.private_key.public_key())

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)


def generate_key(name: str) -> tuple[str, str]:
    """A new Ed25519 key pair for ``name``: (signer key, verifier key) strings."""
    if not _is_valid_name(name):
        raise MalformedError(f"invalid key name {name!r}")
    private = Ed25519PrivateKey.from_private_bytes(secrets.token_bytes(32))
    signer = NoteSigner(
        name,
        key_hash(name, bytes([ALG_ED25519]) + _raw_public(private.public_key())),
        private,
    )
    return signer.key_string(), signer.verifier().key_string()


# --- signed notes -----------------------------------------------------------------------


class Signature(NamedTuple):
    name: str
    key_hash: int
    base64: str


@dataclass(frozen=True)
class Note:
    """An opened note: its text and the signatures found on it."""

    text: str
    signatures: tuple[Signature, ...]  # verified by a trusted key
    unverified: tuple[Signature, ...]  # by keys we were not asked to trust (e.g. witnesses)


def sign_note(text: str, *signers: NoteSigner) -> str:
    """Sign ``text`` (which must end in a newline) and return the signed note."""
    if not text.endswith("\n"):
        raise MalformedError("note text must end with a newline")
    if not signers:
        raise ValueError("sign_note needs at least one signer")
    message = text.encode("utf-8")
    lines = []
    for signer in signers:
        if not _is_valid_name(signer.name):
            raise MalformedError(f"invalid key name {signer.name!r}")
        blob = signer.key_hash.to_bytes(4, "big") + signer.sign(message)
        lines.append(f"{SIG_PREFIX}{signer.name} {_b64(blob)}\n")
    return text + "\n" + "".join(lines)


def _note_text(note: str | bytes) -> str:
    """The note as text, refused unless it is UTF-8 without control characters but \\n."""
    try:
        msg = note.encode("utf-8").decode("utf-8") if isinstance(note, str) else note.decode()
    except UnicodeError:  # invalid bytes, or lone surrogates in a str
        raise MalformedError("malformed note: not UTF-8") from None
    if any(ch < " " and ch != "\n" for ch in msg):
        raise MalformedError("malformed note: control character")
    return msg


def _signature_line(line: str) -> tuple[Signature, bytes]:
    """Parse ``— <name> <base64(key hash || signature)>`` into the signature and its bytes."""
    if not line.startswith(SIG_PREFIX):
        raise MalformedError("malformed note: bad signature line")
    name, _, b64 = line[len(SIG_PREFIX) :].partition(" ")
    blob = _b64decode(b64)
    if not _is_valid_name(name) or not b64 or blob is None or len(blob) < 5:
        raise MalformedError("malformed note: bad signature line")
    return Signature(name, int.from_bytes(blob[:4], "big"), b64), blob[4:]


def open_note(note: str | bytes, verifiers: Sequence[NoteVerifier]) -> Note:
    """Parse a signed note and check its signatures, as ``note.Open`` does.

    Signatures by keys not in ``verifiers`` are kept as unverified; a signature by a
    trusted key that fails is an InvalidSignatureError; a note with no signature by a
    trusted key is an UnknownKeyError.
    """
    msg = _note_text(note)
    split = msg.rfind("\n\n")
    if split < 0:
        raise MalformedError("malformed note: no signature block")
    text, block = msg[: split + 1], msg[split + 2 :]
    if not block.endswith("\n"):
        raise MalformedError("malformed note: signature block must end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedError("malformed note: too many signatures")

    known = {(v.name, v.key_hash): v for v in verifiers}
    message = text.encode("utf-8")
    verified: list[Signature] = []
    unverified: list[Signature] = []
    for line in lines:
        found, signature = _signature_line(line)
        verifier = known.get((found.name, found.key_hash))
        if verifier is None:
            if found not in unverified:
                unverified.append(found)
        elif all((s.name, s.key_hash) != (found.name, found.key_hash) for s in verified):
            # (a repeated signature by one key is ignored, as the note package does)
            if not verifier.verify(message, signature):
                raise InvalidSignatureError(
                    f"invalid signature for key {found.name}+{found.key_hash:08x}"
                )
            verified.append(found)
    if not verified:
        raise UnknownKeyError("note has no signature by a trusted key")
    return Note(text, tuple(verified), tuple(unverified))


# --- checkpoints ------------------------------------------------------------------------


class Checkpoint(NamedTuple):
    """A log's signed statement of its size and root hash."""

    origin: str
    size: int
    root: bytes


def format_checkpoint(origin: str, size: int, root: bytes) -> str:
    """The C2SP tlog-checkpoint note text (the part that gets signed)."""
    if not origin or "\n" in origin or any(ch < " " for ch in origin):
        raise MalformedError(f"invalid checkpoint origin {origin!r}")
    if not 0 <= size <= _MAX_SIZE:
        raise MalformedError(f"checkpoint size {size} out of range")
    if len(root) != ROOT_SIZE:
        raise MalformedError(f"checkpoint root must be {ROOT_SIZE} bytes")
    return f"{origin}\n{size}\n{_b64(root)}\n"


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint note text. Extension lines after the root are allowed and dropped."""
    if not text.endswith("\n"):
        raise MalformedError("malformed checkpoint: must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or any(not line for line in lines):
        raise MalformedError("malformed checkpoint: needs origin, size and root lines")
    origin, size_text, root_text = lines[:3]
    if not _DECIMAL.fullmatch(size_text) or int(size_text) > _MAX_SIZE:
        raise MalformedError("malformed checkpoint: size")
    root = _b64decode(root_text)
    if root is None or len(root) != ROOT_SIZE or _b64(root) != root_text:
        raise MalformedError("malformed checkpoint: root hash")
    return Checkpoint(origin, int(size_text), root)


def sign_checkpoint(signer: NoteSigner, origin: str, size: int, root: bytes) -> str:
    """A signed checkpoint note for the log ``origin`` at ``size`` with ``root``."""
    return sign_note(format_checkpoint(origin, size, root), signer)


def open_checkpoint(
    note: str | bytes,
    verifier: NoteVerifier | str,
    *,
    origin: str | None = None,
) -> Checkpoint:
    """Verify a signed checkpoint against one trusted key and return what it states.

    ``origin`` defaults to the key's name: a log signs its checkpoints with a key named
    after its origin, so a note for another log fails even if it is validly signed.
    Signatures by other keys (witness cosignatures) are allowed and not checked here.
    """
    if isinstance(verifier, str):
        verifier = NoteVerifier.from_key(verifier)
    checkpoint = parse_checkpoint(open_note(note, [verifier]).text)
    expected = verifier.name if origin is None else origin
    if checkpoint.origin != expected:
        raise OriginMismatchError(
            f"checkpoint is for origin {checkpoint.origin!r}, expected {expected!r}"
        )
    return checkpoint
