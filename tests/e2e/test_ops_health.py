"""GET /api/v1/health on a served node checks what it claims: named checks, 503 with
the failing ones (a stale checkpoint, a vanished master key, a disk below its floor)."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BIN = [sys.executable, "-m", "parcelguard"]
EVENT = (b'{"event_id":"p1","kind":"parcel","occurred_at":"2026-11-11T08:00:00+08:00",'
         b'"enterprise_id":"ent-a","waybill_no":"SF0000000000001","step":"created"}\n')


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "PARCELGUARD_HOME": str(home), "PARCELGUARD_DATABASE_URL": "",
            **extra}


def run(home: Path, *args: str) -> None:
    r = subprocess.run([*BIN, *args], env=_env(home), capture_output=True, text=True,
                       timeout=180, check=False)
    assert r.returncode == 0, (args, r.stderr)


@contextmanager
def served(home: Path, **extra: str) -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = subprocess.Popen([*BIN, "serve", "--port", str(port)], env=_env(home, **extra),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(30)


def health(port: int) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health",
                                    timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def failing(body: dict[str, Any]) -> set[str]:
    return {c["name"] for c in body["checks"] if not c["ok"]}


def test_health_names_what_is_wrong_and_answers_503(tmp_path: Path) -> None:
    home = tmp_path / "home"
    events = tmp_path / "ev.jsonl"
    events.write_bytes(EVENT)
    later = tmp_path / "later.jsonl"
    later.write_bytes(EVENT.replace(b'"p1"', b'"p2"'))
    run(home, "init")
    run(home, "ingest", str(events))
    # checkpoints older than a second count as stale here
    with served(home, PARCELGUARD_OPS__MAX_CHECKPOINT_AGE_HOURS="0.0003") as port:
        status, body = health(port)  # a log not yet checkpointed: said, not failed
        assert (status, body["status"]) == (200, "ok"), body
        assert {c["name"] for c in body["checks"]} >= {"database", "disk_space",
                                                       "master_key", "checkpoints", "outbox"}
        run(home, "ledger", "checkpoint", "-e", "ent-a")
        run(home, "ingest", str(later))
        time.sleep(1.5)
        status, body = health(port)
        assert status == 503
        assert failing(body) == {"checkpoints"}  # entries no recent checkpoint covers
        run(home, "ledger", "checkpoint", "-e", "ent-a")
        status, body = health(port)
        assert (status, body["status"]) == (200, "ok"), body

        key = home / "keys" / "master.key"
        saved = key.read_bytes()
        key.unlink()  # the process still holds the key in memory; health reads afresh
        status, body = health(port)
        assert status == 503
        assert failing(body) == {"master_key"}
        (detail,) = [c["detail"] for c in body["checks"] if c["name"] == "master_key"]
        assert "missing" in detail
        key.write_bytes(saved)
        key.chmod(0o600)
        assert health(port)[0] == 200
    # a disk below the floor (the floor raised past any real disk's free space)
    with served(home, PARCELGUARD_OPS__MIN_FREE_DISK_MB=str(10**12)) as port:
        status, body = health(port)
        assert status == 503
        assert failing(body) == {"disk_space"}


def test_a_database_corrupted_under_a_serving_node_fails_its_check(tmp_path: Path) -> None:
    home = tmp_path / "home"
    events = tmp_path / "ev.jsonl"
    events.write_bytes(EVENT)
    run(home, "init")
    run(home, "ingest", str(events))
    db = home / "parcelguard.db"
    with served(home) as port:
        status, body = health(port)
        assert (status, body["status"]) == (200, "ok"), body
        with sqlite3.connect(db) as conn:  # what was written is in the file itself
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        with db.open("r+b") as fh:
            fh.write(b"this is not what parcelguard wrote" * 512)
        status, body = health(port)
        assert status == 503
        assert "database" in failing(body)  # the same name as when it passes
        (detail,) = [c["detail"] for c in body["checks"] if c["name"] == "database"]
        assert "corrupt" in detail
        assert "parcelguard restore" in detail
