"""Hostile event lines, one per kind the contract v2 must turn into a rejected line
(issue 12 "ingest that names every bad line", issue 14 item 4 "the ledger takes only
the contract"). Each is (raw line, what its reason must say). The synthetic phone
and ID numbers below are built here, never taken from a fixture of real people."""

from __future__ import annotations

import msgspec
from stdnum.cn import ric

_ID_BASE = "11010519491231002"
ID_NUMBER = _ID_BASE + ric.calc_check_digit(_ID_BASE + "0")
PHONE = "13812345678"
DEEP = 5_000


def good(i: int, enterprise: str = "ent-a") -> bytes:
    return msgspec.json.encode({
        "event_id": f"ok{i}", "kind": "access", "occurred_at": "2026-11-11T08:31:00+08:00",
        "enterprise_id": enterprise, "actor_type": "employee", "actor_id": "emp-1",
        "action": "reveal", "fields": ["recipient_phone"], "waybill_no": "SF1234567890128",
        "record_count": 1, "purpose": "delivery", "outcome": "allowed", "channel": "pda"})


def _with(i: int, **over: object) -> bytes:
    doc = msgspec.json.decode(good(i))
    doc["event_id"] = f"bad{i}"
    doc.update(over)
    return msgspec.json.encode(doc)


def _raw_field(i: int, key: str, raw_value: bytes) -> bytes:
    # Values JSON libraries will not write (1e400, 5,000 levels), spliced in as text.
    return _with(i)[:-1] + b',"' + key.encode() + b'":' + raw_value + b"}"


def _deep() -> bytes:
    return b"[" * DEEP + b"]" * DEEP


# kind -> (line, a fragment of its reason)
HOSTILE: dict[str, tuple[bytes, str]] = {
    "unknown_field_holding_1e400": (_raw_field(1, "score", b"1e400"), "unknown field `score`"),
    "unknown_field_nested_5000_deep": (_raw_field(2, "blob", _deep()), "unknown field `blob`"),
    "pi_in_an_unknown_field": (_with(3, recipient_name="x", note=PHONE),
                               "unknown field `recipient_name`"),
    "count_of_1e400": (_with(4).replace(b'"record_count":1,', b'"record_count":1e400,'),
                       "Number out of range - at `$.record_count`"),
    "count_above_2_63": (_with(5, record_count=2**63 + 1), "<= 9223372036854775807"),
    "known_field_nested_5000_deep": (_raw_field(6, "fields", _deep()).replace(
        b'"fields":["recipient_phone"],', b""), "at `$.fields"),
    "phone_as_waybill_no": (_with(7, waybill_no=PHONE), "`$.waybill_no` looks like a mobile"),
    "id_number_as_actor_id": (_with(8, actor_id=ID_NUMBER), "`$.actor_id` looks like a resident"),
    "free_text_id": (_with(9, device_id="Zhang San, 1 Nanjing Rd"), "Expected an id"),
    "bad_enterprise_id": (_with(10, enterprise_id="ent a"), "Expected an id"),
    "oversized_line": (_with(11, actor_id="a" * 64)[:-1] + b',"pad":"' + b"x" * 70_000 + b'"}',
                       "line longer than 65536 bytes"),
    "not_json": (b'{"event_id": "bad12", "kind": ', "not valid JSON"),
}

# Strings that must never reach the ledger from the lines above.
SECRETS = (PHONE.encode(), ID_NUMBER.encode(), b"Zhang San")
