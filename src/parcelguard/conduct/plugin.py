"""conduct: courier evaluations, rewards and sanctions (core/plugin.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parcelguard.core.lazy_cli import Lazy
from parcelguard.core.plugin import Plugin

if TYPE_CHECKING:
    from fastapi import FastAPI


def mount(app: FastAPI) -> None:
    from parcelguard.conduct.router import router

    app.include_router(router)


PLUGIN = Plugin(
    "conduct",
    commands={"conduct": Lazy("parcelguard.conduct.cli:build_app",
                              "Courier evaluations, rewards and sanctions (docs/conduct.md).")},
    api="parcelguard.conduct.plugin:mount",
    models=("parcelguard.conduct.models",))
