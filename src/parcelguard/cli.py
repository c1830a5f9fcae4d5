"""The ``parcelguard`` command line (Typer + Rich)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from parcelguard.consent.cli import build_subjects_app, consent_app
from parcelguard.core.errors import DomainError
from parcelguard.core.files import PRIVATE_UMASK
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings, SettingsError, load_settings
from parcelguard.identity import service as identity
from parcelguard.ledger import cli as ledger_cli
from parcelguard.ledger.ingest import EventLog
from parcelguard.ledger.service import ingest_file, log_sizes
from parcelguard.ops.store import init_store
from parcelguard.supervision.cli import witness as ledger_witness
from parcelguard.vault import cli as vault_cli
from parcelguard.wiring import CIPHERTEXT_COLUMNS, register_handlers, telephony, vault_service

if TYPE_CHECKING:
    from parcelguard.vault.kms import Kms

app = typer.Typer(help="parcelguard: protect and supervise personal information in parcel "
                  "logistics.", no_args_is_help=True, pretty_exceptions_enable=False)
org_app = typer.Typer(help="Organisations: enterprises, supervision, police, auditors.",
                      no_args_is_help=True)
account_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys for machine clients (shown once).", no_args_is_help=True)
app.add_typer(org_app, name="org")
app.add_typer(account_app, name="account")
app.add_typer(apikey_app, name="apikey")


# -- ledger: checkpoints, proofs, verify, archive; the supervision witness --
def _ledger_kms(settings: Settings) -> Kms:
    """Checkpoint keys are wrapped by the same KMS the wiring chose for the vault."""
    return vault_service(settings).vault.kms


app.add_typer(ledger_cli.build_app(kms_factory=_ledger_kms,
                                   extra_commands={"witness": ledger_witness}), name="ledger")
# -- end ledger --
# -- access: the PI gate; its commands under waybill and subjects read the wired
# services from the context (access.cli.wire, called by _main below) --
from parcelguard.access import cli as access_cli  # noqa: E402 - grouped with its wiring
from parcelguard.access import subjects_cli as access_subjects_cli  # noqa: E402
from parcelguard.access import waybill_cli as access_waybill_cli  # noqa: E402

GATE_SERVICES = access_cli.Services(vault_for=vault_service, telephony_for=telephony)
app.add_typer(access_cli.access_app, name="access")
# -- end access --
# -- consent: notices and consents; data-subject requests --
app.add_typer(consent_app, name="consent")
app.add_typer(build_subjects_app(extra_commands=access_subjects_cli.COMMANDS), name="subjects")
# -- end consent --
# -- waybill: masking, labels, virtual numbers, partner sharing --
from parcelguard.waybill import cli as waybill_cli  # noqa: E402 - grouped with its registration

app.add_typer(waybill_cli.build_app(
    extra_commands=access_waybill_cli.COMMANDS,
    extra_partner_commands=access_waybill_cli.PARTNER_COMMANDS), name="waybill")
# -- end waybill --
# -- vault: key rotation --
app.add_typer(vault_cli.build_app(vault_for=vault_service, locations=CIPHERTEXT_COLUMNS),
              name="keys")
# -- end vault --
# -- monitor: detectors, runners, alerts --
from parcelguard.monitor.cli import monitor_app  # noqa: E402 - grouped with its registration

app.add_typer(monitor_app, name="monitor")
# -- end monitor --
# -- incidents: plans, drills, incidents, reports, inbox, notices, interventions --
from parcelguard.incidents import cli as incidents_cli  # noqa: E402 - grouped with its wiring
from parcelguard.incidents.notify import local_notifiers, sms_spool  # noqa: E402

# The local notifiers record what they would send, masked (a wiring notifier factory
# replaces this lambda once there is one).
app.add_typer(incidents_cli.build_app(
    notifiers_for=lambda settings: local_notifiers(vault_service(settings),
                                                   spool=sms_spool(settings.home))),
    name="incidents")
# -- end incidents --
# -- channel and conduct: reports, triangulation, police referrals, canaries, evaluations --
from parcelguard.channel import cli as channel_cli  # noqa: E402 - grouped with its wiring
from parcelguard.conduct import cli as conduct_cli  # noqa: E402

app.add_typer(channel_cli.build_app(vault_for=vault_service, telephony_for=telephony),
              name="channel")
app.add_typer(conduct_cli.build_app(), name="conduct")
# -- end channel and conduct --

# -- audit: rulebook, engagements, scorecards, transparency reports --
from parcelguard.audit.cli import build_app as audit_app  # noqa: E402 - grouped with its wiring

audit_cli_app = audit_app(kms_for=_ledger_kms)
app.add_typer(audit_cli_app, name="audit")
# -- end audit --
# -- parcels: state and history from the parcel projection --
from parcelguard.logistics.cli import (  # noqa: E402 - grouped with its registration
    build_intake,
    parcels_app,
)

parcels_app.command("intake")(build_intake(vault_service))  # legal: minors at intake
app.add_typer(parcels_app, name="parcels")
# -- end parcels --
# -- legal: the retention sweeper --
from parcelguard.access import retention_cli  # noqa: E402 - grouped with its registration
from parcelguard.audit.association_cli import app as association_app  # noqa: E402
from parcelguard.audit.association_cli import support_app  # noqa: E402

app.add_typer(retention_cli.build_app(vault_for=vault_service), name="retention")
app.add_typer(association_app, name="association")
audit_cli_app.add_typer(support_app, name="support")
# -- end legal --
# -- outbox: domain events on their way to their reactions --
from parcelguard.core.outbox_cli import events_app  # noqa: E402 - grouped with its registration

app.add_typer(events_app, name="events")
# -- end outbox --
console = Console()
err = Console(stderr=True, soft_wrap=True)


def _runtime(ctx: typer.Context) -> Runtime:
    rt: Runtime = ctx.obj
    return rt


@app.callback()
def _main(ctx: typer.Context) -> None:
    os.umask(PRIVATE_UMASK)  # whatever the CLI writes is 0600/0700 (core/files.py)
    try:
        settings = load_settings()
    except SettingsError as exc:
        raise _fail(str(exc)) from None
    ctx.obj = Runtime(settings=settings, on_open=register_handlers)
    ctx.call_on_close(ctx.obj.close)
    access_cli.wire(ctx, GATE_SERVICES)


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


@app.command()
def init(ctx: typer.Context) -> None:
    """Create the store: the home, the master key, the database (migrations), the
    supervision department and its admin account. The only command that creates a
    store. The admin password is printed once; store it safely."""
    rt = _runtime(ctx)
    init_store(rt.settings)
    with rt.db.unit_of_work() as uow:
        result = identity.initialise(uow.session, clock=rt.clock)
        uow.commit()
    console.print(f"database ready: [bold]{rt.db.engine.url.render_as_string()}[/bold]")
    if result.created:
        console.print("supervision department created; admin account "
                      f"[bold]{result.admin_username}[/bold], password (shown once):")
        print(result.admin_password)
    else:
        console.print("already initialised; nothing changed")


@app.command()
def ingest(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Events as JSONL (one object per line) or Parquet.")],
    rejects: Annotated[Path | None, typer.Option(
        help="Where to write rejected lines (JSONL). Default: FILE.rejects.jsonl")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Events per transaction.")] = None,
    register: Annotated[bool, typer.Option(
        help="Register enterprise ids seen for the first time (operator ingest).")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Validate and store events. Bad lines are reported with their line number and
    reason and written to a rejects file; the exit status is 1 if any was rejected.
    Re-running on the same file stores nothing new."""
    rt = _runtime(ctx)
    if not file.is_file():
        raise _fail(f"no such file: {file}")
    rejects_path = rejects or file.with_name(file.name + ".rejects.jsonl")

    def on_new(session: object, ids: set[str]) -> dict[str, str]:
        # Refused enterprises are rejected lines (with their numbers), not a lost file.
        if not register:
            return dict.fromkeys(ids, "unknown enterprise_id (register it with `parcelguard "
                                      "org create` or use --register)")
        return identity.ensure_enterprises(session, ids, rt.clock)  # type: ignore[arg-type]

    log = EventLog(clock_now=rt.clock.now, on_new_enterprises=on_new)
    with Progress(TextColumn("ingest"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("lines"), TimeElapsedColumn(), console=err,
                  disable=as_json or not err.is_terminal) as bar:
        task = bar.add_task("ingest", total=None)
        try:
            report = ingest_file(
                rt.db, file, log=log,
                batch_size=batch_size or rt.settings.ingest.batch_size,
                max_line_bytes=rt.settings.ingest.max_line_bytes,
                rejects_path=rejects_path,
                progress=lambda lines, _b: bar.update(task, completed=lines))
        except DomainError as exc:
            raise _fail(exc.message) from None
    if as_json:
        print(json.dumps(report.as_dict()))
    else:
        for rej in report.rejected[:50]:
            err.print(f"line {rej.line_no}: {rej.reason}")
        if len(report.rejected) > 50:
            err.print(f"... and {len(report.rejected) - 50} more in {rejects_path}")
        console.print(
            f"{report.lines} lines: [green]{report.stored} stored[/green], "
            f"{report.duplicates} already stored, "
            f"[{'red' if report.rejected else 'green'}]{len(report.rejected)} rejected"
            f"[/] in {report.seconds:.1f}s ({report.rate:,.0f} lines/s)")
        if report.rejected:
            console.print(f"rejected lines written to {rejects_path}")
    if not report.rejected and rejects_path.exists() and rejects_path.stat().st_size == 0:
        rejects_path.unlink()
    if report.rejected:
        raise typer.Exit(1)


@org_app.command("create")
def org_create(
    ctx: typer.Context,
    org_id: Annotated[str, typer.Argument(help="Stable id (enterprise_id in event streams).")],
    kind: Annotated[str, typer.Option(help="enterprise, supervisor, police, auditor, cac or "
                                          "association")],
    name: Annotated[str, typer.Option(help="Display name.")],
    region: Annotated[str | None, typer.Option(help="6-digit region code.")] = None,
    cii: Annotated[bool, typer.Option(help="Critical information infrastructure operator.")]
    = False,
) -> None:
    """Register an organisation."""
    rt = _runtime(ctx)
    try:
        with rt.db.unit_of_work() as uow:
            identity.create_organization(uow.session, org_id=org_id, kind=kind, name=name,
                                         clock=rt.clock, region_code=region, is_cii=cii)
            uow.commit()
    except DomainError as exc:
        raise _fail(exc.message) from None
    console.print(f"created {kind} [bold]{org_id}[/bold]")


@org_app.command("list")
def org_list(ctx: typer.Context) -> None:
    """List organisations and the size of each enterprise's event log."""
    rt = _runtime(ctx)
    from sqlalchemy import select

    from parcelguard.identity.models import Organization

    with rt.db.unit_of_work() as uow:
        orgs = list(uow.session.scalars(select(Organization).order_by(Organization.kind,
                                                                      Organization.id)))
        sizes = log_sizes(uow.session)
    table = Table("id", "kind", "name", "events")
    for o in orgs:
        table.add_row(o.id, o.kind, o.name, str(sizes.get(o.id, "")))
    console.print(table)


@account_app.command("create")
def account_create(
    ctx: typer.Context,
    username: str,
    org: Annotated[str, typer.Option(help="Organisation id.")],
    role: Annotated[str, typer.Option(help="Role (see docs/identity.md).")],
) -> None:
    """Create an account; its generated password is printed once."""
    rt = _runtime(ctx)
    try:
        with rt.db.unit_of_work() as uow:
            _, password = identity.create_account(uow.session, org_id=org, username=username,
                                                  role=role, clock=rt.clock)
            uow.commit()
    except DomainError as exc:
        raise _fail(exc.message) from None
    console.print(f"account [bold]{username}[/bold] created; password (shown once):")
    print(password)


@apikey_app.command("issue")
def apikey_issue(
    ctx: typer.Context,
    org: Annotated[str, typer.Option(help="Organisation the key acts for.")],
    name: Annotated[str, typer.Option(help="What the key is for.")],
    role: Annotated[str, typer.Option(help="Role of the key.")] = "ingest_client",
) -> None:
    """Issue an API key (operator command); the key is printed once."""
    rt = _runtime(ctx)
    from parcelguard.identity.permissions import system_principal

    try:
        with rt.db.unit_of_work() as uow:
            identity.initialise(uow.session, clock=rt.clock)
            issued = identity.issue_api_key(uow.session, system_principal(
                identity.SUPERVISOR_ORG_ID), name=name, role=role, clock=rt.clock, org_id=org)
            uow.commit()
    except DomainError as exc:
        raise _fail(exc.message) from None
    console.print(f"API key {issued.id} (shown once):")
    print(issued.secret)


@app.command()
def demo(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("demo-out"),
    seed: Annotated[int, typer.Option(help="World seed (deterministic).")] = 7,
    parcels: Annotated[int, typer.Option(help="Parcels in the world.", min=100)] = 100_000,
    enterprises: Annotated[int, typer.Option(help="Enterprises in the world.", min=1)] = 3,
    # day 1 is every insider's baseline; the injected abuse starts on day 2
    days: Annotated[int, typer.Option(help="Days simulated (at least 2).", min=2)] = 3,
) -> None:
    """Build a simulated logistics world with injected abuse and run the whole
    supervision mechanism on it; writes demo-out/ (events, ground truth, summary)."""
    from parcelguard.simulation.demo import DemoOptions, run_demo

    rt = _runtime(ctx)
    run_demo(rt, DemoOptions(out=out, seed=seed, parcels=parcels, enterprises=enterprises,
                             days=days), console=console)


@app.command()
def world2(
    out: Annotated[Path, typer.Option(help="Output directory (events.jsonl, truth.json).")]
    = Path("world2-out"),
    seed: Annotated[int, typer.Option(help="World seed (deterministic).")] = 1,
    days: Annotated[int, typer.Option(help="Days generated (at least 8).", min=8)] = 10,
    parcels: Annotated[int, typer.Option(help="Parcels per outlet and day.")] = 450,
) -> None:
    """Generate the second, independent world (simulation/world2): contract-valid
    events and a ground truth of abuse and benign look-alikes that `monitor evaluate`
    reads."""
    from parcelguard.simulation.world2 import Params, generate, write

    out.mkdir(parents=True, exist_ok=True)
    n = write(generate(Params(seed=seed, days=days, parcels_per_outlet_day=parcels)),
              out / "events.jsonl", out / "truth.json")
    console.print(f"{n:,} events in {out / 'events.jsonl'}, truth in {out / 'truth.json'}")


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

    rt = _runtime(ctx)
    # -- web: serve --demo --
    if demo:
        from parcelguard.web.serve_demo import prepare

        rt = prepare(rt, out=out, console=console, host=host, port=port)
        ctx.call_on_close(rt.close)
    # -- end web --
    # auth: trusted proxies, an access log without client addresses or tokens
    from parcelguard.web.serving import uvicorn_config

    uvicorn.Server(uvicorn_config(create_app(rt), rt.settings, host=host, port=port)).run()


# -- ops: upgrade, backup, restore (docs/operations.md) --
from parcelguard.ops import cli as ops_cli  # noqa: E402 - grouped with its registration

ops_cli.register(app)
# -- end ops --


def main() -> None:
    try:
        app()
    except DomainError as exc:  # last resort: a clean message, never a traceback with data
        err.print(f"[red]error:[/red] {exc.message}")
        sys.exit(2)
    except BaseException as exc:  # refusals and storage faults: their own exit codes
        code = ops_cli.exit_for(exc, err)
        if code is None:
            raise
        sys.exit(code)
