"""``parcelguard events ...``: the outbox's backlog, requeueing and the dispatcher.

Lists never show a payload (it is for handlers), only ids, types, states and the
reasons of failures. Exit status: 0 done, 1 ``dispatch`` left failures or dead
letters, 2 the command could not run.
"""

from __future__ import annotations

import json
import signal
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from parcelguard.core import outbox, outbox_admin
from parcelguard.core.runtime import Runtime

out = Console()
err = Console(stderr=True, soft_wrap=True)

events_app = typer.Typer(help="Domain events on their way to their reactions (the outbox).",
                         no_args_is_help=True)


def _rt(ctx: typer.Context) -> Runtime:
    rt: Runtime = ctx.obj
    return rt


@events_app.command("outbox")
def list_outbox(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(
        help="pending, failed, dead or done (default: every message not done)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Messages newest first with each handler's delivery state and failure reason."""
    if status is not None and status not in outbox.STATUSES:
        err.print(f"[red]error:[/red] --status must be one of {', '.join(outbox.STATUSES)}")
        raise typer.Exit(2)
    with _rt(ctx).db.unit_of_work() as uow:
        rows = outbox_admin.list_messages(uow.session, status=status, limit=limit)
        counts = outbox_admin.backlog(uow.session)
    if as_json:
        for r in rows:
            print(json.dumps(r.as_dict()))
        return
    table = Table("message", "type", "source", "created", "status", "attempts", "handlers",
                  "reason")
    for r in rows:
        table.add_row(r.id, f"{r.type} v{r.version}", r.source_org or "",
                      r.created_at.isoformat(timespec="seconds"), r.status, str(r.attempts),
                      "\n".join(f"{d['handler']}: {d['status']} ({d['attempts']})"
                                for d in r.deliveries), r.last_error or "")
    out.print(table)
    err.print("backlog: " + (", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
                             or "empty"))


@events_app.command("retry")
def retry(
    ctx: typer.Context,
    message_id: Annotated[str | None, typer.Argument(help="A failed or dead message.")] = None,
    dead: Annotated[bool, typer.Option("--dead", help="Every dead-lettered message.")] = False,
) -> None:
    """Requeue with a fresh budget of attempts, and deliver at once."""
    if (message_id is None) == (not dead):
        err.print("[red]error:[/red] give a message id or --dead")
        raise typer.Exit(2)
    rt = _rt(ctx)
    with rt.db.unit_of_work() as uow:
        ids = outbox_admin.requeue(uow.session, message_id=message_id, dead=dead)
        if message_id is not None and not ids:
            err.print(f"[red]error:[/red] no failed or dead message {message_id}")
            raise typer.Exit(2)
        uow.commit()  # delivers them
    with rt.db.unit_of_work() as uow:
        left = [v for v in outbox_admin.list_messages(uow.session, limit=10_000) if v.id in ids]
    out.print(f"requeued {len(ids)}; {len(ids) - len(left)} delivered, {len(left)} still "
              "failing (see `parcelguard events outbox`)")


@events_app.command("dispatch")
def dispatch(
    ctx: typer.Context,
    follow: Annotated[bool, typer.Option(help="Keep delivering as messages come due "
                                         "(stop with Ctrl-C or SIGTERM).")] = False,
) -> None:
    """Deliver every due message (pending, or failed and past its back-off) to its
    handlers; prints the counts as JSON."""
    rt = _rt(ctx)
    dispatcher = rt.db.dispatcher
    if dispatcher is None:  # the CLI always wires one; a bare runtime does not
        err.print("[red]error:[/red] no reactions are registered")
        raise typer.Exit(2)
    if follow:
        stop = {"flag": False}

        def _stop(_sig: int, _frame: object) -> None:
            stop["flag"] = True

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        report = dispatcher.follow(poll_seconds=rt.settings.outbox.poll_seconds,
                                   should_stop=lambda: stop["flag"])
    else:
        report = dispatcher.drain()
    print(json.dumps(report.as_dict()))
    for reason in report.reasons[:20]:
        err.print(reason, markup=False, highlight=False)
    if report.failed or report.dead:
        raise typer.Exit(1)
