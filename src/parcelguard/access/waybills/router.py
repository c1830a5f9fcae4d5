"""The waybill HTTP API (all of /api/v1/waybill, in one place): printing a stored
parcel's label and sharing it with a partner (through ``AccessGate``), binding,
resolving and calling through virtual numbers, partners and their contracts; and,
touching no PI, masking, label counts, QR tokens and the list of bindings (the
waybill package's services). Every route acts inside the caller's own enterprise.

Refusals that were recorded (a label or share the gate refused, a denied
resolution) answer 403 (404 for an unknown waybill) with the reason and the access
event id, and the transaction still commits: the record of a refused attempt is
the point. A caller without the route's permission gets 403 before any attempt.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from parcelguard.access.router import refused, request_caller
from parcelguard.access.schemas import (
    AssessmentIn,
    AssessmentRead,
    BindIn,
    CallRead,
    ContractIn,
    ContractRead,
    ExpiredRead,
    LabelIn,
    PartnerIn,
    PartnerRead,
    ResolveRead,
    ShareIn,
    ShareRead,
)
from parcelguard.access.service import AccessGate
from parcelguard.access.waybills import sharing, virtual_numbers
from parcelguard.access.waybills.parcels import check_waybill_no
from parcelguard.core.errors import NotFound, PermissionDenied
from parcelguard.core.http import API, ClockDep, RuntimeDep, SessionDep
from parcelguard.identity import read as identity_read
from parcelguard.identity.http import PrincipalDep
from parcelguard.identity.permissions import Principal
from parcelguard.logistics import read as logistics_read
from parcelguard.logistics.read import EmployeeInfo
from parcelguard.vault.http import VaultDep
from parcelguard.waybill import service as waybill_service
from parcelguard.waybill import virtual
from parcelguard.waybill.http import TelephonyDep
from parcelguard.waybill.masking import mask
from parcelguard.waybill.schemas import BindingRead, LabelCount, MaskIn, MaskRead, TokenRead
from parcelguard.waybill.settings import WaybillSettings
from parcelguard.waybill.telephony import BindingMode

router = APIRouter(prefix=f"{API}/waybill", tags=["waybill"])
_DENIED: dict[int | str, dict[str, Any]] = {
    403: {"description": "refused: reason, message and the access event id"},
    404: {"description": "no such waybill here; the attempt was recorded"}}


def _not_found_or_403(reason: str) -> int:
    return 404 if reason in ("parcel_not_found", "not_found") else 403


def _employee(session: Session, principal: Principal) -> EmployeeInfo | None:
    employee_id = identity_read.employee_of(session, principal.account_id)
    return logistics_read.employee(session, employee_id)


def _caller_id(session: Session, principal: Principal) -> str:
    emp = _employee(session, principal)
    return emp.id if emp else (principal.account_id or principal.api_key_id or principal.role)


# -- labels ---------------------------------------------------------------------------


@router.post("/labels", response_class=Response,
             responses={200: {"content": {"application/pdf": {}}}, **_DENIED})
def issue_label(body: LabelIn, *, request: Request, principal: PrincipalDep,
                session: SessionDep, clock: ClockDep, vault: VaultDep,
                telephony: TelephonyDep, rt: RuntimeDep) -> Response:
    """Print the privacy label of an assigned parcel (PDF, 100 x 150 mm) through the
    gate: an assignment covering the purpose, a passed background check, no
    suspension, a role that prints for that purpose. Each attempt is one
    ``print_label`` access event; reprints are new labels. Needs ``pi:print_label``."""
    enterprise_of(principal, "pi:print_label")
    caller = request_caller(request, session, principal)
    out = AccessGate(session, vault, clock).print_label(
        caller, waybill_no=check_waybill_no(body.waybill_no), purpose=body.purpose,
        telephony=telephony, font_path=rt.settings.section(WaybillSettings).label_font_path)
    if out.label is None:
        return refused(out, status=_not_found_or_403(out.reason))
    return Response(out.label.pdf, media_type="application/pdf", headers={
        "X-Label-Id": out.label.label_id, "X-Binding-Id": out.label.binding_id,
        "X-Event-Id": out.event_id or "",
        "Content-Disposition": f'inline; filename="{out.label.waybill_no}.pdf"'})


# -- virtual numbers ------------------------------------------------------------------


@router.post("/bindings", status_code=201)
def bind(body: BindIn, *, principal: PrincipalDep, session: SessionDep, clock: ClockDep,
         telephony: TelephonyDep, rt: RuntimeDep) -> BindingRead:
    """Bind a delivery assignment's courier to the parcel's recipient for the
    assignment window. Needs ``logistics:write``."""
    ent = enterprise_of(principal, "logistics:write")
    assignment = logistics_read.assignment(session, body.assignment_id)
    if assignment is None or assignment.enterprise_id != ent:
        raise NotFound(f"assignment {body.assignment_id} not found")
    mode = BindingMode(body.mode or rt.settings.section(WaybillSettings).binding_mode)
    return BindingRead.of(virtual_numbers.bind_for_assignment(
        session, telephony, assignment=assignment, at=clock.now(), mode=mode))


@router.post("/bindings/expire")
def expire(*, principal: PrincipalDep, session: SessionDep, clock: ClockDep,
           telephony: TelephonyDep, rt: RuntimeDep) -> ExpiredRead:
    """Run the expiry sweep now (delivery + grace). Needs ``logistics:write``."""
    enterprise_of(principal, "logistics:write")
    grace = timedelta(days=rt.settings.section(WaybillSettings).binding_grace_days)
    return ExpiredRead(expired=virtual_numbers.expire_bindings(
        session, clock.now(), telephony=telephony, grace=grace))


@router.post("/parcels/{waybill_no}/resolve", response_model=ResolveRead,
             responses={403: {"description": "refused; the attempt was recorded"}})
def resolve(waybill_no: str, *, principal: PrincipalDep, session: SessionDep, clock: ClockDep,
            vault: VaultDep) -> Response | ResolveRead:
    """The recipient's real number, for the courier bound to the parcel inside the
    assignment window only; every attempt is a ``reveal`` access event."""
    ent = enterprise_of(principal, "pi:reveal")
    r = virtual_numbers.resolve(session, vault, enterprise_id=ent,
                                employee_id=_caller_id(session, principal),
                                waybill_no=waybill_no, at=clock.now(), channel="api")
    if not r.allowed or r.phone is None:
        status = _not_found_or_403(r.reason)
        return JSONResponse({"error": "forbidden" if status == 403 else "not_found",
                             "detail": r.reason, "event_id": r.event_id}, status_code=status)
    return ResolveRead(waybill_no=waybill_no, phone=r.phone, event_id=r.event_id)


@router.post("/parcels/{waybill_no}/call")
def call(waybill_no: str, *, principal: PrincipalDep, session: SessionDep, clock: ClockDep,
         vault: VaultDep, telephony: TelephonyDep) -> CallRead:
    """Call the recipient through the virtual number. The answer names only the
    number dialled; the real one never reaches the courier's client."""
    ent = enterprise_of(principal, "waybill:call")
    receipt = virtual_numbers.place_call(session, vault, telephony, enterprise_id=ent,
                                         employee_id=_caller_id(session, principal),
                                         waybill_no=waybill_no, at=clock.now())
    return CallRead(call_id=receipt.call_id, connected=receipt.connected,
                    dialled=receipt.dialled)


# -- partners and shares --------------------------------------------------------------


@router.post("/partners", status_code=201)
def add_partner(body: PartnerIn, principal: PrincipalDep, session: SessionDep,
                clock: ClockDep) -> PartnerRead:
    """Register a partner carrier or outlet and its X25519 public key."""
    ent = enterprise_of(principal, "partners:manage")
    return PartnerRead.of(sharing.add_partner(
        session, enterprise_id=ent, partner_id=body.partner_id, name=body.name,
        relationship=body.relationship, public_key=body.public_key.encode(), at=clock.now()))


@router.get("/partners")
def partners(principal: PrincipalDep, session: SessionDep) -> list[PartnerRead]:
    return [PartnerRead.of(p) for p in sharing.list_partners(
        session, enterprise_of(principal, "logistics:read"))]


@router.post("/partners/{partner_id}/contracts", status_code=201)
def add_contract(partner_id: str, body: ContractIn, *, principal: PrincipalDep,
                 session: SessionDep, clock: ClockDep) -> ContractRead:
    """Record an entrusted-processing contract (PIPL Art. 21) with a partner."""
    ent = enterprise_of(principal, "partners:manage")
    return ContractRead.of(sharing.record_contract(
        session, enterprise_id=ent, partner_id=partner_id, reference=body.reference,
        fields=body.fields, starts_at=body.starts_at, ends_at=body.ends_at, at=clock.now(),
        recorded_by=principal.account_id or principal.api_key_id or principal.role))


@router.post("/partners/{partner_id}/assessments", status_code=201)
def add_assessment(partner_id: str, body: AssessmentIn, *, principal: PrincipalDep,
                   session: SessionDep, clock: ClockDep) -> AssessmentRead:
    """Record the PI impact assessment made before giving fields to a partner (PIPL
    Arts. 55-56); the gate shares nothing with a partner without one."""
    ent = enterprise_of(principal, "partners:manage")
    a = sharing.record_assessment(
        session, enterprise_id=ent, partner_id=partner_id, fields=body.fields,
        conclusion=body.conclusion, at=clock.now(),
        assessed_by=principal.account_id or principal.api_key_id or principal.role)
    return AssessmentRead(id=a.id, partner_id=a.partner_id, fields=list(a.fields),
                          assessed_at=a.assessed_at)


@router.post("/shares", status_code=201, response_model=ShareRead, responses=_DENIED)
def share(body: ShareIn, *, request: Request, principal: PrincipalDep, session: SessionDep,
          clock: ClockDep, vault: VaultDep) -> Response | ShareRead:
    """Share a parcel's PI with a partner, sealed to the partner's key, through the
    gate: the caller's role, standing and suspension, the people (erased, deletion
    pending), then the person's separate consent (or an entrusted-processing
    contract). Needs ``pi:share``; every attempt is one ``share`` access event, and
    a refusal's ``detail`` names the partner-basis reason when that was the cause."""
    enterprise_of(principal, "pi:share")
    caller = request_caller(request, session, principal)
    out = AccessGate(session, vault, clock).share(
        caller, waybill_no=body.waybill_no, partner_id=body.partner_id,
        purpose=body.purpose, fields=body.fields)
    if not out.allowed or out.share.payload is None:
        return refused(out, detail=out.share.reason, status=_not_found_or_403(out.reason))
    return ShareRead(share_id=out.share.share_id, basis=out.share.basis,
                     event_id=out.event_id or "", payload=out.share.payload.decode())


# -- what touches no PI: masking, label counts and QR tokens, the list of bindings --


def enterprise_of(principal: Principal, permission: str) -> str:
    """The caller's enterprise, once it holds ``permission``; waybills belong to
    enterprises, so other organisations are refused."""
    principal.require(permission)
    if principal.org_kind != "enterprise":
        raise PermissionDenied("waybills belong to enterprises")
    return principal.org_id


@router.post("/mask")
def mask_value(body: MaskIn, principal: PrincipalDep) -> MaskRead:
    """Mask a value by the GB/T 41833-2022 rules (name, phone, address, id_number)."""
    principal.require("logistics:read")
    return MaskRead(masked=mask(body.field, body.value))


@router.get("/labels/count")
def label_count(principal: PrincipalDep, session: SessionDep) -> LabelCount:
    """How many labels the enterprise issued (reprints included)."""
    return LabelCount(labels_issued=waybill_service.labels_issued(
        session, enterprise_of(principal, "logistics:read")))


@router.get("/tokens/{token}")
def resolve_token(token: str, principal: PrincipalDep, session: SessionDep) -> TokenRead:
    """The waybill a scanned label QR token belongs to (authorised devices only)."""
    label = waybill_service.label_for_token(session, enterprise_id=enterprise_of(
        principal, "logistics:read"), token=token)
    return TokenRead(waybill_no=label.waybill_no, label_id=label.id, issued_at=label.issued_at)


@router.get("/bindings")
def bindings(principal: PrincipalDep, session: SessionDep,
             live: Annotated[bool, Query(description="Only live bindings.")] = True,
             limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[BindingRead]:
    """The enterprise's bindings, newest first."""
    ent = enterprise_of(principal, "logistics:read")
    return [BindingRead.of(b) for b in virtual.list_bindings(
        session, enterprise_id=ent, live_only=live, limit=limit)]
