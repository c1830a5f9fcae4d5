"""Data-subject requests over HTTP (all of /api/v1/dsr): opening, tracking, starting
and rejecting them (the consent package's request lifecycle), and fulfilling the
correction and the erasure, which touch the person's PI behind the gate.

There is deliberately no export route: a copy of a person's PI is handed to the
person, on the consumer portal after they confirm with a code sent to their phone
(``web/portals/consumer.py``), never to the staff member who handles the request.
Staff who need a person's PI go through the gate (``/api/v1/pi``) with its purpose
and assignment rules."""

from __future__ import annotations

from fastapi import APIRouter

from parcelguard.access.subjects import requests as subject_requests
from parcelguard.consent import subject_requests as lifecycle
from parcelguard.consent.schemas import CorrectionIn, RequestOpen, RequestRead, RequestReject
from parcelguard.core.http import API, ClockDep, SessionDep
from parcelguard.identity.http import PrincipalDep
from parcelguard.vault.http import VaultDep

router = APIRouter(prefix=API, tags=["consent"])


@router.post("/dsr", status_code=201)
def open_request(body: RequestOpen, principal: PrincipalDep, session: SessionDep,
                 clock: ClockDep) -> RequestRead:
    """Register a data-subject request (after verifying the person); the response
    deadline starts now. Needs ``dsr:handle``."""
    row = lifecycle.open_request(session, principal, subject_id=body.subject_id,
                                        kind=body.kind, channel=body.channel, clock=clock)
    return RequestRead.of(row, clock.now())


@router.get("/dsr")
def list_requests(*, principal: PrincipalDep, session: SessionDep, clock: ClockDep,
                  subject_id: str | None = None, status: str | None = None,
                  overdue: bool = False) -> list[RequestRead]:
    """Requests of the caller's enterprise; ``overdue=true`` lists unanswered ones
    past their deadline."""
    rows = lifecycle.list_requests(session, principal, clock=clock,
                                          subject_id=subject_id, status=status,
                                          overdue=overdue)
    return [RequestRead.of(r, clock.now()) for r in rows]


@router.get("/dsr/{request_id}")
def get_request(request_id: str, principal: PrincipalDep, session: SessionDep,
                clock: ClockDep) -> RequestRead:
    return RequestRead.of(lifecycle.get_request(session, principal, request_id),
                          clock.now())


@router.post("/dsr/{request_id}/start")
def start_request(request_id: str, principal: PrincipalDep, session: SessionDep,
                  clock: ClockDep) -> RequestRead:
    return RequestRead.of(lifecycle.start_request(
        session, principal, request_id=request_id, clock=clock), clock.now())


@router.post("/dsr/{request_id}/reject")
def reject_request(request_id: str, body: RequestReject, principal: PrincipalDep,
                   session: SessionDep, clock: ClockDep) -> RequestRead:
    """Refuse the request with a reason the person is told."""
    return RequestRead.of(lifecycle.reject_request(
        session, principal, request_id=request_id, reason=body.reason, clock=clock),
        clock.now())


@router.post("/dsr/{request_id}/correction")
def fulfil_correction(request_id: str, body: CorrectionIn, *, principal: PrincipalDep,
                      session: SessionDep, clock: ClockDep, vault: VaultDep) -> RequestRead:
    """Replace one of the person's own fields on one of their parcels."""
    row = subject_requests.fulfil_correction(
        session, principal, vault, request_id=request_id, waybill_no=body.waybill_no,
        field=body.field, value=body.value, clock=clock)
    return RequestRead.of(row, clock.now())


@router.post("/dsr/{request_id}/deletion")
def fulfil_deletion(request_id: str, principal: PrincipalDep, session: SessionDep,
                    clock: ClockDep, vault: VaultDep) -> RequestRead:
    """Erase the person (crypto-shred), or defer with the reason when a retention
    rule applies (status ``deferred``); call again to retry a deferred one."""
    row = subject_requests.fulfil_deletion(session, principal, vault,
                                           request_id=request_id, clock=clock)
    return RequestRead.of(row, clock.now())
