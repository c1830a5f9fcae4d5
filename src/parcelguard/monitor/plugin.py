"""monitor: detectors, runners and alerts (core/plugin.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parcelguard.core.lazy_cli import Lazy
from parcelguard.core.plugin import Plugin

if TYPE_CHECKING:
    from fastapi import FastAPI


def mount(app: FastAPI) -> None:
    from parcelguard.monitor.router import router

    app.include_router(router)


PLUGIN = Plugin(
    "monitor",
    commands={"monitor": Lazy("parcelguard.monitor.cli:monitor_app",
                              "The supervision monitor: detectors, runners and alerts.")},
    api="parcelguard.monitor.plugin:mount",
    models=("parcelguard.monitor.models",))
