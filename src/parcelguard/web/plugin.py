"""web: the portals for every role, and ``serve`` (core/plugin.py). Its API hook runs
last: the portals use what earlier hooks put on ``app.state`` (the notifiers)."""

from parcelguard.core.lazy_cli import Lazy
from parcelguard.core.plugin import Plugin

PLUGIN = Plugin(
    "web",
    commands={"serve": Lazy("parcelguard.web.cli:app", "Serve the HTTP API (OpenAPI at "
                            "/openapi.json) and the web portals.", command="serve")},
    api="parcelguard.web.mount:mount",
    models=("parcelguard.web.models",),
    settings={"web": "parcelguard.web.settings:WebSettings",
              "login": "parcelguard.web.settings:LoginSettings"})
