"""The msgspec contract types accept exactly what the JSON Schema (contract v2)
accepts, on valid events of every kind and on a broad set of mutations of them; the
rules the schema can only state in prose (ids are never PI) are checked on top; the
schema the project publishes is the shared one, byte for byte."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import msgspec
import pytest
from stdnum.cn import ric

from parcelguard.core.canonical import canonical_json
from parcelguard.ledger.contract import (
    AccessEvent,
    EmployeeEvent,
    ParcelEvent,
    event_schema_bytes,
)
from parcelguard.ledger.decode import Decoded, Rejected, decode_event, decode_stored_leaf
from tests.conftest import REPO, SHARED, contract_schema

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
    # v2: ids by the id pattern, no free text, no field outside the contract
    ("event_id", "ev 1"), ("event_id", "-ev1"), ("actor_id", "\u5f20\u4e09"),
    ("waybill_no", "SF/123"), ("station_id", "s" * 65), ("device_id", "pda 1"),
    ("assignee_id", "emp@1"), ("employee_id", "emp#1"), ("enterprise_id", "ent a"),
    ("destination_region", "31010"), ("destination_region", "31010x"), ("ip", "1" * 46),
    ("recipient_phone", "x"), ("note", None), ("kind", None), ("actor_id", "emp\nx"),
]
_ID_BASE = "11010519491231002"
ID_NUMBER = _ID_BASE + ric.calc_check_digit(_ID_BASE + "0")  # it skips the last char
# What the contract says in prose and the schema cannot express: an id is never a
# mobile number or a resident ID number; counts end at 2^63 - 1 (SQL BIGINT); an id
# ends at its last character. The schema's validator accepts these; ingest must not.
BEYOND_SCHEMA: list[tuple[str, object, str]] = [
    ("waybill_no", "13812345678", "looks like a mobile number"),
    ("actor_id", "8613812345678", "looks like a mobile number"),
    ("device_id", "138-1234-5678", "looks like a mobile number"),
    ("employee_id", ID_NUMBER, "looks like a resident ID number"),
    ("assignee_id", ID_NUMBER, "looks like a resident ID number"),
    ("record_count", 2**63, "<= 9223372036854775807"),
    # Python's `$` (jsonschema's) also matches before a final newline; ECMA-262's not
    ("event_id", "a1\n", "Expected an id"),
    ("destination_region", "310104\n", "Expected a 6-digit region code"),
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
    ours_ok = isinstance(decode_event(1, msgspec.json.encode(event)), Decoded)
    assert ours_ok == schema_ok, event


def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        contract_schema("event.schema.json"),
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


@pytest.mark.parametrize(("key", "value", "reason"), BEYOND_SCHEMA)
def test_pi_ids_and_huge_counts_are_rejected_beyond_the_schema(
        key: str, value: object, reason: str) -> None:
    base = next(v for v in VALID if key in v)
    event = {**copy.deepcopy(base), key: value}
    assert _validator().is_valid(event)  # the schema alone would let it in
    out = decode_event(7, msgspec.json.encode(event))
    assert isinstance(out, Rejected)
    assert out.line_no == 7
    assert reason in out.reason
    assert str(value) not in out.reason  # the reason never echoes the value


def test_a_near_miss_id_is_not_taken_for_pi() -> None:
    wrong_check = ID_NUMBER[:17] + ("0" if ID_NUMBER[17] != "0" else "1")
    for key, value in (("waybill_no", "12812345678"), ("employee_id", wrong_check),
                       ("station_id", "310104"), ("actor_id", "emp-13812345678")):
        base = next(v for v in VALID if key in v)
        assert isinstance(decode_event(1, msgspec.json.encode({**base, key: value})), Decoded), key


def test_an_unknown_field_is_named_unless_its_name_could_be_pi() -> None:
    named = decode_event(1, msgspec.json.encode({**VALID[2], "recipient_name": "x"}))
    assert isinstance(named, Rejected)
    assert "unknown field `recipient_name`" in named.reason
    hidden = decode_event(1, msgspec.json.encode({**VALID[2], "13812345678": "x"}))
    assert isinstance(hidden, Rejected)
    assert "unknown field" in hidden.reason
    assert "1381234" not in hidden.reason


def _schema_fields(schema: dict[str, Any], kind: str) -> tuple[set[str], set[str]]:
    branch = next(b for b in schema["oneOf"] if b["properties"]["kind"]["const"] == kind)
    return (set(schema["properties"]) | set(branch["properties"]),
            set(schema["required"]) | set(branch["required"]))


@pytest.mark.parametrize("cls", [AccessEvent, ParcelEvent, EmployeeEvent])
def test_the_types_have_exactly_the_schemas_fields(cls: type[msgspec.Struct]) -> None:
    schema = contract_schema("event.schema.json")
    properties, required = _schema_fields(schema, cls.__struct_config__.tag)  # type: ignore[arg-type]
    info = msgspec.inspect.type_info(cls)
    assert isinstance(info, msgspec.inspect.StructType)
    assert {f.name for f in info.fields} | {"kind"} == properties
    assert {f.name for f in info.fields if f.required} | {"kind"} == required
    assert info.forbid_unknown_fields


def test_the_published_schema_is_the_shared_contract_byte_for_byte() -> None:
    shared = (SHARED / "contracts" / "event.schema.json").read_bytes()
    shipped = REPO / "src" / "parcelguard" / "ledger" / "contracts" / "event.schema.json"
    assert shipped.read_bytes() == shared
    assert event_schema_bytes() == shared
    assert msgspec.json.decode(shared)["$id"].endswith("#v2")


def test_leaves_stored_under_v1_with_extension_fields_still_verify() -> None:
    # v1 kept extension fields in the leaf (interventions wrote seven); the ledger
    # cannot drop them, so `ledger verify` reads such leaves by their contract fields.
    v1_leaf = canonical_json({**VALID[1], "intervention": "block_device", "target_id": "d1"})
    assert isinstance(decode_event(1, v1_leaf), Rejected)  # never accepted anew
    stored = decode_stored_leaf(1, v1_leaf)
    assert isinstance(stored, Decoded)
    assert (stored.event_id, stored.kind, stored.leaf) == ("a2", "access", v1_leaf)
