"""The vault's section of the settings tree (``PARCELGUARD_VAULT__*``) and where the
master key file is.

Registered by ``vault/plugin.py`` (``Plugin.settings``); core/settings.py builds the tree."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from parcelguard.core.settings import Settings


class VaultSettings(BaseModel):
    """PI vault."""

    master_key_path: Path | None = Field(
        None,
        description="Local KMS master key file (created 0600 on first run; parcelguard "
        "refuses to start if its permissions are looser). Default: home/keys/master.key.",
    )


def master_key_path(settings: Settings) -> Path:
    """The local KMS master key file: ``vault.master_key_path``, else home/keys/master.key."""
    return settings.section(VaultSettings).master_key_path or settings.home / "keys" / "master.key"
