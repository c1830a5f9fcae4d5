"""monitor: detectors, runners and alerts (core/plugin.py)."""

from __future__ import annotations

from parcelguard.core.lazy_cli import Lazy
from parcelguard.core.plugin import Plugin

PLUGIN = Plugin(
    "monitor",
    commands={"monitor": Lazy("parcelguard.monitor.cli:monitor_app",
                              "The supervision monitor: detectors, runners and alerts.")},
    routers=("parcelguard.monitor.router:router",),
    models=("parcelguard.monitor.models",),
    settings={"monitor": "parcelguard.monitor.settings:MonitorSettings"})
