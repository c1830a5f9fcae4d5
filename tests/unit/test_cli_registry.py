"""The CLI lists its commands without importing them (fast ``--help``); the help line
it shows must be what the command itself says, and every entry must load."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from parcelguard.cli import COMMANDS, app


def _words(text: str | None) -> str:
    return " ".join((text or "").split())


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_entry_loads_and_its_help_line_is_the_commands_own(name: str) -> None:
    loaded = COMMANDS[name].load(name)
    assert _words(loaded.help).startswith(_words(COMMANDS[name].help)), name


def test_top_level_help_lists_every_command_without_importing_the_packages() -> None:
    # a fresh interpreter: what --help imports is what a user waits for
    probe = ("import sys\nfrom typer.testing import CliRunner\nfrom parcelguard.cli import app\n"
             "r = CliRunner().invoke(app, ['--help'], terminal_width=200)\n"
             "print(r.output)\n"
             "print('LOADED', sorted(m for m in sys.modules if m.startswith('parcelguard.')))\n"
             "print('SQLALCHEMY', 'sqlalchemy' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    for name in COMMANDS:
        assert f" {name} " in out, name
    loaded = eval(out.split("LOADED", 1)[1].splitlines()[0])
    # each package's plugin.py (what it registers) and nothing of its code
    code = [m for m in loaded if m.count(".") > 1 and not m.endswith(".plugin")
            and not m.startswith("parcelguard.core.")]
    assert code == []
    assert "parcelguard.ledger.plugin" in loaded
    assert "SQLALCHEMY False" in out


def test_a_sub_command_runs_after_being_loaded_lazily() -> None:
    result = CliRunner().invoke(app, ["ledger", "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "verify" in result.output
