"""ledger: each enterprise's tamper-evident event log, fed by the events API
(``POST /api/v1/events``, router.py) and published as tlog-tiles (core/plugin.py).
Its commands are composed above it: ``ingest`` by ``parcelguard.bridges`` (with
identity, of its row), the ``ledger`` group by ``supervision`` (adding ``witness``;
the vault's KMS wraps the checkpoint keys)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parcelguard.core.plugin import Plugin

if TYPE_CHECKING:
    from fastapi import FastAPI


def mount(app: FastAPI) -> None:
    from parcelguard.ledger.tlog import tiles_router

    app.include_router(tiles_router("/tlog/{enterprise_id}"))  # public, no PI


PLUGIN = Plugin("ledger", api="parcelguard.ledger.plugin:mount",
    routers=("parcelguard.ledger.router:router",),  # POST /api/v1/events; the contract
    models=("parcelguard.ledger.models",),
    settings={"ingest": "parcelguard.ledger.settings:IngestSettings"})
