"""The msgspec contract types accept exactly what the JSON Schema accepts, on valid
events of every kind and on a broad set of mutations of them."""

from __future__ import annotations

import copy

import jsonschema
import orjson
import pytest

from parcelguard.ledger.ingest import Decoded, decode_event
from tests.conftest import contract_schema

VALID = [
    {"event_id": "a1", "kind": "access", "occurred_at": "2026-11-11T08:31:00+08:00",
     "enterprise_id": "ent-a", "actor_type": "employee", "actor_id": "emp-1",
     "station_id": "st-1", "action": "reveal", "fields": ["recipient_phone"],
     "waybill_no": "SF1234567890128", "record_count": 1, "purpose": "delivery",
     "outcome": "allowed", "device_id": "pda-1", "ip": "10.0.0.1", "channel": "pda"},
    {"event_id": "a2", "kind": "access", "occurred_at": "2026-11-11T08:31:00Z",
     "enterprise_id": "ent-a", "actor_type": "external", "actor_id": "cli-9",
     "action": "login_failed", "fields": [], "record_count": 0, "purpose": "other",
     "outcome": "denied", "channel": "api"},
    {"event_id": "p1", "kind": "parcel", "occurred_at": "2026-11-11T08:00:00+08:00",
     "enterprise_id": "ent-a", "waybill_no": "SF1234567890128", "step": "assigned",
     "station_id": "st-1", "assignee_id": "emp-1", "assignment_purpose": "delivery",
     "assignment_until": "2026-11-11T20:00:00+08:00", "destination_region": "310104"},
    {"event_id": "m1", "kind": "employee", "occurred_at": "2026-11-11T07:00:00+08:00",
     "enterprise_id": "ent-a", "employee_id": "emp-1", "change": "hired", "role": "courier",
     "station_id": "st-1", "background_check": None,
     "shift": {"start": "08:00", "end": "18:00", "tz": "Asia/Shanghai"}},
]

MUTATIONS: list[tuple[str, object]] = [
    ("kind", "robbery"), ("event_id", ""), ("event_id", "x" * 65), ("enterprise_id", 7),
    ("occurred_at", "yesterday"), ("action", "steal"), ("fields", ["salary"]),
    ("record_count", -1), ("record_count", "3"), ("purpose", "curiosity"),
    ("outcome", "maybe"), ("channel", "fax"), ("actor_type", "ghost"), ("step", "lost"),
    ("assignment_purpose", "fun"), ("change", "promoted"), ("role", "ceo"),
    ("background_check", "unknown"), ("shift", {"start": "8am"}), ("station_id", 5),
    ("waybill_no", None), ("device_id", None), ("assignee_id", None),
    ("occurred_at", "2026-02-30T08:00:00+08:00"), ("occurred_at", "2026-11-11t08:00:00z"),
    ("occurred_at", "2026-11-11T08:00:00.123456+05:30"),
    ("assignment_until", "2026-13-01T00:00:00Z"),
    ("extension", {"score": 0.5}), ("shift", {"start": "08:00", "note": "x"}),
]


def cases() -> list[dict[str, object]]:
    out = [copy.deepcopy(v) for v in VALID]
    for base in VALID:
        for key, value in MUTATIONS:
            ev = copy.deepcopy(base)
            ev[key] = value
            out.append(ev)
        for key in base:
            ev = copy.deepcopy(base)
            del ev[key]
            out.append(ev)
    return out


@pytest.mark.parametrize("event", cases())
def test_msgspec_types_agree_with_the_json_schema(event: dict[str, object]) -> None:
    schema = contract_schema("event.schema.json")
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    schema_ok = validator.is_valid(event)
    ours_ok = isinstance(decode_event(1, orjson.dumps(event)), Decoded)
    assert ours_ok == schema_ok, event
