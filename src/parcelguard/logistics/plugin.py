"""logistics: parcels, their intake and the parcel projection (core/plugin.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parcelguard.core.lazy_cli import Lazy
from parcelguard.core.plugin import Plugin

if TYPE_CHECKING:
    import typer


def parcels_app() -> typer.Typer:
    from parcelguard.logistics.cli import build_intake, parcels_app
    from parcelguard.vault.provider import vault_service

    # intake seals PI, so it takes the vault; parcels_app is module-level: add once
    if not any(c.name == "intake" for c in parcels_app.registered_commands):
        parcels_app.command("intake")(build_intake(vault_service))
    return parcels_app


PLUGIN = Plugin(
    "logistics",
    commands={"parcels": Lazy("parcelguard.logistics.plugin:parcels_app",
                              "Parcel state and history, from the event stream.")},
    routers=("parcelguard.logistics.router:router",),
    ciphertext_columns="parcelguard.logistics.models:CIPHERTEXT_COLUMNS",
    models=("parcelguard.logistics.models",))
