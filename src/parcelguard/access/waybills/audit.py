"""Access events for the PI paths outside the gate's own decision: a system printer
issuing a label at collection, the bound courier resolving the real number behind a
virtual one.

Each attempt, allowed or denied, becomes one ``access`` event in the enterprise's
log (contracts/event.schema.json), in the caller's transaction. Events carry ids
and field names only, never values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session

from parcelguard.core.ids import new_id
from parcelguard.ledger.ingest import record_events

ActorType = Literal["employee", "partner", "system", "consumer", "external"]
Channel = Literal["pda", "app", "web", "api"]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: an employee (with their station), or a system/API client."""

    type: ActorType
    id: str
    station_id: str | None = None
    channel: Channel = "api"
    device_id: str | None = None
    ip: str | None = None


def record_access(session: Session, *, enterprise_id: str, actor: Actor, action: str,
                  fields: Sequence[str], waybill_no: str | None, allowed: bool,
                  purpose: str, at: datetime) -> str:
    """Append one access event; returns its event id."""
    event_id = new_id("ev")
    record_events(session, [{
        "event_id": event_id, "kind": "access", "occurred_at": at.isoformat(),
        "enterprise_id": enterprise_id, "actor_type": actor.type, "actor_id": actor.id,
        "station_id": actor.station_id, "action": action, "fields": list(fields),
        "waybill_no": waybill_no, "record_count": 1 if allowed else 0, "purpose": purpose,
        "outcome": "allowed" if allowed else "denied", "device_id": actor.device_id,
        "ip": actor.ip, "channel": actor.channel}], clock_now=lambda: at)
    return event_id
