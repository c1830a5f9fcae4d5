"""consent: privacy notices and consent records (core/plugin.py). Its ``subjects``
command group is composed by the access package, which fulfils the requests."""

from __future__ import annotations

from parcelguard.core.lazy_cli import Lazy
from parcelguard.core.plugin import Plugin

PLUGIN = Plugin(
    "consent",
    commands={"consent": Lazy("parcelguard.consent.cli:consent_app",
                              "Privacy notices and consent records (PIPL Arts. 13-17, 23, 29).")},
    routers=("parcelguard.consent.router:router",),
    models=("parcelguard.consent.models",))
