"""The event contract (shared/contracts/event.schema.json) as msgspec types.

msgspec validates and decodes a line in about a microsecond, which is what lets
ingest and the monitor keep up with a national feed; jsonschema would be ~50x
slower. The tests check these types against the JSON Schema itself on generated
events, so the two cannot drift apart silently.

Optional fields default to UNSET, not None: an absent field and an explicit null
are different documents and must hash to different ledger leaves. Timestamps stay
strings (checked by pattern here and by the calendar in ingest) so that re-encoding a
decoded event reproduces the sender's exact values: the ledger leaf is the canonical
form of what was sent, not of what we parsed. The types forbid unknown fields so
that re-encoding drops nothing; events with extension fields take a slower path.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

Id64 = Annotated[str, Meta(min_length=1, max_length=64)]
# RFC 3339 date-time with a mandatory offset (the contract's "format": "date-time").
# Checked in ingest (once per distinct value, cached), not here: most events of a
# stream share their second, and a per-event regex was a fifth of the decode cost.
RFC3339_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
Rfc3339 = str
OptStr = str | None | UnsetType

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
    event_id: Id64
    occurred_at: Rfc3339
    enterprise_id: Id64


class AccessEvent(_Base, tag="access"):
    actor_type: ActorType
    actor_id: str
    action: Action
    fields: list[PiField]
    record_count: Annotated[int, Meta(ge=0)]
    purpose: Purpose
    outcome: Literal["allowed", "denied"]
    channel: Literal["pda", "app", "web", "api"]
    station_id: OptStr = UNSET
    waybill_no: OptStr = UNSET
    device_id: OptStr = UNSET
    ip: OptStr = UNSET


class ParcelEvent(_Base, tag="parcel"):
    waybill_no: str
    step: Step
    station_id: OptStr = UNSET
    assignee_id: OptStr = UNSET
    assignment_purpose: AssignmentPurpose | UnsetType | None = UNSET
    assignment_until: Rfc3339 | UnsetType | None = UNSET
    destination_region: OptStr = UNSET


class EmployeeEvent(_Base, tag="employee"):
    employee_id: str
    change: Change
    role: Role | UnsetType | None = UNSET
    station_id: OptStr = UNSET
    background_check: Check | UnsetType | None = UNSET
    shift: Shift | UnsetType | None = UNSET


Event = AccessEvent | ParcelEvent | EmployeeEvent

KNOWN_KEYS: dict[str, frozenset[str]] = {
    cls.__struct_config__.tag: frozenset(cls.__struct_fields__) | {"kind"}  # type: ignore[misc]
    for cls in (AccessEvent, ParcelEvent, EmployeeEvent)
}

decoder = msgspec.json.Decoder(Event)
# Sorted keys, no whitespace, UNSET fields left out: the RFC 8785 bytes of a decoded
# event (values are strings, integers, booleans and null only).
canonical_encoder = msgspec.json.Encoder(order="sorted")
SHIFT_KEYS = frozenset(Shift.__struct_fields__)


def subject_of(ev: Event) -> str | None:
    """The actor or employee an event is about (None for parcel events)."""
    if isinstance(ev, AccessEvent):
        return ev.actor_id
    if isinstance(ev, EmployeeEvent):
        return ev.employee_id
    return None
