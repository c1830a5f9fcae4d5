"""Argon2id password hashing (RFC 9106 parameters via argon2-cffi defaults)."""

from __future__ import annotations

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


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def generate_password() -> str:
    """A 20-character URL-safe password (~120 bits)."""
    return secrets.token_urlsafe(15)
