"""Attachment checks: size, count and type by magic bytes. Pure, no I/O.

The declared type is never trusted: the bytes decide, and the declared type must
agree with them, so a script renamed to ``photo.png`` is refused. Text must be
UTF-8 without control characters (an HTML or script file is still text, which is
why attachments are only ever served as downloads, never rendered).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from parcelguard.core.errors import InvalidInput

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"%PDF-", "application/pdf"),
)
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "application/pdf": "pdf",
              "text/plain": "txt"}
_ALLOWED_CONTROL = frozenset("\t\n\r")


@dataclass(frozen=True)
class CheckedAttachment:
    content_type: str
    data: bytes
    sha256: str

    def __repr__(self) -> str:
        return f"CheckedAttachment({self.content_type}, {len(self.data)} bytes)"


def sniff(data: bytes) -> str | None:
    """The type the bytes are, or None if they are none of the known ones."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ord(ch) < 0x20 and ch not in _ALLOWED_CONTROL for ch in text) or "\x7f" in text:
        return None
    return "text/plain"


def decode_b64(value: str, *, limit: int) -> bytes:
    """Base64 to bytes, refusing oversize input before decoding all of it."""
    if len(value) > (limit + 2) // 3 * 4 + 4:
        raise InvalidInput(f"attachment is larger than {limit} bytes")
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise InvalidInput("attachment data is not valid base64") from None


def check(declared: str, data: bytes, *, allowed: Sequence[str],
          max_bytes: int) -> CheckedAttachment:
    """The attachment if it is within the limits and is what it claims to be."""
    if not data:
        raise InvalidInput("attachment is empty")
    if len(data) > max_bytes:
        raise InvalidInput(f"attachment is larger than {max_bytes} bytes")
    declared = declared.split(";", 1)[0].strip().lower()
    if declared == "image/jpg":
        declared = "image/jpeg"
    if declared not in allowed:
        raise InvalidInput(f"attachment type must be one of {', '.join(allowed)}")
    actual = sniff(data)
    if actual != declared:
        raise InvalidInput("attachment content does not match its declared type")
    return CheckedAttachment(actual, data, hashlib.sha256(data).hexdigest())


def check_count(existing: int, adding: int, *, max_count: int) -> None:
    if existing + adding > max_count:
        raise InvalidInput(f"at most {max_count} attachments per report")
