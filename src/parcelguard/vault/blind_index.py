"""Blind indexes: find parcels by phone number without decrypting anything.

An index is HMAC-SHA256 under the enterprise's blind-index key (a key of its own, never
an encryption key) over a domain tag and a normalised value, truncated to 16 bytes.
Staff search by the full number or by its last four digits; the database compares
index bytes and only the matching rows are decrypted, through the access gate.

What the indexes leak, and to whom:

* Anyone who can read the index columns (a DBA, a stolen backup) learns equality:
  which parcels share a phone number, and how often a number recurs. Not the number.
* The last-4 index splits people into 10,000 buckets, so each value matches about
  1/10,000 of all numbers. On its own it says little; next to the full index it tells
  which different numbers end alike. The masked waybill label already prints the last
  four digits in clear, so it reveals nothing a parcel in hand does not.
* Phone numbers have little entropy (~10**10 mainland numbers). Whoever holds the
  blind-index key can invert every full index by enumeration in minutes, and every
  last-4 index instantly. The security of the indexes is the secrecy of that key: it
  is wrapped by the KMS like the encryption keys and must be handled like them.
* Truncation to 128 bits does not weaken a keyed index; accidental collisions among
  even 10**10 distinct values are ~2**-60 likely.

Distinct domain tags per kind of index mean a last-4 index never equals a full
index, even for a four-digit "number", and an index computed for one purpose never
matches another.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

from parcelguard.vault.cipher import KEY_BYTES, frame

INDEX_BYTES = 16
PHONE_FULL = "phone-full/v1"
PHONE_LAST4 = "phone-last4/v1"
_TAG = b"parcelguard/blind-index/v1\x00"

# The shortest Chinese local landline number has 7 digits; anything shorter sent to
# the full index is a partial number (usually a last-4 search in the wrong box).
MIN_FULL_DIGITS = 7
_MOBILE = re.compile(r"1[3-9][0-9]{9}")  # MIIT numbering plan, as in logistics
_PHONE = re.compile(r"\+?[0-9]+")
# Separators people type, after NFKC has turned full-width forms into ASCII.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212().]")


class BlindIndexKey:
    """An unwrapped blind-index key; lives only in memory.

    HMAC states with the domain tag already absorbed are kept per domain, so an index
    costs one copy, one update and one digest.
    """

    __slots__ = ("_key", "_states", "version")

    def __init__(self, key: bytes, version: int = 1) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"a blind-index key is {KEY_BYTES} bytes")
        self._key = key
        self._states: dict[str, hmac.HMAC] = {}
        self.version = version

    def __repr__(self) -> str:
        return f"BlindIndexKey(version={self.version})"

    def index(self, domain: str, normalised: str) -> bytes:
        """The truncated HMAC of an already-normalised value under a domain tag."""
        state = self._states.get(domain)
        if state is None:
            # The domain is length-prefixed, so (domain, value) pairs cannot run together.
            state = hmac.new(self._key, _TAG + frame(domain.encode()), hashlib.sha256)
            self._states[domain] = state
        mac = state.copy()
        mac.update(normalised.encode())
        return mac.digest()[:INDEX_BYTES]


def normalize_phone(value: str) -> str:
    """The digits of a phone number in one canonical form.

    Full-width digits and punctuation become ASCII (NFKC); spaces, dashes, dots and
    parentheses go; +86, 0086 and a bare 86 before an 11-digit mobile are removed;
    a landline written internationally (+86 10 ...) gets its domestic trunk 0 back
    (010 ...). Other country codes are kept as 00 + code. Errors never quote the value.
    """
    compact = _SEPARATORS.sub("", unicodedata.normalize("NFKC", value))
    if not _PHONE.fullmatch(compact):
        raise ValueError(
            "a phone number may hold only digits, one leading '+', spaces, dashes, "
            "dots and parentheses"
        )
    if compact.startswith("+"):
        compact = "00" + compact[1:]
    national: str | None = None
    if compact.startswith("0086"):
        national = compact[4:]
    elif len(compact) == 13 and compact.startswith("86") and _MOBILE.fullmatch(compact[2:]):
        national = compact[2:]
    if national is None:
        return compact
    if not _MOBILE.fullmatch(national) and not national.startswith("0"):
        national = "0" + national
    return national


def phone_full_index(key: BlindIndexKey, phone: str) -> bytes:
    """Index of the whole number: equal for the same number however it was written."""
    digits = normalize_phone(phone)
    if len(digits) < MIN_FULL_DIGITS:
        raise ValueError(
            "too few digits for a full phone number; search by the last four digits instead"
        )
    return key.index(PHONE_FULL, digits)


def phone_last4_index(key: BlindIndexKey, phone: str) -> bytes:
    """Index of the last four digits: shared by every number that ends the same way
    (about 1/10,000 of people - see the module docstring for what that leaks).

    Accepts a whole number or just the four digits a caller reads out.
    """
    digits = normalize_phone(phone)
    if len(digits) < 4:
        raise ValueError("a phone number needs at least four digits")
    return key.index(PHONE_LAST4, digits[-4:])


def blind_index(key: BlindIndexKey, *, domain: str, value: str) -> bytes:
    """Index of another value the caller has normalised itself (its own `domain`
    string, e.g. "id-last4/v1"); never reuse a domain for differently normalised data."""
    if domain in (PHONE_FULL, PHONE_LAST4):
        raise ValueError("use phone_full_index / phone_last4_index for phone numbers")
    return key.index(domain, value)
