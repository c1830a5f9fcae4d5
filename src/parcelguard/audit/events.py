"""Events of the audit capability. ``AuditFindingRaised`` is emitted to the outbox
(core/outbox.py); bridges/reactions.py decides who reacts: it opens an incident."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from parcelguard.core.messages import message


@message("audit.finding_raised", version=1)
@dataclass(frozen=True)
class AuditFindingRaised:
    """An audit finding that calls for an incident (rulebook ``on_fail = incident`` or
    the auditor's choice). Ids and a summary only, no PI."""

    finding_id: str
    engagement_id: str
    enterprise_id: str
    control_id: str
    severity: str
    summary: str
    raised_at: datetime  # the incident's detection time


@dataclass(frozen=True)
class AuditReportDelivered:
    engagement_id: str
    enterprise_id: str
    auditor_org_id: str
    score: float | None
