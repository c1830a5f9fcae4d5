"""Identifier rules: waybill numbers, mainland mobile numbers, resident ID numbers.

Pure functions, no I/O. They validate at the edges (intake, ingest, the CLI) so the
rest of the code can trust the values it holds.
"""

from __future__ import annotations

import re
from datetime import date

from stdnum.cn import ric
from stdnum.exceptions import ValidationError

# Waybill numbers: an enterprise prefix of 2-4 capital letters, 12 digits of serial
# and one Luhn check digit over those 12 digits. The check digit catches every
# single-digit typo and most transpositions a courier makes when keying a number in.
WAYBILL_RE = re.compile(r"^([A-Z]{2,4})(\d{12})(\d)$")

# Mainland mobile numbers: 11 digits, 13x-19x (MIIT numbering plan), optional +86.
MOBILE_RE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")

# GB 11643-1999 resident identity number: weights and check characters.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")


def luhn_digit(digits: str) -> str:
    """The Luhn check digit for a string of decimal digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:  # positions doubled counting from the right, check digit excluded
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def make_waybill_no(prefix: str, serial: int) -> str:
    """Build a waybill number from an enterprise prefix and a serial below 10**12."""
    if not re.fullmatch(r"[A-Z]{2,4}", prefix):
        raise ValueError("waybill prefix must be 2-4 capital letters")
    if not 0 <= serial < 10**12:
        raise ValueError("waybill serial must be between 0 and 10**12 - 1")
    body = f"{serial:012d}"
    return f"{prefix}{body}{luhn_digit(body)}"


def is_valid_waybill_no(value: str) -> bool:
    """True when the value has the waybill shape and its check digit matches."""
    m = WAYBILL_RE.match(value)
    return bool(m) and luhn_digit(m.group(2)) == m.group(3)  # type: ignore[union-attr]


def normalize_mobile(value: str) -> str | None:
    """The 11-digit mobile number in a value with optional +86, spaces or dashes."""
    compact = re.sub(r"[\s\-()]", "", value)
    m = MOBILE_RE.match(compact)
    return m.group(1) if m else None


def id_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits of an ID number."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def is_valid_resident_id(value: str) -> bool:
    """True when the value is an 18-character ID number with a matching check char."""
    v = value.upper()
    return bool(_ID_RE.match(v)) and id_check_char(v[:17]) == v[17]


# PIPL Art. 31: the PI of a minor under 14 is sensitive PI; processing it needs the
# consent of a parent or other guardian.
CHILD_AGE = 14


def age_on(id_number: str, on: date) -> int:
    """Full years of age on ``on`` of the holder of a (valid) resident ID number, from
    its birth-date digits (GB 11643: positions 7-14). The caller keeps the number
    sealed; only the age, or whether it is under ``CHILD_AGE``, leaves here."""
    try:
        born = ric.get_birth_date(id_number)
    except ValidationError:
        raise ValueError("the ID number's birth date is not a date") from None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def is_child(id_number: str, on: date) -> bool:
    """True when the holder is under 14 on that day (PIPL Art. 31)."""
    return age_on(id_number, on) < CHILD_AGE
