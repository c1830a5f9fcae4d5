"""The monitor's command line on a real SQLite file: replay writes contract alerts,
`monitor run` raises the same alerts from the ledger, and a runner killed at random
points and restarted ends with exactly the alerts of an uninterrupted run.

Commands run in-process through Typer's runner, except the runner that is killed,
which must be a process of its own."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from parcelguard.monitor.model import epoch_us
from parcelguard.simulation.io import write_events_jsonl, write_ground_truth
from parcelguard.simulation.model import WorldConfig
from parcelguard.simulation.world import build_world

BATCH = "400"
# `parcelguard monitor run` without importing every other command group: the process
# is started five times and killed, and interpreter start-up is most of its cost
RUNNER = [sys.executable, "-c",
          "from parcelguard.core.runtime import Runtime\n"
          "from parcelguard.core.settings import load_settings\n"
          "from parcelguard.monitor.runner import run\n"
          "from parcelguard.monitor.settings import MonitorSettings\n"
          "rt = Runtime(settings=load_settings())\n"
          "run(rt.db, rt.settings.section(MonitorSettings), rt.clock)\n"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("world")
    w = build_world(WorldConfig(seed=42, parcels=2000))
    write_events_jsonl(w.events, d / "events.jsonl")
    write_ground_truth(w, d / "ground_truth.json")
    return d


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "PARCELGUARD_HOME": str(home),
            "PARCELGUARD_MONITOR__BATCH_SIZE": BATCH}


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def _cli(home: Path, *args: str) -> Result:
    from parcelguard.cli import app

    r = CliRunner().invoke(app, list(args), env=_env(home))
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return Result(r.exit_code, r.stdout, r.stderr)


@pytest.fixture(scope="module")
def ingested(world: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("ingested") / "home"
    assert _cli(home, "init").returncode == 0
    r = _cli(home, "ingest", str(world / "events.jsonl"), "--json")
    assert r.returncode == 0, r.stderr
    return home


def _alerts(home: Path) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(home / "parcelguard.db")
    try:
        rows = con.execute("SELECT id, detector, subject_id, raised_us, first_us, last_us, "
                           "event_ids, record_count, round(score, 3), status "
                           "FROM monitor_alerts ORDER BY id").fetchall()
    finally:
        con.close()
    return [(*r[:6], tuple(json.loads(r[6])), *r[7:]) for r in rows]


def _progress(home: Path) -> int:
    try:
        con = sqlite3.connect(home / "parcelguard.db", timeout=5)
        try:
            return int(con.execute("SELECT coalesce(sum(seq), 0) FROM monitor_cursors")
                       .fetchone()[0])
        finally:
            con.close()
    except sqlite3.OperationalError:  # tables not created yet
        return 0


def test_replay_writes_contract_alerts_that_find_the_abuse(world: Path, tmp_path: Path) -> None:
    out = tmp_path / "alerts.jsonl"
    r = _cli(tmp_path / "home", "monitor", "replay", str(world / "events.jsonl"),
             "--alerts-out", str(out))
    assert r.returncode == 0, r.stderr
    lines = out.read_text().splitlines()
    assert lines
    assert all(json.loads(ln)["severity"] for ln in lines)
    ev = _cli(tmp_path / "home", "monitor", "evaluate", "--alerts", str(out), "--truth",
              str(world / "ground_truth.json"), "--json")
    figures = json.loads(ev.stdout)
    assert figures["recall"] >= 0.95
    assert figures["precision"] >= 0.9
    bad = _cli(tmp_path / "home", "monitor", "replay", str(tmp_path / "nope.jsonl"),
               "--alerts-out", str(out))
    assert bad.returncode == 2
    assert "no such events file" in bad.stderr


def test_run_raises_what_replay_raises(world: Path, ingested: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(ingested, home)
    r = _cli(home, "monitor", "run", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["events"] > 0
    out = tmp_path / "alerts.jsonl"
    _cli(tmp_path / "other", "monitor", "replay", str(world / "events.jsonl"),
         "--alerts-out", str(out))
    replayed = sorted((a["alert_id"], epoch_us(a["raised_at"]), tuple(a["event_ids"]),
                       a["record_count"]) for a in map(json.loads, out.read_text().splitlines()))
    stored = sorted((a[0], a[3], a[6], a[7]) for a in _alerts(home))
    assert stored == replayed
    again = _cli(home, "monitor", "run", "--json")  # nothing new: nothing changes
    assert json.loads(again.stdout)["events"] == 0
    assert _alerts(home) == _alerts(home)
    listed = _cli(home, "monitor", "alerts", "list", "--json", "--limit", "1000")
    first = json.loads(listed.stdout.splitlines()[0])
    assert _cli(home, "monitor", "alerts", "ack", first["alert_id"]).returncode == 0
    assert _cli(home, "monitor", "alerts", "ack", "alr-none").returncode == 2


def test_killed_and_restarted_runner_ends_with_the_same_alerts(ingested: Path,
                                                                tmp_path: Path) -> None:
    calm, crashy = tmp_path / "calm", tmp_path / "crashy"
    shutil.copytree(ingested, calm)
    shutil.copytree(ingested, crashy)
    assert _cli(calm, "monitor", "run").returncode == 0
    total = _progress(calm)
    rng = random.Random(11)
    kills = 0
    while kills < 3:
        before = _progress(crashy)
        if before >= total:
            break
        proc = subprocess.Popen(RUNNER, env=_env(crashy),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while _progress(crashy) == before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        # somewhere inside a later batch, or between: the runner takes a few ms a
        # batch of 400, so a longer pause would let it finish before the kill
        time.sleep(rng.uniform(0.0, 0.03))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    assert kills >= 2, "the runner finished before it could be interrupted"
    assert 0 < _progress(crashy) <= total
    assert _cli(crashy, "monitor", "run").returncode == 0
    assert _progress(crashy) == total
    assert _alerts(crashy) == _alerts(calm)
