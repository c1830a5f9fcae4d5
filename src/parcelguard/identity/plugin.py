"""identity: organisations' staff accounts and API keys (core/plugin.py)."""

from parcelguard.core.lazy_cli import Lazy
from parcelguard.core.plugin import Plugin

PLUGIN = Plugin("identity", commands={
    "account": Lazy("parcelguard.identity.cli:account_app", "Staff accounts."),
    "apikey": Lazy("parcelguard.identity.cli:apikey_app",
                   "API keys for machine clients (shown once)."),
},
    models=("parcelguard.identity.models",))
