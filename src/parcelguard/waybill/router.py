"""Waybill routes that touch no PI: masking, label counts and QR tokens, the list
of virtual-number bindings. Every route acts inside the caller's own enterprise.

``/api/v1/waybill`` is served by one package, the access gate
(``access/waybill_router.py``), which mounts these next to the routes that print a
stored parcel's label, bind or resolve a virtual number, place a call, or share with
partners (PI access, behind the gate).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from parcelguard.core.errors import PermissionDenied
from parcelguard.core.http import SessionDep
from parcelguard.identity.http import PrincipalDep
from parcelguard.identity.permissions import Principal
from parcelguard.waybill import service, virtual
from parcelguard.waybill.masking import mask
from parcelguard.waybill.schemas import BindingRead, LabelCount, MaskIn, MaskRead, TokenRead

router = APIRouter()


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
    return LabelCount(labels_issued=service.labels_issued(
        session, enterprise_of(principal, "logistics:read")))


@router.get("/tokens/{token}")
def resolve_token(token: str, principal: PrincipalDep, session: SessionDep) -> TokenRead:
    """The waybill a scanned label QR token belongs to (authorised devices only)."""
    label = service.label_for_token(session, enterprise_id=enterprise_of(
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
