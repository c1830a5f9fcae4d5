"""The whole pipeline on simulated worlds: detection quality on a seed it was not
tuned on, alerts in the contract's shape, and results that do not depend on how the
stream is cut into micro-batches."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import jsonschema
import msgspec
import pytest

from parcelguard.monitor.alerts import AlertBook
from parcelguard.monitor.detectors.volume import build_peer_book
from parcelguard.monitor.engine import Pipeline
from parcelguard.monitor.evaluate import evaluate
from parcelguard.monitor.figures import monitor_stage_figures
from parcelguard.monitor.model import Ev, decoder, epoch_us
from parcelguard.monitor.replay import run_pipeline
from parcelguard.monitor.settings import MonitorSettings
from parcelguard.simulation.io import write_events_jsonl, write_ground_truth
from parcelguard.simulation.model import WorldConfig
from parcelguard.simulation.world import build_world
from tests.conftest import contract_schema


@pytest.fixture(scope="module")
def world() -> tuple[list[Ev], list[int], list[dict[str, Any]]]:
    w = build_world(WorldConfig(seed=23, parcels=4000))
    evs = [decoder.decode(msgspec.json.encode(e)) for e in w.events]
    truth = [{"scenario": s.scenario, "enterprise_id": s.enterprise_id, "actors": s.actors,
              "event_ids": s.event_ids, "start": s.start.isoformat(),
              "end": s.end.isoformat()} for s in w.scenarios]
    return evs, [epoch_us(e.occurred_at) for e in evs], truth


def _contract(evs: list[Ev], ts: list[int], settings: MonitorSettings,
              sizes: list[int]) -> list[dict[str, Any]]:
    pipe, book = Pipeline(settings), AlertBook(settings.evidence_cap)
    i = 0
    for n in sizes:
        book.apply(pipe.feed(evs[i:i + n], ts[i:i + n]))
        pipe.maintain()
        i += n
    assert i >= len(evs)
    return [a.as_contract(8) for a in book.sorted()]


def test_detects_injected_abuse_on_an_untuned_seed(world: Any) -> None:
    evs, ts, truth = world
    alerts, _ = run_pipeline(evs, ts, MonitorSettings())
    result = evaluate([a.as_contract(8) for a in alerts], truth)
    assert result.recall >= 0.95, result.missed
    assert result.precision >= 0.9, result.false_alerts
    assert result.mttd_minutes is not None
    assert result.mttd_minutes <= 10


def test_alerts_follow_the_contract(world: Any) -> None:
    evs, ts, _ = world
    alerts, _ = run_pipeline(evs, ts, MonitorSettings())
    schema = contract_schema("alert.schema.json")
    checker = jsonschema.FormatChecker()
    ids = {e.event_id for e in evs}
    for a in alerts:
        doc = a.as_contract(8)
        jsonschema.validate(doc, schema, format_checker=checker)
        assert set(doc["event_ids"]) <= ids
        assert doc["first_event_at"] <= doc["raised_at"] <= doc["last_event_at"]


def test_micro_batch_boundaries_do_not_change_alerts(world: Any) -> None:
    evs, ts, _ = world
    settings = MonitorSettings()
    whole = _contract(evs, ts, settings, [len(evs)])
    rng = random.Random(5)
    sizes: list[int] = []
    while sum(sizes) < len(evs):
        sizes.append(rng.choice((1, 7, 250, 3_000)))
    assert _contract(evs, ts, settings, sizes) == whole


def test_spark_side_input_equals_the_book_the_engine_keeps(world: Any) -> None:
    evs, ts, _ = world
    settings = MonitorSettings()
    _, pipe = run_pipeline(evs, ts, settings)
    assert build_peer_book(evs, ts, settings).days == pipe.engine.book.days


def test_demo_stage_figures(tmp_path: Path) -> None:
    w = build_world(WorldConfig(seed=42, parcels=2000))
    write_events_jsonl(w.events, tmp_path / "events.jsonl")
    write_ground_truth(w, tmp_path / "truth.json")
    fig = monitor_stage_figures(tmp_path / "events.jsonl", tmp_path / "truth.json", tmp_path)
    assert fig["recall"] >= 0.95
    assert fig["precision"] >= 0.9
    assert sum(fig["alerts_by_detector"].values()) == fig["alerts"] > 0
    assert (tmp_path / "alerts.jsonl").read_text().count("\n") == fig["alerts"]
