"""Incident queries, each starting from a base scoped to the caller: an enterprise
sees its own rows; the supervision department reads every enterprise's with the
explicit ``*:read_all`` permissions. Another tenant's row is as absent as a missing
one (404, never 403, so ids cannot be probed)."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from parcelguard.core.errors import NotFound, PermissionDenied
from parcelguard.identity.permissions import Principal
from parcelguard.incidents.models import (
    Escalation,
    Incident,
    IncidentPlan,
    IncidentReport,
    Intervention,
    PlanDrill,
)

_Row = TypeVar("_Row", Incident, IncidentPlan, IncidentReport, Intervention, Escalation,
               PlanDrill)


class IncidentRepository:
    def __init__(self, session: Session, principal: Principal) -> None:
        self.session = session
        self.principal = principal

    def _scoped(self, model: type[_Row], read: str, read_all: str) -> Select[_Row]:
        self.principal.require(read)
        stmt = select(model)
        if not self.principal.can(read_all):
            column: Any = model.enterprise_id
            stmt = stmt.where(column == self.principal.org_id)
        return stmt

    # -- plans ---------------------------------------------------------------------

    def plans(self) -> Select[IncidentPlan]:
        return self._scoped(IncidentPlan, "plans:read", "plans:read_all")

    def plan(self, plan_id: str) -> IncidentPlan:
        row = self.session.scalars(self.plans().where(IncidentPlan.id == plan_id)).first()
        if row is None:
            raise NotFound(f"no plan {plan_id}")
        return row

    def drills(self) -> Select[PlanDrill]:
        return self._scoped(PlanDrill, "plans:read", "plans:read_all")

    # -- incidents -------------------------------------------------------------------

    def incidents(self) -> Select[Incident]:
        return self._scoped(Incident, "incidents:read", "incidents:read_all")

    def incident(self, incident_id: str) -> Incident:
        row = self.session.scalars(self.incidents().where(Incident.id == incident_id)).first()
        if row is None:
            raise NotFound(f"no incident {incident_id}")
        return row

    def own_incident(self, incident_id: str, permission: str) -> Incident:
        """An incident of the caller's own enterprise, for changing it."""
        self.principal.require(permission)
        row = self.incident(incident_id)
        if row.enterprise_id != self.principal.org_id:
            raise PermissionDenied("only the enterprise handles its incidents; the "
                                   "supervision department reads them and orders "
                                   "interventions")
        return row

    def reports(self) -> Select[IncidentReport]:
        return self._scoped(IncidentReport, "incidents:read", "incidents:read_all")

    def escalations(self) -> Select[Escalation]:
        return self._scoped(Escalation, "incidents:read", "incidents:read_all")

    def interventions(self) -> Select[Intervention]:
        return self._scoped(Intervention, "incidents:read", "incidents:read_all")

    def intervention(self, intervention_id: str) -> Intervention:
        row = self.session.scalars(self.interventions().where(
            Intervention.id == intervention_id)).first()
        if row is None:
            raise NotFound(f"no intervention {intervention_id}")
        return row
