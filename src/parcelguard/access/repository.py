"""The gate's queries, every one confined to one enterprise.

Subject checks are done in bulk (exports and searches touch many people): one query
for erasure tombstones and one for open deletion requests per chunk of subjects,
with the same meaning as ``consent.repository`` (deletion requests received, in
progress or deferred restrict processing; a tombstone means the keys are gone).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from parcelguard.access.models import AccessSuspension, BreakGlassRecord, ExportRequest
from parcelguard.access.policy import AssignmentFacts
from parcelguard.consent import read as consent_read
from parcelguard.consent.dsr import DsrStatus
from parcelguard.ledger import parcels as projection
from parcelguard.logistics import read as logistics_read
from parcelguard.logistics.read import EmployeeInfo, ParcelInfo
from parcelguard.vault import read as vault_read

_CHUNK = 1_000
_RESTRICTING = (DsrStatus.RECEIVED.value, DsrStatus.IN_PROGRESS.value,
                DsrStatus.DEFERRED.value)


def epoch_us(t: datetime) -> int:
    return int(t.timestamp() * 1_000_000)


class AccessRepository:
    def __init__(self, session: Session, enterprise_id: str) -> None:
        self.session = session
        self.enterprise_id = enterprise_id

    # -- people and parcels -----------------------------------------------------------

    def employee(self, employee_id: str | None) -> EmployeeInfo | None:
        if employee_id is None:
            return None
        return logistics_read.employee_of(self.session, self.enterprise_id, employee_id)

    def parcel(self, waybill_no: str) -> ParcelInfo | None:
        return logistics_read.parcel(self.session, self.enterprise_id, waybill_no)

    def subject_parcels(self, subject_id: str, *,
                        for_update: bool = False) -> list[ParcelInfo]:
        """Parcels on which the person is sender or recipient, oldest first (the
        fulfilment of their data-subject requests)."""
        return logistics_read.subject_parcels(self.session, self.enterprise_id, subject_id,
                                              for_update=for_update)

    def statuses(self, parcels: Iterable[ParcelInfo], *, for_update: bool = False) -> list[str]:
        """Each parcel's status from the parcel projection, in order; a registered
        parcel whose stream reported no step yet is ``created``."""
        rows = list(parcels)
        got = projection.statuses(self.session, self.enterprise_id,
                                  [p.waybill_no for p in rows], for_update=for_update)
        return [got.get(p.waybill_no, "created") for p in rows]

    def assignments(self, employee_id: str, waybill_no: str) -> list[AssignmentFacts]:
        """All of the employee's assignments on the parcel, to explain a refusal."""
        rows = logistics_read.assignments(self.session, self.enterprise_id, employee_id,
                                          waybill_no)
        return [AssignmentFacts(a.purpose, epoch_us(a.starts_at), epoch_us(a.ends_at),
                                a.revoked) for a in rows]

    def suspended(self, *, employee_id: str | None, api_key_id: str | None,
                  at: datetime) -> bool:
        conds = []
        if employee_id is not None:
            conds.append(AccessSuspension.employee_id == employee_id)
        if api_key_id is not None:
            conds.append(AccessSuspension.api_key_id == api_key_id)
        if not conds:
            return False
        return self.session.scalars(self._active_suspensions(at).where(or_(*conds))
                                    .limit(1)).first() is not None

    def _active_suspensions(self, at: datetime) -> Select[AccessSuspension]:
        return select(AccessSuspension).where(
            AccessSuspension.enterprise_id == self.enterprise_id,
            AccessSuspension.starts_at <= at, AccessSuspension.lifted_at.is_(None),
            or_(AccessSuspension.until.is_(None), AccessSuspension.until > at))

    def active_suspensions(self, at: datetime) -> list[AccessSuspension]:
        return list(self.session.scalars(self._active_suspensions(at)
                                         .order_by(AccessSuspension.starts_at)))

    def suspension(self, suspension_id: str) -> AccessSuspension | None:
        row = self.session.get(AccessSuspension, suspension_id)
        return row if row is not None and row.enterprise_id == self.enterprise_id else None

    # -- data subjects ----------------------------------------------------------------

    def blocked_subjects(self, subject_ids: Iterable[str],
                         at: datetime) -> tuple[set[str], set[str]]:
        """(erased, restricted): subjects whose keys were destroyed, and subjects with
        a deletion request open at ``at``."""
        wanted = list(dict.fromkeys(subject_ids))
        erased: set[str] = set()
        restricted: set[str] = set()
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i:i + _CHUNK]
            erased |= vault_read.erased_among(self.session, self.enterprise_id, chunk, by=at)
            restricted |= consent_read.restricted_among(self.session, self.enterprise_id,
                                                        chunk, at)
        return erased, restricted

    # -- search and export scopes ------------------------------------------------------

    def by_phone(self, *, full: bytes | None, last4: bytes | None,
                 station_id: str | None, limit: int) -> tuple[list[ParcelInfo], int]:
        """Parcels whose recipient (or, for a full number, sender) phone matches a
        blind index, newest first: up to ``limit`` of them and how many there are."""
        return logistics_read.parcels_by_phone(self.session, self.enterprise_id, full=full,
                                               last4=last4, station_id=station_id,
                                               limit=limit)

    def _window(self, scope: dict[str, object]) -> dict[str, Any]:
        return {"station_id": scope["station_id"],
                "created_from": datetime.fromisoformat(str(scope["created_from"])),
                "created_to": datetime.fromisoformat(str(scope["created_to"]))}

    def scope_count(self, scope: dict[str, object]) -> int:
        """How many parcels an export scope names (counted, not loaded)."""
        waybills = scope.get("waybills")
        if isinstance(waybills, list):
            return len(self.scope_parcels(scope))  # at most EXPORT_MAX_RECORDS by validation
        return logistics_read.count_in_window(self.session, self.enterprise_id,
                                              **self._window(scope))

    def scope_parcels(self, scope: dict[str, object]) -> list[ParcelInfo]:
        """The parcels an export scope names: a list of waybills, or a destination
        station and a creation-time range [created_from, created_to)."""
        waybills = scope.get("waybills")
        if isinstance(waybills, list):
            return logistics_read.parcels_by_waybills(self.session, self.enterprise_id,
                                                      waybills)
        return logistics_read.parcels_in_window(self.session, self.enterprise_id,
                                                **self._window(scope))

    # -- the gate's own records ---------------------------------------------------------

    def export_request(self, request_id: str) -> ExportRequest | None:
        row = self.session.get(ExportRequest, request_id)
        return row if row is not None and row.enterprise_id == self.enterprise_id else None

    def export_requests(self, *, status: str | None = None,
                        limit: int = 100) -> Sequence[ExportRequest]:
        stmt = select(ExportRequest).where(ExportRequest.enterprise_id == self.enterprise_id)
        if status is not None:
            stmt = stmt.where(ExportRequest.status == status)
        return list(self.session.scalars(stmt.order_by(ExportRequest.requested_at.desc())
                                         .limit(limit)))

    def unapproved_export_records(self, employee_id: str, *, since: datetime,
                                  now: datetime) -> int:
        """Records the employee exported, or may still export, without anyone's
        approval since ``since`` (a below-threshold request that lapsed unrun counts
        for nothing)."""
        n = self.session.scalar(select(func.coalesce(func.sum(func.coalesce(
            ExportRequest.exported_count, ExportRequest.record_count)), 0)).where(
            ExportRequest.enterprise_id == self.enterprise_id,
            ExportRequest.requester_employee_id == employee_id,
            ExportRequest.needs_approval.is_(False), ExportRequest.requested_at > since,
            or_(ExportRequest.status == "exported",
                (ExportRequest.status == "approved") & (ExportRequest.expires_at > now))))
        return int(n or 0)

    def break_glass(self, record_id: str) -> BreakGlassRecord | None:
        row = self.session.get(BreakGlassRecord, record_id)
        return row if row is not None and row.enterprise_id == self.enterprise_id else None

    def break_glass_records(self, *, open_only: bool,
                            limit: int = 100) -> Sequence[BreakGlassRecord]:
        stmt = select(BreakGlassRecord).where(
            BreakGlassRecord.enterprise_id == self.enterprise_id)
        if open_only:
            stmt = stmt.where(BreakGlassRecord.reviewed_at.is_(None))
        return list(self.session.scalars(stmt.order_by(BreakGlassRecord.at.desc())
                                         .limit(limit)))
