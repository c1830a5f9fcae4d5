"""Reactions between packages of the same row (docs/architecture.md lists every
reaction with its entry points). Each runs in its delivery's transaction
(core/outbox.py) and never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from parcelguard.audit.events import AuditFindingRaised
from parcelguard.channel.events import (
    CanaryTouched,
    ReferConductFinding,
    canary_alert_fields,
)
from parcelguard.channel.referrals import Deps, already_referred, refer_conduct
from parcelguard.channel.settings import ChannelSettings
from parcelguard.conduct.events import ConductReferralRequested
from parcelguard.conduct.service import note_signal
from parcelguard.core.outbox import Reaction
from parcelguard.core.runtime import Runtime
from parcelguard.incidents import handlers as incident_handlers
from parcelguard.incidents.settings import IncidentSettings
from parcelguard.monitor.events import AlertRaised
from parcelguard.monitor.model import AlertUpdate
from parcelguard.monitor.store import apply_updates
from parcelguard.vault.provider import vault_service


@dataclass(frozen=True)
class _AuditFinding:
    """An audit finding as the incidents domain reads findings."""

    enterprise_id: str
    finding_id: str
    summary: str
    event_ids: tuple[str, ...]
    detected_at: datetime


def reactions(rt: Runtime) -> tuple[Reaction, ...]:
    def alert_conduct_signal(s: Session, ev: AlertRaised) -> None:
        if ev.subject_type == "employee":
            note_signal(s, enterprise_id=ev.enterprise_id, employee_id=ev.subject_id,
                        source="monitor_alert", ref=ev.alert_id, severity=ev.severity,
                        at=ev.raised_at)

    def audit_incident(s: Session, ev: AuditFindingRaised) -> None:
        incident_handlers.open_for_finding(s, _AuditFinding(
            enterprise_id=ev.enterprise_id, finding_id=ev.finding_id, summary=ev.summary,
            event_ids=(), detected_at=ev.raised_at), settings=rt.settings.section(IncidentSettings),
            source="audit")

    def conduct_referral(s: Session, ev: ConductReferralRequested) -> None:
        if not already_referred(s, ev.enterprise_id, "conduct", ev.decision_id):
            refer_conduct_finding(s, rt, ev)

    def canary_alert(s: Session, ev: CanaryTouched) -> None:
        raise_canary_alerts(s, [ev])

    def canary_conduct_signal(s: Session, ev: CanaryTouched) -> None:
        if ev.actor_type == "employee" and ev.actor_id:
            note_signal(s, enterprise_id=ev.enterprise_id, employee_id=ev.actor_id,
                        source="canary", ref=ev.canary_id, severity="critical", at=ev.at)

    return (
        Reaction(AlertRaised, "conduct.signal_from_alert", alert_conduct_signal,
                 "an alert about an employee is a conduct signal"),
        Reaction(AuditFindingRaised, "incidents.open_from_audit_finding", audit_incident,
                 "opens an incident"),
        Reaction(ConductReferralRequested, "channel.refer_conduct_finding", conduct_referral,
                 "a police referral with its evidence package"),
        Reaction(CanaryTouched, "monitor.canary_alert", canary_alert,
                 "a critical alert (and so an incident)"),
        Reaction(CanaryTouched, "conduct.signal_from_canary", canary_conduct_signal,
                 "a conduct signal about the employee"),
    )


def raise_canary_alerts(session: Session, touched: list[CanaryTouched]) -> list[str]:
    """A canary hit becomes a critical monitor alert (the channel may not import the
    monitor, which sits in its row). Returns the ids of the alerts it opened; a hit on
    an already open alert adds evidence to it."""
    updates = [AlertUpdate(**canary_alert_fields(t)) for t in touched]
    return [r.alert_id for r in apply_updates(session, updates, cap=500)] if updates else []


def refer_conduct_finding(session: Session, rt: Runtime, ev: ConductReferralRequested) -> str:
    """Conduct's referral decision, handed to the channel's consumer."""
    deps = Deps(kms=vault_service(rt.settings).vault.kms, clock=rt.clock,
                settings=rt.settings.section(ChannelSettings))
    return refer_conduct(session, deps, ReferConductFinding(
        enterprise_id=ev.enterprise_id, decision_id=ev.decision_id, employee_id=ev.employee_id,
        reason=ev.reason, figures=ev.figures)).id
