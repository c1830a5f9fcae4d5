"""The second world generator: contract-valid (v2, strict: no field outside the
contract), deterministic, and a ground truth `monitor evaluate` reads, with its
benign look-alikes; on a small world the monitor catches every injected abuse and
flags no look-alike."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from parcelguard.ledger.contract import decoder as contract_decoder
from parcelguard.monitor.evaluate import evaluate_files, load_alerts
from parcelguard.monitor.model import epoch_us
from parcelguard.monitor.replay import replay
from parcelguard.monitor.settings import MonitorSettings
from parcelguard.simulation.world2 import Params, generate, write

SMALL = Params(seed=5, days=8, outlets=3, franchise_outlets=1, couriers_per_outlet=4,
               parcels_per_outlet_day=40, sorters=4, cs_agents=6)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("w2")
    events, truth = tmp / "events.jsonl", tmp / "truth.json"
    write(generate(SMALL), events, truth)
    return events, truth


def test_every_event_is_contract_v2(files: tuple[Path, Path]) -> None:
    lines = files[0].read_bytes().splitlines()
    assert len(lines) > 10_000
    for line in lines:
        contract_decoder.decode(line)  # strict: unknown fields and bad values raise
    times = [epoch_us(msgspec.json.decode(x)["occurred_at"]) for x in lines]
    assert times == sorted(times)


def test_the_same_seed_gives_the_same_world() -> None:
    small = Params(seed=9, days=8, outlets=2, franchise_outlets=1, couriers_per_outlet=2,
                   parcels_per_outlet_day=5, sorters=2, cs_agents=6)
    assert generate(small).events == generate(small).events


def test_the_truth_names_abuse_and_look_alikes(files: tuple[Path, Path]) -> None:
    doc = msgspec.json.decode(files[1].read_bytes())
    names = {s["scenario"] for s in doc["scenarios"]}
    assert {"export_slicing", "low_and_slow_lookups", "franchise_out_of_station",
            "slow_search", "partner_slicing", "cs_unassigned_slow"} <= names
    looks = {x["lookalike"] for x in doc["lookalikes"]}
    assert {"cs_station_null", "complaint_spike", "security_investigation",
            "audit_sample", "partner_labels"} <= looks
    ids = {msgspec.json.decode(x)["event_id"] for x in files[0].read_bytes().splitlines()}
    for entry in doc["scenarios"] + doc["lookalikes"]:
        assert set(entry["event_ids"]) <= ids


def test_the_monitor_catches_the_abuse_and_flags_no_look_alike(
        files: tuple[Path, Path], tmp_path: Path) -> None:
    events, truth = files
    alerts = tmp_path / "alerts.jsonl"
    replay(events, alerts, MonitorSettings())
    ev = evaluate_files(alerts, truth)
    assert ev.missed == []
    doc = msgspec.json.decode(truth.read_bytes())
    abusers = {a for s in doc["scenarios"] for a in s["actors"]}
    benign = {a for x in doc["lookalikes"] for a in x["actors"]} - abusers
    flagged = [a["detector"] for a in load_alerts(alerts) if a["subject_id"] in benign]
    assert flagged == []
    assert ev.precision >= 0.9, ev.false_alerts


def test_slow_abuse_is_told_within_minutes_of_its_first_act(
        files: tuple[Path, Path], tmp_path: Path) -> None:
    """Issue 15: the slow scenarios used to be seen hours later (when a window
    filled); every one a single act already shows is now seen within 10 minutes of
    the abuser's first act. Slow searching and the partner's hourly pulls look like
    work until their records add up (docs/monitor.md)."""
    events, truth = files
    alerts = tmp_path / "alerts.jsonl"
    replay(events, alerts, MonitorSettings())
    ev = evaluate_files(alerts, truth)
    ttd = {k.split("@")[0]: v for k, v in ev.ttd_minutes.items()}
    for name in ("low_and_slow_lookups", "franchise_out_of_station", "cs_unassigned_slow",
                 "export_slicing", "after_leaving"):
        assert ttd[name] <= 10, (name, ttd[name])
    assert ev.mttd_minutes is not None
    assert ev.mttd_minutes <= 10


@pytest.mark.slow
def test_the_cli_writes_a_world_that_monitor_evaluate_scores(tmp_path: Path) -> None:
    """The outside evaluator's path: `parcelguard world2`, `monitor replay`,
    `monitor evaluate` (real subprocesses)."""
    env = {**os.environ, "PARCELGUARD_HOME": str(tmp_path / "home")}

    def cli(*args: str) -> str:
        r = subprocess.run([sys.executable, "-m", "parcelguard", *args], env=env,
                           capture_output=True, text=True, timeout=300, check=False)
        assert r.returncode == 0, r.stderr
        return r.stdout

    out = tmp_path / "w2"
    cli("world2", "--out", str(out), "--seed", "4", "--days", "8", "--parcels", "15")
    cli("monitor", "replay", str(out / "events.jsonl"), "--alerts-out",
        str(out / "alerts.jsonl"))
    report = cli("monitor", "evaluate", "--alerts", str(out / "alerts.jsonl"), "--truth",
                 str(out / "truth.json"))
    assert "recall" in report
    got = evaluate_files(out / "alerts.jsonl", out / "truth.json")
    assert got.missed == []
