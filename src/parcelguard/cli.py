"""The ``parcelguard`` command line (Typer + Rich).

Each package registers its own commands in its ``plugin.py`` (core/plugin.py); this
module gathers them (``COMMANDS``), opens the runtime and turns refusals into exit
codes. A package's CLI is imported when its command runs, so ``parcelguard --help``
stays fast (core/lazy_cli.py); each help line must match the command's own
(tests/unit/test_cli_registry.py).
"""

from __future__ import annotations

import os
import sys

import typer
from rich.console import Console

from parcelguard.core.errors import DomainError
from parcelguard.core.lazy_cli import Lazy, LazyGroup
from parcelguard.core.plugin import commands, register_handlers

COMMANDS: dict[str, Lazy] = commands()


class _Root(LazyGroup):
    lazy = COMMANDS


app = typer.Typer(cls=_Root, help="parcelguard: protect and supervise personal information "
                  "in parcel logistics.", no_args_is_help=True, pretty_exceptions_enable=False)
err = Console(stderr=True, soft_wrap=True)


@app.callback()
def _main(ctx: typer.Context) -> None:
    from parcelguard.core.files import PRIVATE_UMASK
    from parcelguard.core.runtime import Runtime
    from parcelguard.core.settings import SettingsError, load_settings

    os.umask(PRIVATE_UMASK)  # whatever the CLI writes is 0600/0700 (core/files.py)
    try:
        settings = load_settings()
    except SettingsError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    ctx.obj = Runtime(settings=settings, on_open=register_handlers)
    ctx.call_on_close(ctx.obj.close)


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
