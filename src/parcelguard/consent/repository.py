"""Consent queries, every one scoped to one enterprise.

The repository is built for an enterprise id, not a principal: the access gate asks
`consent_allows` on behalf of the system. Services build it from the caller's own
organisation, so a principal can never name another tenant's enterprise here.

The person's parcels (for export, correction and the retention rule) are read by
the fulfilment of data-subject requests, through `access.repository`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from parcelguard.consent.dsr import DsrKind, DsrStatus
from parcelguard.consent.models import ConsentRecord, DataSubjectRequest, Notice, NoticeVersion
from parcelguard.vault import read as vault_read

MAX_LIST = 1000


class ConsentRepository:
    def __init__(self, session: Session, enterprise_id: str) -> None:
        self.session = session
        self.enterprise_id = enterprise_id

    # -- notices ----------------------------------------------------------------

    def notice(self) -> Notice | None:
        return self.session.scalars(
            select(Notice).where(Notice.enterprise_id == self.enterprise_id)).first()

    def _versions(self) -> Select[NoticeVersion]:
        return select(NoticeVersion).where(NoticeVersion.enterprise_id == self.enterprise_id)

    def versions(self) -> list[NoticeVersion]:
        return list(self.session.scalars(self._versions().order_by(NoticeVersion.version)))

    def version_terms(self) -> list[tuple[str, int, datetime, dict[str, str]]]:
        """(id, version, published_at, fingerprints) of every version, oldest first:
        what the consent state needs, without the notice texts (the gate's hot path)."""
        rows = self.session.execute(
            select(NoticeVersion.id, NoticeVersion.version, NoticeVersion.published_at,
                   NoticeVersion.fingerprints)
            .where(NoticeVersion.enterprise_id == self.enterprise_id)
            .order_by(NoticeVersion.version))
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def version(self, number: int) -> NoticeVersion | None:
        return self.session.scalars(
            self._versions().where(NoticeVersion.version == number)).first()

    def latest_version(self) -> NoticeVersion | None:
        return self.session.scalars(
            self._versions().order_by(NoticeVersion.version.desc()).limit(1)).first()

    # -- consent records --------------------------------------------------------

    def records(self, subject_id: str) -> list[ConsentRecord]:
        return list(self.session.scalars(select(ConsentRecord).where(
            ConsentRecord.enterprise_id == self.enterprise_id,
            ConsentRecord.subject_id == subject_id).order_by(ConsentRecord.at,
                                                             ConsentRecord.id)))

    # -- data-subject requests --------------------------------------------------

    def _requests(self) -> Select[DataSubjectRequest]:
        return select(DataSubjectRequest).where(
            DataSubjectRequest.enterprise_id == self.enterprise_id)

    def request(self, request_id: str) -> DataSubjectRequest | None:
        return self.session.scalars(
            self._requests().where(DataSubjectRequest.id == request_id)).first()

    def requests(self, *, subject_id: str | None = None, status: str | None = None,
                 due_before: datetime | None = None,
                 limit: int = MAX_LIST) -> list[DataSubjectRequest]:
        stmt = self._requests()
        if subject_id is not None:
            stmt = stmt.where(DataSubjectRequest.subject_id == subject_id)
        if status is not None:
            stmt = stmt.where(DataSubjectRequest.status == status)
        if due_before is not None:
            stmt = stmt.where(DataSubjectRequest.deadline_at <= due_before,
                              DataSubjectRequest.status.in_(
                                  (DsrStatus.RECEIVED.value, DsrStatus.IN_PROGRESS.value)))
        stmt = stmt.order_by(DataSubjectRequest.received_at, DataSubjectRequest.id)
        return list(self.session.scalars(stmt.limit(min(limit, MAX_LIST))))

    def pending_deletion_since(self, subject_id: str) -> datetime | None:
        """When the earliest deletion request still open was received."""
        rows = self.session.scalars(self._requests().where(
            DataSubjectRequest.subject_id == subject_id,
            DataSubjectRequest.kind == DsrKind.DELETION.value,
            DataSubjectRequest.status.in_((DsrStatus.RECEIVED.value,
                                           DsrStatus.IN_PROGRESS.value,
                                           DsrStatus.DEFERRED.value)))
            .order_by(DataSubjectRequest.received_at).limit(1)).first()
        return rows.received_at if rows is not None else None

    # -- the person's data elsewhere ---------------------------------------------

    def erased_at(self, subject_id: str) -> datetime | None:
        return vault_read.erased_at(self.session, self.enterprise_id, subject_id)
