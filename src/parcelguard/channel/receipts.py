"""Receipt codes and secrets: how a reporter without an account follows a report.

The receipt code names the report (60 random bits, shown and typed by people); the
secret proves the holder filed it (144 random bits). Only an Argon2id hash of the
secret is stored. Argon2id is not needed for entropy this high, but it makes a
stolen table useless even for weakly chosen future formats, and argon2-cffi already
compares in constant time. Unknown receipt codes are checked against a dummy hash so
a wrong code and a wrong secret cost the same and look the same.
"""

from __future__ import annotations

import re
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
_GROUPS, _GROUP_LEN = 3, 4  # 12 symbols = 60 bits
RECEIPT_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")
SECRET_BYTES = 18  # 144 bits, 24 URL-safe characters

# Light parameters on purpose (8 MiB, one pass): the secret is 144 random bits, so no
# amount of stretching changes what an offline guess costs (2**143 tries on average);
# what matters is that a stolen table holds no secret, and that filing and following
# a report stays cheap under load. Human-chosen passwords use the heavy defaults
# (identity/passwords.py).
_hasher = PasswordHasher(time_cost=1, memory_cost=8_192, parallelism=1)


def new_receipt_code() -> str:
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(_GROUPS * _GROUP_LEN))
    return "-".join(chars[i:i + _GROUP_LEN] for i in range(0, len(chars), _GROUP_LEN))


def normalise_receipt(code: str) -> str | None:
    """People type codes loosely: case, spaces and the letters Crockford maps to
    digits (O->0, I/L->1) are forgiven. None if it cannot be a receipt code."""
    compact = re.sub(r"[\s-]", "", code.upper()).translate(str.maketrans("OIL", "011"))
    if len(compact) != _GROUPS * _GROUP_LEN:
        return None
    formatted = "-".join(compact[i:i + _GROUP_LEN] for i in range(0, len(compact), _GROUP_LEN))
    return formatted if RECEIPT_RE.match(formatted) else None


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(SECRET_BYTES))


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    """True only for the right secret. With no stored hash (unknown receipt) the same
    Argon2 work is done against a dummy, so timing does not tell the two apart."""
    try:
        ok = _hasher.verify(stored_hash or _dummy_hash(), secret)
    except (VerificationError, InvalidHashError):
        return False
    return ok and stored_hash is not None
