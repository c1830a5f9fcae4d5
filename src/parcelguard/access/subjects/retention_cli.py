"""``parcelguard retention sweep``: crypto-shred the PI kept past the period the
privacy notice promises (access/subjects/retention.py). Run it daily (cron or a systemd
timer: parcelguard has no scheduler of its own); a second run the same day finds
nothing to do. Exit status: 0 done, 2 the command could not run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from parcelguard.access.subjects import retention
from parcelguard.core.errors import DomainError
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity import read as identity_read
from parcelguard.vault.service import VaultService

out = Console()
err = Console(stderr=True, soft_wrap=True)


def build_app(*, vault_for: Callable[[Settings], VaultService]) -> typer.Typer:
    app = typer.Typer(help="Retention: delete (crypto-shred) PI past the period the privacy "
                      "notice promises.", no_args_is_help=True)

    @app.command("sweep")
    def sweep(
        ctx: typer.Context,
        enterprise: Annotated[list[str] | None, typer.Option(
            "--enterprise", "-e", help="Enterprise(s) to sweep (default: every one).")] = None,
        batch: Annotated[int, typer.Option(min=1, help="People per transaction.")] = 500,
    ) -> None:
        """Crypto-shred everyone whose newest parcel is older than the notice's period
        (and none of whose parcels is still being carried); each batch commits with one
        delete event in the enterprise's log."""
        rt: Runtime = ctx.obj
        vault = vault_for(rt.settings)
        with rt.db.unit_of_work() as uow:
            ids = enterprise or identity_read.org_ids(uow.session, "enterprise")
        now = rt.clock.now()
        for ent in ids:
            try:
                with rt.db.unit_of_work() as uow, Progress(
                        TextColumn(f"{ent}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=err, transient=True) as bar:
                    task = bar.add_task("sweep", total=None)

                    def step(done: int, total: int, *, _bar: Progress = bar,
                             _task: TaskID = task) -> None:
                        _bar.update(_task, completed=done, total=total)

                    res = retention.sweep(uow.session, vault, enterprise_id=ent, now=now,
                                          batch=batch, progress=step)
                    uow.commit()
            except (DomainError, ValueError) as exc:
                msg = exc.message if isinstance(exc, DomainError) else str(exc)
                err.print(f"error: {ent}: {msg}", highlight=False, markup=False)
                raise typer.Exit(2) from None
            out.print(f"{ent}: period {res.period.days} days ({res.period.source}), cutoff "
                      f"{res.cutoff.date().isoformat()}: {res.shredded} people crypto-shredded "
                      f"({res.keys_destroyed} keys), {res.held_open} held (a parcel still "
                      f"being carried); events {', '.join(res.event_ids) or '-'}",
                      highlight=False, markup=False)

    return app
