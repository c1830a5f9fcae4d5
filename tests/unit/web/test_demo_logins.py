"""`serve --demo` prints the logins whole whatever the terminal (a file, a pipe, 40
columns) and writes them to a file only the operator can read."""

from __future__ import annotations

import io
import stat
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from parcelguard.web.demo import Login
from parcelguard.web.serve_demo import show_logins

LOGINS = [Login(role="security_officer", portal="enterprise", username="security.demo",
                password="Xq7-correct-horse-battery-staple-9Zr2",
                totp_secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", org_id="ent-demo"),
          Login(role="police_investigator", portal="police", username="police.demo",
                password="Lm4-another-long-password-Qv8w", totp_secret="GEZDGNBVGY3TQOJQ"
                "GEZDGNBVGY3TQOJQ", org_id="police-demo")]


def test_logins_are_printed_whole_on_a_narrow_console_and_kept_in_a_private_file(
        tmp_path: Path) -> None:
    out = io.StringIO()
    console = Console(file=out, width=40, color_system=None)
    path = show_logins(console, LOGINS, base="http://127.0.0.1:8000",
                       now=datetime(2026, 12, 7, tzinfo=UTC), home=tmp_path)
    printed = out.getvalue()
    saved = path.read_text()
    for login in LOGINS:
        for value in (login.password, login.totp_secret, login.username,
                      f"http://127.0.0.1:8000/{login.portal}"):
            assert value in printed
            assert value in saved
    assert path.parent == tmp_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
