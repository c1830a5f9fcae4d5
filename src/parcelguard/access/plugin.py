"""access: the PI gate, the only code that decrypts, and the use cases that reveal
through it: labels, virtual numbers, partner sharing, exports, data-subject requests,
retention (core/plugin.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parcelguard.core.lazy_cli import Lazy
from parcelguard.core.plugin import Plugin

if TYPE_CHECKING:
    import typer
    from fastapi import FastAPI


def subjects_app() -> typer.Typer:
    from parcelguard.access.subjects import cli as subjects_cli
    from parcelguard.consent.cli import build_subjects_app

    return build_subjects_app(extra_commands=subjects_cli.COMMANDS)


def waybill_app() -> typer.Typer:
    from parcelguard.access.waybills import cli as access_waybill_cli
    from parcelguard.waybill import cli as waybill_cli

    return waybill_cli.build_app(extra_commands=access_waybill_cli.COMMANDS,
                                 extra_partner_commands=access_waybill_cli.PARTNER_COMMANDS)


def retention_app() -> typer.Typer:
    from parcelguard.access.subjects import retention_cli
    from parcelguard.vault.provider import vault_service

    return retention_cli.build_app(vault_for=vault_service)


def mount(app: FastAPI) -> None:
    from parcelguard.waybill.provider import telephony

    # virtual numbers: the routes under /api/v1/waybill read app.state.telephony
    app.state.telephony = telephony(app.state.runtime.settings)


PLUGIN = Plugin("access", commands={
    "access": Lazy("parcelguard.access.cli:access_app", "The PI access gate: reveal, search, "
                   "export, break-glass, suspensions (docs/access.md)."),
    "subjects": Lazy("parcelguard.access.plugin:subjects_app",
                     "Data-subject requests: export, correct, erase (PIPL Arts. 45-47)."),
    "waybill": Lazy("parcelguard.access.plugin:waybill_app", "Privacy waybills (GB/T "
                    "41833-2022): masking, labels, virtual numbers, partner sharing."),
    "retention": Lazy("parcelguard.access.plugin:retention_app", "Retention: delete "
                      "(crypto-shred) PI past the period the privacy notice promises."),
}, api="parcelguard.access.plugin:mount",
    # the PI gate (/api/v1/pi); labels, virtual numbers, shares (/api/v1/waybill);
    # data-subject requests and their fulfilment (/api/v1/dsr)
    routers=("parcelguard.access.router:router", "parcelguard.access.waybills.router:router",
             "parcelguard.access.subjects.router:router"),
    models=("parcelguard.access.models",))
