"""``parcelguard keys``: key rotation and retirement (operator commands)."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Sequence
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from parcelguard.core.errors import DomainError
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.vault import rotation
from parcelguard.vault.service import VaultService

console = Console()
err = Console(stderr=True, soft_wrap=True)


def build_app(*, vault_for: Callable[[Settings], VaultService],
              locations: Sequence[rotation.CiphertextColumn]) -> typer.Typer:
    app = typer.Typer(help="PI vault keys: rotation without downtime, retirement.",
                      no_args_is_help=True)

    def _run(rt: Runtime, vs: VaultService, enterprise: str, batch: int, nice: int) -> None:
        with rt.db.unit_of_work() as uow:
            job = rotation.running_job(uow.session, enterprise)
            total = job.subjects_done + rotation.remaining(uow.session, job)
            done = job.subjects_done
            keyset = vs.keyset(uow.session, enterprise, create=False)
            reencrypt, to_version = job.reencrypt, job.to_version
        # Everything loaded so far lives until exit: out of the collector's reach, a
        # full collection no longer walks it while batches allocate rows by the thousand.
        gc.freeze()
        started, said = time.monotonic(), time.monotonic()
        # (its writer thread, if the rest is niced, is made first and keeps the
        # process's priority)
        rewrap = None if reencrypt else rotation.Rewrap(rt.db.engine, vs, keyset,
                                                         now=rt.clock.now,
                                                         writer_thread=nice > 0)
        if nice:
            # background work: on a node with few cores, a rotation at the API's own
            # priority takes a core's worth of CPU from the requests
            os.nice(nice)
        subjects_done, fields = done, 0
        with Progress(TextColumn("re-keying subjects"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(),
                      TextColumn("ETA"), TimeRemainingColumn(), console=err,
                      disable=not err.is_terminal) as bar:
            task = bar.add_task("rotate", total=total, completed=done)
            try:
                while True:
                    # one short transaction per batch, and a kill loses at most this
                    # batch; a re-wrap batch is read and computed before it, so the
                    # writer is held only for the UPDATE (milliseconds)
                    if rewrap is not None:
                        report = rewrap.step(batch)
                        subjects_done = rewrap.subjects_done
                    else:
                        with rt.db.unit_of_work() as uow:
                            job = rotation.running_job(uow.session, enterprise)
                            report = rotation.run_batch(uow.session, vs, job,
                                                        locations=locations, batch=batch,
                                                        at=rt.clock.now())
                            subjects_done, fields = job.subjects_done, job.fields_reencrypted
                            uow.commit()
                    bar.update(task, advance=report.subjects)
                    if report.done:
                        break
                    now = time.monotonic()
                    if not err.is_terminal and now - said >= 5:  # logs get a line, not a bar
                        said = now
                        rate = (subjects_done - done) / max(now - started, 1e-9)
                        left = max(total - subjects_done, 0)
                        err.print(f"re-keyed {subjects_done:,}/{total:,} subjects, "
                                  f"{rate:,.0f}/s, ETA {left / max(rate, 1e-9):,.0f} s")
            finally:
                if rewrap is not None:
                    rewrap.close()
        elapsed = time.monotonic() - started
        held = ("" if rewrap is None else
                f" The longest write held the database {rewrap.longest_hold * 1000:,.0f} ms.")
        console.print(f"rotation of {enterprise} finished: {subjects_done} subjects, "
                      f"{fields} fields re-encrypted in {elapsed:.1f} s "
                      f"({(subjects_done - done) / max(elapsed, 1e-9):,.0f} subjects/s); "
                      f"key version {to_version} is primary. Old versions still decrypt "
                      f"until `parcelguard keys retire`.{held}")

    @app.command()
    def rotate(
        ctx: typer.Context,
        enterprise: Annotated[str, typer.Option(help="Enterprise whose keys rotate.")],
        reencrypt: Annotated[bool, typer.Option(
            help="Also give every data subject a new data key and re-encrypt their "
                 "fields (default: re-wrap data keys under the new key only).")] = False,
        resume: Annotated[bool, typer.Option(help="Resume the rotation already running.")]
        = False,
        batch: Annotated[int, typer.Option(min=1, help="Subjects per transaction (each "
                                           "holds the writer for milliseconds).")] = 2000,
        nice: Annotated[int, typer.Option(min=0, max=19, help=(
            "CPU niceness added to this process: the rotation yields the CPU to the "
            "serving node on a busy machine and runs at full speed on an idle one "
            "(0: no change)."))] = 10,
    ) -> None:
        """Rotate an enterprise's keys with no downtime: the new key is used for new
        writes at once; existing keys move in resumable batches."""
        rt: Runtime = ctx.obj
        vs = vault_for(rt.settings)
        try:
            if not resume:
                with rt.db.unit_of_work() as uow:
                    job = rotation.start_rotation(uow.session, vs, enterprise_id=enterprise,
                                                  reencrypt=reencrypt, at=rt.clock.now())
                    uow.commit()
                console.print(f"key version {job.to_version} is now primary for {enterprise}")
            _run(rt, vs, enterprise, batch, nice)
        except (DomainError, LookupError) as exc:
            err.print(f"[red]error:[/red] {getattr(exc, 'message', exc)}")
            raise typer.Exit(2) from None

    @app.command()
    def retire(ctx: typer.Context,
               enterprise: Annotated[str, typer.Option(help="Enterprise.")]) -> None:
        """Destroy old key versions that no data key uses any more."""
        rt: Runtime = ctx.obj
        vs = vault_for(rt.settings)
        with rt.db.unit_of_work() as uow:
            retired = rotation.retire_stale(uow.session, vs, enterprise_id=enterprise)
            uow.commit()
        console.print(f"retired key versions: {retired or 'none'}")

    @app.command()
    def status(ctx: typer.Context,
               enterprise: Annotated[str, typer.Option(help="Enterprise.")]) -> None:
        """Key versions and any running rotation."""
        rt: Runtime = ctx.obj
        vs = vault_for(rt.settings)
        with rt.db.unit_of_work() as uow:
            try:
                ks = vs.keyset(uow.session, enterprise, create=False)
            except LookupError:
                err.print(f"[red]error:[/red] {enterprise} has no keys yet")
                raise typer.Exit(2) from None
            for k in ks.keks:
                console.print(f"version {k.version}: {k.status.value}")
            try:
                job = rotation.running_job(uow.session, enterprise)
                console.print(f"rotation running: {job.subjects_done} subjects done, "
                              f"{rotation.remaining(uow.session, job)} to go")
            except DomainError:
                console.print("no rotation running")

    return app
