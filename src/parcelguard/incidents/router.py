"""Incidents API (under /api/v1): plans and their review, drills, incidents and
their lifecycle, statutory reports and the supervision department's inbox,
escalations, notices to affected people, interventions and acknowledgements.

Enterprises work their own incidents; the supervision department reads every
enterprise's, reviews plans and orders interventions. Overdue reports and
unacknowledged orders escalate on their own: every read of the inbox or of the
escalations runs the sweep first (and a scheduled job may run it too).

A police-referral proposal is emitted to the outbox by the service (core/outbox.py)
and reaches the channel once the request's transaction has committed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from parcelguard.core.http import API, ClockDep, Offset, RuntimeDep, SessionDep
from parcelguard.identity.http import PrincipalDep
from parcelguard.incidents import (
    forwards,
    handlers,
    interventions,
    notices,
    plans,
    reports,
    service,
    views,
)
from parcelguard.incidents.models import Escalation, IncidentPlan, Intervention, PlanDrill
from parcelguard.incidents.notify import Notifier
from parcelguard.incidents.repository import IncidentRepository
from parcelguard.incidents.schemas import (
    AnnounceIn,
    DrillIn,
    DrillRead,
    DrillStatusRead,
    EscalationRead,
    EvidenceIn,
    FileReportIn,
    ForwardIn,
    ForwardRead,
    InboxRead,
    IncidentDetail,
    IncidentIn,
    IncidentRead,
    InterventionIn,
    InterventionRead,
    NoticeRunRead,
    NoticeStatusRead,
    NotifyIn,
    PlanIn,
    PlanRead,
    PlanReviewIn,
    ReportRead,
    SupplementIn,
    TransitionIn,
)
from parcelguard.incidents.settings import IncidentSettings

router = APIRouter(prefix=API, tags=["incidents"])


def notifiers_dep(request: Request) -> Mapping[str, Notifier]:
    found: Mapping[str, Notifier] = request.app.state.notifiers
    return found


NotifiersDep = Annotated[Mapping[str, Notifier], Depends(notifiers_dep)]


# -- plans ----------------------------------------------------------------------------


@router.post("/plans", status_code=201)
def submit_plan(body: PlanIn, principal: PrincipalDep, session: SessionDep,
                clock: ClockDep) -> PlanRead:
    """File a new version of the caller's information-security or emergency plan
    (``plans:submit``); the supervision department reviews it."""
    return PlanRead.of(plans.submit_plan(session, principal, kind=body.kind,
                                         content=body.content, clock=clock))


@router.get("/plans")
def list_plans(principal: PrincipalDep, session: SessionDep,
               enterprise_id: str | None = None, kind: str | None = None,
               status: str | None = None) -> list[PlanRead]:
    """Plan versions, newest first: the caller's own, or all for supervision."""
    stmt = IncidentRepository(session, principal).plans()
    for column, value in ((IncidentPlan.enterprise_id, enterprise_id),
                          (IncidentPlan.kind, kind), (IncidentPlan.status, status)):
        if value is not None:
            stmt = stmt.where(column == value)
    rows = session.scalars(stmt.order_by(IncidentPlan.enterprise_id, IncidentPlan.kind,
                                         IncidentPlan.version.desc()))
    return [PlanRead.of(p) for p in rows]


@router.get("/plans/drills/status")
def drill_status(principal: PrincipalDep, session: SessionDep, clock: ClockDep,
                 rt: RuntimeDep) -> list[DrillStatusRead]:
    """For each emergency plan in force: its last drill and whether it is stale (over
    ``drill_max_age_days``). The enterprise and the supervision department see the
    same flag."""
    return [DrillStatusRead.of(s) for s in plans.drill_status(
        session, principal, now=clock.now(),
        max_age_days=rt.settings.section(IncidentSettings).drill_max_age_days)]


@router.get("/plans/{plan_id}")
def get_plan(plan_id: str, principal: PrincipalDep, session: SessionDep) -> PlanRead:
    return PlanRead.of(IncidentRepository(session, principal).plan(plan_id))


@router.post("/plans/{plan_id}/review")
def review_plan(plan_id: str, body: PlanReviewIn, principal: PrincipalDep,
                session: SessionDep, clock: ClockDep) -> PlanRead:
    """Approve a submitted version, or return it with comments (``plans:review``)."""
    return PlanRead.of(plans.review_plan(session, principal, plan_id=plan_id,
                                         approve=body.approve, comments=body.comments,
                                         clock=clock))


@router.post("/plans/{plan_id}/drills", status_code=201)
def record_drill(plan_id: str, body: DrillIn, principal: PrincipalDep, session: SessionDep,
                 clock: ClockDep) -> DrillRead:
    """Record a drill held on one of the caller's emergency plans."""
    return DrillRead.of(plans.record_drill(session, principal, plan_id=plan_id,
                                           held_at=body.held_at, scenario=body.scenario,
                                           findings=body.findings, clock=clock))


@router.get("/plans/{plan_id}/drills")
def list_drills(plan_id: str, principal: PrincipalDep, session: SessionDep) -> list[DrillRead]:
    repo = IncidentRepository(session, principal)
    plan = repo.plan(plan_id)
    rows = session.scalars(repo.drills().where(PlanDrill.plan_id == plan.id)
                           .order_by(PlanDrill.held_at.desc()))
    return [DrillRead.of(d) for d in rows]


# -- the supervision department's inbox and escalations (before /incidents/{id}) ------


@router.get("/incidents/inbox")
def inbox(*, principal: PrincipalDep, session: SessionDep, clock: ClockDep, rt: RuntimeDep,
          enterprise_id: str | None = None,
          limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> InboxRead:
    """Supervision: every filed report (newest first) and every open escalation. The
    overdue sweep runs first, so a missed deadline is here without anyone filing."""
    principal.require("incidents:read_all")  # before the sweep, which reads every enterprise
    policy = service.policy_of(rt.settings.section(IncidentSettings))
    reports.escalate_overdue(session, clock.now(), policy)
    box = reports.inbox(session, principal, enterprise_id=enterprise_id, limit=limit)
    return InboxRead(reports=[ReportRead.of(r, policy) for r in box.reports],
                     escalations=[EscalationRead.of(e) for e in box.escalations])


@router.get("/incidents/forwards")
def forward_list(principal: PrincipalDep, session: SessionDep, clock: ClockDep,
                 status: Literal["pending", "sent", "received"] | None = None
                 ) -> list[ForwardRead]:
    """Reports owed onward to the cyberspace administration: the supervision department
    sees all; an administration those sent to it and those still owed to it."""
    now = clock.now()
    return [ForwardRead.of(f, now) for f in forwards.listing(session, principal,
                                                             status=status)]


@router.post("/incidents/forwards/{forward_id}/send")
def forward_send(forward_id: str, body: ForwardIn, *, principal: PrincipalDep,
                 session: SessionDep, clock: ClockDep) -> ForwardRead:
    """Forward a filed report to the cyberspace administration (supervision)."""
    row = forwards.send(session, principal, forward_id=forward_id, clock=clock,
                        to_org_id=body.to_org_id)
    return ForwardRead.of(row, clock.now())


@router.post("/incidents/forwards/{forward_id}/receipt")
def forward_receipt(forward_id: str, *, principal: PrincipalDep, session: SessionDep,
                    clock: ClockDep) -> ForwardRead:
    """Acknowledge a forwarded report as the cyberspace administration: its receipt."""
    row = forwards.acknowledge(session, principal, forward_id=forward_id, clock=clock)
    return ForwardRead.of(row, clock.now())


@router.get("/incidents/escalations")
def escalations(principal: PrincipalDep, session: SessionDep, clock: ClockDep, *,
                rt: RuntimeDep, open_only: bool = True
                ) -> list[EscalationRead]:
    """Escalations the caller may read (own enterprise, or all for supervision)."""
    reports.escalate_overdue(session, clock.now(),
                             service.policy_of(rt.settings.section(IncidentSettings)))
    stmt = IncidentRepository(session, principal).escalations()
    if open_only:
        stmt = stmt.where(Escalation.cleared_at.is_(None))
    return [EscalationRead.of(e) for e in session.scalars(
        stmt.order_by(Escalation.escalated_at.desc(), Escalation.id))]


@router.post("/incidents/escalations/sweep")
def sweep(principal: PrincipalDep, session: SessionDep, clock: ClockDep, *,
          rt: RuntimeDep) -> list[EscalationRead]:
    """Run the overdue sweep now (supervision); returns what it newly escalated."""
    principal.require("incidents:read_all")
    flagged = reports.escalate_overdue(session, clock.now(),
                                       service.policy_of(rt.settings.section(IncidentSettings)))
    return [EscalationRead.of(e) for e in session.scalars(
        IncidentRepository(session, principal).escalations().where(
            Escalation.id.in_([f.escalation_id for f in flagged])))]


# -- interventions --------------------------------------------------------------------


@router.post("/incidents/interventions", status_code=201)
def apply_intervention(body: InterventionIn, *, principal: PrincipalDep, session: SessionDep,
                       clock: ClockDep, rt: RuntimeDep) -> InterventionRead:
    """Apply an intervention in the caller's enterprise (``interventions:apply``), or
    order one in any enterprise (supervision, ``interventions:order``; the enterprise
    must acknowledge). Effective at the gate at once; recorded in the ledger."""
    applied = interventions.apply(
        session, principal, enterprise_id=body.enterprise_id or principal.org_id,
        kind=body.kind, target_id=body.target_id, reason=body.reason, clock=clock,
        ack_hours=rt.settings.section(IncidentSettings).ack_hours, incident_id=body.incident_id)
    return InterventionRead.of(applied.intervention)


@router.get("/incidents/interventions")
def list_interventions(principal: PrincipalDep, session: SessionDep,
                       enterprise_id: str | None = None,
                       in_force: bool = False) -> list[InterventionRead]:
    stmt = IncidentRepository(session, principal).interventions()
    if enterprise_id is not None:
        stmt = stmt.where(Intervention.enterprise_id == enterprise_id)
    if in_force:
        stmt = stmt.where(Intervention.lifted_at.is_(None))
    return [InterventionRead.of(i) for i in session.scalars(
        stmt.order_by(Intervention.applied_at.desc()))]


@router.post("/incidents/interventions/{intervention_id}/acknowledge")
def acknowledge(intervention_id: str, principal: PrincipalDep, session: SessionDep,
                clock: ClockDep) -> InterventionRead:
    """The enterprise acknowledges an intervention the supervision department ordered."""
    return InterventionRead.of(interventions.acknowledge(
        session, principal, intervention_id=intervention_id, clock=clock))


@router.post("/incidents/interventions/{intervention_id}/lift")
def lift(intervention_id: str, principal: PrincipalDep, session: SessionDep,
         clock: ClockDep) -> InterventionRead:
    """End an intervention (by the organisation that applied or ordered it)."""
    return InterventionRead.of(interventions.lift(session, principal,
                                                  intervention_id=intervention_id, clock=clock))


# -- incidents ------------------------------------------------------------------------


@router.post("/incidents", status_code=201)
def open_incident(body: IncidentIn, *, principal: PrincipalDep, session: SessionDep,
                  clock: ClockDep, rt: RuntimeDep) -> IncidentRead:
    """Open an incident in the caller's enterprise. Impact (people, records, data
    types) is computed from the evidence events; the grade, the statutory reports
    with their deadlines and the playbook tasks follow."""
    opened = service.open_as(session, principal, service.OpenRequest(
        enterprise_id=principal.org_id, title=body.title, category=body.category,
        source=body.source, detected_at=body.detected_at or clock.now(),
        evidence_event_ids=body.evidence_event_ids, cause_class=body.cause_class,
        source_ref=body.source_ref,
        affected_system=body.affected_system or service.DEFAULT_SYSTEM),
        settings=rt.settings.section(IncidentSettings))
    return IncidentRead.of(opened.incident)


@router.post("/incidents/from-alert/{alert_id}", status_code=201)
def open_from_alert(alert_id: str, principal: PrincipalDep, session: SessionDep,
                    rt: RuntimeDep) -> IncidentRead:
    """Escalate one of the caller's alerts to an incident whatever the rule says
    (or join the open incident about the same subject); the alert is closed as
    escalated."""
    opened = handlers.escalate_alert(session, principal, alert_id,
                                     settings=rt.settings.section(IncidentSettings), clock=rt.clock)
    return IncidentRead.of(opened.incident)


@router.get("/incidents")
def list_incidents(*, principal: PrincipalDep, session: SessionDep,
                   enterprise_id: str | None = None, state: str | None = None,
                   grade: str | None = None, category: str | None = None,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                   offset: Offset = 0) -> list[IncidentRead]:
    """Incidents, newest first: the caller's, or every enterprise's for supervision."""
    flt = views.IncidentFilter(enterprise_id=enterprise_id, state=state, grade=grade,
                               category=category, limit=limit, offset=offset)
    return [IncidentRead.of(i) for i in views.list_incidents(session, principal, flt)]


@router.get("/incidents/{incident_id}")
def get_incident(incident_id: str, principal: PrincipalDep, session: SessionDep,
                 rt: RuntimeDep) -> IncidentDetail:
    """One incident with its timeline (who did what, when), tasks, reports and
    deadlines, interventions and notices."""
    return views.detail(session, principal, incident_id,
                        service.policy_of(rt.settings.section(IncidentSettings)))


@router.post("/incidents/{incident_id}/evidence")
def add_evidence(incident_id: str, body: EvidenceIn, *, principal: PrincipalDep,
                 session: SessionDep, clock: ClockDep, rt: RuntimeDep) -> IncidentRead:
    """Add evidence events; impact and grade are recomputed (grades never fall)."""
    inc, _ = service.add_evidence_as(session, principal, incident_id=incident_id,
                                          event_ids=body.event_ids, clock=clock,
                                          settings=rt.settings.section(IncidentSettings))
    return IncidentRead.of(inc)


@router.post("/incidents/{incident_id}/transitions")
def transition(incident_id: str, body: TransitionIn, *, principal: PrincipalDep,
               session: SessionDep, clock: ClockDep, rt: RuntimeDep) -> IncidentRead:
    """Move the incident one step (detected, triaged, contained, reported, resolved,
    reviewed); 409 with the reason for any other move."""
    inc, _ = service.move(session, principal, incident_id=incident_id, to=body.to,
                               note=body.note, clock=clock,
                               settings=rt.settings.section(IncidentSettings))
    return IncidentRead.of(inc)


@router.post("/incidents/{incident_id}/tasks/{task_id}/done")
def task_done(incident_id: str, task_id: str, principal: PrincipalDep, session: SessionDep,
              clock: ClockDep) -> dict[str, str]:
    task = service.complete_task(session, principal, incident_id=incident_id,
                                 task_id=task_id, clock=clock)
    return {"id": task.id, "status": task.status}


@router.post("/incidents/{incident_id}/reports/{report_id}/file")
def file_report(incident_id: str, report_id: str, body: FileReportIn, *,
                principal: PrincipalDep,
                session: SessionDep, clock: ClockDep, rt: RuntimeDep) -> ReportRead:
    """File a drafted report to the supervision department's inbox; ``on_time`` says
    whether it met its deadline."""
    row, _ = reports.file_report(session, principal, report_id=report_id,
                                      content=body.content,
                                      first_items_only=body.first_items_only, clock=clock,
                                      incident_id=incident_id,
                                      policy=service.policy_of(rt.settings.section(IncidentSettings)))
    return ReportRead.of(row, service.policy_of(rt.settings.section(IncidentSettings)))


@router.post("/incidents/{incident_id}/reports/{report_id}/supplements", status_code=201)
def supplement(incident_id: str, report_id: str, body: SupplementIn, *,
               principal: PrincipalDep,
               session: SessionDep, clock: ClockDep, rt: RuntimeDep) -> ReportRead:
    """Complete a filed report with the items that followed."""
    row, _ = reports.supplement(session, principal, report_id=report_id,
                                content=body.content, clock=clock, incident_id=incident_id,
                                policy=service.policy_of(rt.settings.section(IncidentSettings)))
    return ReportRead.of(row, service.policy_of(rt.settings.section(IncidentSettings)))


@router.post("/incidents/{incident_id}/notices")
def notify(incident_id: str, body: NotifyIn, *, principal: PrincipalDep, session: SessionDep,
           clock: ClockDep, notifiers: NotifiersDep) -> NoticeRunRead:
    """Send the PIPL Art. 57 notice to every affected person the evidence names, on
    one channel (once per person). Addresses are resolved inside the notifier."""
    return NoticeRunRead.of(notices.notify_affected(session, principal,
                                                    incident_id=incident_id,
                                                    channel=body.channel,
                                                    notifiers=notifiers, clock=clock))


@router.get("/incidents/{incident_id}/notices")
def notice_status(incident_id: str, *, principal: PrincipalDep, session: SessionDep,
                  clock: ClockDep, rt: RuntimeDep) -> NoticeStatusRead:
    """Who is still owed the PIPL Art. 57 notice, and by when (the enterprise, and the
    supervision department)."""
    inc = IncidentRepository(session, principal).incident(incident_id)
    return NoticeStatusRead(**notices.notice_status(
        session, inc, policy=service.policy_of(rt.settings.section(IncidentSettings)),
        now=clock.now()).__dict__)


@router.post("/incidents/{incident_id}/announcement")
def announce(incident_id: str, body: AnnounceIn, *, principal: PrincipalDep,
             session: SessionDep, clock: ClockDep, rt: RuntimeDep) -> NoticeStatusRead:
    """Publish the notice publicly for the affected people no channel reached (GB/T
    35273-2020 §10.2); they are no longer owed a notice."""
    notices.announce(session, principal, incident_id=incident_id, where=body.where,
                     clock=clock)
    inc = IncidentRepository(session, principal).incident(incident_id)
    return NoticeStatusRead(**notices.notice_status(
        session, inc, policy=service.policy_of(rt.settings.section(IncidentSettings)),
        now=clock.now()).__dict__)
