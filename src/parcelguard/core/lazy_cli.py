"""Command groups whose sub-commands are imported only when they run.

Importing every package's CLI to print ``parcelguard --help`` took 3-5 s (173 modules:
SQLAlchemy models, reportlab, the crypto stack). A :class:`LazyGroup` lists its
sub-commands from static entries (name, help line, where the code lives) and imports a
package's CLI only when that command is invoked or its own help is asked for. The
help lines are checked against the loaded commands by a unit test, so they cannot
drift from the code.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer import _click as click  # Typer (0.29+) runs on its own copy of Click
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True, slots=True)
class Lazy:
    """Where a sub-command lives: ``target`` is ``"module:attribute"`` naming a
    ``typer.Typer`` (or a function returning one); ``command`` picks one command of it
    to mount at the top level instead of the whole group."""

    target: str
    help: str
    command: str | None = None

    def load(self, name: str) -> click.Command:
        module, _, attr = self.target.partition(":")
        obj: Any = getattr(importlib.import_module(module), attr)
        if not isinstance(obj, typer.Typer):
            obj = obj()
        group = typer.main.get_group(obj)
        if self.command is not None:
            return group.commands[self.command]
        group.name = name
        return group


class LazyGroup(TyperGroup):
    """A Typer group with eager commands (defined on it) and lazy ones (``lazy``)."""

    lazy: ClassVar[dict[str, Lazy]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*self.commands, *(n for n in self.lazy if n not in self.commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        entry = self.lazy.get(cmd_name)
        if entry is None:
            return None
        if self._listing:  # the group's own help needs the help line, not the code
            return TyperCommand(cmd_name, help=entry.help, short_help=entry.help)
        command = self.commands[cmd_name] = entry.load(cmd_name)
        return command

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
