"""What other packages may read of the gate's own records: plain values, never the
ORM rows (``access/models.py`` is the gate's own): break-glass uses and their
reviews, suspensions, and the exports that were run. Bulk reads for audits return
tuples from one query."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parcelguard.access.models import AccessSuspension, BreakGlassRecord, ExportRequest

_CHUNK = 1_000


def break_glass_event_ids(session: Session, enterprise_id: str, start: datetime,
                          end: datetime) -> set[str]:
    """The access events of the break-glass uses in [start, end)."""
    return set(session.scalars(select(BreakGlassRecord.event_id).where(
        BreakGlassRecord.enterprise_id == enterprise_id, BreakGlassRecord.at >= start,
        BreakGlassRecord.at < end)))


def break_glass_abuse(session: Session, enterprise_id: str, start: datetime,
                      end: datetime) -> list[tuple[str, datetime]]:
    """(employee, when reviewed) of the break-glass uses reviewed as abuse in
    [start, end)."""
    return [(e, at) for e, at in session.execute(
        select(BreakGlassRecord.employee_id, BreakGlassRecord.reviewed_at).where(
            BreakGlassRecord.enterprise_id == enterprise_id,
            BreakGlassRecord.review_outcome == "abuse",
            BreakGlassRecord.reviewed_at >= start, BreakGlassRecord.reviewed_at < end))
        if at is not None]  # the filter on reviewed_at leaves none out


def suspension_starts(session: Session, enterprise_id: str,
                      employee_ids: Sequence[str]) -> list[tuple[str | None, datetime]]:
    """(employee, when suspended) of every suspension of those employees."""
    return [(e, at) for e, at in session.execute(
        select(AccessSuspension.employee_id, AccessSuspension.starts_at)
        .where(AccessSuspension.enterprise_id == enterprise_id,
               AccessSuspension.employee_id.in_(employee_ids)))]


def employee_suspensions_started(session: Session, enterprise_id: str, start: datetime,
                                 end: datetime) -> int:
    """How many employees' suspensions started in [start, end) (API keys' left out)."""
    return int(session.scalar(select(func.count()).select_from(AccessSuspension).where(
        AccessSuspension.enterprise_id == enterprise_id,
        AccessSuspension.employee_id.is_not(None),
        AccessSuspension.starts_at >= start, AccessSuspension.starts_at < end)) or 0)


@dataclass(frozen=True, slots=True)
class ExportRun:
    """An export that was run: who asked, its scope (see
    ``AccessRepository.scope_parcels``) and when it ran."""

    id: str
    requester_employee_id: str
    scope: dict[str, Any]
    exported_at: datetime


def exports_run(session: Session, enterprise_id: str,
                after: datetime | None = None) -> list[ExportRun]:
    """The enterprise's exports run (after ``after``), in the order they ran."""
    stmt = select(ExportRequest).where(ExportRequest.enterprise_id == enterprise_id,
                                       ExportRequest.exported_at.is_not(None))
    if after is not None:
        stmt = stmt.where(ExportRequest.exported_at > after)
    out = []
    for req in session.scalars(stmt.order_by(ExportRequest.exported_at)):
        assert req.exported_at is not None
        out.append(ExportRun(req.id, req.requester_employee_id, dict(req.scope),
                             req.exported_at))
    return out


def exported_waybills(session: Session, enterprise_id: str,
                      event_ids: Iterable[str]) -> dict[str, list[str]]:
    """Access event id -> the waybills its export delivered, for the exports among
    ``event_ids`` (one query per thousand)."""
    ids = sorted(set(event_ids))
    out: dict[str, list[str]] = {}
    for i in range(0, len(ids), _CHUNK):
        for eid, wbs in session.execute(select(
                ExportRequest.event_id, ExportRequest.exported_waybills).where(
                ExportRequest.enterprise_id == enterprise_id,
                ExportRequest.event_id.in_(ids[i:i + _CHUNK]))):
            if eid is not None and wbs is not None:
                out[eid] = list(wbs)
    return out
