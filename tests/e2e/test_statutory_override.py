"""Issue 16 item 8: statutory figures are not plain settings. Setting one away from the
law without a stated reason stops every command with what to do; with a reason the
override is logged and written on the incident reports that used it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BIN = [sys.executable, "-m", "parcelguard"]


def run(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PARCELGUARD_HOME": str(home), "PARCELGUARD_DATABASE_URL": "",
            **env}
    return subprocess.run([*BIN, *args], env=full, capture_output=True, text=True,
                          timeout=120, check=False)


def test_a_statutory_threshold_needs_a_stated_reason(tmp_path: Path) -> None:
    home = tmp_path / "home"
    r = run(home, "org", "list", PARCELGUARD_INCIDENTS__RELATIVELY_MAJOR_PEOPLE="3")
    assert r.returncode == 2
    assert "relatively_major_people (law: 1e+06, set: 3)" in r.stderr
    assert "PARCELGUARD_INCIDENTS__STATUTORY_OVERRIDE" in r.stderr
    assert "Traceback" not in r.stderr


def test_an_override_is_logged_and_shown_on_the_report(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"PARCELGUARD_INCIDENTS__RELATIVELY_MAJOR_PEOPLE": "3",
           "PARCELGUARD_INCIDENTS__STATUTORY_OVERRIDE": "drill: provincial exercise 2026-12"}
    assert run(home, "init", **env).returncode == 0
    r = run(home, "org", "create", "ent-a", "--kind", "enterprise", "--name", "A", **env)
    assert r.returncode == 0, r.stderr
    assert "statutory figure overridden: relatively_major_people = 3" in r.stderr
    r = run(home, "incidents", "open", "-e", "ent-a", "--title", "drill incident",
            "--category", "external_attack", **env)
    assert r.returncode == 0, r.stderr
    incident_id = next(w.rstrip(":") for w in r.stdout.split() if w.startswith("inc_"))
    detail = json.loads(run(home, "incidents", "show", incident_id, "--json", **env).stdout)
    notes = [n for r in detail["reports"] for n in r["content"].get("statutory_overrides", [])]
    assert notes, detail["reports"]
    assert all("relatively_major_people = 3 (law: 1e+06)" in n
               and "drill: provincial exercise 2026-12" in n for n in notes)
