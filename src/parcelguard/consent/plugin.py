"""consent: privacy notices and consent records (core/plugin.py). Its ``subjects``
command group is composed by the access package, which fulfils the requests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parcelguard.core.lazy_cli import Lazy
from parcelguard.core.plugin import Plugin

if TYPE_CHECKING:
    from fastapi import FastAPI


def mount(app: FastAPI) -> None:
    from parcelguard.consent.router import router

    app.include_router(router)


PLUGIN = Plugin(
    "consent",
    commands={"consent": Lazy("parcelguard.consent.cli:consent_app",
                              "Privacy notices and consent records (PIPL Arts. 13-17, 23, 29).")},
    api="parcelguard.consent.plugin:mount",
    models=("parcelguard.consent.models",))
