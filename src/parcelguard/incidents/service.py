"""Incident use cases: open (by hand or from an alert, complaint, conduct or audit
finding), add evidence (impact and grade recomputed), move through the lifecycle,
work the playbook's tasks.

Services flush, never commit. Each returns the domain events the boundary
publishes after its commit (``IncidentOpened``, ``IncidentMoved``,
``ProposePoliceReferral``...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parcelguard.core.clock import Clock
from parcelguard.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from parcelguard.core.ids import new_id
from parcelguard.core.outbox import emit
from parcelguard.identity import read as identity_read
from parcelguard.identity.permissions import Principal
from parcelguard.incidents import plans, reports
from parcelguard.incidents import timeline as tl
from parcelguard.incidents.deadlines import DeadlinePolicy
from parcelguard.incidents.events import IncidentOpened, ProposePoliceReferral
from parcelguard.incidents.grading import (
    Grade,
    GradeThresholds,
    ImpactThresholds,
    OtherInputs,
    assess_criminal,
    grade_for,
    grade_overall,
)
from parcelguard.incidents.impact import Impact, compute
from parcelguard.incidents.model import (
    DEFAULT_CAUSE,
    OPEN_STATES,
    Category,
    CauseClass,
    Disposition,
    Facts,
    Lifecycle,
    State,
)
from parcelguard.incidents.models import Incident, IncidentLink, IncidentTask
from parcelguard.incidents.repository import IncidentRepository
from parcelguard.incidents.settings import IncidentSettings

SOURCES = ("alert", "complaint", "conduct", "audit", "manual")
DEFAULT_SYSTEM = "PI access gate and waybill system"


def policy_of(s: IncidentSettings) -> DeadlinePolicy:
    return DeadlinePolicy(report_hours=s.report_hours, cii_report_hours=s.cii_report_hours,
                          immediate_notice_hours=s.immediate_notice_hours,
                          postal_report_hours=s.postal_report_hours,
                          summary_days=s.summary_days, forward_hours=s.forward_hours,
                          timezone=s.timezone)


def thresholds_of(s: IncidentSettings) -> GradeThresholds:
    return GradeThresholds(relatively_major=s.relatively_major_people, major=s.major_people,
                           particularly_major=s.particularly_major_people)


def impact_thresholds_of(s: IncidentSettings) -> ImpactThresholds:
    return ImpactThresholds(
        loss_rmb=(s.relatively_major_loss_rmb, s.major_loss_rmb, s.particularly_major_loss_rmb),
        outage_hours=(s.relatively_major_outage_hours, s.major_outage_hours,
                      s.particularly_major_outage_hours),
        main_outage_hours=(s.relatively_major_main_outage_hours, s.major_main_outage_hours,
                           s.particularly_major_main_outage_hours))


def set_grading_inputs(session: Session, principal: Principal, *, incident_id: str,
                       inputs: OtherInputs, clock: Clock,
                       settings: IncidentSettings) -> Incident:
    """Record what the handler established besides the people affected (direct loss,
    a CII system's outage, important or core data and the threat it poses); the grade
    follows the highest input and never falls. A grade rising past the CAC threshold
    drafts the reports it owes, due from detection as before."""
    inc = IncidentRepository(session, principal).own_incident(incident_id, "incidents:manage")
    if inc.state not in {s.value for s in OPEN_STATES}:
        raise Conflict.of("incident %(id)s is %(state)s; grading inputs are recorded while "
                          "it is open", id=inc.id, state=inc.state)
    merged = OtherInputs(
        direct_loss_rmb=inputs.direct_loss_rmb if inputs.direct_loss_rmb is not None
        else inc.direct_loss_rmb,
        outage_hours=inputs.outage_hours if inputs.outage_hours is not None
        else inc.outage_hours,
        main_outage_hours=inputs.main_outage_hours if inputs.main_outage_hours is not None
        else inc.main_outage_hours,
        data_class=inputs.data_class or inc.data_class,
        data_threat=inputs.data_threat or inc.data_threat)
    try:
        grade, basis = grade_overall(inc.people_affected, merged,
                                     thresholds=thresholds_of(settings),
                                     impact=impact_thresholds_of(settings), cii=inc.cii)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    now = clock.now()
    inc.direct_loss_rmb, inc.outage_hours = merged.direct_loss_rmb, merged.outage_hours
    inc.main_outage_hours, inc.data_class = merged.main_outage_hours, merged.data_class
    inc.data_threat, inc.grading_basis = merged.data_threat, basis
    actor = tl.actor_of(principal)
    tl.record(session, inc.id, at=now, actor=actor, action="grading_inputs",
              direct_loss_rmb=merged.direct_loss_rmb, outage_hours=merged.outage_hours,
              main_outage_hours=merged.main_outage_hours, data_class=merged.data_class,
              data_threat=merged.data_threat, basis=basis)
    before = Grade(inc.grade)
    if grade.rank > before.rank:
        inc.grade = grade.value
        tl.record(session, inc.id, at=now, actor=actor, action="regraded",
                  from_grade=before.value, to_grade=grade.value)
        reports.draft_initial(session, inc,
                              org_name=identity_read.org_name(session, inc.enterprise_id),
                              policy=policy_of(settings), now=now)
    session.flush()
    return inc


@dataclass
class Opened:
    incident: Incident
    created: bool  # False: joined an open incident, or the source was already linked
    events: list[object] = field(default_factory=list)


@dataclass(frozen=True)
class OpenRequest:
    """What opening an incident needs; the subject key lets later evidence about the
    same actor join the open incident instead of opening another."""

    enterprise_id: str
    title: str
    category: str
    source: str
    detected_at: datetime
    evidence_event_ids: Sequence[str] = ()
    cause_class: str | None = None
    source_ref: str | None = None
    subject_key: str | None = None
    affected_system: str = DEFAULT_SYSTEM


def _validated(req: OpenRequest) -> tuple[Category, CauseClass]:
    try:
        category = Category(req.category)
    except ValueError:
        raise InvalidInput(f"category must be one of {', '.join(c.value for c in Category)}"
                           ) from None
    try:
        cause = CauseClass(req.cause_class) if req.cause_class else DEFAULT_CAUSE[category]
    except ValueError:
        raise InvalidInput("cause_class must be subjective or objective") from None
    if req.source not in SOURCES:
        raise InvalidInput(f"source must be one of {', '.join(SOURCES)}")
    if req.detected_at.tzinfo is None:
        raise InvalidInput("detected_at needs a time zone")
    return category, cause


def _existing(session: Session, req: OpenRequest) -> tuple[Incident | None, bool]:
    """The incident ``req`` already opened (by its source reference: ``(incident,
    True)``), or the open incident about the same subject it joins (``(incident,
    False)``), or ``(None, False)``."""
    if req.source_ref is not None:
        link = session.scalars(select(IncidentLink).where(
            IncidentLink.kind == req.source, IncidentLink.ref == req.source_ref)).first()
        if link is not None:
            inc = session.get(Incident, link.incident_id)
            assert inc is not None
            return inc, True
    if req.subject_key is None:
        return None, False
    return session.scalars(select(Incident).where(
        Incident.subject_key == req.subject_key,
        Incident.state.in_([s.value for s in OPEN_STATES]))
        .order_by(Incident.created_at)).first(), False


def open_incident(session: Session, req: OpenRequest, *, actor: str,
                  settings: IncidentSettings) -> Opened:
    """Open an incident (system call: handlers and ``open_as`` use it). Idempotent per
    source reference; joins the open incident about the same subject if any."""
    category, cause = _validated(req)
    org = identity_read.org_of_kind(session, req.enterprise_id, "enterprise")
    found, same_source = _existing(session, req)
    if found is not None:
        if same_source:
            return Opened(found, created=False)
        _link(session, found, req, actor)
        return Opened(found, created=False, events=add_evidence(
            session, found, req.evidence_event_ids, actor=actor, at=req.detected_at,
            settings=settings))
    title = tl.clean_text(req.title, "title", max_len=200)
    imp = compute(session, req.enterprise_id, req.evidence_event_ids)
    grade = grade_for(imp.people, thresholds_of(settings))
    inc = Incident(
        id=new_id("inc"), enterprise_id=req.enterprise_id, title=title,
        category=category.value, cause_class=cause.value, state=State.DETECTED.value,
        source=req.source, affected_system=tl.clean_text(req.affected_system, "system",
                                                         max_len=200),
        grade=grade.value, subject_key=req.subject_key, people_affected=imp.people,
        records_affected=imp.records, unattributed_records=imp.unattributed_records,
        data_types=imp.data_types, records_by_category=imp.records_by_category,
        evidence_event_ids=list(dict.fromkeys(req.evidence_event_ids)),
        actor_ids=imp.actor_ids, insider=imp.insider, cii=bool(org.is_cii),
        detected_at=req.detected_at, occurred_at=imp.first_at,
        last_moved_at=req.detected_at, opened_by=actor, created_at=req.detected_at)
    session.add(inc)
    session.flush()
    _link(session, inc, req, actor)
    tl.record(session, inc.id, at=req.detected_at, actor=actor, action="opened",
              source=req.source, source_ref=req.source_ref, category=inc.category,
              cause_class=inc.cause_class, grade=inc.grade, people=inc.people_affected,
              records=inc.records_affected, evidence=len(inc.evidence_event_ids))
    if settings.overridden():
        # Graded and given deadlines under figures away from the law: every report
        # drafted from this incident says so (reports.auto_content reads this entry).
        tl.record(session, inc.id, at=req.detected_at, actor="system:settings",
                  action=reports.STATUTORY_OVERRIDE, notes=settings.override_notes())
    reports.draft_initial(session, inc, org_name=org.name, policy=policy_of(settings),
                          now=req.detected_at)
    _assign_tasks(session, inc, settings)
    events: list[object] = [IncidentOpened(inc.id, inc.enterprise_id, inc.category,
                                           inc.grade, inc.source, inc.detected_at)]
    events += _police_check(session, inc, at=req.detected_at, imp=imp)
    session.flush()
    return Opened(inc, created=True, events=events)


def open_case(session: Session, req: OpenRequest, *, actor: str,
              settings: IncidentSettings) -> Opened:
    """Open (or join) a case on a node that watches an enterprise but holds none of
    its data (the supervision node, docs/deployment.md): the incident is the
    department's record of what it saw (a tampered log), linked to its source and
    joined by subject like any incident, but with no impact computed (the parcels are
    the enterprise's), no statutory report drafted and no task assigned (those are the
    enterprise's duties, on its own node). Idempotent per source reference."""
    category, cause = _validated(req)
    identity_read.org_of_kind(session, req.enterprise_id, "enterprise")
    found, same_source = _existing(session, req)
    if found is not None:
        if same_source:
            return Opened(found, created=False)
        _link(session, found, req, actor)
        found.evidence_event_ids = list(dict.fromkeys(
            [*found.evidence_event_ids, *req.evidence_event_ids]))
        session.flush()
        return Opened(found, created=False)
    inc = Incident(
        id=new_id("inc"), enterprise_id=req.enterprise_id,
        title=tl.clean_text(req.title, "title", max_len=200), category=category.value,
        cause_class=cause.value, state=State.DETECTED.value, source=req.source,
        affected_system=tl.clean_text(req.affected_system, "system", max_len=200),
        grade=grade_for(0, thresholds_of(settings)).value, subject_key=req.subject_key,
        people_affected=0, records_affected=0, unattributed_records=0, data_types=[],
        records_by_category={}, evidence_event_ids=list(dict.fromkeys(req.evidence_event_ids)),
        actor_ids=[], insider=False, cii=False, detected_at=req.detected_at,
        occurred_at=None, last_moved_at=req.detected_at, opened_by=actor,
        created_at=req.detected_at)
    session.add(inc)
    session.flush()
    _link(session, inc, req, actor)
    tl.record(session, inc.id, at=req.detected_at, actor=actor, action="opened",
              source=req.source, source_ref=req.source_ref, category=inc.category,
              cause_class=inc.cause_class, grade=inc.grade, people=0, records=0,
              evidence=len(inc.evidence_event_ids))
    session.flush()
    return Opened(inc, created=True)


def _link(session: Session, inc: Incident, req: OpenRequest, actor: str) -> None:
    if req.source_ref is None:
        return
    session.add(IncidentLink(incident_id=inc.id, kind=req.source, ref=req.source_ref,
                             linked_at=req.detected_at))
    tl.record(session, inc.id, at=req.detected_at, actor=actor, action="linked",
              kind=req.source, ref=req.source_ref)


def open_as(session: Session, principal: Principal, req: OpenRequest, *,
            settings: IncidentSettings) -> Opened:
    """An enterprise's security staff open an incident by hand (or from an alert,
    complaint or finding they chose to escalate)."""
    principal.require("incidents:manage")
    if principal.org_kind != "enterprise" or req.enterprise_id != principal.org_id:
        raise PermissionDenied("an enterprise opens incidents about itself")
    return open_incident(session, req, actor=tl.actor_of(principal), settings=settings)


def add_evidence(session: Session, inc: Incident, event_ids: Sequence[str], *, actor: str,
                 at: datetime, settings: IncidentSettings) -> list[object]:
    """Add evidence events; impact and grade follow. A grade rising past the CAC
    threshold adds the reports it owes (the clock still runs from detection)."""
    if inc.state not in {s.value for s in OPEN_STATES}:
        raise Conflict.of("incident %(id)s is %(state)s; evidence is added while it is open",
                          id=inc.id, state=inc.state)
    new = [e for e in dict.fromkeys(event_ids) if e not in set(inc.evidence_event_ids)]
    if not new:
        return []
    inc.evidence_event_ids = [*inc.evidence_event_ids, *new]
    imp = compute(session, inc.enterprise_id, inc.evidence_event_ids)
    before = Grade(inc.grade)
    grade = grade_for(imp.people, thresholds_of(settings))
    inc.people_affected, inc.records_affected = imp.people, imp.records
    inc.unattributed_records, inc.data_types = imp.unattributed_records, imp.data_types
    inc.records_by_category, inc.actor_ids = imp.records_by_category, imp.actor_ids
    inc.insider = imp.insider
    inc.occurred_at = imp.first_at or inc.occurred_at
    tl.record(session, inc.id, at=at, actor=actor, action="evidence_added", added=len(new),
              people=imp.people, records=imp.records)
    if grade.rank > before.rank:  # grades never fall: a report once owed stays owed
        inc.grade = grade.value
        tl.record(session, inc.id, at=at, actor=actor, action="regraded",
                  from_grade=before.value, to_grade=grade.value)
        reports.draft_initial(session, inc,
                              org_name=identity_read.org_name(session, inc.enterprise_id),
                              policy=policy_of(settings), now=at)
    session.flush()
    return _police_check(session, inc, at=at, imp=imp)


def add_evidence_as(session: Session, principal: Principal, *, incident_id: str,
                    event_ids: Sequence[str], clock: Clock,
                    settings: IncidentSettings) -> tuple[Incident, list[object]]:
    inc = IncidentRepository(session, principal).own_incident(incident_id, "incidents:manage")
    events = add_evidence(session, inc, event_ids, actor=tl.actor_of(principal),
                          at=clock.now(), settings=settings)
    return inc, events


def _police_check(session: Session, inc: Incident, *, at: datetime,
                  imp: Impact) -> list[object]:
    """Propose a police referral once the evidence crosses Art. 5 (insiders at half).
    The basis names how many events each figure was counted from and what was left
    out; the timeline entry lists those events, so each number traces back to them."""
    if inc.police_proposed_at is not None:
        return []
    a = assess_criminal(inc.records_by_category, insider=inc.insider)
    if not a.crossed:
        return []
    sources = "; ".join(f"{cat}: counted from {len(ids):,} event{'' if len(ids) == 1 else 's'}"
                        for cat, ids in sorted(imp.counted.items()))
    left_out = ", ".join(f"{n:,} {why}" for why, n in imp.not_counted.items())
    basis = f"{a.basis}. {sources}" + (f"; not counted: {left_out}" if left_out else "")
    inc.police_proposed_at, inc.police_basis = at, basis[:500]
    tl.record(session, inc.id, at=at, actor="system:incidents", action="police_proposed",
              ratio=a.ratio, insider=a.insider, especially_serious=a.especially_serious,
              records=dict(a.records), counted=imp.counted, not_counted=imp.not_counted)
    proposal = ProposePoliceReferral(
        incident_id=inc.id, enterprise_id=inc.enterprise_id, insider=a.insider,
        especially_serious=a.especially_serious, ratio=a.ratio, basis=basis[:500],
        evidence_event_ids=tuple(inc.evidence_event_ids), actor_ids=tuple(inc.actor_ids),
        waybills=tuple(imp.waybills), proposed_at=at, records=dict(a.records))
    emit(session, proposal)  # the channel refers it once this commits, whoever opened it
    return [proposal]


def _assign_tasks(session: Session, inc: Incident, settings: IncidentSettings) -> None:
    """The emergency plan's playbook for the category becomes the task list, each
    step assigned in turn to the technicians on call at detection."""
    plan = plans.in_force(session, inc.enterprise_id, "emergency")
    if plan is None:
        tl.record(session, inc.id, at=inc.detected_at, actor="system:incidents",
                  action="no_plan", note="no approved emergency plan: no playbook tasks")
        return
    steps = plan.content.get("playbooks", {}).get(inc.category, [])
    techs = plans.on_call(plan.content, inc.detected_at, policy_of(settings).tz)
    for i, step in enumerate(steps):
        who = techs[i % len(techs)] if techs else None
        session.add(IncidentTask(id=new_id("tsk"), incident_id=inc.id, seq=i + 1, step=step,
                                 assignee_employee_id=who, status="open"))
    tl.record(session, inc.id, at=inc.detected_at, actor="system:incidents",
              action="tasks_assigned", plan_id=plan.id, plan_version=plan.version,
              tasks=len(steps), technicians=techs)


def complete_task(session: Session, principal: Principal, *, incident_id: str, task_id: str,
                  clock: Clock) -> IncidentTask:
    inc = IncidentRepository(session, principal).own_incident(incident_id, "incidents:manage")
    task = session.get(IncidentTask, task_id)
    if task is None or task.incident_id != inc.id:
        raise NotFound(f"no task {task_id}")
    if task.status == "done":
        raise Conflict("the task is already done")
    now = clock.now()
    task.status, task.done_at, task.done_by = "done", now, tl.actor_of(principal)
    tl.record(session, inc.id, at=now, actor=task.done_by, action="task_done", task_id=task.id,
              seq=task.seq)
    session.flush()
    return task


def close(session: Session, principal: Principal, *, incident_id: str, disposition: str,
          reason: str, clock: Clock, settings: IncidentSettings) -> tuple[Incident, list[object]]:
    """Close the case: the move to resolved, with how it ended and why (both on the
    timeline, the disposition on the incident). The same guards as ``move``."""
    try:
        Disposition(disposition)
    except ValueError:
        raise InvalidInput(f"disposition: one of {', '.join(d.value for d in Disposition)}"
                           ) from None
    clean = tl.clean_text(reason, "reason")
    inc, events = move(session, principal, incident_id=incident_id, to=State.RESOLVED.value,
                       note=clean, clock=clock, settings=settings)
    inc.disposition = disposition
    tl.record(session, inc.id, at=clock.now(), actor=tl.actor_of(principal), action="closed",
              disposition=disposition, note=clean)
    session.flush()
    return inc, events


def move(session: Session, principal: Principal, *, incident_id: str, to: str,
         note: str = "", clock: Clock,
         settings: IncidentSettings) -> tuple[Incident, list[object]]:
    """Move an incident one step; resolving drafts the 30-day summary report."""
    inc = IncidentRepository(session, principal).own_incident(incident_id, "incidents:manage")
    now = clock.now()
    life = Lifecycle(inc.id, inc.enterprise_id, State(inc.state), inc.last_moved_at)
    facts = Facts(
        initial_reports_pending=reports.initial_pending(session, inc.id),
        open_tasks=int(session.scalar(select(func.count()).select_from(IncidentTask).where(
            IncidentTask.incident_id == inc.id, IncidentTask.status == "open")) or 0),
        summary_filed=reports.summary_filed(session, inc.id))
    actor = tl.actor_of(principal)
    clean_note = tl.clean_text(note, "note", min_len=0) if note else ""
    moved = life.move(to, at=now, by=actor, facts=facts, note=clean_note)
    inc.state, inc.last_moved_at = life.state.value, now
    tl.record(session, inc.id, at=now, actor=actor, action="moved", from_state=moved.from_state,
              to_state=moved.to_state, note=clean_note)
    if life.state is State.RESOLVED:
        inc.resolved_at = now
        reports.draft_summary(session, inc, policy=policy_of(settings), now=now)
    session.flush()
    return inc, list(life.events)
