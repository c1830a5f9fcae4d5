"""What the incidents package returns and emits. Ids, codes and counts only: an
event may reach any handler, or another node, so it never carries PI.

``ProposePoliceReferral`` is a command, not an event: the evidence crossed the
criminal thresholds, and the channel package (police referrals) is asked to prepare
a referral; it is emitted to the outbox (core/outbox.py), and exactly one reaction
takes it (incidents/plugin.py).
``IncidentMoved`` lives in ``model.py`` with the lifecycle that records it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from parcelguard.core.messages import message
from parcelguard.incidents.model import IncidentMoved

__all__ = ["IncidentMoved", "IncidentOpened", "InterventionApplied", "ProposePoliceReferral",
           "ReportFiled", "ReportOverdue"]


@dataclass(frozen=True)
class IncidentOpened:
    incident_id: str
    enterprise_id: str
    category: str
    grade: str
    source: str  # alert | complaint | conduct | audit | manual
    detected_at: datetime


@dataclass(frozen=True)
class ReportFiled:
    """A statutory report reached the supervision department's inbox."""

    report_id: str
    incident_id: str
    enterprise_id: str
    kind: str
    recipient: str
    on_time: bool | None  # None for supplements, which have no deadline
    filed_at: datetime


@dataclass(frozen=True)
class ReportOverdue:
    """A deadline passed with nothing filed (or an ordered intervention went
    unacknowledged): escalated to the supervision department."""

    escalation_id: str
    incident_id: str | None
    enterprise_id: str
    subject: str  # the report kind, or "intervention_ack"
    due_at: datetime
    escalated_at: datetime


@dataclass(frozen=True)
class InterventionApplied:
    intervention_id: str
    enterprise_id: str
    kind: str
    target_id: str
    ordered_by_org: str
    incident_id: str | None
    ledger_event_id: str


@message("incidents.propose_police_referral", version=1)
@dataclass(frozen=True)
class ProposePoliceReferral:
    """Command to the channel package: prepare a referral to the police
    network-security department (SPC/SPP 2017 interpretation, Art. 5)."""

    incident_id: str
    enterprise_id: str
    insider: bool
    especially_serious: bool
    ratio: float  # of the criminal standard; >= 1.0
    basis: str  # e.g. "2,600 other records (threshold 2,500) -> 1.04 of the standard"
    evidence_event_ids: tuple[str, ...]
    actor_ids: tuple[str, ...]  # pseudonymous actor ids from the evidence
    waybills: tuple[str, ...]  # whose PI an allowed access in the evidence touched
    proposed_at: datetime
    records: Mapping[str, int] = field(default_factory=dict)
