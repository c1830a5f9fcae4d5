"""The parcel a waybill number names, within one enterprise: what every PI path
outside the gate's own decision (labels, virtual numbers, sharing) starts from."""

from __future__ import annotations

from sqlalchemy.orm import Session

from parcelguard.access.repository import AccessRepository
from parcelguard.core.errors import InvalidInput, NotFound
from parcelguard.logistics.identifiers import is_valid_waybill_no
from parcelguard.logistics.read import ParcelInfo


def check_waybill_no(waybill_no: str) -> str:
    if not is_valid_waybill_no(waybill_no):
        raise InvalidInput("waybill number is malformed or fails its check digit")
    return waybill_no


def parcel_of(session: Session, enterprise_id: str, waybill_no: str) -> ParcelInfo:
    p = AccessRepository(session, enterprise_id).parcel(waybill_no)
    if p is None:
        # Same answer for another tenant's parcel: never confirm it exists.
        raise NotFound(f"waybill {waybill_no} not found")
    return p
