"""Who a consumer is, without an account: the portal acts for the carrier as its
``web`` channel. ``identify`` matches a waybill number and a phone number against the
parcel's keyed blind index (no decryption); that match only decides where a one-time
code is sent (``consumer_proof``), it proves nothing by itself."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.identity.models import Organization
from parcelguard.identity.permissions import Principal
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.models import Parcel
from parcelguard.vault.service import VaultService

# The portal's actor id in consent records and DSRs: the web channel, not a person.
PORTAL_ACTOR = "web-portal"


def portal_principal(enterprise_id: str) -> Principal:
    """The carrier's web channel: records notices, consents and requests the way a
    customer-service counter would (the person is present and acting)."""
    return Principal(org_id=enterprise_id, org_kind="enterprise", role="customer_service",
                     account_id=PORTAL_ACTOR)


def enterprises(session: Session) -> list[Organization]:
    return list(session.scalars(select(Organization).where(Organization.kind == "enterprise")
                                .order_by(Organization.name)))


@dataclass(frozen=True)
class Party:
    enterprise_id: str
    subject_id: str
    waybill_no: str
    role: str  # sender | recipient


def identify(session: Session, vault: VaultService, *, waybill_no: str,
             phone: str) -> Party | None:
    """The party of ``waybill_no`` whose phone is ``phone``, or None (one answer for
    an unknown waybill and a wrong phone, so neither can be probed)."""
    parcel = session.scalars(select(Parcel).where(
        Parcel.waybill_no == waybill_no.strip().upper())).first()
    if parcel is None:
        return None
    try:
        full, _ = vault.phone_indexes(session, parcel.enterprise_id, phone)
    except ValueError:
        return None
    if parcel.recipient_phone_bi is not None and hmac.compare_digest(
            full, bytes(parcel.recipient_phone_bi)):
        return Party(parcel.enterprise_id, parcel.recipient_subject_id, parcel.waybill_no,
                     "recipient")
    if parcel.sender_phone_bi is not None and hmac.compare_digest(
            full, bytes(parcel.sender_phone_bi)):
        return Party(parcel.enterprise_id, parcel.sender_subject_id, parcel.waybill_no,
                     "sender")
    return None


def new_subject_id() -> str:
    """A pseudonymous data-subject id (the simulation's form, never PI)."""
    return f"sub-{secrets.token_hex(8)}"


def waybill_prefix(session: Session, enterprise_id: str) -> str:
    """The carrier's waybill prefix, read off one of its parcels (demo carriers have
    their own); "PG" for a carrier with none yet."""
    wb = session.scalar(select(Parcel.waybill_no).where(
        Parcel.enterprise_id == enterprise_id).limit(1))
    prefix = "".join(ch for ch in (wb or "")[:4] if ch.isalpha())
    return prefix if 2 <= len(prefix) <= 4 else "PG"


def new_waybill_no(session: Session, enterprise_id: str) -> str:
    prefix = waybill_prefix(session, enterprise_id)
    while True:  # 10**12 serials: a collision is rare but cheap to rule out
        wb = make_waybill_no(prefix, secrets.randbelow(10**12))
        if session.scalar(select(Parcel.id).where(Parcel.waybill_no == wb)) is None:
            return wb
