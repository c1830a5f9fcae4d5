"""The writers produce what ingest and the scorer read back."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from parcelguard.simulation.io import write_events_jsonl, write_ground_truth
from parcelguard.simulation.model import World


def test_events_round_trip_through_jsonl(small_world: World, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    count = write_events_jsonl(iter(small_world.events), path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert count == len(lines) == len(small_world.events)
    assert [json.loads(line) for line in lines] == small_world.events
    assert all(": " not in line for line in lines[:100])  # compact, one object per line


def test_ground_truth_lists_every_scenario_with_rfc3339_times(small_world: World,
                                                               tmp_path: Path) -> None:
    path = tmp_path / "truth.json"
    write_ground_truth(small_world, path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["seed"] == small_world.config.seed
    assert len(doc["scenarios"]) == len(small_world.scenarios)
    for got, want in zip(doc["scenarios"], small_world.scenarios, strict=True):
        assert set(got) == {"scenario", "enterprise_id", "actors", "event_ids", "start", "end",
                            "actor_starts"}
        assert got["event_ids"] == want.event_ids
        # each abuser's own first malicious event, where time to detect starts
        ids = set(want.event_ids)
        for actor, at in got["actor_starts"].items():
            mine = [datetime.fromisoformat(e["occurred_at"]) for e in small_world.events
                    if e["event_id"] in ids
                    and actor in (e.get("actor_id"), e.get("employee_id"))]
            assert datetime.fromisoformat(at) == min(mine)
        assert datetime.fromisoformat(got["start"]) == want.start
        assert got["start"].endswith("+08:00")
