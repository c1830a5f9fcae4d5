"""vault: the PI vault's keys (core/plugin.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parcelguard.core.lazy_cli import Lazy
from parcelguard.core.plugin import Plugin

if TYPE_CHECKING:
    import typer


def keys_app() -> typer.Typer:
    from parcelguard.core.plugin import contributions
    from parcelguard.vault import cli
    from parcelguard.vault.provider import vault_service

    # every package's ciphertexts, so a re-encrypting rotation strands none
    return cli.build_app(vault_for=vault_service, locations=contributions("ciphertext_columns"))


PLUGIN = Plugin("vault", commands={
    "keys": Lazy("parcelguard.vault.plugin:keys_app", "PI vault keys: rotation without "
                 "downtime, retirement."),
},
    models=("parcelguard.vault.models",),
    settings={"vault": "parcelguard.vault.settings:VaultSettings"})
