"""The seed alone decides the world, and injecting abuse leaves the baseline alone."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import msgspec
import pytest
from sim_support import SMALL

from parcelguard.simulation.model import World, WorldConfig
from parcelguard.simulation.world import build_world


def _content(ev: dict[str, Any]) -> bytes:
    # ids are stream positions, which shift when abuse is added; compare the rest
    return msgspec.json.encode({k: v for k, v in ev.items() if k != "event_id"},
                               order="sorted")


def test_same_seed_gives_the_same_world(small_world: World) -> None:
    again = build_world(SMALL)
    assert again.events == small_world.events
    assert again.scenarios == small_world.scenarios
    assert again.people == small_world.people
    assert again.employees == small_world.employees


def test_another_seed_gives_another_world(small_world: World) -> None:
    other = build_world(dataclasses.replace(SMALL, seed=SMALL.seed + 1))
    assert other.events != small_world.events
    assert {p.phone for p in other.people} != {p.phone for p in small_world.people}
    # scenario intensities are drawn per world, not fixed
    sizes = Counter({s.scenario: len(s.event_ids) for s in small_world.scenarios})
    other_sizes = Counter({s.scenario: len(s.event_ids) for s in other.scenarios})
    assert sizes != other_sizes


def test_injecting_abuse_only_adds_events(small_world: World) -> None:
    clean = build_world(dataclasses.replace(SMALL, inject_abuse=False))
    assert clean.scenarios == []
    truth = {eid for s in small_world.scenarios for eid in s.event_ids}
    hires = {e.id for e in small_world.employees} - {e.id for e in clean.employees}
    benign = Counter(
        _content(ev) for ev in small_world.events
        if ev["event_id"] not in truth
        and not (ev["kind"] == "employee" and ev["employee_id"] in hires)
    )
    assert benign == Counter(_content(ev) for ev in clean.events)


def test_config_is_checked() -> None:
    with pytest.raises(ValueError, match="baseline"):
        WorldConfig(days=1)
    with pytest.raises(ValueError, match="timezone"):
        WorldConfig(start=SMALL.start.replace(tzinfo=None))
    assert build_world(WorldConfig(seed=3, enterprises=1, parcels=400, days=1,
                                   inject_abuse=False)).events
