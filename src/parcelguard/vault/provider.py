"""The process's vault: the one place choosing the KMS behind it. The local key-file
KMS is the embedded default; a deployment with a real KMS adds its choice here and
nowhere else."""

from __future__ import annotations

from parcelguard.core.errors import Refused
from parcelguard.core.settings import Settings
from parcelguard.vault.errors import KeyFileError
from parcelguard.vault.facade import Vault
from parcelguard.vault.kms import LocalFileKms
from parcelguard.vault.service import VaultService
from parcelguard.vault.settings import master_key_path

_VAULTS: dict[str, VaultService] = {}


def vault_service(settings: Settings) -> VaultService:
    """The process's vault for these settings. A master key that is missing or cannot
    be trusted refuses the command (exit 3) with the fix; it is never replaced by a
    new one here (only `parcelguard init` creates one)."""
    path = master_key_path(settings)
    key = str(path.resolve())
    if key not in _VAULTS:
        try:
            kms = LocalFileKms(path)
        except KeyFileError as exc:
            raise Refused(exc.message) from None
        _VAULTS[key] = VaultService(Vault(kms))
    return _VAULTS[key]


def check_master_key(settings: Settings) -> str | None:
    """What is wrong with the master key now (read afresh), or None (health)."""
    try:
        LocalFileKms(master_key_path(settings))
    except KeyFileError as exc:
        return exc.message
    return None


def create_master_key(settings: Settings) -> bool:
    """`parcelguard init` on a new store: create the local master key if absent.
    True if it was created."""
    path = master_key_path(settings)
    if path.exists():
        return False
    LocalFileKms(path, create=True)
    return True
