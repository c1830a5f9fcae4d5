"""What the channel emits to the outbox (core/outbox.py) and the commands it accepts
from other domains. Ids only: the content stays behind the channel's permissions.

The plugins connect them: ``CanaryTouched`` raises a critical monitor alert
(bridges/reactions.py, ``canary_alert_fields``); incidents' police-referral proposal becomes
``ReferIncident``; conduct's referral decision becomes ``ReferConductFinding``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from parcelguard.core.messages import message

CANARY_DETECTOR = "canary_access"


@message("channel.canary_touched", version=1)
@dataclass(frozen=True)
class CanaryTouched:
    """A canary parcel was accessed or its monitored number called. ``exposed_to``
    names everyone who ever had access to the canary."""

    enterprise_id: str
    canary_id: str
    waybill_no: str
    kind: str  # access | call
    at: datetime
    actor_type: str | None
    actor_id: str | None
    event_ids: tuple[str, ...]
    exposed_to: tuple[str, ...]


@dataclass(frozen=True)
class ReferIncident:
    """Command: forward an incident to the police. incidents/plugin.py builds it from the
    incidents domain's ``ProposePoliceReferral``: ``reason`` = its ``basis``,
    ``event_ids`` = ``evidence_event_ids``, ``actor_ids``, ``waybills``,
    ``record_counts`` = ``records`` (same category names as ``thresholds.THRESHOLDS``)
    and ``insider``; the channel adds the proofs, the suspects' over-reaching reads and
    the triangulation over the waybills."""

    enterprise_id: str
    incident_id: str
    reason: str
    event_ids: Sequence[str] = ()
    waybills: Sequence[str] = ()
    actor_ids: Sequence[str] = ()
    record_counts: Mapping[str, int] | None = None
    insider: bool | None = None
    police_org_id: str | None = None
    requested_by: str = "incidents"


@dataclass(frozen=True)
class ReferConductFinding:
    """Command: forward a conduct finding (repeated low ratings with a sign of
    leakage) about one employee to the police."""

    enterprise_id: str
    decision_id: str
    employee_id: str
    reason: str
    figures: Mapping[str, Any] = field(default_factory=dict)
    police_org_id: str | None = None
    requested_by: str = "conduct"


def canary_alert_fields(ev: CanaryTouched) -> dict[str, Any]:
    """The monitor alert a canary hit raises, as keyword arguments of the monitor's
    ``AlertUpdate`` (bridges/reactions.py builds it; the channel does not import the monitor).
    Score 1.0 is the top of the critical band."""
    t_us = int(ev.at.timestamp() * 1_000_000)
    what = "was accessed" if ev.kind == "access" else "had its monitored number called"
    by = f" by {ev.actor_id}" if ev.actor_id else ""
    everyone = ", ".join(ev.exposed_to) or "nobody on record"
    return {
        "enterprise_id": ev.enterprise_id, "detector": CANARY_DETECTOR,
        "subject_type": ev.actor_type if ev.actor_type in ("employee", "partner", "external")
        else "enterprise",
        "subject_id": ev.actor_id or ev.enterprise_id, "fire": True, "t_us": t_us,
        "first_us": t_us, "event_ids": list(ev.event_ids) or [f"canary:{ev.canary_id}"],
        "score": 1.0,
        "summary": (f"canary parcel {ev.waybill_no} {what}{by}; everyone who ever had "
                    f"access: {everyone}")[:500],
    }
