"""Read models shared by the API and the CLI: incident lists and the full picture of
one incident (timeline, tasks, reports with deadlines, interventions, notices)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parcelguard.identity.permissions import Principal
from parcelguard.incidents import timeline as tl
from parcelguard.incidents.deadlines import DeadlinePolicy
from parcelguard.incidents.models import (
    Incident,
    IncidentReport,
    IncidentTask,
    Intervention,
    Notice,
)
from parcelguard.incidents.repository import IncidentRepository
from parcelguard.incidents.schemas import (
    IncidentDetail,
    IncidentRead,
    InterventionRead,
    ReportRead,
    TaskRead,
    TimelineRead,
)


@dataclass(frozen=True)
class IncidentFilter:
    enterprise_id: str | None = None
    state: str | None = None
    grade: str | None = None
    category: str | None = None
    limit: int = 100
    offset: int = 0


def list_incidents(session: Session, principal: Principal,
                   flt: IncidentFilter) -> list[Incident]:
    """Newest first; the caller's own, or every enterprise's for supervision."""
    stmt = IncidentRepository(session, principal).incidents()
    for column, value in ((Incident.enterprise_id, flt.enterprise_id),
                          (Incident.state, flt.state), (Incident.grade, flt.grade),
                          (Incident.category, flt.category)):
        if value is not None:
            stmt = stmt.where(column == value)
    return list(session.scalars(stmt.order_by(Incident.detected_at.desc(), Incident.id)
                                .limit(flt.limit).offset(flt.offset)))


def detail(session: Session, principal: Principal, incident_id: str,
           policy: DeadlinePolicy) -> IncidentDetail:
    inc = IncidentRepository(session, principal).incident(incident_id)
    tasks = session.scalars(select(IncidentTask).where(IncidentTask.incident_id == inc.id)
                            .order_by(IncidentTask.seq))
    reports = session.scalars(select(IncidentReport).where(
        IncidentReport.incident_id == inc.id).order_by(IncidentReport.drafted_at,
                                                       IncidentReport.id))
    ivs = session.scalars(select(Intervention).where(Intervention.incident_id == inc.id)
                          .order_by(Intervention.applied_at))
    notices: dict[str, dict[str, int]] = defaultdict(dict)
    for channel, status, n in session.execute(
            select(Notice.channel, Notice.status, func.count()).where(
                Notice.incident_id == inc.id).group_by(Notice.channel, Notice.status)):
        notices[channel][status] = int(n)
    return IncidentDetail(
        **IncidentRead.of(inc).model_dump(), evidence_event_ids=list(inc.evidence_event_ids),
        timeline=[TimelineRead.of(e) for e in tl.entries(session, inc.id)],
        tasks=[TaskRead.of(t) for t in tasks],
        reports=[ReportRead.of(r, policy) for r in reports],
        interventions=[InterventionRead.of(i) for i in ivs], notices=dict(notices))
