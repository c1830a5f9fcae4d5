"""`parcelguard ingest` as a user runs it: a real process on a real SQLite file."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import msgspec

BIN = [sys.executable, "-m", "parcelguard"]


def run(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PARCELGUARD_HOME": str(home)}
    env.pop("PARCELGUARD_DATABASE_URL", None)
    return subprocess.run([*BIN, *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def parcel(i: int) -> bytes:
    return msgspec.json.encode({
        "event_id": f"p{i}", "kind": "parcel", "occurred_at": "2026-11-11T08:00:00+08:00",
        "enterprise_id": "ent-a" if i % 3 else "ent-b", "waybill_no": f"SF{i:013d}",
        "step": "created"})


def db_rows(home: Path) -> list[tuple[str, int, str]]:
    with sqlite3.connect(home / "parcelguard.db") as conn:
        return conn.execute("SELECT enterprise_id, seq, event_id FROM ledger_events "
                            "ORDER BY enterprise_id, seq").fetchall()


def test_mixed_file_stores_the_good_lines_and_names_the_bad(tmp_path: Path) -> None:
    home = tmp_path / "home"
    src = tmp_path / "events.jsonl"
    bad_event = json.loads(parcel(2))
    bad_event["step"] = "vanished"
    src.write_bytes(b"\n".join([parcel(1), json.dumps(bad_event).encode(), b"{oops",
                                parcel(4), b"", parcel(5)]) + b"\n")
    assert run(home, "init").returncode == 0
    first = run(home, "ingest", str(src))
    assert first.returncode == 1
    assert "line 2:" in first.stderr
    assert "$.step" in first.stderr
    assert "line 3:" in first.stderr
    assert "not valid JSON" in first.stderr
    assert "3 stored" in first.stdout
    rejects = [json.loads(x) for x in (tmp_path / "events.jsonl.rejects.jsonl")
               .read_text().splitlines()]
    assert [r["line"] for r in rejects] == [2, 3]
    assert sorted(e for _, _, e in db_rows(home)) == ["p1", "p4", "p5"]

    again = run(home, "ingest", "--json", str(src))
    assert again.returncode == 1
    summary = json.loads(again.stdout)
    assert (summary["stored"], summary["duplicates"], summary["rejected"]) == (0, 3, 2)
    assert len(db_rows(home)) == 3


def test_clean_file_exits_zero(tmp_path: Path) -> None:
    src = tmp_path / "ok.jsonl"
    src.write_bytes(b"\n".join(parcel(i) for i in range(1, 50)) + b"\n")
    assert run(tmp_path / "home", "init").returncode == 0
    r = run(tmp_path / "home", "ingest", str(src))
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "ok.jsonl.rejects.jsonl").exists()


def test_parquet_files_are_ingested(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    docs = [json.loads(parcel(i)) for i in range(1, 21)]
    pq.write_table(pa.Table.from_pylist(docs), tmp_path / "ev.parquet")
    assert run(tmp_path / "home", "init").returncode == 0
    r = run(tmp_path / "home", "ingest", "--json", str(tmp_path / "ev.parquet"))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["stored"] == 20


def test_a_crash_mid_file_loses_nothing_and_stores_nothing_twice(tmp_path: Path) -> None:
    home = tmp_path / "home"
    n = 150_000
    src = tmp_path / "big.jsonl"
    src.write_bytes(b"\n".join(parcel(i) for i in range(n)) + b"\n")
    assert run(home, "init").returncode == 0
    env = {**os.environ, "PARCELGUARD_HOME": str(home), "PARCELGUARD_INGEST__BATCH_SIZE": "2000"}
    proc = subprocess.Popen([*BIN, "ingest", str(src)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    killed_at = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with sqlite3.connect(home / "parcelguard.db", timeout=0.1) as conn:
                killed_at = conn.execute(
                    "SELECT COALESCE(SUM(size), 0) FROM ledger_heads").fetchone()[0]
        except sqlite3.OperationalError:
            killed_at = 0
        if killed_at >= 10_000:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait(timeout=30)
    assert 0 < killed_at < n, "the ingest finished before it could be interrupted"
    partial = db_rows(home)
    assert len(partial) < n

    r = run(home, "ingest", "--json", str(src))
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["stored"] + summary["duplicates"] == n
    rows = db_rows(home)
    assert len(rows) == n
    assert len({e for _, _, e in rows}) == n  # nothing twice
    for ent in ("ent-a", "ent-b"):  # positions gap-free after the restart
        seqs = [s for e, s, _ in rows if e == ent]
        assert seqs == list(range(len(seqs)))
