"""Events the audit capability publishes on the bus (after the commit). The wiring
decides who reacts: an incident-type finding is meant to open an incident."""

from __future__ import annotations

from dataclasses import dataclass


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


@dataclass(frozen=True)
class AuditReportDelivered:
    engagement_id: str
    enterprise_id: str
    auditor_org_id: str
    score: float | None
