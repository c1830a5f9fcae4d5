"""identity: organisations' staff accounts and API keys (core/plugin.py). Its ``api``
hook installs the authenticator behind ``core.http.CallerDep``, so routers of its own
row (the ledger's events API) learn who is calling without importing it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parcelguard.core.lazy_cli import Lazy
from parcelguard.core.plugin import Plugin

if TYPE_CHECKING:
    from fastapi import FastAPI


def mount(app: FastAPI) -> None:
    from parcelguard.core.http import install_authenticator
    from parcelguard.identity.http import authenticate

    install_authenticator(app, authenticate)


PLUGIN = Plugin("identity", commands={
    "account": Lazy("parcelguard.identity.cli:account_app", "Staff accounts."),
    "apikey": Lazy("parcelguard.identity.cli:apikey_app",
                   "API keys for machine clients (shown once)."),
},
    api="parcelguard.identity.plugin:mount",
    models=("parcelguard.identity.models",))
