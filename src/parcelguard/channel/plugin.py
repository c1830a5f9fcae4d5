"""channel: the public reporting channel, leak-source triangulation, police
referrals and canary parcels (core/plugin.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parcelguard.core.lazy_cli import Lazy
from parcelguard.core.plugin import Plugin

if TYPE_CHECKING:
    import typer
    from fastapi import FastAPI


def channel_app() -> typer.Typer:
    from parcelguard.channel import cli
    from parcelguard.vault.provider import vault_service
    from parcelguard.waybill.provider import telephony

    return cli.build_app(vault_for=vault_service, telephony_for=telephony)


def mount(app: FastAPI) -> None:
    from parcelguard.channel.router import referrals_router, router

    app.include_router(router)  # /api/v1/channel
    app.include_router(referrals_router)  # /api/v1/referrals


PLUGIN = Plugin(
    "channel",
    commands={"channel": Lazy("parcelguard.channel.plugin:channel_app", "The public "
                              "reporting channel, leak-source triangulation, police referrals "
                              "and canary parcels (docs/channel.md).")},
    api="parcelguard.channel.plugin:mount",
    ciphertext_columns="parcelguard.channel.repository:CIPHERTEXT_COLUMNS",
    models=("parcelguard.channel.models",))
