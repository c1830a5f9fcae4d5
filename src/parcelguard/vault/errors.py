"""Errors raised by the vault's crypto core.

Messages name paths, enterprise ids, pseudonymous subject/record ids, field names and
key versions - never plaintext, key bytes or ciphertext - so they are safe to log and
to render through the API.

They are `DomainError`s, so the one API handler renders them with their status. Most
are 500s: a ciphertext or key that fails to authenticate is a fault in stored data or
configuration, not in the request.
"""

from __future__ import annotations

from parcelguard.core.errors import DomainError


class VaultError(DomainError):
    """Base of every vault error."""

    status_code = 500
    code = "vault_error"


class KeyFileError(VaultError):
    """The local master key file cannot be trusted or read; the vault refuses to start."""


class KeyFilePermissionError(KeyFileError):
    """The master key file is readable by others, or is not a regular file."""


class KeyFileMissingError(KeyFileError):
    """The master key file does not exist (and was not asked to be created)."""

    status_code = 503
    code = "key_missing"


class KeyFileCorruptError(KeyFileError):
    """The master key file has the wrong size."""


class DecryptionError(VaultError):
    """A ciphertext or wrapped key failed to authenticate or has an unknown format.

    The usual causes: it was moved to another record, field, subject or enterprise,
    it was tampered with, or the wrong key was given.
    """

    code = "decryption_failed"

    def __init__(self, message: str, *, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index  # position in a batch, when raised by a *_many helper


class KeyNotFoundError(VaultError):
    """A key version named by a record or ciphertext is not in the keyset."""

    code = "key_not_found"


class KeyRetiredError(VaultError):
    """A key-encryption key was retired (its material destroyed) and can no longer unwrap."""

    status_code = 409
    code = "key_retired"


class KeyStillInUseError(VaultError):
    """Refused: retiring a key version that still wraps data keys, or the primary."""

    status_code = 409
    code = "key_in_use"


class KmsMismatchError(VaultError):
    """A key was wrapped by a different KMS master key than the one configured."""


class KeysetInvariantError(VaultError):
    """Persisted keyset rows break an invariant (e.g. not exactly one primary KEK)."""
