"""The bridges' registration (core/plugin.py): reactions between same-row packages
(monitor, conduct and channel; incidents and audit) and the commands composed of the
identity and ledger packages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parcelguard.core.lazy_cli import Lazy
from parcelguard.core.plugin import Plugin

if TYPE_CHECKING:
    import typer


def ingest_app() -> typer.Typer:
    from parcelguard.identity.service import ensure_enterprises
    from parcelguard.ledger import ingest_cli

    # operator ingest registers enterprises it sees for the first time
    return ingest_cli.build_app(ensure_enterprises)


def org_app() -> typer.Typer:
    from parcelguard.identity.cli import build_org_app
    from parcelguard.ledger.service import log_sizes

    return build_org_app(log_sizes)  # `org list` shows each log's size


PLUGIN = Plugin("bridges", commands={
    "ingest": Lazy("parcelguard.bridges.plugin:ingest_app", "Validate and store events. Bad "
                   "lines are reported with their line number and reason and written to a "
                   "rejects file;", command="ingest"),
    "org": Lazy("parcelguard.bridges.plugin:org_app",
                "Organisations: enterprises, supervision, police, auditors."),
}, reactions="parcelguard.bridges.reactions:reactions")
