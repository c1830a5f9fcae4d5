"""``parcelguard monitor ...``: replay a file, run against the database, evaluate,
list and acknowledge alerts, and the Spark runner.

Data goes to stdout (alerts as JSON lines, tables), messages to stderr. Exit status:
0 success, 2 the command could not run (bad input, unknown alert).
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from parcelguard.core.errors import DomainError
from parcelguard.core.runtime import Runtime
from parcelguard.identity.permissions import Principal, system_principal
from parcelguard.monitor import service
from parcelguard.monitor.detectors import DETECTORS, OFF_SHIFT_RULE
from parcelguard.monitor.settings import MonitorSettings
from parcelguard.monitor.source import BadEvent

monitor_app = typer.Typer(help="The supervision monitor: detectors, runners and alerts.",
                          no_args_is_help=True)
alerts_app = typer.Typer(help="Alerts raised by the monitor.", no_args_is_help=True)
monitor_app.add_typer(alerts_app, name="alerts")

out = Console()
err = Console(stderr=True, soft_wrap=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _rt(ctx: typer.Context) -> Runtime:
    rt: Runtime = ctx.obj
    return rt


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(2)


@monitor_app.command()
def replay(
    ctx: typer.Context,
    events: Annotated[Path, typer.Argument(help="Events: JSONL or Parquet file, a "
                                           "directory of them, or a supervision node's "
                                           "national store (<node home>/national).")],
    alerts_out: Annotated[Path, typer.Option("--alerts-out", help="Where to write the "
                                             "alerts, one JSON object per line.")],
) -> None:
    """Run the detectors over an event file in event-time order, in a fresh
    temporary store, and write one alert per line (contracts/alert.schema.json)."""
    from parcelguard.monitor.replay import replay as do_replay

    if not events.exists():
        raise _fail(f"no such events file: {events}")
    try:
        report = do_replay(events, alerts_out, _rt(ctx).settings.section(MonitorSettings))
    except BadEvent as exc:
        raise _fail(str(exc)) from None
    err.print(f"{report.events:,} events -> {report.alerts} alerts in {report.seconds:.1f}s "
              f"({report.events / max(report.seconds, 1e-9):,.0f} events/s); "
              f"written to {alerts_out}")


@monitor_app.command()
def run(
    ctx: typer.Context,
    follow: Annotated[bool, typer.Option(help="Keep running and process new events as "
                                         "they are ingested (stop with Ctrl-C).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Process every enterprise's log from where the monitor left off; state, cursor
    and new alerts commit together per micro-batch (crash-safe)."""
    from parcelguard.monitor.runner import run as do_run

    rt = _rt(ctx)
    stop = {"flag": False}

    def _stop(_sig: int, _frame: object) -> None:
        stop["flag"] = True

    if follow:
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    # each batch's AlertRaised is in the outbox with it; the plugins' dispatcher delivers
    report = do_run(rt.db, rt.settings.section(MonitorSettings), rt.clock, follow=follow,
                    should_stop=lambda: stop["flag"])
    if as_json:
        print(json.dumps(report.as_dict()))
    else:
        err.print(f"{report.events:,} events in {report.batches} batches; "
                  f"{report.alerts_raised} new alerts")


@monitor_app.command()
def evaluate(
    alerts: Annotated[Path, typer.Option(help="Alerts JSONL (monitor replay output).")],
    truth: Annotated[Path, typer.Option(help="ground_truth.json of the simulated world.")],
    as_json: JsonOpt = False,
) -> None:
    """Subject-level recall, precision and median time to detect against the
    simulator's ground truth (rules in docs/monitor.md)."""
    from parcelguard.monitor.evaluate import evaluate_files

    for p in (alerts, truth):
        if not p.is_file():
            raise _fail(f"no such file: {p}")
    ev = evaluate_files(alerts, truth)
    if as_json:
        print(json.dumps(ev.as_dict()))
        return
    out.print(f"recall {ev.recall:.3f} ({ev.detected_units}/{ev.units} subjects), "
              f"precision {ev.precision:.3f} ({ev.true_alerts}/{ev.alerts} alerts), "
              f"median time to detect {ev.mttd_minutes or 0:.1f} min")
    for m in ev.missed:
        out.print(f"  missed {m}")
    for det, n in ev.false_alerts.items():
        out.print(f"  false alerts from {det}: {n}")


@monitor_app.command()
def detectors() -> None:
    """The detectors and their rules (parameters: PARCELGUARD_MONITOR__*)."""
    table = Table("detector", "base score", "subject", "rule")
    for d in DETECTORS.values():
        table.add_row(d.name, f"{d.base:.2f}", d.subject, d.rule)
    table.add_row("(off_shift)", "+boost", "actor", OFF_SHIFT_RULE)
    out.print(table)


@monitor_app.command()
def spark(
    events: Annotated[Path, typer.Option("--events", help="Directory of JSONL/Parquet "
                                         "event files (read as a stream).")],
    alerts_out: Annotated[Path, typer.Option("--alerts-out", help="Output directory.")],
    ctx: typer.Context,
    master: Annotated[str | None, typer.Option(
        "--master", help="Spark master, e.g. local[2] or spark://host:7077 (default: "
        "PARCELGUARD_SPARK_MASTER, else local[2]).")] = None,
) -> None:
    """Run the same detectors on Apache Spark Structured Streaming (the `spark`
    extra); writes alerts.jsonl into the output directory. --events may be a
    supervision node's national store (<node home>/national: the mirrored entries as
    Parquet partitions by enterprise and day)."""
    try:
        from parcelguard.monitor.spark import run_spark
    except ImportError:
        raise _fail("pyspark is not installed: pip install 'parcelguard[spark]'") from None
    n = run_spark(events, alerts_out, _rt(ctx).settings.section(MonitorSettings), master=master)
    err.print(f"{n} alerts written to {alerts_out / 'alerts.jsonl'}")


def _operator() -> Principal:
    from parcelguard.identity.service import SUPERVISOR_ORG_ID

    return system_principal(SUPERVISOR_ORG_ID)


@alerts_app.command("list")
def alerts_list(
    ctx: typer.Context,
    enterprise: Annotated[str | None, typer.Option("--enterprise", "-e")] = None,
    status: Annotated[str | None, typer.Option(help="open, acknowledged or closed")] = None,
    detector: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    as_json: JsonOpt = False,
) -> None:
    """List alerts, newest first (operator: every enterprise)."""
    from parcelguard.monitor.schemas import AlertRead

    flt = service.AlertFilter(enterprise_id=enterprise, status=status, detector=detector,
                              limit=limit)
    with _rt(ctx).db.unit_of_work() as uow:
        rows = [AlertRead.of(a) for a in service.list_alerts(uow.session, _operator(), flt)]
    if as_json:
        for r in rows:
            print(r.model_dump_json())
        return
    table = Table("alert", "raised", "enterprise", "detector", "subject", "severity",
                  "events", "status")
    for r in rows:
        table.add_row(r.alert_id, r.raised_at.isoformat(timespec="seconds"), r.enterprise_id,
                      r.detector, r.subject_id, r.severity, str(r.record_count), r.status)
    out.print(table)


def _handle(ctx: typer.Context, alert_id: str, *, closing: bool, reason: str | None = None,
            note: str = "") -> None:
    rt = _rt(ctx)
    try:
        with rt.db.unit_of_work() as uow:
            row = service.get_alert(uow.session, _operator(), alert_id)
            # the operator acts as the enterprise's security officer on the local CLI
            who = Principal(org_id=row.enterprise_id, org_kind="enterprise",
                            role="security_officer", account_id="cli")
            if closing:
                row = service.close(uow.session, who, alert_id, clock=rt.clock, reason=reason,
                                    note=note)
            else:
                row = service.acknowledge(uow.session, who, alert_id, clock=rt.clock)
            status = row.status
            uow.commit()
    except DomainError as exc:
        raise _fail(exc.message) from None
    out.print(f"{alert_id}: {status}")


@alerts_app.command("ack")
def alerts_ack(ctx: typer.Context, alert_id: str) -> None:
    """Acknowledge an alert (it stays open and keeps collecting evidence)."""
    _handle(ctx, alert_id, closing=False)


@alerts_app.command("close")
def alerts_close(ctx: typer.Context, alert_id: str,
                 reason: Annotated[str | None, typer.Option(
                     help="handled, false_positive, duplicate or escalated")] = None,
                 note: Annotated[str, typer.Option(help="Why, for the regulator (no PI).")]
                 = "") -> None:
    """Close a handled alert; new evidence about the subject opens a new one."""
    _handle(ctx, alert_id, closing=True, reason=reason, note=note)
