"""Security and emergency plans: versions filed by the enterprise, reviewed by the
supervision department (approve, or return with comments), drills, and the flag on
a plan whose last drill is over a year old. Also who is on call when an incident
is detected, from the plan's rota.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parcelguard.core.clock import Clock
from parcelguard.core.errors import Conflict, InvalidInput, PermissionDenied
from parcelguard.core.ids import new_id
from parcelguard.identity.permissions import Principal
from parcelguard.incidents import content as docs
from parcelguard.incidents.models import IncidentPlan, PlanDrill
from parcelguard.incidents.repository import IncidentRepository
from parcelguard.incidents.timeline import actor_of, clean_text
from parcelguard.logistics import read as logistics_read

PlanKind = Literal["security", "emergency"]
PLAN_KINDS: tuple[str, ...] = ("security", "emergency")
_CONTENT: dict[str, type[docs.SecurityPlanContent] | type[docs.EmergencyPlanContent]] = {
    "security": docs.SecurityPlanContent, "emergency": docs.EmergencyPlanContent}


def _enterprise(principal: Principal, permission: str) -> str:
    principal.require(permission)
    if principal.org_kind != "enterprise":
        raise PermissionDenied("plans are filed by enterprises")
    return principal.org_id


def submit_plan(session: Session, principal: Principal, *, kind: str, content: dict[str, Any],
                clock: Clock) -> IncidentPlan:
    """File a new version of the caller's enterprise's plan, for review."""
    enterprise_id = _enterprise(principal, "plans:submit")
    if kind not in _CONTENT:
        raise InvalidInput(f"plan kind must be one of {', '.join(PLAN_KINDS)}")
    doc: docs.SecurityPlanContent | docs.EmergencyPlanContent = docs.validate(
        _CONTENT[kind], content, f"{kind} plan")
    if isinstance(doc, docs.EmergencyPlanContent):
        _check_technicians(session, enterprise_id, [t.employee_id for t in doc.technicians])
    last = session.scalar(select(func.max(IncidentPlan.version)).where(
        IncidentPlan.enterprise_id == enterprise_id, IncidentPlan.kind == kind)) or 0
    plan = IncidentPlan(id=new_id("plan"), enterprise_id=enterprise_id, kind=kind,
                        version=last + 1, status="submitted",
                        content=doc.model_dump(mode="json"), submitted_by=actor_of(principal),
                        submitted_at=clock.now())
    session.add(plan)
    session.flush()
    return plan


def _check_technicians(session: Session, enterprise_id: str, ids: Sequence[str]) -> None:
    found = logistics_read.active_employee_ids(session, enterprise_id, ids)
    missing = sorted(set(ids) - found)
    if missing:
        raise InvalidInput(f"technicians must be active employees of the enterprise; not "
                           f"found: {', '.join(missing)}")


def review_plan(session: Session, principal: Principal, *, plan_id: str, approve: bool,
                comments: str = "", clock: Clock) -> IncidentPlan:
    """The supervision department approves a submitted version or returns it with
    comments (required when returning: the enterprise must know what to fix)."""
    principal.require("plans:review")
    plan = IncidentRepository(session, principal).plan(plan_id)
    if plan.status != "submitted":
        raise Conflict(f"plan {plan_id} was already {plan.status}")
    if not approve and not comments.strip():
        raise InvalidInput("returning a plan needs comments")
    plan.status = "approved" if approve else "returned"
    plan.review_comments = clean_text(comments, "comments", max_len=4000) if comments.strip() \
        else None
    plan.reviewed_by, plan.reviewed_at = actor_of(principal), clock.now()
    session.flush()
    return plan


def record_drill(session: Session, principal: Principal, *, plan_id: str, held_at: datetime,
                 scenario: str, findings: str = "", clock: Clock) -> PlanDrill:
    """Record a drill held on one of the caller's emergency plans."""
    enterprise_id = _enterprise(principal, "plans:submit")
    plan = IncidentRepository(session, principal).plan(plan_id)
    if plan.enterprise_id != enterprise_id or plan.kind != "emergency":
        raise InvalidInput("drills are recorded on one's own emergency plan")
    if held_at.tzinfo is None:
        raise InvalidInput("held_at needs a time zone")
    now = clock.now()
    if held_at > now:
        raise InvalidInput("a drill is recorded after it was held")
    drill = PlanDrill(id=new_id("drl"), plan_id=plan.id, enterprise_id=enterprise_id,
                      held_at=held_at, scenario=clean_text(scenario, "scenario"),
                      findings=clean_text(findings, "findings", max_len=4000, min_len=0),
                      recorded_by=actor_of(principal), recorded_at=now)
    session.add(drill)
    session.flush()
    return drill


def in_force(session: Session, enterprise_id: str, kind: str) -> IncidentPlan | None:
    """The latest approved version (system read: incidents take their playbook
    from it)."""
    return session.scalars(select(IncidentPlan).where(
        IncidentPlan.enterprise_id == enterprise_id, IncidentPlan.kind == kind,
        IncidentPlan.status == "approved").order_by(IncidentPlan.version.desc())).first()


@dataclass(frozen=True)
class DrillStatus:
    enterprise_id: str
    plan_id: str
    version: int
    last_drill_at: datetime | None
    reference_at: datetime  # the last drill, or the approval when never drilled
    stale: bool


def drill_status(session: Session, principal: Principal, *, now: datetime,
                 max_age_days: int) -> list[DrillStatus]:
    """For each emergency plan in force the caller may read: its last drill and
    whether it is over ``max_age_days`` old. Both sides see the same flag."""
    repo = IncidentRepository(session, principal)
    approved = list(session.scalars(repo.plans().where(
        IncidentPlan.kind == "emergency", IncidentPlan.status == "approved")
        .order_by(IncidentPlan.enterprise_id, IncidentPlan.version.desc())))
    last = dict(session.execute(select(PlanDrill.enterprise_id, func.max(PlanDrill.held_at))
                                .group_by(PlanDrill.enterprise_id)).all())
    out: list[DrillStatus] = []
    seen: set[str] = set()
    for plan in approved:
        if plan.enterprise_id in seen:
            continue
        seen.add(plan.enterprise_id)
        drilled = last.get(plan.enterprise_id)
        drilled = _utc(drilled) if drilled is not None else None
        ref = drilled or plan.reviewed_at or plan.submitted_at
        out.append(DrillStatus(plan.enterprise_id, plan.id, plan.version, drilled, ref,
                               now - ref > timedelta(days=max_age_days)))
    return out


def _utc(t: datetime) -> datetime:
    # Belt and braces: an aggregate may come back without the column type's processing
    # (a naive UTC value on SQLite).
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t


# -- the rota -------------------------------------------------------------------------


def _covers(slot: dict[str, Any], at_local: datetime) -> bool:
    start, end = time.fromisoformat(slot["start"]), time.fromisoformat(slot["end"])
    day, now = at_local.weekday(), at_local.time()
    if start < end:
        return day in slot["weekdays"] and start <= now < end
    # past midnight: the slot began on a listed day, yesterday's night shift included
    return ((day in slot["weekdays"] and now >= start)
            or ((day - 1) % 7 in slot["weekdays"] and now < end))


def on_call(plan_content: dict[str, Any], at: datetime, zone: tzinfo) -> list[str]:
    """Technicians whose rota covers ``at`` (local time in ``zone``); all designated
    technicians when nobody is rostered then, so a task is never left unassigned."""
    techs = plan_content.get("technicians", [])
    local = at.astimezone(zone)
    ids = [t["employee_id"] for t in techs if any(_covers(s, local) for s in t["on_call"])]
    return ids or [t["employee_id"] for t in techs]
