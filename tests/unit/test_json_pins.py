"""Bytes that are hashed or signed stay the same bytes: known digests, computed before
orjson was dropped for msgspec (issue 19), of an ingested event's leaf (from JSON and
from a Parquet file with timestamp columns), the Merkle root over those leaves (what a
checkpoint signs), an envelope's signed part and an evidence package's digest (the
reference RFC 8785 path: floats, non-ASCII keys). A changed byte in any of them would
fail verification of data already stored, so each digest here is a constant."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from parcelguard.channel.evidence import package_digest
from parcelguard.core.canonical import canonical_json
from parcelguard.ledger.checkpoint import format_checkpoint
from parcelguard.ledger.decode import Rejected, decode_batch
from parcelguard.ledger.files import read_parquet
from parcelguard.ledger.merkle import fold_roots, leaf_hashes
from parcelguard.node.envelope import Envelope

EVENTS = [
    {"event_id": "a1", "kind": "access", "occurred_at": "2026-11-11T08:31:00+08:00",
     "enterprise_id": "ent-a", "actor_type": "employee", "actor_id": "emp-1",
     "station_id": "st-1", "action": "reveal", "fields": ["recipient_phone"],
     "waybill_no": "SF1234567890128", "record_count": 1, "purpose": "delivery",
     "outcome": "allowed", "device_id": "pda-1", "ip": "10.0.0.1", "channel": "pda"},
    {"event_id": "p1", "kind": "parcel", "occurred_at": "2026-11-11T08:00:00Z",
     "enterprise_id": "ent-a", "waybill_no": "SF1234567890128", "step": "assigned",
     "station_id": "st-1", "assignee_id": "emp-1", "assignment_purpose": "delivery",
     "assignment_until": "2026-11-11T20:00:00.250+08:00", "destination_region": "310104"},
    {"event_id": "m1", "kind": "employee", "occurred_at": "2026-11-11T07:00:00+08:00",
     "enterprise_id": "ent-a", "employee_id": "emp-1", "change": "hired", "role": "courier",
     "station_id": "st-1", "background_check": None,
     "shift": {"start": "08:00", "end": "18:00", "tz": "Asia/Shanghai"}},
]
LEAF_SHA256 = [
    "3f261e7480ee63c4527019aeec9b8c4b835a888b722459c27cd0e743fd8af208",
    "1fe0f88f181873f046f5c999fbb49ae6996463da35ae0428c71bec04afa59b1c",
    "b8ffc017caf3781047543919d976ad724da46a84488bc5fd15901f75c6873136",
]
ROOT_B64 = "QF4v4ohw7G075Nqdc734I+aaupKxxZvbpv+htd4lQ7o="

CST = timezone(timedelta(hours=8))
PARQUET_ROWS = [{"event_id": "q1", "kind": "parcel",
                 "occurred_at": datetime(2026, 11, 11, 8, 0, tzinfo=CST),
                 "enterprise_id": "ent-a", "waybill_no": "SF1234567890128", "step": "assigned",
                 "assignee_id": "emp-1", "assignment_purpose": "delivery",
                 "assignment_until": datetime(2026, 11, 11, 12, 30, 0, 500_000)},
                {"event_id": "q2", "kind": "parcel",
                 "occurred_at": datetime(2026, 11, 11, 9, 0, tzinfo=CST),
                 "enterprise_id": "ent-a", "waybill_no": "SF1234567890128",
                 "step": "delivered", "assignee_id": None, "assignment_purpose": None,
                 "assignment_until": None}]
PARQUET_SCHEMA = pa.schema([("event_id", pa.string()), ("kind", pa.string()),
                            ("occurred_at", pa.timestamp("us", tz="Asia/Shanghai")),
                            ("enterprise_id", pa.string()), ("waybill_no", pa.string()),
                            ("step", pa.string()), ("assignee_id", pa.string()),
                            ("assignment_purpose", pa.string()),
                            ("assignment_until", pa.timestamp("ms"))])
PARQUET_LINES = [
    (b'{"event_id":"q1","kind":"parcel","occurred_at":"2026-11-11T08:00:00+08:00",'
     b'"enterprise_id":"ent-a","waybill_no":"SF1234567890128","step":"assigned",'
     b'"assignee_id":"emp-1","assignment_purpose":"delivery",'
     b'"assignment_until":"2026-11-11T12:30:00.500000+00:00"}'),
    (b'{"event_id":"q2","kind":"parcel","occurred_at":"2026-11-11T09:00:00+08:00",'
     b'"enterprise_id":"ent-a","waybill_no":"SF1234567890128","step":"delivered"}'),
]
PARQUET_LEAF_SHA256 = "9d0aba14f16ac693e1b30bac9bde78f5feba395cf5439f3fde0ddddd63e202f3"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _leaves(lines: list[tuple[int, bytes | str]]) -> list[bytes]:
    rejected: list[Rejected] = []
    decoded = decode_batch(lines, rejected)
    assert not rejected, rejected
    return [d.leaf for d in decoded]


def test_event_leaves_and_their_root_are_the_known_bytes() -> None:
    # the sender's spacing and key order do not matter: the leaf is canonical
    lines: list[tuple[int, bytes | str]] = [
        (i, json.dumps(e, indent=1).encode()) for i, e in enumerate(EVENTS)]
    leaves = _leaves(lines)
    assert [_sha(leaf) for leaf in leaves] == LEAF_SHA256
    assert leaves[0] == canonical_json(EVENTS[0])
    root = fold_roots(leaf_hashes(leaves))
    assert base64.b64encode(root).decode() == ROOT_B64
    assert format_checkpoint("parcelguard.example/ent-a", 3, root) == \
        f"parcelguard.example/ent-a\n3\n{ROOT_B64}\n"


def test_parquet_rows_read_as_the_known_json(tmp_path: Path) -> None:
    """Timestamp columns become RFC 3339 text with a numeric offset (naive ones read as
    UTC), as they always did, so a Parquet file ingested again gives the same leaves:
    duplicates, not conflicts."""
    pq.write_table(pa.Table.from_pylist(PARQUET_ROWS, schema=PARQUET_SCHEMA),
                   tmp_path / "ev.parquet")
    lines = [line for batch in read_parquet(tmp_path / "ev.parquet", batch_size=10)
             for line in batch]
    assert [raw for _, raw in lines] == PARQUET_LINES
    assert _sha(b"".join(_leaves(lines))) == PARQUET_LEAF_SHA256


@pytest.mark.parametrize("value", [
    b"\x00", Decimal("1.5"), timedelta(seconds=3), 2**64,
    # a nanosecond timestamp reads as a pandas Timestamp (pandas: the spark extra, which
    # `make test` installs); it never had a JSON form
    "ns",
])
def test_parquet_values_without_a_json_form_reject_the_row(tmp_path: Path,
                                                           value: object) -> None:
    if value == "ns":
        column = pa.array([datetime(2026, 11, 11, tzinfo=UTC)], pa.timestamp("ns", tz="UTC"))
    elif isinstance(value, int):
        column = pa.array([value], pa.decimal128(38, 0))
    else:
        column = pa.array([value])
    table = pa.table({"event_id": ["r1"], "kind": ["parcel"], "extra": column})
    pq.write_table(table, tmp_path / "ev.parquet")
    lines = [line for batch in read_parquet(tmp_path / "ev.parquet", batch_size=10)
             for line in batch]
    assert lines == [(1, "row cannot be represented as a JSON event")]


def test_dates_and_times_in_parquet_rows_read_as_iso_text(tmp_path: Path) -> None:
    table = pa.table({"d": [date(2026, 11, 11)], "t": [time(8, 30, 0, 5)]})
    pq.write_table(table, tmp_path / "ev.parquet")
    lines = [line for batch in read_parquet(tmp_path / "ev.parquet", batch_size=10)
             for line in batch]
    assert lines == [(1, b'{"d":"2026-11-11","t":"08:30:00.000005"}')]


def test_an_envelope_signs_the_known_bytes() -> None:
    env = Envelope(message_id="msg-1", sender_org="ent-a", sender_key_id="k1",
                   recipient_org="supervision", kind="escalation",
                   body={"incident_id": "inc-1", "ratio": 1.04, "records": {"\u4f4f\u5740": 3},
                         "event_ids": ["a1", "p1"]},
                   created_at="2026-11-11T08:00:00+08:00")
    assert _sha(canonical_json(env.signed_part())) == \
        "7b999adf11b77179187f75e3ec5102dd658f79a3dcd1bc4ffd8913e89c0c5cb6"


def test_an_evidence_package_has_the_known_digest() -> None:
    package = {"v": 1, "enterprise_id": "ent-a", "checkpoint": "origin\n3\nAAAA\n",
               "events": [{"index": 0, "leaf": base64.b64encode(b'{"a":1}').decode(),
                           "proof": []}],
               "figures": {"ratio": 0.1, "big": 1e21, "tiny": 5e-324, "\u00e9t\u00e9": -0.0,
                           "\U0001f4e6": 2**53 - 1}}
    assert package_digest(package) == \
        "bea1b4f3b23b5aed52e8d217e3988984cd0ef89a1f3ff45f5f157b9aa643829d"
