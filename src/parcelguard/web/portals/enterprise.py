"""Enterprise security portal: the overview and alerts. Its other pages are in
``enterprise_incidents`` (incidents, statutory reports, notices), ``enterprise_plans``
(plans, regulator orders) and ``enterprise_staff`` (employees, complaints, police
referrals, conduct, keys). Every read and action goes through the owning domain's
service with the officer's own principal, so tenancy and permissions are theirs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from parcelguard.core.http import SessionDep
from parcelguard.incidents.handlers import escalate_alert
from parcelguard.incidents.settings import IncidentSettings
from parcelguard.monitor import service as alerts
from parcelguard.monitor.models import MonitorAlert
from parcelguard.web import overview as ov
from parcelguard.web.actions import act
from parcelguard.web.auth import OfficerStaff, Staff
from parcelguard.web.names import Names
from parcelguard.web.portals import (
    enterprise_access,
    enterprise_audits,
    enterprise_channel,
    enterprise_consent,
    enterprise_incidents,
    enterprise_partners,
    enterprise_plans,
    enterprise_subjects,
)
from parcelguard.web.portals.enterprise_incidents import incidents_section
from parcelguard.web.portals.enterprise_layout import NAV, show
from parcelguard.web.portals.enterprise_staff import complaints_section
from parcelguard.web.render import runtime
from parcelguard.web.sections import Action, Cell, Input, Section

router = APIRouter(prefix="/enterprise", include_in_schema=False)


# -- alerts --------------------------------------------------------------------------------


CLOSE_REASONS = (("handled", "handled"), ("false_positive", "false_positive"),
                 ("duplicate", "duplicate"))


def alerts_section(session: Session, staff: Staff, *, status: str | None = None,
                   limit: int = 50, actions: bool = True) -> Section:
    sec = Section("Alerts", ["Raised", "Detector", "Subject", "Severity", "Records", "Status",
                             "Summary", "Closed because", "Note"], html_id="alerts",
                  empty="No alerts.")
    flt = alerts.AlertFilter(status=status, limit=limit)
    escalate = staff.principal.can("incidents:manage")
    names = Names(session)
    for a in alerts.list_alerts(session, staff.principal, flt):
        acts = []
        if actions and a.status != "closed" and staff.principal.can("alerts:ack"):
            if a.status == "open":
                acts.append(Action("/enterprise/alerts/ack", "Acknowledge", {"alert_id": a.id}))
            if escalate:
                acts.append(Action("/enterprise/alerts/escalate", "Escalate to an incident",
                                   {"alert_id": a.id}))
            acts.append(Action("/enterprise/alerts/close", "Close", {"alert_id": a.id}, inputs=(
                Input("reason", "Why it is closed", "select", CLOSE_REASONS),
                Input("note", "Note (no personal data)")), secondary=True))
        # an escalated alert's note is the incident it went into: link it
        note = Cell(a.close_note, href=f"/enterprise/incidents/{a.close_note}"
                    if a.close_reason == "escalated" else None) if a.close_note else Cell(None)
        sec.add([a.raised_at, Cell(a.detector, translate=True), names.person(a.subject_id),
                 Cell(a.severity, translate=True, cls="overdue" if a.severity in (
                     "high", "critical") else None), a.record_count,
                 Cell(a.status, translate=True), summary_cell(a),
                 Cell(a.close_reason, translate=True) if a.close_reason else Cell(None), note],
                acts)
    return sec


# The monitor writes its summaries in English. In the portals an alert's summary is
# this sentence of its detector, translated like any other (the English catalog
# keeps the monitor's own, more detailed text).
ALERT_SUMMARIES = {
    "unassigned_access": "%(subject)s read or printed waybills with no assignment covering "
                         "them (%(n)s records)",
    "out_of_station_access": "%(subject)s read or printed waybills that never passed their "
                             "station (%(n)s records)",
    "volume_spike": "%(subject)s accessed far more records than usual (%(n)s records)",
    "wide_scope_query": "%(subject)s searched widely across waybills (%(n)s records)",
    "bulk_access": "%(subject)s exported or searched records in bulk (%(n)s records)",
    "cumulative_access": "%(subject)s accumulated too many record accesses over days "
                         "(%(n)s records)",
    "after_leaving": "%(subject)s's account accessed PI after they left (%(n)s records)",
    "unvetted_access": "%(subject)s accessed PI without a passed background check "
                       "(%(n)s records)",
    "shared_account": "%(subject)s's account was used from many new devices or networks "
                      "(%(n)s records)",
    "concurrent_places": "%(subject)s's account was used in two places at once (%(n)s records)",
    "machine_timing": "%(subject)s accessed records at machine-like intervals (%(n)s records)",
    "label_reprint_burst": "%(subject)s reprinted labels in a burst (%(n)s records)",
    "denial_burst": "%(subject)s was refused access many times (%(n)s records)",
    "credential_stuffing": "failed log-ins to many accounts from %(subject)s (%(n)s records)",
    "account_takeover": "%(subject)s logged in while its source was stuffing credentials "
                        "(%(n)s records)",
    "scraping": "external client %(subject)s accessed PI (%(n)s records)",
    "ledger_tamper": "the log of %(subject)s failed the supervision witness",
    "canary_access": "%(subject)s touched a canary parcel (%(n)s records)",
}


def summary_cell(a: MonitorAlert) -> Cell:
    template = ALERT_SUMMARIES.get(a.detector)
    if template is None:
        return Cell(a.summary)
    return Cell(template, translate=True, args={"subject": a.subject_id, "n": a.record_count},
                english=a.summary)


def _alerts(request: Request, session: Session, staff: Staff, **extra: object) -> HTMLResponse:
    return show(request, "Alerts", [alerts_section(session, staff)], **extra)  # type: ignore[arg-type]


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, session: SessionDep, staff: OfficerStaff) -> HTMLResponse:
    return _alerts(request, session, staff)


@router.post("/alerts/{op}", response_class=HTMLResponse)
async def alert_action(op: str, request: Request, session: SessionDep,
                       staff: OfficerStaff) -> Response:
    clock = runtime(request).clock

    def run(v: dict[str, str]) -> str:
        if op == "ack":
            alerts.acknowledge(session, staff.principal, v.get("alert_id", ""), clock=clock)
            return "Alert acknowledged."
        if op == "escalate":
            escalate_alert(session, staff.principal, v.get("alert_id", ""),
                           settings=runtime(request).settings.section(IncidentSettings),
                           clock=clock)
            return "Escalated: the alert is now part of an incident case."
        alerts.close(session, staff.principal, v.get("alert_id", ""), clock=clock,
                     reason=v.get("reason", ""), note=v.get("note", ""))
        return "Alert closed."

    return await act(request, run, lambda **kw: _alerts(request, session, staff, **kw))


@router.get("", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, staff: OfficerStaff) -> HTMLResponse:
    now = runtime(request).clock.now()
    return ov.show(request, "Enterprise security", NAV, ov.enterprise(
        session, staff.principal, now), [
        alerts_section(session, staff, status="open", limit=10, actions=False),
        incidents_section(session, staff, now), *complaints_section(session, staff, now)])


router.include_router(enterprise_incidents.router)
router.include_router(enterprise_plans.router)
router.include_router(enterprise_channel.router)
router.include_router(enterprise_access.router)
router.include_router(enterprise_audits.router)
router.include_router(enterprise_consent.router)
router.include_router(enterprise_subjects.router)
router.include_router(enterprise_partners.router)
