"""The stream honours the event contract and carries no PI."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime

import msgspec
from jsonschema import Draft202012Validator
from sim_support import SMALL, event_schema

from parcelguard.ledger.decode import Rejected, decode_batch
from parcelguard.simulation.model import World


def test_every_event_validates_against_the_contract(small_world: World) -> None:
    validator = Draft202012Validator(event_schema(),
                                     format_checker=Draft202012Validator.FORMAT_CHECKER)
    bad = [(ev, err.message) for ev in small_world.events for err in validator.iter_errors(ev)]
    assert bad == []
    # all three kinds and every parcel step the lifecycle promises are there
    kinds = Counter(ev["kind"] for ev in small_world.events)
    assert set(kinds) == {"access", "parcel", "employee"}
    steps = {ev["step"] for ev in small_world.events if ev["kind"] == "parcel"}
    assert {"created", "picked_up", "arrived", "departed", "assigned",
            "delivery_attempted", "delivered"} <= steps


def test_every_event_passes_ingest_including_the_pi_rules(small_world: World) -> None:
    # Beyond the schema: contract v2 also refuses ids that look like phone or ID
    # numbers, which only ingest can check.
    rejected: list[Rejected] = []
    decode_batch([(i, msgspec.json.encode(ev)) for i, ev in enumerate(small_world.events)],
                 rejected)
    assert rejected == []


def test_events_are_sorted_and_inside_the_window(small_world: World) -> None:
    times = [datetime.fromisoformat(ev["occurred_at"]) for ev in small_world.events]
    assert times == sorted(times)
    start = SMALL.start
    end = start.replace(day=start.day + SMALL.days)
    assert start <= times[0]
    assert times[-1] < end
    assert all(ev["occurred_at"].endswith("+08:00") for ev in small_world.events)


def test_event_ids_are_unique_per_enterprise(small_world: World) -> None:
    pairs = Counter((ev["enterprise_id"], ev["event_id"]) for ev in small_world.events)
    assert max(pairs.values()) == 1
    assert all(len(ev["event_id"]) <= 64 for ev in small_world.events)


def test_destination_region_is_a_six_digit_code(small_world: World) -> None:
    regions = {ev["destination_region"] for ev in small_world.events if ev["kind"] == "parcel"}
    assert regions
    assert all(re.fullmatch(r"\d{6}", r) for r in regions)


def test_no_personal_information_in_events(small_world: World) -> None:
    blob = b"\n".join(msgspec.json.encode(ev) for ev in small_world.events).decode()
    # names and addresses are Chinese text; events carry none at all
    assert re.search(r"[\u3400-\u9fff]", blob) is None
    phones = {p.phone for p in small_world.people}
    id_numbers = {p.id_number for p in small_world.people}
    for run in set(re.findall(r"\d{11,}X?", blob)):
        assert run not in id_numbers
        assert not any(run[i:i + 11] in phones for i in range(len(run) - 10))
    # the pseudonymous subject ids are not needed in events either
    assert not any(p.id in blob for p in small_world.people[:200])
