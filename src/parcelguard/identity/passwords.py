"""Argon2id password hashing (RFC 9106 parameters via argon2-cffi defaults)."""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4: RFC 9106 second recommendation


def hash_password(password: str) -> str:
    if len(password) < 12:
        raise ValueError("passwords need at least 12 characters")
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def verify_nothing(password: str) -> None:
    """Spend the time of a real verification on a username that has no account, so
    the answer's timing does not tell which usernames exist."""
    verify_password(_dummy_hash(), password)


def upgraded_hash(stored_hash: str, password: str) -> str | None:
    """A new hash of a just-verified password when the stored one was made with older
    parameters (or another variant); None when it is current. Log-in is the only time
    the plaintext is at hand, so this is where hashes follow the parameters."""
    return _hasher.hash(password) if _hasher.check_needs_rehash(stored_hash) else None


def generate_password() -> str:
    """A 20-character URL-safe password (~120 bits)."""
    return secrets.token_urlsafe(15)
