"""Enterprise portal, plans and regulator orders: the security and emergency plans
(read in full, new versions submitted, drills recorded) and the interventions in
force with their acknowledgement timers. The sections and the order actions are
shared with the supervision department's portal."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from parcelguard.core.errors import InvalidInput
from parcelguard.core.http import SessionDep
from parcelguard.incidents import interventions, plans
from parcelguard.incidents.models import IncidentPlan, Intervention
from parcelguard.incidents.repository import IncidentRepository
from parcelguard.incidents.settings import IncidentSettings
from parcelguard.web.actions import CONFIRM, act, confirmed
from parcelguard.web.auth import OfficerStaff, Staff
from parcelguard.web.portals.enterprise_layout import show
from parcelguard.web.render import runtime
from parcelguard.web.sections import Action, Cell, Input, Section, due_cell

# Mounted under /enterprise by ``enterprise.router``.
router = APIRouter(include_in_schema=False)


# -- plans ------------------------------------------------------------------------------------


def plans_section(session: Session, staff: Staff, *, base: str = "/enterprise/plans",
                  only_submitted: bool = False) -> Section:
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
    sections = [plans_section(session, staff)]
    if staff.principal.can("plans:submit"):
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
    sec = orders_section(session, staff, runtime(request).clock.now(), base="/enterprise/orders")
    if staff.principal.can("interventions:apply"):
        # the enterprise's own measures beyond a PI-access suspension (`incidents
        # intervene`); effective at the gate at once, a revoked key is never restored
        sec.forms.append(Action("/enterprise/orders/apply", "Apply an intervention", inputs=(
            Input("kind", "Measure", "select", tuple((k, k) for k in interventions.KINDS)),
            Input("target_id", "Target (employee, API key, device or partner id)",
                  required=True),
            Input("reason", "Reason", "textarea", required=True),
            Input("incident_id", "Incident id (optional)"), CONFIRM)))
    return show(request, "Orders", [sec], **kw)  # type: ignore[arg-type]


@router.get("/orders", response_class=HTMLResponse)
def orders_page(request: Request, session: SessionDep, staff: OfficerStaff) -> HTMLResponse:
    return _orders(request, session, staff)


async def order_act(op: str, request: Request, session: Session, staff: Staff,
                    then: Callable[..., HTMLResponse]) -> Response:
    """Acknowledge or lift an intervention (shared with the supervision portal)."""
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
    if op == "apply":
        rt = runtime(request)

        def run(v: dict[str, str]) -> str:
            confirmed(v)
            interventions.apply(session, staff.principal, enterprise_id=staff.principal.org_id,
                                kind=v.get("kind", ""), target_id=v.get("target_id", "").strip(),
                                reason=v.get("reason", ""), clock=rt.clock,
                                ack_hours=rt.settings.section(IncidentSettings).ack_hours,
                                incident_id=v.get("incident_id", "").strip() or None)
            return "Intervention applied; in force at once."

        return await act(request, run, lambda **kw: _orders(request, session, staff, **kw))
    return await order_act(op, request, session, staff,
                           lambda **kw: _orders(request, session, staff, **kw))

