"""channel: the public reporting channel, leak-source triangulation, police
referrals and canary parcels (core/plugin.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parcelguard.core.lazy_cli import Lazy
from parcelguard.core.plugin import Plugin

if TYPE_CHECKING:
    import typer


def channel_app() -> typer.Typer:
    from parcelguard.channel import cli
    from parcelguard.vault.provider import vault_service
    from parcelguard.waybill.provider import telephony

    return cli.build_app(vault_for=vault_service, telephony_for=telephony)


PLUGIN = Plugin(
    "channel",
    commands={"channel": Lazy("parcelguard.channel.plugin:channel_app", "The public "
                              "reporting channel, leak-source triangulation, police referrals "
                              "and canary parcels (docs/channel.md).")},
    routers=("parcelguard.channel.router:router", "parcelguard.channel.router:referrals_router"),
    ciphertext_columns="parcelguard.channel.repository:CIPHERTEXT_COLUMNS",
    models=("parcelguard.channel.models",),
    settings={"channel": "parcelguard.channel.settings:ChannelSettings"})
