"""Bus handlers that open incidents: from monitor alerts (``AlertRaised``) by the
rule in ``IncidentSettings`` (severity, detector), and from findings that later
packages publish (complaints, conduct findings, audit findings), through one
structural ``Finding`` shape so this package imports none of them.

Each handler runs its own transaction (one per event), commits, then publishes what
it produced (``IncidentOpened``, ``ProposePoliceReferral``) through ``publish``.
The wiring module registers them, e.g.::

    bus.register(AlertRaised, alert_handler(db.unit_of_work, settings.incidents,
                                            publish=bus.publish))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Final, Protocol

from sqlalchemy.orm import Session

from parcelguard.core.db import UnitOfWork
from parcelguard.core.errors import InvalidInput
from parcelguard.core.settings import IncidentSettings
from parcelguard.incidents.model import Category
from parcelguard.incidents.reports import escalate_overdue
from parcelguard.incidents.service import Opened, OpenRequest, open_incident
from parcelguard.incidents.timeline import SYSTEM_MONITOR, clean_text
from parcelguard.monitor.events import AlertRaised
from parcelguard.monitor.models import MonitorAlert

SEVERITIES: Final = ("low", "medium", "high", "critical")
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

Publish = Callable[[Sequence[object]], None]
UowFactory = Callable[[], UnitOfWork]


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
    alert = session.get(MonitorAlert, alert_id)
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


def alert_handler(uow: UowFactory, settings: IncidentSettings, *,
                  publish: Publish | None = None) -> Callable[[object], None]:
    """The ``AlertRaised`` handler for the wiring module."""

    def handle(event: object) -> None:
        assert isinstance(event, AlertRaised)
        with uow() as work:
            opened = open_from_alert(work.session, event.alert_id, settings=settings)
            work.commit()
        if opened is not None and publish is not None and opened.events:
            publish(opened.events)

    return handle


class Finding(Protocol):
    """What a complaint, conduct finding or audit finding event must carry to open an
    incident (structural: those packages need not know this one)."""

    enterprise_id: str
    finding_id: str
    summary: str
    event_ids: Sequence[str]
    detected_at: datetime


def finding_handler(uow: UowFactory, settings: IncidentSettings, *, source: str,
                    category: str = Category.INSIDER_ABUSE.value,
                    subject_of: Callable[[object], str | None] | None = None,
                    publish: Publish | None = None) -> Callable[[object], None]:
    """A handler opening an incident from a finding event. ``source`` is complaint,
    conduct or audit; ``subject_of`` may name the subject (e.g. the employee) so
    findings about the same person join one open incident."""

    def handle(event: object) -> None:
        f: Finding = event  # type: ignore[assignment]  # structural, checked by use
        subject = subject_of(event) if subject_of else None
        with uow() as work:
            opened = open_incident(work.session, OpenRequest(
                enterprise_id=f.enterprise_id, title=_title(f.summary, f"{source} finding"),
                category=category,
                source=source, detected_at=f.detected_at,
                evidence_event_ids=list(f.event_ids), source_ref=f.finding_id,
                subject_key=f"{f.enterprise_id}|{subject}" if subject else None),
                actor=f"system:{source}", settings=settings)
            work.commit()
        if publish is not None and opened.events:
            publish(opened.events)

    return handle


def sweep_job(uow: UowFactory, now: Callable[[], datetime], *,
              publish: Publish | None = None) -> Callable[[], int]:
    """The overdue sweep as a job for a scheduler (``parcelguard serve`` or the
    monitor's follow loop may call it every few minutes); returns how many it
    newly escalated."""

    def run() -> int:
        with uow() as work:
            flagged = escalate_overdue(work.session, now())
            work.commit()
        if publish is not None and flagged:
            publish(flagged)
        return len(flagged)

    return run
