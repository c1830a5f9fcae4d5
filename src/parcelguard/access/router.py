"""The gate's HTTP API (under /api/v1/pi): reveal, search, bulk exports with a second
person's approval, break-glass, suspensions. Printing labels, virtual numbers and
partner shares are under /api/v1/waybill (``waybills/router.py``).

The caller is an enterprise account linked to a roster employee. A refusal is 403
with the reason code, a message in Chinese and English and the id of the access
event that records it; it is returned, not raised, so the request's transaction
commits and the denied attempt stays in the ledger. ``X-Channel`` (pda, app, web,
api; default api) and ``X-Device-Id`` describe the client for the access event.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from parcelguard.access import suspensions
from parcelguard.access.caller import CHANNELS, Caller, caller_for_principal
from parcelguard.access.exports import ExportOutcome
from parcelguard.access.repository import AccessRepository
from parcelguard.access.schemas import (
    ApproveIn,
    BreakGlassIn,
    BreakGlassRead,
    BreakGlassRecordRead,
    ExportIn,
    ExportRead,
    ExportRequestRead,
    HitRead,
    RevealIn,
    RevealRead,
    ReviewIn,
    SearchIn,
    SearchRead,
    SuspendIn,
    SuspensionRead,
)
from parcelguard.access.service import AccessGate
from parcelguard.access.trail import Outcome
from parcelguard.core.errors import PermissionDenied
from parcelguard.core.http import API, ClockDep, SessionDep
from parcelguard.identity.http import PrincipalDep
from parcelguard.identity.permissions import Principal
from parcelguard.vault.http import VaultDep

router = APIRouter(prefix=f"{API}/pi", tags=["access"])
_DENIED: dict[int | str, dict[str, Any]] = {
    403: {"description": "refused: reason, message and the access event id"}}


def request_caller(request: Request, session: SessionDep, principal: Principal) -> Caller:
    """The caller of a request at the gate, with the client's channel, device and IP."""
    if principal.org_kind != "enterprise":
        # Events go to an enterprise's log; other organisations have none to record in.
        raise PermissionDenied("personal information is revealed to enterprise staff only")
    channel = request.headers.get("x-channel", "api")
    return caller_for_principal(
        session, principal, channel=channel if channel in CHANNELS else "api",
        device_id=request.headers.get("x-device-id"),
        ip=request.client.host if request.client else None)


def refused(out: Outcome, *, detail: str | None = None, status: int = 403) -> JSONResponse:
    """The gate's refusal as an answer (so the request's transaction commits it)."""
    return JSONResponse({"error": "forbidden" if status == 403 else "not_found",
                         "detail": out.message if detail is None else detail,
                         **out.as_dict()}, status_code=status)


def _export_read(out: ExportOutcome) -> ExportRead:
    return ExportRead(allowed=out.allowed, reason=out.reason, event_id=out.event_id,
                      request_id=out.request_id, status=out.status,
                      record_count=out.record_count, needs_approval=out.needs_approval,
                      expires_at=out.expires_at, withheld=out.withheld,
                      records=[r.as_dict() for r in out.records])


@router.post("/reveal", response_model=RevealRead, responses=_DENIED)
def reveal(body: RevealIn, *, request: Request, principal: PrincipalDep, session: SessionDep,
           clock: ClockDep, vault: VaultDep) -> RevealRead | JSONResponse:
    """Reveal PI fields of one parcel. Allowed only inside an active assignment for
    the purpose, for an active employee with a passed background check whose role
    may see those fields. Every attempt is an access event."""
    caller = request_caller(request, session, principal)
    out = AccessGate(session, vault, clock).reveal(caller, waybill_no=body.waybill_no,
                                                   purpose=body.purpose, fields=body.fields)
    if not out.allowed:
        return refused(out)
    return RevealRead(allowed=True, reason=out.reason, event_id=out.event_id,
                      values=dict(out.values.by_field))


@router.post("/search", response_model=SearchRead, responses=_DENIED)
def search(body: SearchIn, *, request: Request, principal: PrincipalDep, session: SessionDep,
           clock: ClockDep, vault: VaultDep) -> SearchRead | JSONResponse:
    """Find parcels by phone number through the blind index (customer service,
    security). Returns masked hits and how many parcels match; never plaintext."""
    caller = request_caller(request, session, principal)
    out = AccessGate(session, vault, clock).search_by_phone(
        caller, phone=body.phone, purpose=body.purpose, last4=body.last4)
    if not out.allowed:
        return refused(out)
    return SearchRead(allowed=True, reason=out.reason, event_id=out.event_id, total=out.total,
                      withheld=out.withheld,
                      hits=[HitRead(**h.as_dict()) for h in out.hits])


@router.post("/exports", status_code=201, response_model=ExportRead, responses=_DENIED)
def request_export(body: ExportIn, *, request: Request, principal: PrincipalDep,
                   session: SessionDep, clock: ClockDep,
                   vault: VaultDep) -> ExportRead | JSONResponse:
    """Request a bulk export. The answer says how many records it covers and whether
    a second person must approve it (more than 20 records)."""
    caller = request_caller(request, session, principal)
    out = AccessGate(session, vault, clock).request_export(
        caller, purpose=body.purpose, fields=body.fields, scope=body.scope)
    return _export_read(out) if out.allowed else refused(out)


@router.get("/exports")
def list_exports(request: Request, principal: PrincipalDep, session: SessionDep,
                 status: str | None = None) -> list[ExportRequestRead]:
    """Export requests of the caller's enterprise, newest first (for approvers)."""
    if not (principal.can("pi:approve_export") or principal.can("pi:export")):
        raise PermissionDenied("your account may not see export requests")
    caller = request_caller(request, session, principal)
    rows = AccessRepository(session, caller.enterprise_id).export_requests(status=status)
    return [ExportRequestRead.of(r) for r in rows]


@router.post("/exports/{request_id}/approve", response_model=ExportRead,
             responses=_DENIED)
def approve_export(request_id: str, body: ApproveIn, *, request: Request,
                   principal: PrincipalDep, session: SessionDep, clock: ClockDep,
                   vault: VaultDep) -> ExportRead | JSONResponse:
    """Approve (or reject) someone else's export request: a second person with
    ``pi:approve_export``, never the requester."""
    caller = request_caller(request, session, principal)
    out = AccessGate(session, vault, clock).approve_export(caller, request_id=request_id,
                                                           approve=body.approve)
    return _export_read(out) if out.allowed else refused(out)


@router.post("/exports/{request_id}/run", response_model=ExportRead, responses=_DENIED)
def run_export(request_id: str, *, request: Request, principal: PrincipalDep,
               session: SessionDep, clock: ClockDep,
               vault: VaultDep) -> ExportRead | JSONResponse:
    """Run an approved export once, as its requester; returns the records and their
    count (records of erased people or with a deletion pending are withheld)."""
    caller = request_caller(request, session, principal)
    out = AccessGate(session, vault, clock).run_export(caller, request_id=request_id)
    return _export_read(out) if out.allowed else refused(out)


@router.post("/break-glass", response_model=BreakGlassRead, responses=_DENIED)
def break_glass(body: BreakGlassIn, *, request: Request, principal: PrincipalDep,
                session: SessionDep, clock: ClockDep,
                vault: VaultDep) -> BreakGlassRead | JSONResponse:
    """Emergency reveal without an assignment (security, customer service), with a
    written justification. Always flagged for review."""
    caller = request_caller(request, session, principal)
    out = AccessGate(session, vault, clock).break_glass_reveal(
        caller, waybill_no=body.waybill_no, fields=body.fields,
        justification=body.justification)
    if not out.allowed:
        return refused(out)
    # The flagged record is the durable signal for review.
    return BreakGlassRead(allowed=True, reason=out.reason, event_id=out.event_id,
                          values=dict(out.values.by_field), record_id=out.record_id,
                          flagged=True)


@router.get("/break-glass")
def list_break_glass(request: Request, principal: PrincipalDep, session: SessionDep,
                     open_only: bool = True) -> list[BreakGlassRecordRead]:
    """Break-glass uses, newest first; by default those not yet reviewed."""
    principal.require("pi:review")
    caller = request_caller(request, session, principal)
    rows = AccessRepository(session, caller.enterprise_id).break_glass_records(
        open_only=open_only)
    return [BreakGlassRecordRead.of(r) for r in rows]


@router.post("/break-glass/{record_id}/review")
def review_break_glass(record_id: str, body: ReviewIn, *, request: Request,
                       principal: PrincipalDep, session: SessionDep, clock: ClockDep,
                       vault: VaultDep) -> BreakGlassRecordRead:
    """Close a break-glass use as justified or abuse (not one's own)."""
    caller = request_caller(request, session, principal)
    rec = AccessGate(session, vault, clock).review_break_glass(caller, record_id=record_id,
                                                               outcome=body.outcome)
    return BreakGlassRecordRead.of(rec)


@router.post("/suspensions", status_code=201)
def suspend(body: SuspendIn, principal: PrincipalDep, session: SessionDep,
            clock: ClockDep) -> SuspensionRead:
    """Suspend an employee's or API key's PI access, effective at once."""
    return SuspensionRead.of(suspensions.suspend_as(
        session, principal, reason=body.reason, clock=clock, employee_id=body.employee_id,
        api_key_id=body.api_key_id, until=body.until))


@router.get("/suspensions")
def list_suspensions(principal: PrincipalDep, session: SessionDep,
                     clock: ClockDep) -> list[SuspensionRead]:
    """Suspensions in force now."""
    principal.require("pi:suspend")
    rows = AccessRepository(session, principal.org_id).active_suspensions(clock.now())
    return [SuspensionRead.of(s) for s in rows]


@router.post("/suspensions/{suspension_id}/lift")
def lift(suspension_id: str, principal: PrincipalDep, session: SessionDep,
         clock: ClockDep) -> SuspensionRead:
    """Lift a suspension."""
    return SuspensionRead.of(suspensions.lift_as(session, principal,
                                                 suspension_id=suspension_id, clock=clock))

