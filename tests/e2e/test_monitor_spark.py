"""The Spark runner (Structured Streaming, local mode) produces exactly the alerts of
the embedded runner on the same stream of day files."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import msgspec
import pytest

from parcelguard.monitor.replay import replay
from parcelguard.monitor.settings import MonitorSettings
from parcelguard.simulation.model import WorldConfig
from parcelguard.simulation.world import build_world

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("pyspark") is None,
                       reason="pyspark is not installed (the `spark` extra)"),
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java runtime"),
]


def test_spark_and_embedded_runners_agree(tmp_path: Path) -> None:
    from parcelguard.monitor.spark import run_spark

    world = build_world(WorldConfig(seed=7, parcels=2000))
    events = tmp_path / "events"
    events.mkdir()
    by_day: dict[str, list[bytes]] = {}
    for ev in world.events:  # one file per day: the stream arrives in three batches
        by_day.setdefault(ev["occurred_at"][:10], []).append(msgspec.json.encode(ev))
    for i, day in enumerate(sorted(by_day)):
        (events / f"day-{i}.jsonl").write_bytes(b"\n".join(by_day[day]) + b"\n")
    settings = MonitorSettings()
    replay(events, tmp_path / "embedded.jsonl", settings)
    n = run_spark(events, tmp_path / "spark", settings)
    embedded = (tmp_path / "embedded.jsonl").read_bytes().splitlines()
    spark = (tmp_path / "spark" / "alerts.jsonl").read_bytes().splitlines()
    assert n == len(embedded) > 10
    assert spark == embedded
