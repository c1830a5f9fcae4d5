"""Fulfilling data-subject requests over HTTP (under /api/v1/dsr): the correction and
the erasure, which touch the person's PI. Opening and tracking the requests is
``consent/router.py``; the paths sit side by side.

There is deliberately no export route: a copy of a person's PI is handed to the
person, on the consumer portal after they confirm with a code sent to their phone
(``web/portals/consumer.py``), never to the staff member who handles the request.
Staff who need a person's PI go through the gate (``/api/v1/pi``) with its purpose
and assignment rules."""

from __future__ import annotations

from fastapi import APIRouter

from parcelguard.access import subject_requests
from parcelguard.consent.schemas import CorrectionIn, RequestRead
from parcelguard.core.http import API, ClockDep, SessionDep
from parcelguard.identity.http import PrincipalDep
from parcelguard.vault.http import VaultDep

router = APIRouter(prefix=API, tags=["consent"])


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
