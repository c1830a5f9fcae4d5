"""Enterprise security portal: alerts, incidents with deadline timers and their
playbook, security and emergency plans. Employees, complaints, conduct and keys are
in ``enterprise_staff``. Every read and action goes through the owning domain's
service with the officer's own principal, so tenancy and permissions are theirs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.core.errors import DomainError
from parcelguard.core.http import SessionDep
from parcelguard.monitor import service as alerts
from parcelguard.monitor.models import MonitorAlert
from parcelguard.web import capabilities
from parcelguard.web.auth import OfficerStaff, Staff
from parcelguard.web.i18n import gettext_for
from parcelguard.web.names import Names
from parcelguard.web.render import Nav, flash, locale_of, page, page_url, redirect, runtime
from parcelguard.web.sections import Action, Cell, Input, Section, due_cell, unavailable
from parcelguard.web.security import checked_form

router = APIRouter(prefix="/enterprise", include_in_schema=False)
NAV = [Nav("/enterprise", "Overview"), Nav("/enterprise/alerts", "Alerts"),
       Nav("/enterprise/incidents", "Incidents"), Nav("/enterprise/plans", "Plans"),
       Nav("/enterprise/employees", "Employees"), Nav("/enterprise/complaints", "Complaints"),
       Nav("/enterprise/conduct", "Evaluations and sanctions"), Nav("/enterprise/keys", "Keys")]
INCIDENT_TABLES = ("incidents", "incident_reports", "incident_tasks", "incident_plans")


def show(request: Request, title: str, sections: list[Section], *,
         messages: list[str] | None = None, errors: list[str] | None = None,
         status_code: int = 200) -> HTMLResponse:
    return page(request, "sections.html", title=title, nav=NAV, sections=sections,
                messages=messages or [], errors=errors or [], status_code=status_code)


class ShownOnce(str):
    """A done-message carrying a secret shown once (a new API key): rendered in the
    answer to the post itself, never put in a cookie to survive a redirect."""


Done = str | tuple[str, dict[str, str]]


async def act(request: Request, fn: Callable[[dict[str, str]], Done],
              then: Callable[..., HTMLResponse]) -> Response:
    """Run a form action. Done: redirect (303) to the page the form was on, its
    message carried by a one-use cookie, so a reload or a language switch never
    repeats the action. Refused: the page again with the domain's reason."""
    form = await checked_form(request)
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    _ = gettext_for(locale_of(request))
    try:
        done = fn(values)
    except DomainError as exc:
        return then(errors=[_(exc.message)], status_code=exc.status_code)
    if isinstance(done, ShownOnce):
        return then(messages=[done])
    message, args = done if isinstance(done, tuple) else (done, {})
    response = redirect(request, page_url(request))
    flash(request, response, message, args)
    return response


def incidents_service(session: Session) -> object | None:
    return capabilities.service(session, "parcelguard.incidents.repository", *INCIDENT_TABLES,
                                attrs=("IncidentRepository",))


# -- alerts --------------------------------------------------------------------------------


def alerts_section(session: Session, staff: Staff, *, status: str | None = None,
                   limit: int = 50, actions: bool = True) -> Section:
    sec = Section("Alerts", ["Raised", "Detector", "Subject", "Severity", "Records", "Status",
                             "Summary"], html_id="alerts", empty="No alerts.")
    flt = alerts.AlertFilter(status=status, limit=limit)
    names = Names(session)
    for a in alerts.list_alerts(session, staff.principal, flt):
        acts = []
        if actions and a.status != "closed" and staff.principal.can("alerts:ack"):
            if a.status == "open":
                acts.append(Action("/enterprise/alerts/ack", "Acknowledge", {"alert_id": a.id}))
            acts.append(Action("/enterprise/alerts/close", "Close", {"alert_id": a.id},
                               secondary=True))
        sec.add([a.raised_at, Cell(a.detector, translate=True), names.person(a.subject_id),
                 Cell(a.severity, translate=True, cls="overdue" if a.severity in (
                     "high", "critical") else None), a.record_count,
                 Cell(a.status, translate=True), summary_cell(a)], acts)
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
        alerts.close(session, staff.principal, v.get("alert_id", ""), clock=clock)
        return "Alert closed."

    return await act(request, run, lambda **kw: _alerts(request, session, staff, **kw))


# -- incidents -------------------------------------------------------------------------------


def incidents_section(session: Session, staff: Staff, now: datetime,
                      href: str = "/enterprise/incidents") -> Section:
    if incidents_service(session) is None:
        return unavailable("Incidents")
    from parcelguard.incidents.models import Incident, IncidentReport
    from parcelguard.incidents.repository import IncidentRepository

    repo = IncidentRepository(session, staff.principal)
    sec = Section("Incidents", ["Detected", "Incident", "Enterprise", "Grade", "State", "People",
                                "Cause", "Next report due"], html_id="incidents",
                  empty="No incidents.")
    rows = list(session.scalars(repo.incidents().order_by(Incident.detected_at.desc()).limit(100)))
    pending = {r.incident_id: r for r in session.scalars(repo.reports().where(
        IncidentReport.status == "draft", IncidentReport.due_at.is_not(None)).order_by(
        IncidentReport.due_at.desc()))}
    names = Names(session)
    for inc in rows:
        rep = pending.get(inc.id)
        sec.add([inc.detected_at, Cell(inc.title, href=f"{href}/{inc.id}"),
                 names.org(inc.enterprise_id),
                 Cell(inc.grade, translate=True), Cell(inc.state, translate=True),
                 inc.people_affected, Cell(inc.cause_class, translate=True),
                 due_cell(rep.due_at, None, now) if rep else Cell("—")])
    return sec


@router.get("/incidents", response_class=HTMLResponse)
def incidents_page(request: Request, session: SessionDep, staff: OfficerStaff) -> HTMLResponse:
    return show(request, "Incidents",
                [incidents_section(session, staff, runtime(request).clock.now())])


def incident_sections(session: Session, staff: Staff, incident_id: str, now: datetime,
                      base: str) -> list[Section]:
    """One incident: facts, statutory reports with their deadline timers, the
    playbook's tasks, the timeline. Shared with the supervision department's view."""
    from parcelguard.incidents.models import IncidentReport, IncidentTask, TimelineEntry
    from parcelguard.incidents.repository import IncidentRepository

    repo = IncidentRepository(session, staff.principal)
    inc = repo.incident(incident_id)
    names = Names(session)
    manage = staff.principal.can("incidents:manage") and inc.enterprise_id == staff.principal.org_id
    facts = Section(inc.title, facts=[
        ("Enterprise", inc.enterprise_id), ("Grade", Cell(inc.grade, translate=True)),
        ("State", Cell(inc.state, translate=True)),
        ("Category", Cell(inc.category, translate=True)),
        ("Cause", Cell(inc.cause_class, translate=True)),
        ("People affected", inc.people_affected), ("Records affected", inc.records_affected),
        ("Affected system", Cell(inc.affected_system, translate=True)),
        ("Detected", inc.detected_at),
        ("Data types", ", ".join(inc.data_types))], html_id="facts")
    reports = Section("Statutory reports", ["Kind", "Recipient", "Status", "Due", "Timer",
                                            "Filed"], html_id="reports",
                      empty="No report is due for this incident.")
    for r in session.scalars(repo.reports().where(IncidentReport.incident_id == inc.id)
                             .order_by(IncidentReport.drafted_at)):
        acts = [Action(f"{base}/{inc.id}/file", "File report", {"report_id": r.id})] \
            if manage and r.status == "draft" and staff.principal.can("incidents:report") else []
        reports.add([Cell(r.kind, translate=True), Cell(r.recipient, translate=True),
                     Cell(r.status, translate=True), r.due_at,
                     due_cell(r.due_at, r.filed_at, now), r.filed_at], acts)
    tasks = Section("Playbook", ["No.", "Step", "Assignee", "Status"], html_id="tasks",
                    empty="No playbook tasks (no emergency plan in force).")
    for t in session.scalars(select(IncidentTask).where(IncidentTask.incident_id == inc.id)
                             .order_by(IncidentTask.seq)):
        acts = [Action(f"{base}/{inc.id}/task", "Mark done", {"task_id": t.id})] \
            if manage and t.status == "open" else []
        # A step is the plan's own text; common steps (the demo plan's) are translated.
        tasks.add([t.seq, Cell(t.step, translate=True), names.person(t.assignee_employee_id),
                   Cell(t.status, translate=True)],
                  acts)
    timeline = Section("Timeline", ["When", "Who", "What"], html_id="timeline")
    for e in session.scalars(select(TimelineEntry).where(TimelineEntry.incident_id == inc.id)
                             .order_by(TimelineEntry.id)):
        timeline.add([e.at, names.actor(e.actor), Cell(e.action, translate=True)])
    return [facts, reports, tasks, timeline]


def _incident(incident_id: str, request: Request, session: Session, staff: Staff,
              **extra: object) -> HTMLResponse:
    if incidents_service(session) is None:
        return show(request, "Incident", [unavailable("Incidents")])
    return show(request, "Incident", incident_sections(
        session, staff, incident_id, runtime(request).clock.now(), "/enterprise/incidents"),
        **extra)  # type: ignore[arg-type]


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(incident_id: str, request: Request, session: SessionDep,
                  staff: OfficerStaff) -> HTMLResponse:
    return _incident(incident_id, request, session, staff)


@router.post("/incidents/{incident_id}/{op}", response_class=HTMLResponse)
async def incident_action(incident_id: str, op: str, request: Request, session: SessionDep,
                          staff: OfficerStaff) -> Response:
    clock = runtime(request).clock

    def run(v: dict[str, str]) -> str:
        if op == "task":
            from parcelguard.incidents.service import complete_task

            complete_task(session, staff.principal, incident_id=incident_id,
                          task_id=v.get("task_id", ""), clock=clock)
            return "Task done."
        from parcelguard.incidents.reports import file_report

        file_report(session, staff.principal, report_id=v.get("report_id", ""), clock=clock)
        return "Report filed with the supervision department."

    return await act(request, run,
                     lambda **kw: _incident(incident_id, request, session, staff, **kw))


# -- plans ------------------------------------------------------------------------------------


def plans_section(session: Session, staff: Staff, *, review: bool = False,
                  only_submitted: bool = False) -> Section:
    if incidents_service(session) is None:
        return unavailable("Security and emergency plans")
    from parcelguard.incidents.models import IncidentPlan
    from parcelguard.incidents.repository import IncidentRepository

    stmt = IncidentRepository(session, staff.principal).plans()
    if only_submitted:
        stmt = stmt.where(IncidentPlan.status == "submitted")
    sec = Section("Plans awaiting review" if only_submitted else "Security and emergency plans",
                  ["Enterprise", "Kind", "Version", "Status", "Submitted", "Reviewed",
                   "Comments"], html_id="plans", empty="No plans.")
    for p in session.scalars(stmt.order_by(IncidentPlan.submitted_at.desc()).limit(100)):
        acts = []
        if review and p.status == "submitted" and staff.principal.can("plans:review"):
            acts = [Action("/supervisor/plans/review", "Approve", {"plan_id": p.id,
                                                                    "approve": "yes"}),
                    Action("/supervisor/plans/review", "Return with comments",
                           {"plan_id": p.id, "approve": "no"},
                           inputs=(Input("comments", "Comments", "textarea", required=True),),
                           secondary=True)]
        sec.add([p.enterprise_id, Cell(p.kind, translate=True), p.version,
                 Cell(p.status, translate=True), p.submitted_at, p.reviewed_at,
                 p.review_comments], acts)
    return sec


@router.get("/plans", response_class=HTMLResponse)
def plans_page(request: Request, session: SessionDep, staff: OfficerStaff) -> HTMLResponse:
    return show(request, "Plans", [plans_section(session, staff)])


@router.get("", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, staff: OfficerStaff) -> HTMLResponse:
    from parcelguard.web.portals.enterprise_staff import complaints_section

    now = runtime(request).clock.now()
    return show(request, "Enterprise security", [
        alerts_section(session, staff, status="open", limit=10, actions=False),
        incidents_section(session, staff, now), complaints_section(session, staff, now)])
