"""ledger: each enterprise's tamper-evident event log, published as tlog-tiles
(core/plugin.py). Its ``ledger`` and ``ingest`` commands are composed by
``parcelguard.bridges`` (they take the identity and vault packages of its row)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parcelguard.core.plugin import Plugin

if TYPE_CHECKING:
    from fastapi import FastAPI


def mount(app: FastAPI) -> None:
    from parcelguard.ledger.tlog import tiles_router

    app.include_router(tiles_router("/tlog/{enterprise_id}"))  # public, no PI


PLUGIN = Plugin("ledger", api="parcelguard.ledger.plugin:mount",
    models=("parcelguard.ledger.models",),
    settings={"ingest": "parcelguard.ledger.settings:IngestSettings"})
