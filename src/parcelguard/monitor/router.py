"""Alert API (under /api/v1): the enterprise's security staff see and acknowledge
their own alerts; the supervision department reads every enterprise's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from parcelguard.core.http import API, ClockDep, Offset, SessionDep
from parcelguard.identity.http import PrincipalDep
from parcelguard.monitor import service
from parcelguard.monitor.schemas import AlertRead

router = APIRouter(prefix=API, tags=["alerts"])


@router.get("/alerts")
def list_alerts(
    *,
    principal: PrincipalDep, session: SessionDep,
    enterprise_id: Annotated[str | None, Query(description="Supervision: one enterprise.")]
    = None,
    status: Annotated[str | None, Query(description="open, acknowledged or closed")] = None,
    detector: str | None = None, subject_id: str | None = None,
    severity: Annotated[str | None, Query(description="low, medium, high or critical")]
    = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[AlertRead]:
    """Alerts, newest first: the caller's enterprise's, or every enterprise's for the
    supervision department (``alerts:read_all``)."""
    flt = service.AlertFilter(enterprise_id=enterprise_id, status=status, detector=detector,
                              subject_id=subject_id, severity=severity, limit=limit,
                              offset=offset)
    return [AlertRead.of(a) for a in service.list_alerts(session, principal, flt)]


@router.get("/alerts/{alert_id}")
def get_alert(alert_id: str, principal: PrincipalDep, session: SessionDep) -> AlertRead:
    """One alert with its evidence (event ids)."""
    return AlertRead.of(service.get_alert(session, principal, alert_id))


@router.post("/alerts/{alert_id}/ack")
def acknowledge(alert_id: str, principal: PrincipalDep, session: SessionDep,
                clock: ClockDep) -> AlertRead:
    """Acknowledge one of the caller's enterprise's alerts (``alerts:ack``). It stays
    open and keeps collecting evidence; 409 if it was closed."""
    return AlertRead.of(service.acknowledge(session, principal, alert_id, clock=clock))


@router.post("/alerts/{alert_id}/close")
def close(alert_id: str, principal: PrincipalDep, session: SessionDep,
          clock: ClockDep) -> AlertRead:
    """Close an alert once handled; new evidence about the subject opens a new one."""
    return AlertRead.of(service.close(session, principal, alert_id, clock=clock))
