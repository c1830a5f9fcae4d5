"""The event contract (shared/contracts/event.schema.json) as msgspec types.

msgspec validates and decodes a line in about a microsecond, which is what lets
ingest and the monitor keep up with a national feed; jsonschema would be ~50x
slower. The tests check these types against the JSON Schema itself on generated
events, so the two cannot drift apart silently.

Optional fields default to UNSET, not None: an absent field and an explicit null
are different documents and must hash to different ledger leaves. Timestamps stay
strings (checked by pattern here and by the calendar in ingest) so that re-encoding a
decoded event reproduces the sender's exact values: the ledger leaf is the canonical
form of what was sent, not of what we parsed.

Contract version 2: the ledger is append-only and can never forget, so it takes only
the contract. The types forbid unknown fields (an unknown field is a rejected line,
never stored), every id matches ``ID_PATTERN``, and ``pi_like_id`` rejects an id that
is a mainland mobile number or a resident ID number (the JSON Schema says so in
prose; a pattern cannot compute a check digit). The same JSON Schema ships in this
package (``contracts/event.schema.json``), served at
``GET /api/v1/contract/event.schema.json``.
"""

from __future__ import annotations

import re
from importlib.resources import files
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType
from stdnum.cn import ric

# $defs.id of the contract: opaque ids, never free text (a name, an address). The
# length is checked by the decoder, the pattern in ingest with one regex for all the
# ids of an event (a msgspec pattern per field made decoding 3.5 times slower).
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
ID_RE = re.compile(ID_PATTERN)
ID_RULE = ("1-64 letters, digits, '.', '_', ':' or '-', starting with a letter or digit, "
           "and never a phone or ID number")
Id = Annotated[str, Meta(min_length=1, max_length=64)]
OptId = Id | None | UnsetType
REGION_RE = re.compile(r"^[0-9]{6}$")
# A count above 2^63 - 1 fits no SQL BIGINT (nor most JSON readers' integers): a
# hostile or broken line, not a count of records.
Count = Annotated[int, Meta(ge=0, le=2**63 - 1)]
# RFC 3339 date-time with a mandatory offset (the contract's "format": "date-time").
# Checked in ingest (once per distinct value, cached), not here: most events of a
# stream share their second, and a per-event regex was a fifth of the decode cost.
RFC3339_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
Rfc3339 = str
ActorType = Literal["employee", "partner", "system", "consumer", "external"]
Action = Literal[
    "reveal", "search", "export", "print_label", "share", "update", "delete", "login",
    "login_failed",
]
PiField = Literal[
    "sender_name", "sender_phone", "sender_address", "sender_id_number",
    "recipient_name", "recipient_phone", "recipient_address",
]
Purpose = Literal[
    "pickup", "sorting", "delivery", "customer_service", "complaint_handling",
    "law_enforcement", "audit", "security", "other",
]
Step = Literal[
    "created", "picked_up", "arrived", "departed", "assigned", "delivery_attempted",
    "delivered", "returned", "closed",
]
AssignmentPurpose = Literal["pickup", "sorting", "delivery", "customer_service"]
Change = Literal[
    "hired", "role_changed", "transferred", "background_check", "training_completed", "left",
]
Role = Literal["courier", "sorter", "warehouse", "customer_service", "security", "it", "admin"]
Check = Literal["passed", "failed", "pending"]
HHMM = Annotated[str, Meta(pattern=r"^[0-2][0-9]:[0-5][0-9]$")]

ACTIONS: tuple[str, ...] = Action.__args__  # type: ignore[attr-defined]
PI_FIELDS: tuple[str, ...] = PiField.__args__  # type: ignore[attr-defined]
PURPOSES: tuple[str, ...] = Purpose.__args__  # type: ignore[attr-defined]
ROLES: tuple[str, ...] = Role.__args__  # type: ignore[attr-defined]


class Shift(Struct, forbid_unknown_fields=True, gc=False):
    start: HHMM | UnsetType = UNSET
    end: HHMM | UnsetType = UNSET
    tz: str | UnsetType = UNSET


# gc=False: events hold no reference cycles, and a batch of 20,000 tracked objects
# made the collector a measurable share of decode time.
class _Base(Struct, tag_field="kind", forbid_unknown_fields=True, gc=False):
    event_id: Id
    occurred_at: Rfc3339
    enterprise_id: Id


class AccessEvent(_Base, tag="access"):
    actor_type: ActorType
    actor_id: Id
    action: Action
    fields: list[PiField]
    record_count: Count
    purpose: Purpose
    outcome: Literal["allowed", "denied"]
    channel: Literal["pda", "app", "web", "api"]
    station_id: OptId = UNSET
    waybill_no: OptId = UNSET
    device_id: OptId = UNSET
    ip: Annotated[str, Meta(max_length=45)] | UnsetType | None = UNSET


class ParcelEvent(_Base, tag="parcel"):
    waybill_no: Id
    step: Step
    station_id: OptId = UNSET
    assignee_id: OptId = UNSET
    assignment_purpose: AssignmentPurpose | UnsetType | None = UNSET
    assignment_until: Rfc3339 | UnsetType | None = UNSET
    destination_region: str | UnsetType | None = UNSET  # REGION_RE, checked in ingest


class EmployeeEvent(_Base, tag="employee"):
    employee_id: Id
    change: Change
    role: Role | UnsetType | None = UNSET
    station_id: OptId = UNSET
    background_check: Check | UnsetType | None = UNSET
    shift: Shift | UnsetType | None = UNSET


Event = AccessEvent | ParcelEvent | EmployeeEvent

decoder = msgspec.json.Decoder(Event)
# Sorted keys, no whitespace, UNSET fields left out: the RFC 8785 bytes of a decoded
# event (values are strings, integers, booleans and null only).
canonical_encoder = msgspec.json.Encoder(order="sorted")

# A mainland mobile number (MIIT plan: 11 digits, 13x-19x), with the country code
# 86 or 0086 in front or not, once the id's separators are taken out.
_MOBILE = re.compile(r"(?:0{0,2}86)?1[3-9][0-9]{9}")
_SEPARATORS = str.maketrans("", "", "._:-")


def pi_like_id(value: str) -> str | None:
    """What PI an id looks like ("a mobile number", "a resident ID number") or None.

    Only ids that start with a digit can be either, so the common case costs one
    comparison. A resident ID number (GB 11643) is 18 characters: 17 digits, a check
    character that matches, and a calendar date of birth at 7-14 (which spares most
    numeric ids that merely happen to satisfy the checksum, one in eleven)."""
    if not "0" <= value[:1] <= "9":
        return None
    compact = value.translate(_SEPARATORS)
    if _MOBILE.fullmatch(compact):
        return "a mobile number"
    if len(compact) == 18 and compact[:17].isdigit():
        candidate = compact.upper()
        if ric.calc_check_digit(candidate) == candidate[17] and _born(candidate):
            return "a resident ID number"
    return None


def is_contract_id(value: str) -> bool:
    """True when ``value`` may stand as an id in an event: the id pattern, not PI.
    For the edges that take ids from people (a hire, a device header), so a value
    the ledger would refuse is refused there, with a message, before anything is
    written."""
    return bool(ID_RE.fullmatch(value)) and pi_like_id(value) is None


def _born(number: str) -> bool:
    try:
        ric.get_birth_date(number)
    except ValueError:  # stdnum's InvalidComponent: no such day
        return False
    return True


def event_schema_bytes() -> bytes:
    """The contract as published: the JSON Schema file shipped in this package."""
    return files("parcelguard.ledger").joinpath("contracts/event.schema.json").read_bytes()


def subject_of(ev: Event) -> str | None:
    """The actor or employee an event is about (None for parcel events)."""
    if isinstance(ev, AccessEvent):
        return ev.actor_id
    if isinstance(ev, EmployeeEvent):
        return ev.employee_id
    return None
