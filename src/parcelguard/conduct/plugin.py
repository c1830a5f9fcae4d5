"""conduct: courier evaluations, rewards and sanctions (core/plugin.py)."""

from __future__ import annotations

from parcelguard.core.lazy_cli import Lazy
from parcelguard.core.plugin import Plugin

PLUGIN = Plugin(
    "conduct",
    commands={"conduct": Lazy("parcelguard.conduct.cli:build_app",
                              "Courier evaluations, rewards and sanctions (docs/conduct.md).")},
    routers=("parcelguard.conduct.router:router",),
    models=("parcelguard.conduct.models",),
    settings={"conduct": "parcelguard.conduct.settings:ConductSettings"})
