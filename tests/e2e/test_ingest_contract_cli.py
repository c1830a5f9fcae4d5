"""Contract v2 through `parcelguard ingest` as a user runs it (a real process on a
real SQLite file): every hostile line is a rejected line with its number and
reason, the rest is stored, the process never ends in a traceback, and nothing of
the hostile lines reaches the ledger."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pytest

from tests.e2e.hostile_events import HOSTILE, PHONE, SECRETS, good

BIN = [sys.executable, "-m", "parcelguard"]


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PARCELGUARD_HOME": str(home)}
    env.pop("PARCELGUARD_DATABASE_URL", None)
    return subprocess.run([*BIN, *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


@dataclass
class Ingested:
    proc: subprocess.CompletedProcess[str]
    line_of: dict[str, int]
    rejects: dict[int, str]
    stored: set[str]
    leaves: bytes


def _ledger(home: Path) -> tuple[set[str], bytes]:
    with sqlite3.connect(home / "parcelguard.db") as conn:
        rows = conn.execute("SELECT event_id, leaf FROM ledger_events").fetchall()
    return {e for e, _ in rows}, b"\n".join(leaf for _, leaf in rows)


def _rejects(path: Path) -> dict[int, str]:
    return {r["line"]: r["reason"] for r in map(json.loads, path.read_text().splitlines())}


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Ingested:
    """One file: a good line, then each hostile kind followed by a good line, and
    the kinds only the operator CLI has (an enterprise id that is no organisation
    id, the regulator's own organisation as the enterprise)."""
    tmp = tmp_path_factory.mktemp("contract-cli")
    home = tmp / "home"
    assert run(home, "init").returncode == 0
    hostile = {**HOSTILE,
               "enterprise_id_not_an_org_id": (good(900, "ENT-A"), "not a valid organisation id"),
               "enterprise_of_the_regulator": (good(901, "supervision"),
                                               "names a supervisor organisation")}
    lines, line_of = [good(0)], {}
    for i, (kind, (raw, _)) in enumerate(hostile.items(), start=1):
        lines.append(raw)
        line_of[kind] = len(lines)
        lines.append(good(i))
    src = tmp / "events.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    proc = run(home, "ingest", str(src))
    stored, leaves = _ledger(home)
    return Ingested(proc, line_of, _rejects(tmp / "events.jsonl.rejects.jsonl"), stored, leaves)


@pytest.mark.parametrize("kind", [*HOSTILE, "enterprise_id_not_an_org_id",
                                  "enterprise_of_the_regulator"])
def test_each_hostile_line_is_rejected_by_number_and_reason(ingested: Ingested,
                                                            kind: str) -> None:
    reason = {**{k: r for k, (_, r) in HOSTILE.items()},
              "enterprise_id_not_an_org_id": "not a valid organisation id",
              "enterprise_of_the_regulator": "names a supervisor organisation"}[kind]
    n = ingested.line_of[kind]
    assert reason in ingested.rejects[n]
    assert f"line {n}: " in ingested.proc.stderr
    assert PHONE not in ingested.rejects[n]  # reasons never echo values


def test_the_cli_ends_cleanly_and_stores_every_good_line(ingested: Ingested) -> None:
    assert ingested.proc.returncode == 1
    assert "Traceback" not in ingested.proc.stderr
    assert set(ingested.rejects) == set(ingested.line_of.values())
    assert ingested.stored == {f"ok{i}" for i in range(len(ingested.line_of) + 1)}
    assert f"{len(ingested.stored)} stored" in ingested.proc.stdout


def test_nothing_of_a_hostile_line_reaches_the_ledger(ingested: Ingested) -> None:
    assert len(ingested.stored) > 1  # the good lines around them were stored
    for secret in SECRETS:
        assert secret not in ingested.leaves


def test_unregistered_enterprises_are_rejected_lines_not_a_lost_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run(home, "init").returncode == 0
    src = tmp_path / "ev.jsonl"
    src.write_bytes(b"\n".join([good(1), good(2), good(3)]) + b"\n")
    assert run(home, "ingest", str(src)).returncode == 0  # registers ent-a
    src.write_bytes(b"\n".join([good(4), good(5, "ent-new"), good(6)]) + b"\n")
    r = run(home, "ingest", "--no-register", str(src))
    assert r.returncode == 1, r.stderr
    assert "line 2: unknown enterprise_id" in r.stderr
    assert "Traceback" not in r.stderr
    stored, _ = _ledger(home)
    assert {"ok4", "ok6"} <= stored
    assert "ok5" not in stored


def test_parquet_rows_outside_the_contract_are_rejected(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # a column outside the contract, set in row 2 only (null reads as absent)
    docs = [{**msgspec.json.decode(good(i)), "recipient_name": "x" if i == 1 else None}
            for i in range(4)]
    docs[2]["waybill_no"] = PHONE
    pq.write_table(pa.Table.from_pylist(docs), tmp_path / "ev.parquet")
    assert run(tmp_path / "home", "init").returncode == 0
    r = run(tmp_path / "home", "ingest", str(tmp_path / "ev.parquet"))
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert "line 2: does not match the event contract: unknown field `recipient_name`" in r.stderr
    assert "line 3: does not match the event contract: `$.waybill_no` looks like a mobile" \
        in r.stderr
    stored, leaves = _ledger(tmp_path / "home")
    assert stored == {"ok0", "ok3"}
    assert PHONE.encode() not in leaves


def test_a_damaged_parquet_file_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    src = tmp_path / "ev.parquet"
    src.write_bytes(b"PAR1 not really parquet")
    assert run(tmp_path / "home", "init").returncode == 0
    r = run(tmp_path / "home", "ingest", str(src))
    assert r.returncode == 2
    assert "Parquet file unreadable" in r.stderr
    assert "Traceback" not in r.stderr
