"""Reactions that open incidents: from monitor alerts (``AlertRaised``) by the rule
in ``IncidentSettings`` (severity, detector), and from findings that other packages
raise (complaints, conduct findings, audit findings), through one structural
``Finding`` shape so this package imports none of them.

Plugins register them as outbox reactions (incidents/plugin.py, bridges/reactions.py): each runs in
its delivery's transaction and never commits; what it produces (a police-referral
proposal) is emitted into that same transaction by the service.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final, Protocol

from sqlalchemy.orm import Session

from parcelguard.core.clock import Clock
from parcelguard.core.errors import Conflict, InvalidInput
from parcelguard.identity.permissions import Principal
from parcelguard.incidents.model import Category
from parcelguard.incidents.service import Opened, OpenRequest, open_case, open_incident
from parcelguard.incidents.settings import IncidentSettings
from parcelguard.incidents.timeline import SYSTEM_MONITOR, actor_of, clean_text
from parcelguard.monitor import read as monitor_read
from parcelguard.monitor import service as monitor
from parcelguard.monitor.events import AlertRaised

SEVERITIES: Final = ("low", "medium", "high", "critical")
SUPERVISION_CASE: Final = "system:supervision-case"
# detector -> incident category (monitor/detectors/__init__.py names them)
DETECTOR_CATEGORY: Final[dict[str, Category]] = {
    "unassigned_access": Category.INSIDER_ABUSE,
    "out_of_station_access": Category.INSIDER_ABUSE,
    "volume_spike": Category.INSIDER_ABUSE,
    "wide_scope_query": Category.INSIDER_ABUSE,
    "bulk_access": Category.INSIDER_ABUSE,
    "cumulative_access": Category.INSIDER_ABUSE,
    "after_leaving": Category.INSIDER_ABUSE,
    "unvetted_access": Category.INSIDER_ABUSE,
    "label_reprint_burst": Category.INSIDER_ABUSE,
    "denial_burst": Category.INSIDER_ABUSE,
    "shared_account": Category.ACCOUNT_COMPROMISE,
    "concurrent_places": Category.ACCOUNT_COMPROMISE,
    "machine_timing": Category.ACCOUNT_COMPROMISE,
    "credential_stuffing": Category.EXTERNAL_ATTACK,
    # a successful log-in from a source that is stuffing credentials
    "account_takeover": Category.ACCOUNT_COMPROMISE,
    "scraping": Category.EXTERNAL_ATTACK,
    "ledger_tamper": Category.TAMPERING,
}



def _title(summary: str, fallback: str) -> str:
    """The source's own sentence when it passes the PI check (an IP address or a
    long account number in it would not); else a neutral title, so a handler never
    fails on wording."""
    try:
        return clean_text(summary, "title", max_len=200)
    except InvalidInput:
        return fallback


def alert_opens_incident(detector: str, severity: str, rules: IncidentSettings) -> bool:
    """The alert-to-incident rule: a listed detector, or severity at the floor or above."""
    if detector in rules.alert_detectors:
        return True
    floor = SEVERITIES.index(rules.alert_min_severity)
    return severity in SEVERITIES and SEVERITIES.index(severity) >= floor


def open_from_alert(session: Session, alert_id: str, *, settings: IncidentSettings,
                    force: bool = False, actor: str = SYSTEM_MONITOR) -> Opened | None:
    """Open (or join) the incident for a stored alert if the rule says so (``force``:
    a person chose to escalate it). Detection time is the alert's raise time, in
    event time. None when the rule leaves the alert to the monitor's queue."""
    alert = monitor_read.alert(session, alert_id)
    if alert is None:
        return None
    if not force and not alert_opens_incident(alert.detector, alert.severity, settings):
        return None
    category = DETECTOR_CATEGORY.get(alert.detector, Category.INSIDER_ABUSE)
    return open_incident(session, OpenRequest(
        enterprise_id=alert.enterprise_id,
        title=_title(alert.summary, f"{alert.detector} ({alert.subject_type})"),
        category=category.value, source="alert",
        detected_at=alert.raised_at, evidence_event_ids=list(alert.event_ids),
        source_ref=alert.id, subject_key=f"{alert.enterprise_id}|{alert.subject_id}"),
        actor=actor, settings=settings)


def open_case_for_alert(session: Session, event: AlertRaised, *,
                        settings: IncidentSettings) -> Opened | None:
    """The ``AlertRaised`` reaction on the supervision node: the alert (a tampered
    log its mirror or witness caught) opens or joins the department's own case about
    the enterprise (service.open_case: no impact, no statutory drafts; those are the
    enterprise's, on its node). Same rule as ``open_from_alert``."""
    alert = monitor_read.alert(session, event.alert_id)
    if alert is None or not alert_opens_incident(alert.detector, alert.severity, settings):
        return None
    category = DETECTOR_CATEGORY.get(alert.detector, Category.INSIDER_ABUSE)
    return open_case(session, OpenRequest(
        enterprise_id=alert.enterprise_id,
        title=_title(alert.summary, f"{alert.detector} ({alert.subject_type})"),
        category=category.value, source="alert", detected_at=alert.raised_at,
        evidence_event_ids=list(alert.event_ids), source_ref=alert.id,
        subject_key=f"{alert.enterprise_id}|{alert.subject_id}"),
        actor=SUPERVISION_CASE, settings=settings)


def escalate_alert(session: Session, principal: Principal, alert_id: str, *,
                   settings: IncidentSettings, clock: Clock) -> Opened:
    """A person escalates one of their enterprise's alerts to an incident whatever
    the rule says (TheHive's "import into a case"): the incident is opened or joined,
    and the alert is closed as escalated, naming the incident."""
    principal.require("incidents:manage")
    if monitor.get_alert(session, principal, alert_id).status == "closed":
        raise Conflict(f"alert {alert_id} is closed")
    alert = monitor.close(session, principal, alert_id, clock=clock, reason="escalated")
    opened = open_from_alert(session, alert.id, settings=settings, force=True,
                             actor=actor_of(principal))
    assert opened is not None  # the alert exists and force skips the rule
    alert.close_note = opened.incident.id
    session.flush()
    return opened


def open_for_alert(session: Session, event: AlertRaised, *,
                   settings: IncidentSettings) -> None:
    """The ``AlertRaised`` reaction: open or join the alert's incident if the rule
    says so."""
    open_from_alert(session, event.alert_id, settings=settings)


class Finding(Protocol):
    """What a complaint, conduct finding or audit finding event must carry to open an
    incident (structural: those packages need not know this one)."""

    @property
    def enterprise_id(self) -> str: ...
    @property
    def finding_id(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def event_ids(self) -> Sequence[str]: ...
    @property
    def detected_at(self) -> datetime: ...


def open_for_finding(session: Session, f: Finding, *, settings: IncidentSettings,
                     source: str, category: str = Category.INSIDER_ABUSE.value,
                     subject: str | None = None) -> None:
    """A finding's reaction: open (or join) its incident. ``source`` is complaint,
    conduct or audit; ``subject`` (e.g. the employee) joins findings about the same
    person into one open incident."""
    open_incident(session, OpenRequest(
        enterprise_id=f.enterprise_id, title=_title(f.summary, f"{source} finding"),
        category=category, source=source, detected_at=f.detected_at,
        evidence_event_ids=list(f.event_ids), source_ref=f.finding_id,
        subject_key=f"{f.enterprise_id}|{subject}" if subject else None),
        actor=f"system:{source}", settings=settings)
