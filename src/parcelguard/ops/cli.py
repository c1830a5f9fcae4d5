"""``parcelguard upgrade | backup | restore`` and the exit codes of every command
(docs/operations.md): 0 ok, 1 findings (tampering, rejected lines, a copy missing
witnessed entries), 2 bad input, 3 refused (with what to do), 4 storage fault."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from parcelguard.core.errors import (
    EXIT_BAD_INPUT,
    EXIT_FINDINGS,
    DomainError,
    InvalidInput,
    Refused,
    StoreError,
)
from parcelguard.core.settings import Settings, load_settings
from parcelguard.core.storage import as_storage_fault
from parcelguard.identity import service as identity
from parcelguard.ops.store import init_store, upgrade_store

if TYPE_CHECKING:
    from parcelguard.core.runtime import Runtime

console = Console()
err = Console(stderr=True, soft_wrap=True)


def exit_for(exc: BaseException, out: Console) -> int | None:
    """The exit code for an exception that escaped a command, after printing what to
    do; None when it is no refusal nor storage fault (a bug: let it surface)."""
    if isinstance(exc, SystemExit | KeyboardInterrupt | GeneratorExit):
        return None
    if not isinstance(exc, StoreError):
        settings: Settings | None
        try:
            settings = load_settings()
        except Exception:
            settings = None
        fault = as_storage_fault(exc, settings)
        if fault is None:
            return None
        exc = fault
    out.print(f"[red]error:[/red] {exc.message}")
    return exc.exit_code


def init(ctx: typer.Context) -> None:
    """Create the store: the home, the master key, the database (migrations), the
    supervision department and its admin account. The only command that creates a
    store. The admin password is printed once; store it safely."""
    rt: Runtime = ctx.obj
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


def upgrade(ctx: typer.Context) -> None:
    """Apply pending schema migrations to this store (under PostgreSQL's advisory
    lock, so several nodes may run it at once). Back up first. The only command
    besides `init` that changes the schema; every other one refuses a store at an
    older revision."""
    rt: Runtime = ctx.obj
    before, after = upgrade_store(rt.settings)
    if before == after:
        console.print(f"already at revision {', '.join(sorted(after))}; nothing to do")
    else:
        console.print(f"upgraded from {', '.join(sorted(before))} to "
                      f"{', '.join(sorted(after))}")


PassphraseFile = Annotated[Path | None, typer.Option(
    help="File holding the passphrase that seals the backup's keys (else "
    "PARCELGUARD_BACKUP_PASSPHRASE, else a prompt on a terminal).")]


def _passphrase(file: Path | None, *, confirm: bool) -> str:
    if file is not None:
        return file.read_text().rstrip("\n")
    env = os.environ.get("PARCELGUARD_BACKUP_PASSPHRASE")
    if env:
        return env
    if sys.stdin.isatty():
        return str(typer.prompt("backup passphrase", hide_input=True,
                                confirmation_prompt=confirm))
    raise Refused("a backup's keys are sealed under a passphrase: pass --passphrase-file, "
                  "set PARCELGUARD_BACKUP_PASSPHRASE, or run on a terminal to be asked")


def backup(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="New (or empty) directory for the backup.")],
    passphrase_file: PassphraseFile = None,
) -> None:
    """Back up the store while it serves: a consistent snapshot of the database, the
    key material sealed under a passphrase, archived leaves, each enterprise's log
    with a checkpoint signed over the snapshot, and a manifest of SHA-256 hashes."""
    from parcelguard.ops.backup import backup as run_backup
    from parcelguard.vault.provider import vault_service

    rt: Runtime = ctx.obj
    try:
        report = run_backup(rt.settings, out, passphrase=_passphrase(passphrase_file,
                                                                     confirm=True),
                            kms=vault_service(rt.settings).vault.kms, at=rt.clock.now())
    except DomainError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    logs = report.manifest["logs"]
    console.print(f"backup written to {out}: {len(report.manifest['files'])} files, "
                  f"{len(logs)} logs ({sum(v['size'] for v in logs.values()):,} entries), "
                  "keys sealed under the passphrase. Keep the passphrase apart from the "
                  "backup.")


def restore(
    ctx: typer.Context,
    src: Annotated[Path, typer.Argument(help="A directory written by `parcelguard backup`.")],
    passphrase_file: PassphraseFile = None,
    witnessed: Annotated[Path | None, typer.Option(
        help="The supervision department's latest accepted checkpoints: a JSON file with "
        "one answer of GET /api/v1/checkpoints/{enterprise} (or a list of them). Default: "
        "the witness's state inside the backup.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the proof as JSON.")] = False,
) -> None:
    """Restore a backup into this (empty) home or database and prove it: every log
    verifies and contains what the supervision department witnessed (a copy missing
    witnessed entries is named, exit 1), and a sample of PI fields decrypts."""
    from parcelguard.core.plugin import contributions
    from parcelguard.ops.restore import restore as run_restore
    from parcelguard.vault.provider import vault_service

    rt: Runtime = ctx.obj
    try:
        reference = None if witnessed is None else _witnessed(witnessed)
        report = run_restore(rt.settings, src, passphrase=_passphrase(passphrase_file,
                                                                      confirm=False),
                             vault_for=vault_service, locations=contributions("ciphertext_columns"),
                             witnessed=reference)
    except DomainError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    if as_json:
        print(json.dumps(report.as_dict()))
    else:
        console.print(f"restored {src} into {rt.settings.home}; witnessed checkpoints from "
                      f"{report.witness_source}")
        for c in report.logs:
            if c.ok:
                against = "" if c.witnessed_size is None else \
                    f", consistent with the witnessed checkpoint at {c.witnessed_size:,}"
                console.print(f"  {c.enterprise_id}: {c.size:,} entries verified{against}")
            for problem in c.problems:
                err.print(f"  [red]{c.enterprise_id}:[/red] {problem}")
        console.print(f"  PI: {report.pi_checked - report.pi_failed} of {report.pi_checked} "
                      "sampled fields decrypt")
    if not report.ok:
        raise typer.Exit(EXIT_FINDINGS)


def _witnessed(path: Path) -> dict[str, dict[str, object]]:
    """Accepted checkpoints by enterprise from the supervisor's API answers."""
    try:
        doc = json.loads(path.read_text())
        answers = doc if isinstance(doc, list) else [doc]
        return {a["enterprise_id"]: a["accepted"] for a in answers if a.get("accepted")}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise InvalidInput(f"{path} is not a JSON answer of GET /api/v1/checkpoints/"
                           "{enterprise} (or a list of them)") from None


# init, upgrade, backup, restore: mounted one by one at the top level by the CLI.
app = typer.Typer()
app.command()(init)
app.command()(upgrade)
app.command()(backup)
app.command()(restore)
