"""The master-key seam: a `Kms` wraps and unwraps enterprise keys under a context.

The embedded default, `LocalFileKms`, keeps a 32-byte master key in a file that only
its owner may read. A cloud or hardware KMS plugs in behind the same `Protocol`: it
must bind `context` to the wrapped key (as associated data or an encryption context),
so that a key wrapped for enterprise A cannot be unwrapped as enterprise B's.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import stat
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from parcelguard.vault.cipher import KEY_BYTES, seal, unseal
from parcelguard.vault.errors import (
    KeyFileCorruptError,
    KeyFileError,
    KeyFileMissingError,
    KeyFilePermissionError,
)

MASTER_KEY_BYTES = KEY_BYTES
_WRAP_AD_TAG = b"parcelguard/kms/v1\x00"
_KEY_ID_TAG = b"parcelguard/kms-key-id/v1\x00"
# Group and other permission bits: any of them set means someone but the owner can
# read or replace the master key.
_LOOSE_BITS = stat.S_IRWXG | stat.S_IRWXO


class Kms(Protocol):
    """Wraps enterprise key material under a master key the application never sees
    (a real KMS) or keeps to itself (the local file)."""

    @property
    def key_id(self) -> str:
        """A stable, non-secret name of the master key, stored beside wrapped keys so a
        swapped master key is reported as such rather than as corrupt data."""
        ...

    def wrap(self, plaintext_key: bytes, context: bytes) -> bytes:
        """Encrypt key bytes, binding them to `context`."""
        ...

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        """Decrypt what `wrap` returned for the same `context`; raise `DecryptionError`
        for any other context, master key or altered bytes."""
        ...


class _AeadKms:
    """AES-256-GCM wrapping under a master key held in process memory."""

    def __init__(self, master_key: bytes, kind: str) -> None:
        if len(master_key) != MASTER_KEY_BYTES:
            raise ValueError(f"a master key is {MASTER_KEY_BYTES} bytes")
        self._aead = AESGCM(master_key)
        # A fingerprint, not the key: SHA-256 of a 256-bit random key reveals nothing.
        digest = hashlib.sha256(_KEY_ID_TAG + master_key).hexdigest()[:16]
        self._key_id = f"{kind}:{digest}"

    @property
    def key_id(self) -> str:
        return self._key_id

    def wrap(self, plaintext_key: bytes, context: bytes) -> bytes:
        return seal(self._aead, plaintext_key, _WRAP_AD_TAG + context)

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        return unseal(self._aead, wrapped, _WRAP_AD_TAG + context, what=f"KMS {self._key_id}")


class InMemoryKms(_AeadKms):
    """A master key that lives and dies with the process: tests and simulations."""

    def __init__(self, master_key: bytes | None = None) -> None:
        super().__init__(master_key or os.urandom(MASTER_KEY_BYTES), "memory")

    def __repr__(self) -> str:
        return f"InMemoryKms(key_id={self.key_id!r})"


class LocalFileKms(_AeadKms):
    """The embedded default: a 32-byte master key in a file with mode 0600.

    The file is created only when asked (``create=True``: ``parcelguard init`` on a new
    store, its directory with 0700 if it has to be made). A missing file is never
    replaced by a fresh key: data wrapped under the old key would become unreadable,
    and keys made meanwhile would break once the real key is restored. The KMS
    refuses to start, with an error naming the file and the fix, when the file
    is readable or writable by group or others, is not a regular file, or is not
    exactly 32 bytes. It never repairs a bad file itself: a loose mode means the key
    may already have been copied, which an operator has to know about.
    """

    def __init__(self, path: str | os.PathLike[str], *, create: bool = False) -> None:
        self.path = Path(path)
        try:
            key = _read_key_file(self.path)
        except FileNotFoundError:
            if not create:
                raise KeyFileMissingError(
                    f"master key file {self.path} is missing; parcelguard never makes a new "
                    "one in place of a lost key (every stored key would become unreadable). "
                    "Restore it from your backup (`parcelguard restore`), check "
                    "PARCELGUARD_HOME, or run `parcelguard init` to start a new, empty store"
                ) from None
            _create_key_file(self.path)
            key = _read_key_file(self.path)
        except PermissionError:
            raise KeyFilePermissionError(
                f"master key file {self.path} is not readable by this user; run parcelguard "
                "as the user that owns it"
            ) from None
        super().__init__(key, "local-file")

    def __repr__(self) -> str:
        return f"LocalFileKms(path={str(self.path)!r}, key_id={self.key_id!r})"


def _read_key_file(path: Path) -> bytes:
    # O_NONBLOCK: opening a FIFO planted at the path must not hang start-up; checks run
    # on the opened descriptor so the file cannot be swapped between check and read.
    # Symlinks are followed (container secret mounts use them); the target is checked.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise KeyFilePermissionError(
                f"master key file {path} is not a regular file; the vault refuses to "
                "start. Point the key path at a regular file (mode 0600) or remove the "
                "entry so a new key is created"
            )
        mode = stat.S_IMODE(st.st_mode)
        if mode & _LOOSE_BITS:
            raise KeyFilePermissionError(
                f"master key file {path} has mode {mode:04o}: group or others can access "
                f"it, so the vault refuses to start. Fix: chmod 600 {path} (and consider "
                "the key exposed: rotate enterprise keys if others could read it)"
            )
        if st.st_size != MASTER_KEY_BYTES:
            raise KeyFileCorruptError(
                f"master key file {path} is {st.st_size} bytes, expected "
                f"{MASTER_KEY_BYTES}; the vault refuses to start. Restore the file from "
                "backup - replacing it makes every wrapped key unreadable"
            )
        data = b""
        while len(data) < MASTER_KEY_BYTES:
            block = os.read(fd, MASTER_KEY_BYTES - len(data))
            if not block:
                break
            data += block
    finally:
        os.close(fd)
    if len(data) != MASTER_KEY_BYTES:
        raise KeyFileCorruptError(f"master key file {path} was truncated while being read")
    return data


def _create_key_file(path: Path) -> None:
    """Create the key file atomically: a complete 0600 file appears, or nothing.

    The key is written to a private temporary file (O_CREAT|O_EXCL, mode 0600) and
    hard-linked into place. Two processes starting together both link; the loser gets
    FileExistsError and reads the winner's key, never a half-written file.
    """
    directory = path.parent
    if not directory.exists():
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = directory / f".{path.name}.{secrets.token_hex(8)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(tmp, flags, 0o600)
    except OSError as exc:
        raise KeyFileError(
            f"cannot create master key file in {directory}: {exc.strerror}"
        ) from None
    try:
        try:
            if os.write(fd, os.urandom(MASTER_KEY_BYTES)) != MASTER_KEY_BYTES:
                raise KeyFileError(f"short write creating master key file in {directory}")
            os.fsync(fd)
        finally:
            os.close(fd)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    dir_fd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(dir_fd)  # the new name survives a crash, not just the file's bytes
    finally:
        os.close(dir_fd)
