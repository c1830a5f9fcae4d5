"""Supervision department portal: the live national view (alert feed, every
enterprise's checkpoint status, overdue incident reports, plans awaiting review,
channel handling, scorecards), the incident-report inbox, plan review, ordered
interventions, and the supervision report (``reporting``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.audit import engagements, scorecards
from parcelguard.audit.controls import load_rulebook
from parcelguard.audit.model import parse_period
from parcelguard.channel import referrals as refs
from parcelguard.channel import service as channel
from parcelguard.channel.settings import ChannelSettings
from parcelguard.core.errors import NotFound
from parcelguard.core.http import SessionDep
from parcelguard.identity.models import Organization
from parcelguard.incidents import forwards, interventions
from parcelguard.incidents.models import Incident, IncidentReport
from parcelguard.incidents.plans import review_plan
from parcelguard.incidents.reports import inbox as report_inbox
from parcelguard.incidents.repository import IncidentRepository
from parcelguard.incidents.settings import IncidentSettings
from parcelguard.ledger.models import LedgerHead
from parcelguard.reporting import render_report
from parcelguard.supervision.models import SupervisionFinding, WitnessedCheckpoint
from parcelguard.web import overview as ov
from parcelguard.web.actions import CONFIRM, act, confirmed
from parcelguard.web.auth import Staff, SupervisorStaff
from parcelguard.web.i18n import gettext_for
from parcelguard.web.portals import transparency
from parcelguard.web.portals.enterprise import alerts_section
from parcelguard.web.portals.enterprise_incidents import (
    incident_sections,
    report_sections,
    with_notices,
)
from parcelguard.web.portals.enterprise_plans import (
    order_act,
    orders_section,
    plan_sections,
    plans_section,
)
from parcelguard.web.render import Nav, locale_of, page, runtime
from parcelguard.web.sections import Action, Cell, Input, Section, due_cell
from parcelguard.web.security import checked_form

router = APIRouter(prefix="/supervisor", include_in_schema=False)
NAV = [Nav("/supervisor", "National view"), Nav("/supervisor/inbox", "Incident-report inbox"),
       Nav("/supervisor/forwards", "Forwards to the CAC"),
       Nav("/supervisor/plans", "Plans"), Nav("/supervisor/orders", "Orders"),
       Nav("/supervisor/referrals", "Police data requests"), Nav("/supervisor/audits", "Audits"),
       Nav("/supervisor/report", "Supervision report")]


def show(request: Request, title: str, sections: list[Section], **kw: Any) -> HTMLResponse:
    return page(request, "sections.html", title=title, nav=NAV, sections=sections,
                messages=kw.get("messages", []), errors=kw.get("errors", []),
                status_code=kw.get("status_code", 200))


def checkpoints_section(session: Session) -> Section:
    sec = Section("Checkpoint status", ["Enterprise", "Events in log", "Last witnessed size",
                                        "Witnessed at", "Open findings"], html_id="checkpoints")
    heads = {h.enterprise_id: h.size for h in session.scalars(select(LedgerHead))}
    seen = {w.enterprise_id: w for w in session.scalars(select(WitnessedCheckpoint))}
    findings: dict[str, int] = {}
    for f in session.scalars(select(SupervisionFinding).where(SupervisionFinding.status == "open")):
        findings[f.enterprise_id] = findings.get(f.enterprise_id, 0) + 1
    for org in session.scalars(select(Organization).where(Organization.kind == "enterprise")
                               .order_by(Organization.id)):
        w = seen.get(org.id)
        n = findings.get(org.id, 0)
        sec.add([org.name, heads.get(org.id, 0), w.size if w else None,
                 w.accepted_at if w else Cell("never", translate=True, cls="warn"),
                 Cell(n, cls="overdue" if n else None)])
    return sec


def overdue_section(session: Session, staff: Staff, now: datetime) -> Section:
    repo = IncidentRepository(session, staff.principal)
    sec = Section("Overdue incident reports", ["Enterprise", "Incident", "Kind", "Recipient",
                                               "Due", "Overdue by"], html_id="overdue",
                  empty="No report is overdue.")
    for r in session.scalars(repo.reports().where(
            IncidentReport.status == "draft", IncidentReport.due_at.is_not(None),
            IncidentReport.due_at < now).order_by(IncidentReport.due_at)):
        link = Cell(r.incident_id, href=f"/supervisor/incidents/{r.incident_id}")
        sec.add([r.enterprise_id, link,
                 Cell(r.kind, translate=True), Cell(r.recipient, translate=True), r.due_at,
                 due_cell(r.due_at, None, now)])
    return sec


def channel_section(session: Session, staff: Staff, now: datetime) -> list[Section]:
    """Each enterprise's channel figures, or nothing for a role that may not read them."""
    if not staff.principal.can("reports:read_all"):
        return []
    sec = Section("Reporting channels", ["Enterprise", "Received", "Acknowledged on time",
                                         "Answered on time", "Overdue", "Forwarded to police"],
                  html_id="channels", empty="No reports yet.")
    for ent, f in sorted(channel.stats(session, staff.principal, now=now).items()):
        overdue = f["ack_overdue"] + f["answer_overdue"]
        sec.add([ent, f["received"], f"{f['acknowledged_on_time']}/{f['acknowledged']}",
                 f"{f['answered_on_time']}/{f['answered']}",
                 Cell(overdue, cls="overdue" if overdue else None), f["forwarded_to_police"]])
    return [sec]


def scorecards_section(session: Session, staff: Staff) -> list[Section]:
    """The enterprises' audit scorecards, or nothing for a role that may not read them."""
    if not staff.principal.can("audit:read_all"):
        return []
    sec = Section("Scorecards", ["Enterprise", "Score", "Coverage", "Period", "Change",
                                 "Weakest controls"], html_id="scorecards")
    for card in scorecards.ranking(session, staff.principal):
        sec.add([card.name, card.score if card.score is not None
                 else Cell("never audited", translate=True, cls="warn"),
                 card.coverage, card.period, card.change, ", ".join(card.weakest)])
    return [sec]


@router.get("", response_class=HTMLResponse)
def national(request: Request, session: SessionDep, staff: SupervisorStaff) -> HTMLResponse:
    now = runtime(request).clock.now()
    return ov.show(request, "National view", NAV, ov.supervisor(session, staff.principal, now), [
        alerts_section(session, staff, limit=20, actions=False),
        checkpoints_section(session), overdue_section(session, staff, now),
        plans_section(session, staff, base="/supervisor/plans", only_submitted=True),
        *channel_section(session, staff, now), *scorecards_section(session, staff)])


@router.get("/inbox", response_class=HTMLResponse)
def inbox(request: Request, session: SessionDep, staff: SupervisorStaff) -> HTMLResponse:
    now = runtime(request).clock.now()
    box = report_inbox(session, staff.principal)
    filed = Section("Filed reports", ["Filed", "Enterprise", "Incident", "Kind", "Recipient",
                                      "On time"], html_id="filed", empty="No reports filed.")
    for r in box.reports:
        filed.add([r.filed_at, r.enterprise_id,
                   Cell(r.incident_id, href=f"/supervisor/incidents/{r.incident_id}"),
                   Cell(r.kind, translate=True,
                        href=f"/supervisor/incidents/{r.incident_id}/reports/{r.id}"),
                   Cell(r.recipient, translate=True), due_cell(r.due_at, r.filed_at, now)])
    esc = Section("Escalations", ["Escalated", "Enterprise", "What", "Due"],
                  html_id="escalations", empty="No open escalations.")
    for e in box.escalations:
        esc.add([e.escalated_at, e.enterprise_id, Cell(e.subject, translate=True),
                 Cell(e.due_at, cls="overdue")])
    return show(request, "Incident-report inbox", [overdue_section(session, staff, now), filed,
                                                   esc])


def _incident(incident_id: str, request: Request, session: Session, staff: Staff) -> HTMLResponse:
    base = "/supervisor/incidents"
    sections = incident_sections(session, staff, incident_id, runtime(request).clock.now(),
                                 base, tr=gettext_for(locale_of(request)))
    # where the enterprise's Art. 57 notices stand (read only: they are the enterprise's)
    return show(request, "Incident", with_notices(
        request, session, staff, incident_id=incident_id, sections=sections, base=base))


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident(incident_id: str, request: Request, session: SessionDep,
             staff: SupervisorStaff) -> HTMLResponse:
    return _incident(incident_id, request, session, staff)


@router.get("/incidents/{incident_id}/reports/{report_id}", response_class=HTMLResponse)
def incident_report(incident_id: str, report_id: str, request: Request, session: SessionDep,
                    staff: SupervisorStaff) -> HTMLResponse:
    """A filed statutory report in full, as the department received it."""
    locale = locale_of(request)
    return show(request, "Statutory report", report_sections(
        session, staff, incident_id, report_id, now=runtime(request).clock.now(),
        base="/supervisor/incidents", tr=gettext_for(locale), locale=locale))


def _plans(request: Request, session: Session, staff: Staff, **kw: Any) -> HTMLResponse:
    return show(request, "Plans", [
        plans_section(session, staff, base="/supervisor/plans", only_submitted=True),
        plans_section(session, staff, base="/supervisor/plans")], **kw)


@router.get("/plans", response_class=HTMLResponse)
def plans(request: Request, session: SessionDep, staff: SupervisorStaff) -> HTMLResponse:
    return _plans(request, session, staff)


def _plan(plan_id: str, request: Request, session: Session, staff: Staff,
          **kw: Any) -> HTMLResponse:
    plan, sections = plan_sections(session, staff, plan_id)
    if plan.status == "submitted" and staff.principal.can("plans:review"):
        sections[1].forms += [
            Action("/supervisor/plans/review", "Approve", {"plan_id": plan_id, "approve": "yes"},
                   inputs=(CONFIRM,)),
            Action("/supervisor/plans/review", "Return with comments",
                   {"plan_id": plan_id, "approve": "no"},
                   inputs=(Input("comments", "Comments", "textarea", required=True), CONFIRM),
                   secondary=True)]
    return show(request, "Plan", sections, **kw)


@router.get("/plans/{plan_id}", response_class=HTMLResponse)
def plan(plan_id: str, request: Request, session: SessionDep,
         staff: SupervisorStaff) -> HTMLResponse:
    return _plan(plan_id, request, session, staff)


@router.post("/plans/review", response_class=HTMLResponse)
async def review(request: Request, session: SessionDep, staff: SupervisorStaff) -> Response:
    clock = runtime(request).clock
    plan_id = str((await checked_form(request)).get("plan_id", ""))

    def run(v: dict[str, str]) -> str:
        confirmed(v)
        approve = v.get("approve") == "yes"
        review_plan(session, staff.principal, plan_id=plan_id, approve=approve,
                    comments=v.get("comments", ""), clock=clock)
        return "Plan approved." if approve else "Plan returned with comments."

    # a refusal stays on the plan being read; a decision goes back to the list
    return await act(request, run, lambda **kw: (
        _plan(plan_id, request, session, staff, **kw) if kw.get("errors")
        else _plans(request, session, staff, **kw)))


def _orders(request: Request, session: Session, staff: Staff, **kw: Any) -> HTMLResponse:
    sec = orders_section(session, staff, runtime(request).clock.now(),
                         base="/supervisor/orders")
    if staff.principal.can("interventions:order"):
        ents = tuple((o.id, o.name) for o in session.scalars(
            select(Organization).where(Organization.kind == "enterprise")))
        sec.forms.append(Action("/supervisor/orders", "Order an intervention", inputs=(
            Input("enterprise_id", "Enterprise", "select", ents),
            Input("kind", "Measure", "select", tuple((k, k) for k in interventions.KINDS)),
            Input("target_id", "Target (employee, API key, device or partner id)",
                  required=True),
            Input("reason", "Reason", "textarea", required=True))))
    return show(request, "Orders", [sec], **kw)


@router.get("/orders", response_class=HTMLResponse)
def orders(request: Request, session: SessionDep, staff: SupervisorStaff) -> HTMLResponse:
    return _orders(request, session, staff)


@router.post("/orders", response_class=HTMLResponse)
async def order(request: Request, session: SessionDep, staff: SupervisorStaff) -> Response:
    rt = runtime(request)

    def run(v: dict[str, str]) -> str:
        interventions.apply(session, staff.principal, enterprise_id=v.get("enterprise_id", ""),
                            kind=v.get("kind", ""), target_id=v.get("target_id", ""),
                            reason=v.get("reason", ""), clock=rt.clock,
                            ack_hours=rt.settings.section(IncidentSettings).ack_hours)
        return "Intervention ordered; the enterprise must acknowledge it."

    return await act(request, run, lambda **kw: _orders(request, session, staff, **kw))


@router.post("/orders/{op}", response_class=HTMLResponse)
async def order_action(op: str, request: Request, session: SessionDep,
                       staff: SupervisorStaff) -> Response:
    return await order_act(op, request, session, staff,
                           lambda **kw: _orders(request, session, staff, **kw))


# -- forwards onward to the cyberspace administration ---------------------------------------


FORWARD_STATUS = {"pending": "awaiting forward", "sent": "forwarded", "received": "received"}


def forwards_section(session: Session, staff: Staff, now: datetime) -> Section:
    """Every filed report the department owes the cyberspace administration, as
    ``incidents forward list`` shows them: pending ones with their deadline timer and
    the button to forward (after the confirmation), sent ones with their receipt."""
    sec = Section("Forwards to the cyberspace administration",
                  ["Enterprise", "Incident", "Statutory report", "Status", "Timer",
                   "Sent to", "Receipt"],
                  html_id="forwards", empty="No report to forward.",
                  intro="A filed report of a relatively major incident or above is forwarded "
                        "onward within the deadline; the administration acknowledges it "
                        "with a receipt.")
    names = {o.id: o.name for o in session.scalars(select(Organization))}
    cacs = tuple((o.id, o.name) for o in session.scalars(
        select(Organization).where(Organization.kind == "cac").order_by(Organization.id)))
    can_send = staff.principal.can("incidents:forward")
    rows = forwards.listing(session, staff.principal)
    titles = dict(session.execute(select(Incident.id, Incident.title).where(
        Incident.id.in_({f.incident_id for f in rows}))).all())
    kinds = dict(session.execute(select(IncidentReport.id, IncidentReport.kind).where(
        IncidentReport.id.in_({f.report_id for f in rows}))).all())
    for f in rows:
        sec.add([names.get(f.enterprise_id, f.enterprise_id),
                 Cell(titles.get(f.incident_id, f.incident_id),
                      href=f"/supervisor/incidents/{f.incident_id}"),
                 Cell(kinds.get(f.report_id, f.report_id), translate=f.report_id in kinds,
                      href=f"/supervisor/incidents/{f.incident_id}/reports/{f.report_id}"),
                 Cell(FORWARD_STATUS.get(f.status, f.status), translate=True),
                 due_cell(f.due_at, f.sent_at, now),
                 names.get(f.to_org_id, f.to_org_id) if f.to_org_id else None, f.receipt])
    pending = tuple((f.id, f"{names.get(f.enterprise_id, f.enterprise_id)}: "
                           f"{titles.get(f.incident_id, f.incident_id)}")
                    for f in rows if f.status == "pending")
    if can_send and pending:
        # one form below the table (a phone has no room for a form in every row)
        inputs = [Input("forward_id", "Report to forward", "select", pending)]
        if cacs:
            inputs.append(Input("to", "Cyberspace administration", "select", cacs))
        sec.forms.append(Action("/supervisor/forwards/send", "Forward",
                                inputs=(*inputs, CONFIRM)))
    return sec


def _forwards(request: Request, session: Session, staff: Staff, **kw: Any) -> HTMLResponse:
    return show(request, "Forwards to the CAC",
                [forwards_section(session, staff, runtime(request).clock.now())], **kw)


@router.get("/forwards", response_class=HTMLResponse)
def forwards_page(request: Request, session: SessionDep,
                  staff: SupervisorStaff) -> HTMLResponse:
    return _forwards(request, session, staff)


@router.post("/forwards/send", response_class=HTMLResponse)
async def forward_send(request: Request, session: SessionDep,
                       staff: SupervisorStaff) -> Response:
    """Forward a filed report onward, as ``incidents forward send`` does."""
    clock = runtime(request).clock

    def run(v: dict[str, str]) -> tuple[str, dict[str, str]]:
        staff.principal.require("incidents:forward")  # an analyst reads, never sends
        confirmed(v)
        row = forwards.send(session, staff.principal, forward_id=v.get("forward_id", ""),
                            clock=clock, to_org_id=v.get("to") or None)
        return ("Forwarded on time." if row.on_time else "Forwarded, late."), {}

    return await act(request, run, lambda **kw: _forwards(request, session, staff, **kw))


# -- police data requests an enterprise refused: the department may order the data ------


def data_request_sections(session: Session, staff: Staff) -> list[Section]:
    """Every police data request of every referral (``referrals:read_all``): the
    refused ones first, each with the order button for ``supervisor_admin``
    (``channel referral decide … --decision ordered``), then those decided."""
    names = {o.id: o.name for o in session.scalars(select(Organization))}
    can_order = staff.principal.can("referrals:order_data")
    refused = Section("Refused by the enterprise", [
        "Requested", "Enterprise", "Police", "Waybills", "Actors", "Justification",
        "Decided"], html_id="refused", empty="No refused data request.",
        intro="The police asked the enterprise for this data and it refused. The "
              "department may order it handed over: the police receive a package limited "
              "to what they asked for.")
    decided = Section("Data requests", ["Requested", "Enterprise", "Police", "Waybills",
                                        "Actors", "Status", "Decided", "Events provided"],
                      html_id="data-requests", empty="No data requests.")
    for ref in refs.list_referrals(session, staff.principal):
        for d in refs.data_requests(session, staff.principal, ref.id):
            asked = [" ".join(d.scope.get("waybills") or []) or None,
                     " ".join(d.scope.get("actor_ids") or []) or None]
            ent = names.get(ref.enterprise_id, ref.enterprise_id)
            police = names.get(ref.police_org_id, ref.police_org_id)
            if d.status == "refused":
                acts = [Action("/supervisor/referrals/order", "Order the data",
                               {"request_id": d.id}, inputs=(CONFIRM,))] if can_order else []
                refused.add([d.requested_at, ent, police, *asked, d.justification,
                             d.decided_at], acts)
            else:
                decided.add([d.requested_at, ent, police, *asked,
                             Cell(d.status, translate=True), d.decided_at,
                             (d.package or {}).get("events_total")])
    return [refused, decided]


def _referrals(request: Request, session: Session, staff: Staff, **kw: Any) -> HTMLResponse:
    staff.principal.require("referrals:read_all")
    return show(request, "Police data requests", data_request_sections(session, staff), **kw)


@router.get("/referrals", response_class=HTMLResponse)
def referrals_page(request: Request, session: SessionDep,
                   staff: SupervisorStaff) -> HTMLResponse:
    return _referrals(request, session, staff)


@router.post("/referrals/order", response_class=HTMLResponse)
async def order_data(request: Request, session: SessionDep,
                     staff: SupervisorStaff) -> Response:
    """Order the data an enterprise refused the police, as ``channel referral decide
    <request> --decision ordered`` does: the scoped package is built at once."""
    rt = runtime(request)

    def run(v: dict[str, str]) -> tuple[str, dict[str, str]]:
        staff.principal.require("referrals:order_data")  # an analyst reads, never orders
        confirmed(v)
        deps = refs.Deps(kms=request.app.state.vault.vault.kms, clock=rt.clock,
                         settings=rt.settings.section(ChannelSettings))
        req = refs.decide_data_request(session, staff.principal, deps,
                                       v.get("request_id", ""), decision="ordered")
        return ("Ordered: the police received %(n)s event(s).",
                {"n": str((req.package or {}).get("events_total", 0))})

    return await act(request, run, lambda **kw: _referrals(request, session, staff, **kw))


# -- audits: ordered (``audit engage``) and transparency reports (``audit publish|budget``) --

KINDS = (("periodic", "periodic"), ("ordered", "ordered"))


def audit_sections(session: Session, staff: Staff) -> list[Section]:
    names = dict(session.execute(select(Organization.id, Organization.name)).all())
    orgs = list(session.scalars(select(Organization).order_by(Organization.id)))
    sec = Section("Audit engagements", ["Engagement", "Enterprise", "Audit firm", "Kind",
                                        "Period", "Status", "Score", "Reason"],
                  html_id="engagements", empty="No engagements.")
    for e in engagements.list_for(session, staff.principal):
        sec.add([e.id, names.get(e.enterprise_id, e.enterprise_id),
                 names.get(e.auditor_org_id, e.auditor_org_id), Cell(e.kind, translate=True),
                 engagements.period(e).key, Cell(e.status, translate=True), e.score,
                 e.reason or None])
    enterprises = tuple((o.id, o.name) for o in orgs if o.kind == "enterprise")
    if staff.principal.can("audit:order"):
        sec.forms.append(Action("/supervisor/audits/engage", "Order an audit", inputs=(
            Input("enterprise_id", "Enterprise", "select", enterprises),
            Input("auditor_org_id", "Audit firm", "select",
                  tuple((o.id, o.name) for o in orgs if o.kind == "auditor")),
            Input("lead", "Lead auditor (username or account id)", required=True),
            Input("period", "Period audited (2026-11, 2026-Q4, 2026 or "
                  "2026-11-09..2026-11-12; it must have ended)", required=True),
            Input("kind", "Kind", "select", KINDS),
            Input("reason", "Why it is ordered (an ordered audit states its reason)",
                  "textarea"))))
    reports_ = Section("Transparency reports", ["Enterprise", "Budget and reports"],
                       html_id="transparency", empty="No enterprises.")
    if not staff.principal.can("transparency:publish"):
        return [sec]
    for ent_id, name in enterprises:
        reports_.add([name, Cell("Open", translate=True,
                                 href=f"/supervisor/transparency/{ent_id}")])
    return [sec, reports_]


def _audits(request: Request, session: Session, staff: Staff, **kw: Any) -> HTMLResponse:
    return show(request, "Audits", audit_sections(session, staff), **kw)


@router.get("/audits", response_class=HTMLResponse)
def audits(request: Request, session: SessionDep, staff: SupervisorStaff) -> HTMLResponse:
    return _audits(request, session, staff)


@router.post("/audits/engage", response_class=HTMLResponse)
async def engage(request: Request, session: SessionDep, staff: SupervisorStaff) -> Response:
    """Open an engagement as ``audit engage`` does (refused when the firm or the lead
    did the enterprise's last audits in a row)."""
    rt = runtime(request)

    def run(v: dict[str, str]) -> tuple[str, dict[str, str]]:
        staff.principal.require("audit:order")  # an analyst reads, never orders
        eng = engagements.create(
            session, staff.principal, enterprise_id=v.get("enterprise_id", ""),
            auditor_org_id=v.get("auditor_org_id", ""), lead_auditor=v.get("lead", "").strip(),
            kind=v.get("kind", ""), period=parse_period(v.get("period", "")),
            rulebook=load_rulebook(), reason=v.get("reason", ""), clock=rt.clock)
        return "Audit ordered: engagement %(id)s.", {"id": eng.id}

    return await act(request, run, lambda **kw: _audits(request, session, staff, **kw))


def _transparency(enterprise_id: str, request: Request, session: Session, staff: Staff,
                  **kw: Any) -> HTMLResponse:
    org = session.get(Organization, enterprise_id)
    if org is None or org.kind != "enterprise":
        raise NotFound(f"no enterprise {enterprise_id}")
    secs = transparency.sections(session, staff.principal, runtime(request), enterprise_id,
                                 period=request.query_params.get("period"),
                                 base=f"/supervisor/transparency/{enterprise_id}")
    secs[0].facts.insert(0, ("Enterprise", org.name))
    return show(request, "Transparency report", secs, **kw)


@router.get("/transparency/{enterprise_id}", response_class=HTMLResponse)
def transparency_page(enterprise_id: str, request: Request, session: SessionDep,
                      staff: SupervisorStaff) -> HTMLResponse:
    return _transparency(enterprise_id, request, session, staff)


@router.post("/transparency/{enterprise_id}/publish", response_class=HTMLResponse)
async def transparency_publish(enterprise_id: str, request: Request, session: SessionDep,
                               staff: SupervisorStaff) -> Response:
    rt = runtime(request)
    return await act(request,
                     lambda v: transparency.publish(session, staff.principal, rt,
                                                    enterprise_id, v),
                     lambda **kw: _transparency(enterprise_id, request, session, staff, **kw))


@router.get("/report")
def report(request: Request, session: SessionDep, staff: SupervisorStaff) -> Response:
    """The supervision report, built now from the live database. Its charts are
    Plotly's bundled script inlined into the page, so this one response allows inline
    scripts and styles; it still names no other host."""
    del staff
    locale = locale_of(request)
    other = "en" if locale == "zh-CN" else "zh-CN"
    html = render_report({}, session, locale=locale, now=runtime(request).clock.now(),
                         other_href=f"/supervisor/report?lang={other}")
    return HTMLResponse(html, headers={"Content-Security-Policy": (
        "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
        "style-src 'unsafe-inline'; img-src data:; font-src data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")})
