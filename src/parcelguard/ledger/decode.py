"""Event decoding: one JSON event checked against the contract (version 2) and turned
into its canonical leaf bytes and log columns, with no database in sight.

Ingest (ingest.py) appends what this decodes; a file ingest runs it in a process of
its own one batch ahead (decode_process.py), which is why it imports nothing but the
contract. Rejection reasons name the place and the rule, never the offending value
(it may be PI).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import msgspec

from parcelguard.core.canonical import canonical_json, parse_json
from parcelguard.ledger.contract import (
    ID_PATTERN,
    ID_RE,
    ID_RULE,
    REGION_RE,
    RFC3339_RE,
    AccessEvent,
    EmployeeEvent,
    Event,
    ParcelEvent,
    Shift,
    canonical_encoder,
    decoder,
    pi_like_id,
)
from parcelguard.ledger.files import too_long
from parcelguard.ledger.merkle import leaf_hash

_QUOTED = re.compile(r"'[^']*'")
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `(.*)`( - at `[^`]*`)?$", re.S)
# A field name is shown in a reason only when it is a plain name with no run of
# digits: a "name" made of a phone number is still a phone number.
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_DIGIT_RUN = re.compile(r"[0-9]{4}")

# What the parcel projection folds from a ``parcel`` event (ledger/parcels.py
# StepRow): (event_id, occurred_at_us, waybill_no, step, station_id, assignee_id,
# assignment_purpose, assignment_until_us).
ParcelFields = tuple[str, int, str, str, str | None, str | None, str | None, int | None]


class Decoded(NamedTuple):
    """A validated event; fields ``event_id`` to ``leaf`` are the log row in ingest.COLUMNS order.
    ``parcel`` carries a parcel event's row for the projection, taken from this one
    decode (decoding the leaf again cost a fifth of the ingest time). ``leaf_hash`` is
    the leaf's RFC 9162 hash for the Merkle log, computed here so that a file
    ingest's decoding process does it on its own core (0.5 us an event)."""

    line_no: int
    enterprise_id: str
    event_id: str
    kind: str
    occurred_at_us: int
    subject_id: str | None
    waybill_no: str | None
    leaf: bytes
    parcel: ParcelFields | None
    leaf_hash: bytes


@dataclass(frozen=True, slots=True)
class Rejected:
    line_no: int
    reason: str


_PATTERN_RULES = {
    ID_PATTERN: f"Expected an id: {ID_RULE}",
    "^[0-9]{6}$": "Expected a 6-digit region code",
    "^[0-2][0-9]:[0-5][0-9]$": "Expected HH:MM",
}


def _reason(exc: Exception) -> str:
    # msgspec quotes offending values ("Invalid enum value '1381…'"); a value in the
    # wrong field may be PI, so reasons name the place and the rule, never the value.
    msg = str(exc)
    if m := _UNKNOWN_FIELD.match(msg):
        name = m.group(1)
        if not _PLAIN_NAME.fullmatch(name) or _DIGIT_RUN.search(name):
            name = "(name hidden)"
        return f"unknown field `{name}`{m.group(2) or ''} (contract v2 takes no other field)"
    if "matching regex" in msg:
        pattern = msg.partition("matching regex '")[2].partition("'")[0]
        rule = _PATTERN_RULES.get(pattern, "Expected a value of the contract's pattern")
        return f"{rule} - at {msg.rpartition(' - at ')[2]}"
    return _QUOTED.sub("(value hidden)", msg)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_CACHE: dict[str, int] = {}
_MINUTE_CACHE: dict[str, int] = {}


def _parse_time(value: str) -> int:
    # The pattern, then the calendar (fromisoformat refuses 30 February).
    if not RFC3339_RE.match(value):
        raise ValueError("not RFC 3339")
    dt = datetime.fromisoformat(value.upper())
    ts = dt.timestamp()
    # Between 1843 and 2096 a float timestamp is exact to a quarter microsecond, so
    # rounding recovers the exact count at a fraction of the cost of datetime
    # arithmetic; outside that range, integer arithmetic.
    if -4e9 < ts < 4e9:
        return round(ts * 1_000_000)
    return (dt - _EPOCH) // timedelta(microseconds=1)


def _epoch_us(value: str) -> int:
    """UTC microseconds of an RFC 3339 time.

    Streams are ordered by time, so parsing is cached twice: whole strings (many
    events share a second) and, for whole-second times, the minute they fall in
    (the seconds are then two digits to add)."""
    us = _EPOCH_CACHE.get(value)
    if us is not None:
        return us
    n = len(value)
    if n in {20, 25} and value[16] == ":" and value[17:19].isdigit():
        key = value[:16] + value[19:]
        base = _MINUTE_CACHE.get(key)
        if base is None:
            base = _parse_time(value[:17] + "00" + value[19:])
            if len(_MINUTE_CACHE) > 50_000:
                _MINUTE_CACHE.clear()
            _MINUTE_CACHE[key] = base
        seconds = int(value[17:19])
        if seconds > 59:
            raise ValueError("seconds out of range")
        us = base + seconds * 1_000_000
    else:
        us = _parse_time(value)
    if len(_EPOCH_CACHE) > 50_000:
        _EPOCH_CACHE.clear()
    _EPOCH_CACHE[value] = us
    return us


_decode = decoder.decode
_encode = canonical_encoder.encode
_sha256 = hashlib.sha256
_new = tuple.__new__  # builds a Decoded without NamedTuple's Python-level __new__


def decode_event(line_no: int, raw: bytes) -> Decoded | Rejected:
    """Validate one JSON event and compute its canonical leaf bytes (``decode_batch``
    of one line)."""
    rejected: list[Rejected] = []
    decoded = decode_batch([(line_no, raw)], rejected)
    return decoded[0] if decoded else rejected[0]


def decode_stored_leaf(seq: int, leaf: bytes) -> Decoded | Rejected:
    """A stored leaf, decoded as ingest derived its columns (for ``ledger verify``).
    Leaves stored under contract v1 may hold extension fields, which v1 kept and the
    append-only ledger cannot drop: their columns come from the contract's fields,
    and the canonical form is checked on the whole leaf."""
    out = decode_event(seq, leaf)
    if not isinstance(out, Rejected) or "unknown field" not in out.reason:
        return out
    doc = parse_json(leaf)  # a stored leaf is canonical JSON that ingest wrote
    fields = _V1_FIELDS.get(doc.get("kind"), frozenset())
    known = {k: v for k, v in doc.items() if k in fields}
    if isinstance(known.get("shift"), dict):
        known["shift"] = {k: v for k, v in known["shift"].items() if k in _SHIFT_FIELDS}
    strict = decode_event(seq, _encode(known))
    if isinstance(strict, Rejected):
        return strict
    leaf = canonical_json(doc)
    return strict._replace(leaf=leaf, leaf_hash=leaf_hash(leaf))


_V1_FIELDS = {cls.__struct_config__.tag: frozenset(cls.__struct_fields__) | {"kind"}
              for cls in (AccessEvent, ParcelEvent, EmployeeEvent)}
_SHIFT_FIELDS = frozenset(Shift.__struct_fields__)


def decode_batch(  # noqa: PLR0912, PLR0915 (the ingest hot loop, one function on purpose)
    lines: Iterable[tuple[int, bytes | str]], rejected: list[Rejected], *,
    max_line_bytes: int | None = None,
) -> list[Decoded]:
    """Validate a batch of JSON events line by line, collecting rejections; each good
    one with its canonical leaf bytes and its columns.

    One strict typed decode per line, and the leaf is that object re-encoded with
    sorted keys. The types admit no unknown field and no value of any other shape, so
    the decoder never descends into what it does not know: a number out of range,
    nesting 5,000 deep or an extension field is a rejected line, not a crash. Then
    the rules the types do not check: the occurred_at calendar time, the id patterns
    and PI (one regex call for all the ids of an event), the region code, the
    assignment's end.

    A line given as a str is a reason already (read_jsonl, read_parquet); a line over
    ``max_line_bytes`` is rejected unread.

    This is the ingest hot path, written as one loop with its look-ups bound to
    locals: the earlier three calls per event (decode, finish, the checks beyond the
    types) cost more than msgspec's decode and encode together (bench/bench_ingest.py,
    docs/ingest.md). Parsing the batch as one JSON array measured slower (6.7 vs 3.8
    us an event)."""
    decoded: list[Decoded] = []
    keep, drop = decoded.append, rejected.append
    decode, encode, new, times, epoch_us = _decode, _encode, _new, _EPOCH_CACHE, _epoch_us
    sha = _sha256  # merkle.leaf_hash, inlined: a call an event costs 0.1 us
    parcel_ids, access_ids, employee_ids = _PARCEL_IDS, _ACCESS_IDS, _EMPLOYEE_IDS
    region_ok = REGION_RE.fullmatch
    limit = max_line_bytes
    for line_no, raw in lines:
        if limit is not None and (raw.__class__ is str or len(raw) > limit):
            drop(Rejected(line_no, raw if isinstance(raw, str) else too_long(limit)))
            continue
        try:
            ev = decode(raw)
            leaf = encode(ev)
            at = ev.occurred_at
            us = times.get(at)
            if us is None:
                us = epoch_us(at)
        except msgspec.ValidationError as exc:  # subclass of DecodeError: test it first
            drop(Rejected(line_no, f"does not match the event contract: {_reason(exc)}"))
            continue
        except msgspec.DecodeError as exc:
            drop(Rejected(line_no, f"not valid JSON: {_reason(exc)}"))
            continue
        except ValueError:
            drop(_bad_time(line_no, "$.occurred_at"))
            continue
        # once here for every kind (a line refused below wastes it, which is rare)
        hashed = sha(b"\x00" + leaf).digest()
        if isinstance(ev, ParcelEvent):
            event_id, waybill, station, assignee = (ev.event_id, ev.waybill_no, ev.station_id,
                                                    ev.assignee_id)
            if not parcel_ids(f"{event_id}\n{ev.enterprise_id}\n{waybill}\n{station}\n"
                              f"{assignee}") and (bad := _bad_id(line_no, ev)) is not None:
                drop(bad)
                continue
            region = ev.destination_region
            if region.__class__ is str and not region_ok(region):
                drop(Rejected(line_no, "does not match the event contract: "
                                       f"{_PATTERN_RULES['^[0-9]{6}$']} - at "
                                       "`$.destination_region`"))
                continue
            until = ev.assignment_until
            if until.__class__ is str:
                until_us = times.get(until)
                if until_us is None:
                    try:
                        until_us = epoch_us(until)
                    except ValueError:
                        drop(_bad_time(line_no, "$.assignment_until"))
                        continue
            else:
                until_us = None
            purpose = ev.assignment_purpose
            # absent fields are UNSET here; the projection stores them as NULL
            keep(new(Decoded, (line_no, ev.enterprise_id, event_id, "parcel", us, None,
                               waybill, leaf, (
                                   event_id, us, waybill, ev.step,
                                   station if station.__class__ is str else None,
                                   assignee if assignee.__class__ is str else None,
                                   purpose if purpose.__class__ is str else None,
                                   until_us), hashed)))
        elif isinstance(ev, AccessEvent):
            seen = ev.waybill_no
            if not access_ids(f"{ev.event_id}\n{ev.enterprise_id}\n{ev.actor_id}\n"
                              f"{ev.station_id}\n{seen}\n{ev.device_id}"
                              ) and (bad := _bad_id(line_no, ev)) is not None:
                drop(bad)
                continue
            keep(new(Decoded, (line_no, ev.enterprise_id, ev.event_id, "access", us,
                               ev.actor_id, seen if seen.__class__ is str else None,
                               leaf, None, hashed)))
        else:
            if not employee_ids(f"{ev.event_id}\n{ev.enterprise_id}\n{ev.employee_id}\n"
                                f"{ev.station_id}") and (bad := _bad_id(line_no, ev)) is not None:
                drop(bad)
                continue
            keep(new(Decoded, (line_no, ev.enterprise_id, ev.event_id, "employee", us,
                               ev.employee_id, None, leaf, None, hashed)))
    return decoded


def _bad_time(line_no: int, where: str) -> Rejected:
    return Rejected(line_no, "does not match the event contract: Expected an RFC 3339 "
                             "date-time with an offset, e.g. 2026-11-11T08:30:00+08:00 "
                             f"- at `{where}`")


def _letter_ids(n: int) -> Callable[[str], object]:
    """A matcher for the ``n`` ids of an event, one per line, when each starts with a
    letter: the id pattern, and no room for a phone or ID number (see
    contract.pi_like_id). One regex call per event; absent ids format as "None" or
    "UNSET", which pass; an id holding a newline makes one line too many. Anything
    else (a bad id, or one starting with a digit) takes the field-by-field look."""
    one = r"[A-Za-z][A-Za-z0-9._:-]*"
    return re.compile(f"{one}(?:\n{one}){{{n - 1}}}").fullmatch


_ACCESS_IDS, _PARCEL_IDS, _EMPLOYEE_IDS = _letter_ids(6), _letter_ids(5), _letter_ids(4)

_ID_FIELDS: dict[type, tuple[str, ...]] = {
    AccessEvent: ("event_id", "enterprise_id", "actor_id", "station_id", "waybill_no",
                  "device_id"),
    ParcelEvent: ("event_id", "enterprise_id", "waybill_no", "station_id", "assignee_id"),
    EmployeeEvent: ("event_id", "enterprise_id", "employee_id", "station_id"),
}


def _bad_id(line_no: int, ev: Event) -> Rejected | None:
    for name in _ID_FIELDS[type(ev)]:
        value = getattr(ev, name)
        if not isinstance(value, str):
            continue
        if not ID_RE.fullmatch(value):
            return Rejected(line_no, "does not match the event contract: "
                                     f"{_PATTERN_RULES[ID_PATTERN]} - at `$.{name}`")
        if what := pi_like_id(value):
            return Rejected(line_no, f"does not match the event contract: `$.{name}` looks "
                                     f"like {what}; ids must not be PI")
    return None
