"""Data-subject requests (PIPL Arts. 45-47): open, track, start, reject, and the
lifecycle every fulfilment goes through (``begin_fulfilment``, ``save_lifecycle``).

Fulfilling a request reads the person's parcels and decrypts or shreds their PI:
that is PI access and lives in ``access/subjects/requests.py``, which calls back into
this module for the request's lifecycle.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from parcelguard.consent.dsr import OPEN_STATUSES, DsrKind, DsrStatus, RequestLifecycle
from parcelguard.consent.models import DataSubjectRequest
from parcelguard.consent.read import RequestInfo
from parcelguard.consent.repository import ConsentRepository
from parcelguard.consent.service import actor_of, check_channel, check_subject_id, own_enterprise
from parcelguard.core.clock import Clock
from parcelguard.core.errors import Conflict, InvalidInput, NotFound
from parcelguard.core.ids import new_id
from parcelguard.identity.permissions import Principal


def lifecycle_of(row: DataSubjectRequest | RequestInfo) -> RequestLifecycle:
    return RequestLifecycle(
        kind=DsrKind(row.kind), status=DsrStatus(row.status), received_at=row.received_at,
        deadline_at=row.deadline_at, started_at=row.started_at, closed_at=row.closed_at,
        deferred_until=row.deferred_until, note=row.result_note)


def save_lifecycle(row: DataSubjectRequest, lc: RequestLifecycle, principal: Principal,
                   at: datetime) -> DataSubjectRequest:
    """Write the lifecycle's state back to the request row, naming who handled it."""
    row.status, row.deadline_at = lc.status.value, lc.deadline_at
    row.started_at, row.closed_at = lc.started_at, lc.closed_at
    row.deferred_until, row.result_note = lc.deferred_until, lc.note
    row.handled_by, row.updated_at = actor_of(principal), at
    return row


# -- opening and tracking ---------------------------------------------------------


def open_request(session: Session, principal: Principal, *, subject_id: str, kind: str,
                 channel: str, clock: Clock) -> DataSubjectRequest:
    """Register a request the person made (after verifying who they are); its
    deadline runs from now. One open request per person and kind."""
    ent = own_enterprise(principal, "dsr:handle")
    check_subject_id(subject_id)
    check_channel(channel)
    try:
        k = DsrKind(kind)
    except ValueError:
        raise InvalidInput(f"request kind must be one of {', '.join(DsrKind)}") from None
    repo = ConsentRepository(session, ent)
    for other in repo.requests(subject_id=subject_id):
        if other.kind == k.value and DsrStatus(other.status) in OPEN_STATUSES:
            raise Conflict(f"request {other.id} of kind {k} is already open for this person")
    now = clock.now()
    lc = RequestLifecycle.receive(k, now)
    row = DataSubjectRequest(
        id=new_id("dsr"), enterprise_id=ent, subject_id=subject_id, kind=k.value,
        status=lc.status.value, channel=channel, received_at=now, deadline_at=lc.deadline_at,
        result_note="", opened_by=actor_of(principal), updated_at=now)
    session.add(row)
    session.flush()
    return row


def get_request(session: Session, principal: Principal, request_id: str) -> DataSubjectRequest:
    row = ConsentRepository(session, own_enterprise(principal, "dsr:handle")).request(request_id)
    if row is None:  # another tenant's request answers the same: it does not exist here
        raise NotFound(f"request {request_id} not found")
    return row


def list_requests(session: Session, principal: Principal, *, clock: Clock,
                  subject_id: str | None = None, status: str | None = None,
                  overdue: bool = False) -> list[DataSubjectRequest]:
    ent = own_enterprise(principal, "dsr:handle")
    if subject_id is not None:
        check_subject_id(subject_id)
    if status is not None and status not in set(DsrStatus):
        raise InvalidInput(f"status must be one of {', '.join(DsrStatus)}")
    return ConsentRepository(session, ent).requests(
        subject_id=subject_id, status=status, due_before=clock.now() if overdue else None)


def start_request(session: Session, principal: Principal, *, request_id: str,
                  clock: Clock) -> DataSubjectRequest:
    row = get_request(session, principal, request_id)
    lc = lifecycle_of(row)
    lc.start(clock.now())
    return save_lifecycle(row, lc, principal, clock.now())


def reject_request(session: Session, principal: Principal, *, request_id: str, reason: str,
                   clock: Clock) -> DataSubjectRequest:
    """Refuse with a reason the person is told (Art. 50); no PI in the reason."""
    row = get_request(session, principal, request_id)
    lc = lifecycle_of(row)
    lc.reject(clock.now(), reason)
    return save_lifecycle(row, lc, principal, clock.now())


def begin_fulfilment(session: Session, principal: Principal, request_id: str, kind: DsrKind,
                     now: datetime) -> tuple[DataSubjectRequest, RequestLifecycle]:
    """The request of the caller's enterprise, checked to be of ``kind``, started if it
    was not yet (closed requests refuse); the fulfilment completes or defers it."""
    row = get_request(session, principal, request_id)
    if row.kind != kind.value:
        raise Conflict(f"request {request_id} is a {row.kind} request, not {kind}")
    lc = lifecycle_of(row)
    if lc.status is not DsrStatus.IN_PROGRESS:
        lc.start(now)  # refuses closed requests
    return row, lc
