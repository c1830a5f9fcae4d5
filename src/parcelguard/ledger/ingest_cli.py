"""``parcelguard ingest``: validate and store contract events from JSONL or Parquet."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.orm import Session

from parcelguard.core.clock import Clock
from parcelguard.core.errors import DomainError
from parcelguard.core.runtime import Runtime
from parcelguard.ledger.ingest import EventLog
from parcelguard.ledger.service import ingest_file
from parcelguard.ledger.settings import IngestSettings

console = Console()
err = Console(stderr=True, soft_wrap=True)

# ids of enterprises seen for the first time -> {id: why refused}; registration lives
# in identity, which the composition root passes in.
EnsureEnterprises = Callable[[Session, set[str], Clock], dict[str, str]]


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


def build_app(ensure_enterprises: EnsureEnterprises) -> typer.Typer:
    """The ``ingest`` command (a one-command app the CLI mounts at the top level)."""
    app = typer.Typer()

    @app.command()
    def ingest(
        ctx: typer.Context,
        file: Annotated[Path, typer.Argument(
            help="Events as JSONL (one object per line) or Parquet.")],
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
        rt: Runtime = ctx.obj
        if not file.is_file():
            raise _fail(f"no such file: {file}")
        rejects_path = rejects or file.with_name(file.name + ".rejects.jsonl")

        def on_new(session: Session, ids: set[str]) -> dict[str, str]:
            # Refused enterprises are rejected lines (with their numbers), not a lost file.
            if not register:
                return dict.fromkeys(ids, "unknown enterprise_id (register it with `parcelguard "
                                          "org create` or use --register)")
            return ensure_enterprises(session, ids, rt.clock)

        log = EventLog(clock_now=rt.clock.now, on_new_enterprises=on_new)
        with Progress(TextColumn("ingest"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("lines"), TimeElapsedColumn(), console=err,
                      disable=as_json or not err.is_terminal) as bar:
            task = bar.add_task("ingest", total=None)
            committed = 0  # lines of the batches committed so far

            def progress(lines: int, _bytes: int) -> None:
                nonlocal committed
                committed = lines
                bar.update(task, completed=lines)

            try:
                report = ingest_file(
                    rt.db, file, log=log,
                    batch_size=batch_size or rt.settings.section(IngestSettings).batch_size,
                    max_line_bytes=rt.settings.section(IngestSettings).max_line_bytes,
                    rejects_path=rejects_path, progress=progress)
            except DomainError as exc:
                raise _fail(exc.message) from None
            except KeyboardInterrupt:
                # The batch in flight rolled back; the committed ones stay.
                bar.stop()
                done = (f"lines 1 to {committed:,} are done (stored, already stored or "
                        "rejected)" if committed else "nothing was stored")
                err.print(f"interrupted: {done}; run the same command again for the rest "
                          "(what is stored is never stored twice)")
                raise typer.Exit(130) from None
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

    return app
