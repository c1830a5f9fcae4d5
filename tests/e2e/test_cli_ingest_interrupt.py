"""`parcelguard ingest` interrupted with Ctrl-C (SIGINT) as an operator would: it
stops at the batch in flight, says which lines are done and what to do, exits 130,
leaves no decoding process behind, and running the same command again stores the
rest once (SQLite; the PostgreSQL kill -9 case is test_cli_ingest_postgresql.py)."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import msgspec

from tests.decoders import decoders

BIN = [sys.executable, "-m", "parcelguard"]
TERMINAL = [sys.executable, "-c",
            "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
            "os.execv(sys.executable, [sys.executable, '-m', 'parcelguard', *sys.argv[1:]])"]
N = 200_000


def _event(i: int) -> bytes:
    return msgspec.json.encode({
        "event_id": f"p{i}", "kind": "parcel",
        "occurred_at": f"2026-11-{11 + i // 40_000:02d}T{i // 2000 % 20:02d}:00:00+08:00",
        "enterprise_id": "ent-a", "waybill_no": f"SF{i % 7000:013d}",
        "step": ("created", "arrived", "departed", "arrived", "delivered")[i // 40_000]})


def _stored(db: Path) -> int:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT COALESCE(SUM(size), 0) FROM ledger_heads").fetchone()[0]


def test_ctrl_c_stops_at_a_batch_says_what_is_done_and_a_rerun_stores_the_rest(
        tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "PARCELGUARD_HOME": str(home),
           "PARCELGUARD_INGEST__BATCH_SIZE": "2000"}
    src = tmp_path / "events.jsonl"
    src.write_bytes(b"".join(_event(i) + b"\n" for i in range(N)))
    assert subprocess.run([*BIN, "init"], env=env, capture_output=True,
                          check=False).returncode == 0
    db = home / "parcelguard.db"

    # As from a terminal, where SIGINT raises KeyboardInterrupt: a CI job started in
    # the background inherits SIGINT ignored, and so would the CLI, so it is reset
    # before the CLI starts.
    proc = subprocess.Popen([*TERMINAL, "ingest", str(src)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and _stored(db) < 10_000:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    stored = _stored(db)
    assert 0 < stored < N, "the ingest finished before it could be interrupted"
    assert proc.returncode == 130, (out, err)
    said = re.search(r"interrupted: lines 1 to ([\d,]+) are done", err)
    assert said is not None, err
    # What it names is stored; a Ctrl-C landing between a commit and its progress
    # report can leave that last batch unnamed, never more.
    named = int(said.group(1).replace(",", ""))
    assert named <= stored <= named + 2000
    assert "run the same command again" in err
    assert "Traceback" not in err
    deadline = time.monotonic() + 30
    while decoders(src) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert decoders(src) == []

    again = subprocess.run([*BIN, "ingest", str(src)], env=env, capture_output=True,
                           text=True, check=False, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"{N - stored} stored, {stored} already stored, 0 rejected" in again.stdout
    assert _stored(db) == N
    with closing(sqlite3.connect(db)) as conn:
        seqs = conn.execute("SELECT COUNT(*), MIN(seq), MAX(seq), COUNT(DISTINCT event_id) "
                            "FROM ledger_events").fetchone()
        assert seqs == (N, 0, N - 1, N)  # gap-free positions, every event once
        # the parcel states followed every stored event, the interrupted run's included
        assert conn.execute("SELECT COUNT(*) FROM parcel_states WHERE status = 'delivered'"
                            ).fetchone()[0] == 7000
