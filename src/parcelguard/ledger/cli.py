"""``parcelguard ledger ...``: checkpoints, keys, proofs, export, verify, archive.

Everything that is data goes to stdout in a machine-readable form (a signed note,
a key string, JSON); messages go to stderr. Exit status: 0 success, 1 a check found a
problem (verify), 2 the command could not run (unknown enterprise, bad arguments).

supervision/plugin.py builds this sub-app with ``build_app``, passing the
KMS that unwraps checkpoint keys and extra commands owned by other packages (the
supervision department's ``witness``); this module never picks a KMS itself.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.core.errors import DomainError
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.ledger import logs, retention, signing
from parcelguard.ledger.models import LedgerHead
from parcelguard.ledger.tiles import TileConflictError, TileMissingError

KmsFactory = Callable[[Settings], signing.KeyWrapper]
# ctx.meta key under which build_app's callback leaves the KMS factory for commands
# (and for extra commands registered by other packages).
KMS_META = "parcelguard.ledger.kms"

err = Console(stderr=True, soft_wrap=True)

Enterprise = Annotated[str, typer.Option("--enterprise", "-e", help="Enterprise id (its log).")]


def runtime(ctx: typer.Context) -> Runtime:
    rt: Runtime = ctx.obj
    return rt


def kms(ctx: typer.Context) -> signing.KeyWrapper:
    """The configured KMS (built on first use: commands that sign need it, others not)."""
    factory: KmsFactory = ctx.meta[KMS_META]
    return factory(runtime(ctx).settings)


@contextmanager
def transaction(ctx: typer.Context) -> Iterator[Session]:
    """One transaction for a command; domain and storage errors end it with exit 2."""
    try:
        with runtime(ctx).db.unit_of_work() as uow:
            yield uow.session
            uow.commit()
    except DomainError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from None
    except (TileMissingError, TileConflictError) as exc:
        err.print(f"[red]error:[/red] the log's storage is damaged: {exc}; "
                  "run `parcelguard ledger verify`")
        raise typer.Exit(2) from None


def print_json(data: Mapping[str, Any]) -> None:
    print(json.dumps(data, separators=(",", ":")))


def checkpoint(ctx: typer.Context, enterprise: Enterprise) -> None:
    """Print a fresh checkpoint of the log, signed by the enterprise's key (C2SP
    signed note; the key is created on first use)."""
    with transaction(ctx) as session:
        signed = signing.checkpoint(session, enterprise, kms=kms(ctx), clock=runtime(ctx).clock)
    sys.stdout.write(signed.note)


def pubkey(ctx: typer.Context, enterprise: Enterprise) -> None:
    """Print the note verifier key (name+hash+base64key) that checks the checkpoints."""
    with transaction(ctx) as session:
        vkey = signing.verifier_key(session, enterprise, kms=kms(ctx), clock=runtime(ctx).clock)
    print(vkey)


def prove(
    ctx: typer.Context,
    enterprise: Enterprise,
    index: Annotated[int, typer.Option(help="Leaf index (0-based log position).")],
    size: Annotated[int | None, typer.Option(help="Tree size (default: current).")] = None,
) -> None:
    """Print an RFC 9162 inclusion proof as JSON: leaf_index, tree_size, leaf (base64
    of the leaf bytes) and inclusion (base64 hashes, leaf side first)."""
    with transaction(ctx) as session:
        print_json(logs.prove(session, enterprise, index, size))


def consistency(
    ctx: typer.Context,
    enterprise: Enterprise,
    old: Annotated[int, typer.Option(help="Older tree size.")],
    new: Annotated[int, typer.Option(help="Newer tree size.")],
) -> None:
    """Print an RFC 9162 consistency proof as JSON: old_size, new_size and
    consistency (base64 hashes)."""
    with transaction(ctx) as session:
        print_json(logs.consistency(session, enterprise, old, new))


def export(
    ctx: typer.Context,
    enterprise: Enterprise,
    out: Annotated[Path, typer.Option(help="Output file ('-' for stdout).")],
) -> None:
    """Write the leaves in log order, one canonical JSON per line (streamed)."""
    with transaction(ctx) as session:
        if str(out) == "-":
            count = logs.export(session, enterprise, sys.stdout.buffer)
            sys.stdout.flush()
        else:
            with out.open("wb") as fh:
                count = logs.export(session, enterprise, fh)
    if str(out) != "-":
        print_json({"enterprise_id": enterprise, "leaves": count, "out": str(out)})


def verify(ctx: typer.Context, enterprise: Enterprise) -> None:
    """Recompute the log from its stored leaves and check every stored hash and the
    last signed checkpoint. Prints JSON {ok, size, first_bad_index, reason, ...};
    exits 1 if anything was altered."""
    with transaction(ctx) as session:
        report = logs.verify(session, enterprise)
    print_json(report.as_dict())
    if not report.ok:
        raise typer.Exit(1)


def _cutoff(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter("use an ISO date or date-time, e.g. 2026-05-01") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def archive(
    ctx: typer.Context,
    before: Annotated[str, typer.Option(help="Archive events that occurred before this ISO "
                                        "date/time (UTC unless an offset is given); at "
                                        "least six months ago.")],
    enterprise: Annotated[str | None, typer.Option(
        "--enterprise", "-e", help="Only this enterprise (default: all).")] = None,
) -> None:
    """Move the oldest leaves (a prefix of each log, all older than --before) to
    Parquet under PARCELGUARD_HOME/archive; tiles stay, so proofs keep working."""
    cutoff = _cutoff(before)
    rt = runtime(ctx)
    with transaction(ctx) as session:
        ids = [enterprise] if enterprise else list(session.scalars(
            select(LedgerHead.enterprise_id).order_by(LedgerHead.enterprise_id)))
    done = []
    for ent in ids:  # one transaction per enterprise: a failure keeps the others' work
        with transaction(ctx) as session:
            row = retention.archive(session, ent, before=cutoff, clock=rt.clock,
                                    archive_dir=rt.settings.home / "archive")
            done.append({"enterprise_id": ent, "archived": None if row is None else {
                "first_seq": row.first_seq, "end_seq": row.end_seq, "path": row.path,
                "sha256": row.sha256}})
    print_json({"archives": done})


COMMANDS: dict[str, Callable[..., None]] = {
    "checkpoint": checkpoint, "pubkey": pubkey, "prove": prove, "consistency": consistency,
    "export": export, "verify": verify, "archive": archive,
}


def build_app(*, kms_factory: KmsFactory,
              extra_commands: Mapping[str, Callable[..., None]] | None = None) -> typer.Typer:
    """The ``ledger`` sub-app with the KMS vault/provider.py chose and extra commands."""
    app = typer.Typer(help="The enterprise's tamper-evident event log: checkpoints, "
                      "proofs, export, verification, retention.", no_args_is_help=True)

    @app.callback()
    def _wire(ctx: typer.Context) -> None:
        ctx.meta[KMS_META] = kms_factory

    for name, command in {**COMMANDS, **(extra_commands or {})}.items():
        app.command(name)(command)
    return app
