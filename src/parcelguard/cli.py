"""The ``parcelguard`` command line (Typer + Rich): the CLI's composition root.

Each package owns its commands; this module only lists them (``COMMANDS``) with the
wiring some of them take. A package's CLI is imported when its command runs, so
``parcelguard --help`` stays fast (core/lazy_cli.py). To add a command group: write
``<package>/cli.py`` with a ``typer.Typer`` (or a factory for one) and add one entry
below; its help line must match the group's (tests/unit/test_cli_registry.py).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from parcelguard.core.errors import DomainError
from parcelguard.core.lazy_cli import Lazy, LazyGroup

if TYPE_CHECKING:
    from parcelguard.core.runtime import Runtime
    from parcelguard.core.settings import Settings
    from parcelguard.vault.kms import Kms

COMMANDS: dict[str, Lazy] = {
    "init": Lazy("parcelguard.ops.cli:app", "Create the store: the home, the master key, "
                 "the database (migrations), the supervision department and its admin account.",
                 command="init"),
    "ingest": Lazy("parcelguard.cli:_ingest", "Validate and store events. Bad lines are "
                   "reported with their line number and reason and written to a rejects file;",
                 command="ingest"),
    "demo": Lazy("parcelguard.simulation.cli:app", "Build a simulated logistics world with "
                 "injected abuse and run the whole supervision mechanism on it;",
                 command="demo"),
    "world2": Lazy("parcelguard.simulation.cli:app", "Generate the second, independent world "
                   "(simulation/world2): contract-valid events and a ground truth",
                 command="world2"),
    "upgrade": Lazy("parcelguard.ops.cli:app", "Apply pending schema migrations to this "
                    "store (under PostgreSQL's advisory lock,",
                 command="upgrade"),
    "backup": Lazy("parcelguard.ops.cli:app", "Back up the store while it serves: a "
                   "consistent snapshot of the database,",
                 command="backup"),
    "restore": Lazy("parcelguard.ops.cli:app", "Restore a backup into this (empty) home or "
                    "database and prove it:",
                 command="restore"),
    "org": Lazy("parcelguard.cli:_org", "Organisations: enterprises, supervision, police, "
                "auditors."),
    "account": Lazy("parcelguard.identity.cli:account_app", "Staff accounts."),
    "apikey": Lazy("parcelguard.identity.cli:apikey_app",
                   "API keys for machine clients (shown once)."),
    "ledger": Lazy("parcelguard.cli:_ledger", "The enterprise's tamper-evident event log: "
                   "checkpoints, proofs, export, verification, retention."),
    "access": Lazy("parcelguard.access.cli:access_app", "The PI access gate: reveal, search, "
                   "export, break-glass, suspensions (docs/access.md)."),
    "consent": Lazy("parcelguard.consent.cli:consent_app",
                    "Privacy notices and consent records (PIPL Arts. 13-17, 23, 29)."),
    "subjects": Lazy("parcelguard.cli:_subjects",
                     "Data-subject requests: export, correct, erase (PIPL Arts. 45-47)."),
    "waybill": Lazy("parcelguard.cli:_waybill", "Privacy waybills (GB/T 41833-2022): "
                    "masking, labels, virtual numbers, partner sharing."),
    "keys": Lazy("parcelguard.cli:_keys", "PI vault keys: rotation without downtime, "
                 "retirement."),
    "monitor": Lazy("parcelguard.monitor.cli:monitor_app",
                    "The supervision monitor: detectors, runners and alerts."),
    "incidents": Lazy("parcelguard.cli:_incidents", "Incidents and emergency response: "
                      "plans, drills, incidents, reports, inbox, notices, interventions "
                      "(docs/incidents.md)."),
    "channel": Lazy("parcelguard.cli:_channel", "The public reporting channel, leak-source "
                    "triangulation, police referrals and canary parcels (docs/channel.md)."),
    "conduct": Lazy("parcelguard.cli:_conduct",
                    "Courier evaluations, rewards and sanctions (docs/conduct.md)."),
    "audit": Lazy("parcelguard.cli:_audit", "Third-party audits: rulebook, engagements, "
                  "scorecards, transparency reports."),
    "parcels": Lazy("parcelguard.cli:_parcels",
                    "Parcel state and history, from the event stream."),
    "events": Lazy("parcelguard.core.outbox_cli:events_app",
                   "Domain events on their way to their reactions (the outbox)."),
    "retention": Lazy("parcelguard.cli:_retention", "Retention: delete (crypto-shred) PI past "
                      "the period the privacy notice promises."),
    "association": Lazy("parcelguard.audit.association_cli:app", "The industry association: "
                        "members, rulebook versions, members' scorecards."),
    "node": Lazy("parcelguard.node.cli:node_app", "Federation nodes: each party its own process, "
                 "database and keys (docs/deployment.md)."),
}


class _Root(LazyGroup):
    lazy = COMMANDS


app = typer.Typer(cls=_Root, help="parcelguard: protect and supervise personal information "
                  "in parcel logistics.", no_args_is_help=True, pretty_exceptions_enable=False)
console = Console()
err = Console(stderr=True, soft_wrap=True)


# -- the wiring some packages' commands take (called when their command runs) --------
def _ledger_kms(settings: Settings) -> Kms:
    """Checkpoint keys are wrapped by the same KMS the wiring chose for the vault."""
    from parcelguard.wiring import vault_service

    return vault_service(settings).vault.kms


def _ingest() -> typer.Typer:
    from parcelguard.identity.service import ensure_enterprises
    from parcelguard.ledger import ingest_cli

    return ingest_cli.build_app(ensure_enterprises)


def _org() -> typer.Typer:
    from parcelguard.identity.cli import build_org_app
    from parcelguard.ledger.service import log_sizes

    return build_org_app(log_sizes)


def _ledger() -> typer.Typer:
    from parcelguard.ledger import cli as ledger_cli
    from parcelguard.supervision.cli import witness

    return ledger_cli.build_app(kms_factory=_ledger_kms, extra_commands={"witness": witness})


def _subjects() -> typer.Typer:
    from parcelguard.access import subjects_cli
    from parcelguard.consent.cli import build_subjects_app

    return build_subjects_app(extra_commands=subjects_cli.COMMANDS)


def _waybill() -> typer.Typer:
    from parcelguard.access import waybill_cli as access_waybill_cli
    from parcelguard.waybill import cli as waybill_cli

    return waybill_cli.build_app(extra_commands=access_waybill_cli.COMMANDS,
                                 extra_partner_commands=access_waybill_cli.PARTNER_COMMANDS)


def _keys() -> typer.Typer:
    from parcelguard.vault import cli as vault_cli
    from parcelguard.wiring import CIPHERTEXT_COLUMNS, vault_service

    return vault_cli.build_app(vault_for=vault_service, locations=CIPHERTEXT_COLUMNS)


def _incidents() -> typer.Typer:
    from parcelguard.incidents import cli as incidents_cli
    from parcelguard.incidents.notify import local_notifiers, sms_spool
    from parcelguard.wiring import vault_service

    # The local notifiers record what they would send, masked.
    return incidents_cli.build_app(
        notifiers_for=lambda settings: local_notifiers(vault_service(settings),
                                                       spool=sms_spool(settings.home)))


def _channel() -> typer.Typer:
    from parcelguard.channel import cli as channel_cli
    from parcelguard.wiring import telephony, vault_service

    return channel_cli.build_app(vault_for=vault_service, telephony_for=telephony)


def _conduct() -> typer.Typer:
    from parcelguard.conduct import cli as conduct_cli

    return conduct_cli.build_app()


def _audit() -> typer.Typer:
    from parcelguard.audit.association_cli import support_app
    from parcelguard.audit.cli import build_app

    app = build_app(kms_for=_ledger_kms)
    app.add_typer(support_app, name="support")
    return app


def _parcels() -> typer.Typer:
    from parcelguard.logistics.cli import build_intake, parcels_app
    from parcelguard.wiring import vault_service

    # intake seals PI, so it takes the wired vault; parcels_app is module-level: add once
    if not any(c.name == "intake" for c in parcels_app.registered_commands):
        parcels_app.command("intake")(build_intake(vault_service))
    return parcels_app


def _retention() -> typer.Typer:
    from parcelguard.access import retention_cli
    from parcelguard.wiring import vault_service

    return retention_cli.build_app(vault_for=vault_service)


@app.callback()
def _main(ctx: typer.Context) -> None:
    from parcelguard.access import cli as access_cli
    from parcelguard.core.files import PRIVATE_UMASK
    from parcelguard.core.runtime import Runtime
    from parcelguard.core.settings import SettingsError, load_settings
    from parcelguard.wiring import register_handlers, telephony, vault_service

    os.umask(PRIVATE_UMASK)  # whatever the CLI writes is 0600/0700 (core/files.py)
    try:
        settings = load_settings()
    except SettingsError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    ctx.obj = Runtime(settings=settings, on_open=register_handlers)
    ctx.call_on_close(ctx.obj.close)
    # the gate's commands under waybill and subjects read the wired services from here
    access_cli.wire(ctx, access_cli.Services(vault_for=vault_service, telephony_for=telephony))


@app.command()
def serve(
    ctx: typer.Context,
    host: str = "127.0.0.1",
    port: int = 8000,
    # -- web: serve --demo --
    demo: Annotated[bool, typer.Option(
        "--demo", help="Serve the demo world (built first if missing) with one login per "
        "role printed, and write the supervision report.")] = False,
    out: Annotated[Path, typer.Option(help="Demo output directory (--demo).")]
    = Path("demo-out"),
    # -- end web --
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json) and the web portals."""
    import uvicorn

    from parcelguard.app import create_app

    rt: Runtime = ctx.obj
    # -- web: serve --demo --
    if demo:
        from parcelguard.web.serve_demo import prepare

        rt = prepare(rt, out=out, console=console, host=host, port=port)
        ctx.call_on_close(rt.close)
    # -- end web --
    # auth: trusted proxies, an access log without client addresses or tokens
    from parcelguard.web.serving import uvicorn_config

    uvicorn.Server(uvicorn_config(create_app(rt), rt.settings, host=host, port=port)).run()


def main() -> None:
    try:
        app()
    except DomainError as exc:  # last resort: a clean message, never a traceback with data
        err.print(f"[red]error:[/red] {exc.message}")
        sys.exit(2)
    except ModuleNotFoundError as exc:
        if exc.name != "faker":
            raise
        err.print("[red]error:[/red] this command builds a synthetic world and needs the "
                  "demo extra: pip install 'parcelguard[demo]'")
        sys.exit(2)
    except SystemExit:  # a normal exit (help, typer.Exit): nothing to translate
        raise
    except BaseException as exc:  # refusals and storage faults: their own exit codes
        from parcelguard.ops.cli import exit_for

        code = exit_for(exc, err)
        if code is None:
            raise
        sys.exit(code)
