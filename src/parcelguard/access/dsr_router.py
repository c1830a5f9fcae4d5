"""Fulfilling data-subject requests over HTTP (under /api/v1/dsr): the export, the
correction and the erasure, which touch the person's PI. Opening and tracking the
requests is ``consent/router.py``; the paths sit side by side."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from parcelguard.access import subject_requests
from parcelguard.consent.schemas import CorrectionIn, RequestRead
from parcelguard.core.http import API, ClockDep, SessionDep
from parcelguard.identity.http import PrincipalDep
from parcelguard.vault.http import VaultDep

router = APIRouter(prefix=API, tags=["consent"])


@router.post("/dsr/{request_id}/access")
def fulfil_access(request_id: str, principal: PrincipalDep, session: SessionDep,
                  clock: ClockDep, vault: VaultDep) -> JSONResponse:
    """Fulfil an access request: the person's own PI, decrypted, in the response only
    (never stored or logged; ``Cache-Control: no-store``). Completes the request."""
    export = subject_requests.fulfil_access(session, principal, vault,
                                            request_id=request_id, clock=clock)
    return JSONResponse(export.data, headers={"Cache-Control": "no-store"})


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
