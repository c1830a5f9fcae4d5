"""`parcelguard org list` as a user runs it: a real process on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_cli_ingest import parcel, run


@pytest.mark.slow  # three CLI processes
def test_org_list_shows_each_enterprise_with_its_log_size(tmp_path: Path) -> None:
    home = tmp_path / "home"
    src = tmp_path / "events.jsonl"
    # parcel(i) belongs to ent-b when i % 3 == 0: 2 events there, 5 in ent-a.
    src.write_bytes(b"\n".join(parcel(i) for i in range(1, 8)) + b"\n")
    assert run(home, "init").returncode == 0
    assert run(home, "ingest", str(src)).returncode == 0
    listed = run(home, "org", "list")
    assert listed.returncode == 0, listed.stderr[-500:]
    rows = {line.split("│")[1].strip(): line for line in listed.stdout.splitlines()
            if line.count("│") >= 4}
    assert rows["ent-a"].split("│")[4].strip() == "5"
    assert rows["ent-b"].split("│")[4].strip() == "2"
    assert "supervisor" in rows["supervision"]
