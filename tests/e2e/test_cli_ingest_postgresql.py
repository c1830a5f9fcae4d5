"""`parcelguard ingest` as a user runs it against PostgreSQL, where a child process
decodes the next batch while the server stores the last: killed with -9 mid-file,
the decoding process goes too, and the re-run stores every event once, with
gap-free positions and the parcel states of every event; bad lines in any batch are
named by their line number."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import pytest
from sqlalchemy import create_engine, text

from tests.decoders import decoders

BIN = [sys.executable, "-m", "parcelguard"]
N = 120_000

pytestmark = pytest.mark.postgres


def _env(home: Path, url: str) -> dict[str, str]:
    return {**os.environ, "PARCELGUARD_HOME": str(home), "PARCELGUARD_DATABASE_URL": url,
            "PARCELGUARD_INGEST__BATCH_SIZE": "2000"}


def _run(home: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BIN, *args], env=_env(home, url), capture_output=True, text=True,
                          timeout=300, check=False)


def _event(i: int) -> bytes:
    # parcel i % 5000 moves one step further every 5,000 lines
    step = ("created", "picked_up", "arrived", "departed", "delivered")[min(i // 5000, 4)]
    return msgspec.json.encode({
        "event_id": f"p{i}", "kind": "parcel",
        "occurred_at": f"2026-11-{11 + i // 5000 // 24:02d}T{i // 5000 % 24:02d}:00:00+08:00",
        "enterprise_id": "ent-a" if i % 3 else "ent-b",
        "waybill_no": f"SF{i % 5000:013d}", "step": step})


def test_a_kill_mid_file_loses_nothing_and_stores_nothing_twice(
        tmp_path: Path, fresh_pg_url: str) -> None:
    home = tmp_path / "home"
    src = tmp_path / "big.jsonl"
    lines = [_event(i) for i in range(N)]
    lines[4_321] = b'{"event_id": "bad", "kind": "parcel"}'  # in the third batch
    src.write_bytes(b"\n".join(lines) + b"\n")
    assert _run(home, fresh_pg_url, "init").returncode == 0
    engine = create_engine(fresh_pg_url)
    try:
        proc = subprocess.Popen([*BIN, "ingest", str(src)], env=_env(home, fresh_pg_url),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            stored = 0
            while time.monotonic() < deadline and proc.poll() is None and stored < 10_000:
                time.sleep(0.02)
                with engine.connect() as conn:
                    stored = conn.scalar(text(
                        "SELECT COALESCE(SUM(size), 0) FROM ledger_heads")) or 0
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        assert 0 < stored < N - 1, "the ingest finished before it could be interrupted"
        # its decoding process finds its reader gone at its next write, and ends
        deadline = time.monotonic() + 30
        while decoders(src) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert decoders(src) == []

        r = _run(home, fresh_pg_url, "ingest", "--json", str(src))
        assert r.returncode == 1, r.stderr  # a rejected line: exit 1, the rest stored
        summary = json.loads(r.stdout)
        assert summary["stored"] + summary["duplicates"] == N - 1
        assert summary["rejected"] == 1
        rejects = (tmp_path / "big.jsonl.rejects.jsonl").read_text().splitlines()
        assert [json.loads(x)["line"] for x in rejects] == [4_322]
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT enterprise_id, seq, event_id FROM ledger_events "
                                     "ORDER BY enterprise_id, seq")).all()
            states = dict(conn.execute(text(
                "SELECT status, count(*) FROM parcel_states GROUP BY status")).all())
        assert len(rows) == len({e for _, _, e in rows}) == N - 1  # nothing twice
        for ent in ("ent-a", "ent-b"):  # positions gap-free after the restart
            seqs = [s for e, s, _ in rows if e == ent]
            assert seqs == list(range(len(seqs)))
        # every (enterprise, waybill) reached its last step, each folded once
        parcels = {(msgspec.json.decode(x)["enterprise_id"], msgspec.json.decode(x)["waybill_no"])
                   for x in lines[5000 * 4:]}
        assert states == {"delivered": len(parcels)}
    finally:
        engine.dispose()
