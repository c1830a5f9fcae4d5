"""``GET /api/v1/parcels/{waybill_no}``: a parcel's state and history from the
parcel projection (ledger/parcels.py), the HTTP twin of ``parcelguard parcels
show``. Ids and times only, within the caller's own enterprise."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from parcelguard.core.errors import NotFound, PermissionDenied
from parcelguard.core.http import API, SessionDep
from parcelguard.identity.http import PrincipalDep
from parcelguard.ledger import parcels as projection

router = APIRouter(prefix=f"{API}/parcels", tags=["parcels"])


@router.get("/{waybill_no}")
def show_parcel(waybill_no: str, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """The parcel's status (its newest lifecycle step by event time, whatever order
    the events arrived in), station, assignee and every step with its time. 404
    when the caller's enterprise stream never mentioned the waybill."""
    principal.require("logistics:read")
    if principal.org_kind != "enterprise":
        raise PermissionDenied("parcels belong to enterprises")
    view = projection.view(session, principal.org_id, waybill_no)
    if view is None:
        raise NotFound(f"waybill {waybill_no} not found")
    return view.as_dict()
