"""What other packages may read of consent: plain values, never the ORM rows
(``consent/models.py`` is consent's own): data-subject requests as they stand, who is
restricted by an open deletion request, how notices and acknowledgements stand."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parcelguard.consent.dsr import DsrKind, DsrStatus
from parcelguard.consent.models import ConsentRecord, DataSubjectRequest, NoticeVersion

# Deletion requests received, in progress or deferred restrict processing.
RESTRICTING = (DsrStatus.RECEIVED.value, DsrStatus.IN_PROGRESS.value,
               DsrStatus.DEFERRED.value)


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """A data-subject request as it stood when read (``result_note`` never holds PI)."""

    id: str
    enterprise_id: str
    subject_id: str
    kind: str  # access | correction | deletion
    status: str
    channel: str
    received_at: datetime
    deadline_at: datetime
    started_at: datetime | None
    closed_at: datetime | None
    deferred_until: datetime | None
    result_note: str
    opened_by: str | None
    handled_by: str | None
    updated_at: datetime


def request_info(r: DataSubjectRequest) -> RequestInfo:
    return RequestInfo(id=r.id, enterprise_id=r.enterprise_id, subject_id=r.subject_id,
                       kind=r.kind, status=r.status, channel=r.channel,
                       received_at=r.received_at, deadline_at=r.deadline_at,
                       started_at=r.started_at, closed_at=r.closed_at,
                       deferred_until=r.deferred_until, result_note=r.result_note,
                       opened_by=r.opened_by, handled_by=r.handled_by, updated_at=r.updated_at)


def restricted_among(session: Session, enterprise_id: str, subject_ids: Sequence[str],
                     at: datetime) -> set[str]:
    """Those of ``subject_ids`` with a deletion request open at ``at`` (one query)."""
    return set(session.scalars(select(DataSubjectRequest.subject_id).where(
        DataSubjectRequest.enterprise_id == enterprise_id,
        DataSubjectRequest.subject_id.in_(subject_ids),
        DataSubjectRequest.kind == DsrKind.DELETION.value,
        DataSubjectRequest.status.in_(RESTRICTING),
        DataSubjectRequest.received_at <= at)))


def notices_published_before(session: Session, enterprise_id: str, end: datetime) -> int:
    """How many notice versions the enterprise published before ``end``."""
    return int(session.scalar(select(func.count()).select_from(NoticeVersion).where(
        NoticeVersion.enterprise_id == enterprise_id, NoticeVersion.published_at < end)) or 0)


def first_acknowledgements(session: Session, enterprise_id: str,
                           before: datetime) -> dict[str, Any]:
    """Subject -> when they first acknowledged a notice, before ``before`` (as the
    backend returns the aggregate: possibly naive, or text on SQLite)."""
    return dict(session.execute(
        select(ConsentRecord.subject_id, func.min(ConsentRecord.at))
        .where(ConsentRecord.enterprise_id == enterprise_id,
               ConsentRecord.action == "acknowledge", ConsentRecord.at < before)
        .group_by(ConsentRecord.subject_id)).all())
