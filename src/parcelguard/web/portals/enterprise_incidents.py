"""Enterprise portal, incidents: the list, opening one by hand, each case with its
deadline timers, playbook, timeline and Art. 57 notices, and its statutory reports
read and filed in full. The case and report sections are shared with the supervision
department's portal."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.core.clock import Clock
from parcelguard.core.errors import InvalidInput
from parcelguard.core.http import SessionDep
from parcelguard.incidents import content as docs
from parcelguard.incidents import service as incidents
from parcelguard.incidents import timeline as tl
from parcelguard.incidents.grading import OtherInputs
from parcelguard.incidents.impact import load_events
from parcelguard.incidents.model import OPEN_STATES
from parcelguard.incidents.models import Incident, IncidentReport, IncidentTask
from parcelguard.incidents.notices import contacts_for
from parcelguard.incidents.notify import ADVICE, CAUSE, HARM
from parcelguard.incidents.reports import file_report, preview, supplement
from parcelguard.incidents.repository import IncidentRepository
from parcelguard.incidents.settings import IncidentSettings
from parcelguard.web.actions import CONFIRM, Done, act, confirmed
from parcelguard.web.auth import OfficerStaff, Staff
from parcelguard.web.i18n import gettext_for
from parcelguard.web.names import Names
from parcelguard.web.portals import notices
from parcelguard.web.portals.enterprise_layout import show
from parcelguard.web.portals.notices import notices_sections
from parcelguard.web.render import locale_of, runtime
from parcelguard.web.sections import Action, Cell, Input, Section, due_cell
from parcelguard.web.security import checked_form

# Mounted under /enterprise by ``enterprise.router``.
router = APIRouter(include_in_schema=False)


def incidents_section(session: Session, staff: Staff, now: datetime,
                      href: str = "/enterprise/incidents") -> Section:
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
    if staff.principal.can("incidents:manage"):
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
    rt = runtime(request)

    def run(v: dict[str, str]) -> str:
        incidents.open_as(session, staff.principal, incidents.OpenRequest(
            enterprise_id=staff.principal.org_id, title=v.get("title", ""),
            category=v.get("category", ""), source="manual", detected_at=rt.clock.now(),
            evidence_event_ids=v.get("evidence", "").split()),
            settings=rt.settings.section(IncidentSettings))
        return "Incident opened."

    return await act(request, run, lambda **kw: _incidents(request, session, staff, **kw))


# The next step of a case and its button (incidents.model: one step at a time);
# closing (to resolved) asks for a disposition and a reason instead.
NEXT_STEP = {"detected": ("triaged", "Triage"), "triaged": ("contained", "Mark contained"),
             "contained": ("reported", "Mark reported"), "resolved": ("reviewed", "Mark reviewed")}
# The grading inputs' codes (incidents/grading.py), as people name them.
DATA_CLASSES = {"important": "important data", "core": "core data"}
DATA_THREATS = {"relatively_serious": "relatively serious", "serious": "serious",
                "especially_serious": "especially serious"}


def _figure(v: dict[str, str], name: str, kind: type[int] | type[float]) -> float | None:
    """An optional figure of the grading form: empty is "not known"."""
    raw = v.get(name, "").strip()
    if not raw:
        return None
    try:
        return kind(raw)
    except ValueError:
        raise InvalidInput.of("%(field)s must be a number.", field=name) from None


DISPOSITIONS = tuple((d, d) for d in ("confirmed_breach", "contained_no_harm", "false_positive",
                                      "duplicate"))


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
        ("Data types", ", ".join(tr(t) for t in inc.data_types)),
        ("Evidence events", len(inc.evidence_event_ids))], html_id="facts")
    # grading inputs beyond people, once recorded (`incidents grade-inputs`)
    for label, value in (("Direct loss (RMB)", inc.direct_loss_rmb),
                         ("Outage of the whole system (hours)", inc.outage_hours),
                         ("Outage of main functions (hours)", inc.main_outage_hours)):
        if value is not None:
            facts.facts.append((label, value))
    if inc.data_class:
        facts.facts.append(("Data leaked", Cell(DATA_CLASSES.get(inc.data_class, inc.data_class),
                                                translate=True)))
    if inc.data_threat:
        facts.facts.append(("Threat it poses", Cell(
            DATA_THREATS.get(inc.data_threat, inc.data_threat), translate=True)))
    if manage:
        facts.forms.extend(case_actions(inc, base))
        if inc.state in {s.value for s in OPEN_STATES}:
            # as `incidents evidence`: impact and grade recomputed, reports a higher
            # grade owes drafted; evidence once added stays (grades never fall)
            facts.forms.append(Action(f"{base}/{inc.id}/evidence", "Add evidence", inputs=(
                Input("event_ids", "Event ids from the log (space or line separated)",
                      "textarea", required=True), CONFIRM)))
            # as `incidents grade-inputs`: the grade follows the highest, never falls
            facts.forms.append(Action(f"{base}/{inc.id}/grade-inputs",
                                      "Record grading inputs beyond people", inputs=(
                Input("direct_loss_rmb", "Direct loss (RMB)", "number"),
                Input("outage_hours", "Outage of the whole system (hours)", "number"),
                Input("main_outage_hours", "Outage of main functions (hours)", "number"),
                Input("data_class", "Data leaked", "select",
                      (("", "not known"), *DATA_CLASSES.items())),
                Input("data_threat", "Threat it poses", "select",
                      (("", "not known"), *DATA_THREATS.items())), CONFIRM)))
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
                    now: datetime, base: str, tr: Callable[[str], str],
                    locale: str = "en") -> list[Section]:
    """A statutory report's full text, read before filing: a draft as it would be
    filed now, the items still missing as fields to fill, and the confirmation."""
    pv = preview(session, staff.principal, report_id=report_id, incident_id=incident_id)
    r = pv.report
    words = _report_words(session, staff, incident_id) if locale == "zh-CN" else {}
    head = Section("Status and deadline", facts=[
        ("Kind", Cell(r.kind, translate=True)), ("Recipient", Cell(r.recipient, translate=True)),
        ("Status", Cell(r.status, translate=True)), ("Due", r.due_at),
        ("Timer", due_cell(r.due_at, r.filed_at, now)), ("Filed", r.filed_at)],
        html_id="report-head")
    body = Section("Full text", facts=[(REPORT_ITEMS.get(k, k), _item(k, v, tr, words))
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
    "what_people_can_do": "What people can do", "contact": "Contact",
    "grading_basis": "Grading basis"}
# filled from the incident itself: a supplement adds what only the enterprise knows
AUTO_ITEMS = frozenset({"unit", "detected_at", "occurred_at", "category", "grade",
                        "people_affected", "records_affected", "cause_class",
                        "statutory_overrides"})
LIST_ITEMS = frozenset({"data_types", "measures_taken", "lessons", "possible_harm",
                        "what_people_can_do", "statutory_overrides"})


# The report's drafted wording (the Art. 57 notice's cause, harm and advice, as
# incidents.notify words them), English -> Chinese, for a Chinese page.
NOTICE_ZH: Mapping[str, str] = {en: zh for zh, en in (*CAUSE.values(), *HARM.values(),
                                                      *ADVICE)}


def _report_words(session: Session, staff: Staff, incident_id: str) -> dict[str, str]:
    """What a Chinese page shows for the drafted English wording of a report: the
    notice's sentences and the carrier's customer service as the contact (a contact
    the plan names is shown as typed)."""
    inc = IncidentRepository(session, staff.principal).incident(incident_id)
    en, zh = contacts_for(session, inc)
    return {**NOTICE_ZH, en: zh}


def filed_text_section(session: Session, inc: Incident, content: Mapping[str, object], *,
                       tr: Callable[[str], str], locale: str) -> Section:
    """A filed report's full text, read only, in the page's language (the drafted
    wording in Chinese on a Chinese page, as ``report_sections`` shows it): what a
    recipient of a forwarded report reads."""
    words: Mapping[str, str] = {}
    if locale == "zh-CN":
        en, zh = contacts_for(session, inc)
        words = {**NOTICE_ZH, en: zh}
    return Section("Full text", facts=[(REPORT_ITEMS.get(k, k), _item(k, v, tr, words))
                                       for k, v in content.items()], html_id="report-text")


def _item(key: str, value: object, tr: Callable[[str], str],
          words: Mapping[str, str]) -> object:
    """One report item as people read it: times in the page's zone, codes and the
    drafted wording in the page's language (``words``), lists joined."""
    if key in ("detected_at", "occurred_at") and isinstance(value, str):
        return datetime.fromisoformat(value)
    if key in ("category", "grade", "cause_class", "affected_system") and \
            isinstance(value, str):
        return Cell(value, translate=True)
    if isinstance(value, list):
        shown = [tr(str(v)) if key == "data_types" else words.get(str(v), str(v))
                 for v in value]
        return ("；" if words else "; ").join(shown) or "—"
    if isinstance(value, str):
        return words.get(value, value)
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
    rt = runtime(request)
    inc = IncidentRepository(session, staff.principal).incident(incident_id)
    extra = notices_sections(session, staff, inc, now=rt.clock.now(),
                             settings=rt.settings.section(IncidentSettings),
                             channels=sorted(request.app.state.notifiers),
                             locale=locale_of(request), base=base)
    return [*sections[:2], *extra, *sections[2:]]


def _incident(incident_id: str, request: Request, session: Session, staff: Staff,
              **extra: object) -> HTMLResponse:
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
    locale = locale_of(request)
    return show(request, "Statutory report", report_sections(
        session, staff, incident_id, report_id, now=runtime(request).clock.now(),
        base="/enterprise/incidents", tr=gettext_for(locale), locale=locale),
        **extra)  # type: ignore[arg-type]


@router.get("/incidents/{incident_id}/reports/{report_id}", response_class=HTMLResponse)
def report_page(incident_id: str, report_id: str, request: Request, session: SessionDep,
                staff: OfficerStaff) -> HTMLResponse:
    return _report(incident_id, report_id, request, session, staff)


@router.post("/incidents/{incident_id}/{op}", response_class=HTMLResponse)
async def incident_action(incident_id: str, op: str, request: Request, session: SessionDep,
                          staff: OfficerStaff) -> Response:
    rt = runtime(request)
    settings = rt.settings.section(IncidentSettings)

    def notice(v: dict[str, str]) -> Done:
        confirmed(v)
        if op == "notify":  # the Art. 57 notices, as `incidents notify` sends them
            return notices.notify(session, staff, incident_id, v,
                                  notifiers=request.app.state.notifiers, clock=rt.clock)
        # the public announcement, as `incidents announce` publishes it
        return notices.announce(session, staff, incident_id, v, clock=rt.clock)

    def grading(v: dict[str, str]) -> str:
        # as `incidents grade-inputs`: what is left empty stays as recorded (or unknown)
        confirmed(v)
        loss = _figure(v, "direct_loss_rmb", int)
        incidents.set_grading_inputs(
            session, staff.principal, incident_id=incident_id, clock=rt.clock,
            settings=settings, inputs=OtherInputs(
                direct_loss_rmb=None if loss is None else int(loss),
                outage_hours=_figure(v, "outage_hours", float),
                main_outage_hours=_figure(v, "main_outage_hours", float),
                data_class=v.get("data_class") or None,
                data_threat=v.get("data_threat") or None))
        return "Grading inputs recorded; the grade follows the highest."

    def run(v: dict[str, str]) -> str:
        if op == "evidence":
            confirmed(v)
            add_evidence(session, staff, incident_id, v.get("event_ids", "").split(),
                         clock=rt.clock, settings=settings)
            return "Evidence added; impact and grade recomputed."
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

    if op == "grade-inputs":
        return await act(request, grading,
                         lambda **kw: _incident(incident_id, request, session, staff, **kw))
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


def add_evidence(session: Session, staff: Staff, incident_id: str, event_ids: list[str], *,
                 clock: Clock, settings: IncidentSettings) -> None:
    """Add evidence as ``incidents evidence`` does, refusing ids that are not events of
    the carrier's own log (a typo would otherwise be kept as evidence that counts
    nothing)."""
    if not event_ids:
        raise InvalidInput("Give at least one event id.")
    found = {str(e["event_id"]) for e in load_events(session, staff.principal.org_id,
                                                      event_ids)}
    missing = [e for e in dict.fromkeys(event_ids) if e not in found]
    if missing:
        raise InvalidInput.of("No event %(ids)s in your enterprise's log.",
                              ids=", ".join(missing[:5]))
    inc = IncidentRepository(session, staff.principal).incident(incident_id)
    if not set(event_ids) - set(inc.evidence_event_ids):
        raise InvalidInput("These events are already evidence of this incident.")
    incidents.add_evidence_as(session, staff.principal, incident_id=incident_id,
                              event_ids=event_ids, clock=clock, settings=settings)
