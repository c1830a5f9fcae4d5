"""Enterprise security portal: alerts, incidents with deadline timers and their
playbook, security and emergency plans. Employees, complaints, conduct and keys are
in ``enterprise_staff``. Every read and action goes through the owning domain's
service with the officer's own principal, so tenancy and permissions are theirs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.core.errors import DomainError, InvalidInput
from parcelguard.core.http import SessionDep
from parcelguard.monitor import service as alerts
from parcelguard.monitor.models import MonitorAlert
from parcelguard.web import capabilities
from parcelguard.web.auth import OfficerStaff, Staff
from parcelguard.web.i18n import gettext_for
from parcelguard.web.names import Names
from parcelguard.web.render import Nav, flash, form_page, locale_of, page, redirect, runtime
from parcelguard.web.sections import Action, Cell, Input, Section, due_cell, unavailable
from parcelguard.web.security import checked_form

if TYPE_CHECKING:
    from parcelguard.incidents.models import Incident, IncidentPlan

router = APIRouter(prefix="/enterprise", include_in_schema=False)
NAV = [Nav("/enterprise", "Overview"), Nav("/enterprise/alerts", "Alerts"),
       Nav("/enterprise/incidents", "Incidents"), Nav("/enterprise/plans", "Plans"),
       Nav("/enterprise/orders", "Orders"),
       Nav("/enterprise/employees", "Employees"), Nav("/enterprise/complaints", "Complaints"),
       Nav("/enterprise/referrals", "Police referrals"),
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
    response = redirect(request, form_page(request, values.get("_page")))
    flash(request, response, message, args)
    return response


def incidents_service(session: Session) -> object | None:
    return capabilities.service(session, "parcelguard.incidents.repository", *INCIDENT_TABLES,
                                attrs=("IncidentRepository",))


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
            from parcelguard.incidents.handlers import escalate_alert

            escalate_alert(session, staff.principal, v.get("alert_id", ""),
                           settings=runtime(request).settings.incidents, clock=clock)
            return "Escalated: the alert is now part of an incident case."
        alerts.close(session, staff.principal, v.get("alert_id", ""), clock=clock,
                     reason=v.get("reason", ""), note=v.get("note", ""))
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


CATEGORIES = tuple((c, c) for c in ("insider_abuse", "account_compromise", "external_attack",
                                    "tampering", "misconfiguration", "partner"))


def _incidents(request: Request, session: Session, staff: Staff, **kw: object) -> HTMLResponse:
    sec = incidents_section(session, staff, runtime(request).clock.now())
    if sec.available and staff.principal.can("incidents:manage"):
        sec.forms.append(Action("/enterprise/incidents/open", "Open an incident", inputs=(
            Input("title", "Title (no personal data)", required=True),
            Input("category", "Category", "select", CATEGORIES),
            Input("evidence", "Evidence event ids (space separated)"))))
    return show(request, "Incidents", [sec], **kw)  # type: ignore[arg-type]


@router.get("/incidents", response_class=HTMLResponse)
def incidents_page(request: Request, session: SessionDep, staff: OfficerStaff) -> HTMLResponse:
    return _incidents(request, session, staff)


@router.post("/incidents/open", response_class=HTMLResponse)
async def incident_open(request: Request, session: SessionDep,
                        staff: OfficerStaff) -> Response:
    """Open an incident by hand, as ``incidents open`` does; grade, reports and
    tasks follow from the evidence."""
    from parcelguard.incidents import service as incidents

    rt = runtime(request)

    def run(v: dict[str, str]) -> str:
        incidents.open_as(session, staff.principal, incidents.OpenRequest(
            enterprise_id=staff.principal.org_id, title=v.get("title", ""),
            category=v.get("category", ""), source="manual", detected_at=rt.clock.now(),
            evidence_event_ids=v.get("evidence", "").split()),
            settings=rt.settings.incidents)
        return "Incident opened."

    return await act(request, run, lambda **kw: _incidents(request, session, staff, **kw))


# The next step of a case and its button (incidents.model: one step at a time);
# closing (to resolved) asks for a disposition and a reason instead.
NEXT_STEP = {"detected": ("triaged", "Triage"), "triaged": ("contained", "Mark contained"),
             "contained": ("reported", "Mark reported"), "resolved": ("reviewed", "Mark reviewed")}
DISPOSITIONS = tuple((d, d) for d in ("confirmed_breach", "contained_no_harm", "false_positive",
                                      "duplicate"))
CONFIRM = Input("confirm", "I have read this; it cannot be undone", "checkbox", required=True)


def confirmed(v: dict[str, str]) -> None:
    """Irreversible acts need the confirmation box ticked (checked here as well as in
    the browser: a form posted without it is refused, nothing is done)."""
    if v.get("confirm") != "yes":
        raise InvalidInput("Tick the confirmation box: this cannot be undone.")


def case_actions(inc: Incident, base: str) -> list[Action]:
    url = f"{base}/{inc.id}"
    if inc.state == "reported":
        return [Action(f"{url}/close", "Close the case", inputs=(
            Input("disposition", "Disposition", "select", DISPOSITIONS),
            Input("reason", "Reason (no personal data)", "textarea", required=True), CONFIRM))]
    if inc.state in NEXT_STEP:
        to, label = NEXT_STEP[inc.state]
        return [Action(f"{url}/move", label, {"to": to},
                       inputs=(Input("note", "Note (no personal data)"),))]
    return []


def incident_sections(session: Session, staff: Staff, incident_id: str, now: datetime,
                      base: str, *, tr: Callable[[str], str] = str) -> list[Section]:
    """One incident as a case: facts with its disposition, the next step, statutory
    reports with their deadline timers, the playbook's tasks, the timeline with
    people's names. Shared with the supervision department's view."""
    from parcelguard.incidents import timeline as tl
    from parcelguard.incidents.models import IncidentReport, IncidentTask
    from parcelguard.incidents.repository import IncidentRepository

    repo = IncidentRepository(session, staff.principal)
    inc = repo.incident(incident_id)
    names = Names(session)
    manage = staff.principal.can("incidents:manage") and inc.enterprise_id == staff.principal.org_id
    facts = Section(inc.title, facts=[
        ("Enterprise", inc.enterprise_id), ("Grade", Cell(inc.grade, translate=True)),
        ("State", Cell(inc.state, translate=True)),
        ("Disposition", Cell(inc.disposition, translate=True) if inc.disposition else None),
        ("Category", Cell(inc.category, translate=True)),
        ("Cause", Cell(inc.cause_class, translate=True)),
        ("People affected", inc.people_affected), ("Records affected", inc.records_affected),
        ("Affected system", Cell(inc.affected_system, translate=True)),
        ("Detected", inc.detected_at),
        ("Resolved", inc.resolved_at),
        ("Data types", ", ".join(tr(t) for t in inc.data_types))], html_id="facts")
    if manage:
        facts.forms.extend(case_actions(inc, base))
    reports = Section("Statutory reports", ["Kind", "Recipient", "Status", "Due", "Timer",
                                            "Filed"], html_id="reports",
                      empty="No report is due for this incident.")
    for r in session.scalars(repo.reports().where(IncidentReport.incident_id == inc.id)
                             .order_by(IncidentReport.drafted_at)):
        # a draft is the enterprise's own until filed; the department reads filed ones
        own = inc.enterprise_id == staff.principal.org_id
        href = f"{base}/{inc.id}/reports/{r.id}" if own or r.status != "draft" else None
        reports.add([Cell(r.kind, translate=True, href=href), Cell(r.recipient, translate=True),
                     Cell(r.status, translate=True), r.due_at,
                     due_cell(r.due_at, r.filed_at, now), r.filed_at])
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
    timeline = Section("Timeline", ["When", "Who", "What", "Outcome", "Note"],
                       html_id="timeline")
    rows = tl.entries(session, inc.id)
    who = tl.names(session, {e.actor for e in rows})
    for e in rows:
        outcome = e.detail.get("disposition") or e.detail.get("to_state")
        # people's notes are shown as typed; the jobs' notes repeat their action's code
        # in English, which the action column already says in the reader's language
        note = None if e.actor.startswith("system:") else e.detail.get("note") or None
        timeline.add([e.at, who[e.actor], Cell(e.action, translate=True),
                      Cell(outcome, translate=True) if outcome else Cell(None), note])
    return [facts, reports, tasks, timeline]


def report_sections(session: Session, staff: Staff, incident_id: str, report_id: str, *,
                    now: datetime, base: str, tr: Callable[[str], str]) -> list[Section]:
    """A statutory report's full text, read before filing: a draft as it would be
    filed now, the items still missing as fields to fill, and the confirmation."""
    from parcelguard.incidents import content as docs
    from parcelguard.incidents.reports import preview

    pv = preview(session, staff.principal, report_id=report_id, incident_id=incident_id)
    r = pv.report
    head = Section("Status and deadline", facts=[
        ("Kind", Cell(r.kind, translate=True)), ("Recipient", Cell(r.recipient, translate=True)),
        ("Status", Cell(r.status, translate=True)), ("Due", r.due_at),
        ("Timer", due_cell(r.due_at, r.filed_at, now)), ("Filed", r.filed_at)],
        html_id="report-head")
    body = Section("Full text", facts=[(REPORT_ITEMS.get(k, k), _item(k, v, tr))
                                       for k, v in pv.content.items()], html_id="report-text",
                   intro="This is the text the recipient will receive." if r.status == "draft"
                   else None)
    if r.status == "draft":
        inputs = [Input(f"item_{k}", REPORT_ITEMS.get(k, k), "textarea", required=True)
                  for k in pv.missing]
        if r.kind in docs.FIRST_ITEMS_ALLOWED:
            inputs.append(Input("first_items_only", "File the first items only (the rest "
                                "follows in supplements)", "checkbox"))
        body.forms.append(Action(f"{base}/{incident_id}/file", "File report",
                                 {"report_id": r.id}, inputs=(*inputs, CONFIRM)))
        if pv.missing:
            body.intro = "Still missing before it can be filed complete: fill them in below."
    elif r.kind != "supplement" and staff.principal.can("incidents:report") and \
            r.enterprise_id == staff.principal.org_id:
        body.forms.append(Action(f"{base}/{incident_id}/supplement", "File a supplement",
                                 {"report_id": r.id}, inputs=(
            Input("item", "Item", "select", tuple((k, v) for k, v in REPORT_ITEMS.items()
                                                  if k not in AUTO_ITEMS)),
            Input("text", "What followed (one entry per line for lists)", "textarea",
                  required=True), CONFIRM)))
    return [head, body]


# Report items in the order of the CAC measures, with the labels people read.
REPORT_ITEMS = {
    "unit": "Reporting unit", "affected_system": "Affected system",
    "detected_at": "Detected", "occurred_at": "Occurred", "category": "Category",
    "grade": "Grade", "people_affected": "People affected",
    "records_affected": "Records affected", "data_types": "Data types",
    "location": "Where it happened", "measures_taken": "Measures taken",
    "measures_effect": "Effect of the measures", "preliminary_cause": "Preliminary cause",
    "cause_class": "Cause", "perpetrator_clues": "Clues to the perpetrator",
    "scene_preserved": "How the scene was preserved",
    "likely_further_impact": "Likely further impact", "help_requested": "Help requested",
    "root_cause": "Root cause", "lessons": "Lessons",
    "statutory_overrides": "Statutory figures overridden", "possible_harm": "Possible harm",
    "what_people_can_do": "What people can do", "contact": "Contact"}
# filled from the incident itself: a supplement adds what only the enterprise knows
AUTO_ITEMS = frozenset({"unit", "detected_at", "occurred_at", "category", "grade",
                        "people_affected", "records_affected", "cause_class",
                        "statutory_overrides"})
LIST_ITEMS = frozenset({"data_types", "measures_taken", "lessons", "possible_harm",
                        "what_people_can_do", "statutory_overrides"})


def _item(key: str, value: object, tr: Callable[[str], str]) -> object:
    """One report item as people read it: times in the page's zone, codes in the
    page's language, lists joined."""
    if key in ("detected_at", "occurred_at") and isinstance(value, str):
        return datetime.fromisoformat(value)
    if key in ("category", "grade", "cause_class") and isinstance(value, str):
        return Cell(value, translate=True)
    if isinstance(value, list):
        words = [tr(str(v)) if key == "data_types" else str(v) for v in value]
        return "; ".join(words) or "—"
    return value


def _content(v: dict[str, str]) -> dict[str, object]:
    """The items the officer typed in (one list entry per line for list items)."""
    out: dict[str, object] = {}
    for key, text in v.items():
        if key.startswith("item_") and key[5:] in REPORT_ITEMS and text.strip():
            item = key[5:]
            out[item] = [ln.strip() for ln in text.splitlines() if ln.strip()] \
                if item in LIST_ITEMS else text.strip()
    return out


def with_notices(request: Request, session: Session, staff: Staff, *, incident_id: str,
                 sections: list[Section], base: str) -> list[Section]:
    """The case's sections with its Art. 57 notices after the statutory reports."""
    from parcelguard.incidents.repository import IncidentRepository
    from parcelguard.web.portals.notices import notices_sections

    rt = runtime(request)
    inc = IncidentRepository(session, staff.principal).incident(incident_id)
    extra = notices_sections(session, staff, inc, now=rt.clock.now(),
                             settings=rt.settings.incidents,
                             channels=sorted(request.app.state.notifiers),
                             locale=locale_of(request), base=base)
    return [*sections[:2], *extra, *sections[2:]]


def _incident(incident_id: str, request: Request, session: Session, staff: Staff,
              **extra: object) -> HTMLResponse:
    if incidents_service(session) is None:
        return show(request, "Incident", [unavailable("Incidents")])
    base = "/enterprise/incidents"
    sections = incident_sections(session, staff, incident_id, runtime(request).clock.now(),
                                 base, tr=gettext_for(locale_of(request)))
    return show(request, "Incident", with_notices(
        request, session, staff, incident_id=incident_id, sections=sections, base=base),
        **extra)  # type: ignore[arg-type]


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(incident_id: str, request: Request, session: SessionDep,
                  staff: OfficerStaff) -> HTMLResponse:
    return _incident(incident_id, request, session, staff)


def _report(incident_id: str, report_id: str, request: Request, session: Session,
            staff: Staff, **extra: object) -> HTMLResponse:
    return show(request, "Statutory report", report_sections(
        session, staff, incident_id, report_id, now=runtime(request).clock.now(),
        base="/enterprise/incidents", tr=gettext_for(locale_of(request))), **extra)  # type: ignore[arg-type]


@router.get("/incidents/{incident_id}/reports/{report_id}", response_class=HTMLResponse)
def report_page(incident_id: str, report_id: str, request: Request, session: SessionDep,
                staff: OfficerStaff) -> HTMLResponse:
    return _report(incident_id, report_id, request, session, staff)


@router.post("/incidents/{incident_id}/{op}", response_class=HTMLResponse)
async def incident_action(incident_id: str, op: str, request: Request, session: SessionDep,
                          staff: OfficerStaff) -> Response:
    from parcelguard.incidents import service as incidents
    from parcelguard.incidents.reports import file_report, supplement
    from parcelguard.web.portals import notices

    rt = runtime(request)
    settings = rt.settings.incidents

    def notice(v: dict[str, str]) -> Done:
        confirmed(v)
        if op == "notify":  # the Art. 57 notices, as `incidents notify` sends them
            return notices.notify(session, staff, incident_id, v,
                                  notifiers=request.app.state.notifiers, clock=rt.clock)
        # the public announcement, as `incidents announce` publishes it
        return notices.announce(session, staff, incident_id, v, clock=rt.clock)

    def run(v: dict[str, str]) -> str:
        if op == "task":
            incidents.complete_task(session, staff.principal, incident_id=incident_id,
                                    task_id=v.get("task_id", ""), clock=rt.clock)
            return "Task done."
        if op == "move":
            incidents.move(session, staff.principal, incident_id=incident_id,
                           to=v.get("to", ""), note=v.get("note", ""), clock=rt.clock,
                           settings=settings)
            return "Case moved on."
        if op == "close":
            confirmed(v)
            incidents.close(session, staff.principal, incident_id=incident_id,
                            disposition=v.get("disposition", ""), reason=v.get("reason", ""),
                            clock=rt.clock, settings=settings)
            return "Case closed."
        if op == "supplement":
            confirmed(v)
            item = v.get("item", "")
            supplement(session, staff.principal, report_id=v.get("report_id", ""),
                       content=_content({f"item_{item}": v.get("text", "")}), clock=rt.clock,
                       incident_id=incident_id, policy=incidents.policy_of(settings))
            return "Supplement filed."
        confirmed(v)
        file_report(session, staff.principal, report_id=v.get("report_id", ""),
                    content=_content(v), first_items_only=v.get("first_items_only") == "yes",
                    clock=rt.clock, incident_id=incident_id,
                    policy=incidents.policy_of(settings))
        return "Report filed with the supervision department."

    if op in ("notify", "announce"):
        return await act(request, notice,
                         lambda **kw: _incident(incident_id, request, session, staff, **kw))
    if op in ("file", "supplement"):
        # a refused filing shows the report's text again with the reason; a filed
        # one shows the case
        form = await checked_form(request)
        rid = str(form.get("report_id", ""))
        return await act(request, run, lambda **kw: (
            _incident(incident_id, request, session, staff, **kw) if not kw.get("errors")
            else _report(incident_id, rid, request, session, staff, **kw)))
    return await act(request, run,
                     lambda **kw: _incident(incident_id, request, session, staff, **kw))


# -- plans ------------------------------------------------------------------------------------


def plans_section(session: Session, staff: Staff, *, base: str = "/enterprise/plans",
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
                   "Comments"], html_id="review" if only_submitted else "plans",
                  empty="No plans.")
    for p in session.scalars(stmt.order_by(IncidentPlan.submitted_at.desc()).limit(100)):
        # the plan is read in full, and reviewed, on its own page
        sec.add([p.enterprise_id, Cell(p.kind, translate=True, href=f"{base}/{p.id}"),
                 p.version, Cell(p.status, translate=True), p.submitted_at, p.reviewed_at,
                 p.review_comments])
    return sec


def _slots(slots: list[dict[str, Any]]) -> str:
    return ", ".join(f"{'/'.join(str(d) for d in s['weekdays'])} {s['start']}-{s['end']}"
                     for s in slots)


def plan_sections(session: Session, staff: Staff,
                  plan_id: str) -> tuple[IncidentPlan, list[Section]]:
    """A plan version in full, as the supervision department reviews it: the security
    plan's risks and controls, the emergency plan's playbooks, technicians and rota,
    contacts and reporting chain."""
    from parcelguard.incidents.repository import IncidentRepository

    plan = IncidentRepository(session, staff.principal).plan(plan_id)
    head = Section("Plan", facts=[
        ("Enterprise", plan.enterprise_id), ("Kind", Cell(plan.kind, translate=True)),
        ("Version", plan.version), ("Status", Cell(plan.status, translate=True)),
        ("Submitted", plan.submitted_at), ("Reviewed", plan.reviewed_at),
        ("Comments", plan.review_comments)], html_id="plan-head")
    c = plan.content
    facts: list[tuple[str, object]] = []
    if plan.kind == "security":
        facts.append(("Scope", c.get("scope")))
        facts += [("Risk", f"{r['name']} ({r['source']}): {r['threat']}. "
                           f"{'; '.join(r['controls'])}") for r in c.get("risks", [])]
    else:
        facts += [(cat, " ".join(f"{i}. {step}" for i, step in enumerate(steps, 1)))
                  for cat, steps in c.get("playbooks", {}).items()]
        facts += [("Technician", f"{t['employee_id']}: {_slots(t['on_call'])}")
                  for t in c.get("technicians", [])]
        facts += [("Contact", ", ".join(x for x in (k["role"], k["unit"], k.get("reach"))
                                        if x)) for k in c.get("contacts", [])]
        facts.append(("Reporting chain", " → ".join(c.get("reporting_chain", []))))
    return plan, [head, Section("Full text", facts=facts, html_id="plan-text")]


def _plans(request: Request, session: Session, staff: Staff, **kw: object) -> HTMLResponse:
    import json

    from parcelguard.incidents.models import IncidentPlan
    from parcelguard.incidents.repository import IncidentRepository

    sections = [plans_section(session, staff)]
    if staff.principal.can("plans:submit") and incidents_service(session) is not None:
        submit = Section("Submit a new version", html_id="submit",
                         intro="Edit the last version (JSON, as the command line takes it) "
                               "and submit it for the supervision department's review.")
        for kind, label in (("security", "Submit the security plan"),
                            ("emergency", "Submit the emergency plan")):
            last = session.scalars(IncidentRepository(session, staff.principal).plans().where(
                IncidentPlan.kind == kind).order_by(IncidentPlan.version.desc())).first()
            text = json.dumps(last.content, ensure_ascii=False, indent=1) if last else ""
            submit.forms.append(Action("/enterprise/plans/submit", label, {"kind": kind},
                                       inputs=(Input("content", "The plan", "textarea",
                                                     required=True, value=text),)))
        sections.append(submit)
    return show(request, "Plans", sections, **kw)  # type: ignore[arg-type]


@router.get("/plans", response_class=HTMLResponse)
def plans_page(request: Request, session: SessionDep, staff: OfficerStaff) -> HTMLResponse:
    return _plans(request, session, staff)


def _plan(plan_id: str, request: Request, session: Session, staff: Staff,
          **kw: object) -> HTMLResponse:
    plan, sections = plan_sections(session, staff, plan_id)
    if plan.kind == "emergency" and staff.principal.can("plans:submit"):
        sections[1].forms.append(Action(f"/enterprise/plans/{plan_id}/drill",
                                        "Record a drill held today", inputs=(
            Input("scenario", "What was drilled", required=True),
            Input("findings", "Findings", "textarea"))))
    return show(request, "Plan", sections, **kw)  # type: ignore[arg-type]


@router.get("/plans/{plan_id}", response_class=HTMLResponse)
def plan_page(plan_id: str, request: Request, session: SessionDep,
              staff: OfficerStaff) -> HTMLResponse:
    return _plan(plan_id, request, session, staff)


@router.post("/plans/submit", response_class=HTMLResponse)
async def plan_submit(request: Request, session: SessionDep, staff: OfficerStaff) -> Response:
    import json

    from parcelguard.incidents import plans

    clock = runtime(request).clock

    def run(v: dict[str, str]) -> str:
        try:
            content = json.loads(v.get("content", ""))
        except ValueError:
            raise InvalidInput("The plan is not valid JSON.") from None
        if not isinstance(content, dict):
            raise InvalidInput("The plan is not valid JSON.")
        plans.submit_plan(session, staff.principal, kind=v.get("kind", ""), content=content,
                          clock=clock)
        return "Plan submitted for review."

    return await act(request, run, lambda **kw: _plans(request, session, staff, **kw))


@router.post("/plans/{plan_id}/drill", response_class=HTMLResponse)
async def plan_drill(plan_id: str, request: Request, session: SessionDep,
                     staff: OfficerStaff) -> Response:
    from parcelguard.incidents import plans

    clock = runtime(request).clock

    def run(v: dict[str, str]) -> str:
        plans.record_drill(session, staff.principal, plan_id=plan_id, held_at=clock.now(),
                           scenario=v.get("scenario", ""), findings=v.get("findings", ""),
                           clock=clock)
        return "Drill recorded."

    return await act(request, run, lambda **kw: _plan(plan_id, request, session, staff, **kw))


# -- regulator orders ------------------------------------------------------------------------


def orders_section(session: Session, staff: Staff, now: datetime, *, base: str) -> Section:
    """Interventions in force or past: who ordered them, the acknowledgement timer,
    whether lifted. The enterprise acknowledges an order; whoever applied one lifts it."""
    from parcelguard.incidents.models import Intervention
    from parcelguard.incidents.repository import IncidentRepository

    sec = Section("Regulator orders and interventions", [
        "Applied", "Enterprise", "Measure", "Target", "Reason", "Ordered by",
        "Acknowledge within", "Acknowledged", "Lifted"], html_id="orders",
        empty="No interventions.")
    org = staff.principal.org_id
    stmt = IncidentRepository(session, staff.principal).interventions()
    for i in session.scalars(stmt.order_by(Intervention.applied_at.desc()).limit(100)):
        acts = []
        if i.requires_ack and i.acknowledged_at is None and i.enterprise_id == org and \
                staff.principal.can("interventions:apply"):
            acts.append(Action(f"{base}/ack", "Acknowledge the order", {"intervention_id": i.id}))
        if i.lifted_at is None and i.ordered_by_org == org and i.kind != "revoke_api_key":
            acts.append(Action(f"{base}/lift", "Lift", {"intervention_id": i.id},
                               inputs=(CONFIRM,), secondary=True))
        sec.add([i.applied_at, i.enterprise_id, Cell(i.kind, translate=True), i.target_id,
                 i.reason, i.ordered_by_org,
                 due_cell(i.ack_due_at, i.acknowledged_at, now) if i.requires_ack
                 else Cell("—"), i.acknowledged_at, i.lifted_at], acts)
    return sec


def _orders(request: Request, session: Session, staff: Staff, **kw: object) -> HTMLResponse:
    if incidents_service(session) is None:
        return show(request, "Orders", [unavailable("Ordered interventions")])
    return show(request, "Orders", [orders_section(
        session, staff, runtime(request).clock.now(), base="/enterprise/orders")],
        **kw)  # type: ignore[arg-type]


@router.get("/orders", response_class=HTMLResponse)
def orders_page(request: Request, session: SessionDep, staff: OfficerStaff) -> HTMLResponse:
    return _orders(request, session, staff)


async def order_act(op: str, request: Request, session: Session, staff: Staff,
                    then: Callable[..., HTMLResponse]) -> Response:
    """Acknowledge or lift an intervention (shared with the supervision portal)."""
    from parcelguard.incidents import interventions

    clock = runtime(request).clock

    def run(v: dict[str, str]) -> str:
        if op == "ack":
            interventions.acknowledge(session, staff.principal,
                                      intervention_id=v.get("intervention_id", ""),
                                      clock=clock)
            return "Order acknowledged."
        if op != "lift":
            raise InvalidInput("unknown action")
        confirmed(v)
        interventions.lift(session, staff.principal,
                           intervention_id=v.get("intervention_id", ""), clock=clock)
        return "Intervention lifted."

    return await act(request, run, then)


@router.post("/orders/{op}", response_class=HTMLResponse)
async def order_action(op: str, request: Request, session: SessionDep,
                       staff: OfficerStaff) -> Response:
    return await order_act(op, request, session, staff,
                           lambda **kw: _orders(request, session, staff, **kw))


@router.get("", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, staff: OfficerStaff) -> HTMLResponse:
    from parcelguard.web import overview as ov
    from parcelguard.web.portals.enterprise_staff import complaints_section

    now = runtime(request).clock.now()
    return ov.show(request, "Enterprise security", NAV, ov.enterprise(
        session, staff.principal, now), [
        alerts_section(session, staff, status="open", limit=10, actions=False),
        incidents_section(session, staff, now), complaints_section(session, staff, now)])
