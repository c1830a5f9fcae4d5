"""The register of issued privacy labels: QR tokens, label rows, counts.

The QR code carries a random token; the table keeps its SHA-256, so an authorised
device resolves a scanned token to the waybill and nothing else can. Each issue
(first print or reprint) is a row: bursts of reprints are a known leak path.

Issuing a label for a stored parcel decrypts its PI, so it is the access gate's
(``access/waybills/labels.py``); this module only keeps the record of what was printed.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parcelguard.core.errors import Conflict, InvalidInput, NotFound
from parcelguard.core.ids import new_id
from parcelguard.waybill.models import (
    ImpactAssessment,
    Partner,
    ProcessingContract,
    Share,
    WaybillLabel,
)
from parcelguard.waybill.read import (
    AssessmentInfo,
    ContractInfo,
    PartnerInfo,
    assessment_info,
    contract_info,
    partner_info,
)

# The printed date is the carrier's local date, whatever the server's zone.
LABEL_TZ: Final = ZoneInfo("Asia/Shanghai")
# 128 bits of randomness: unguessable, and with the prefix 26 characters, which fit
# a version-2 QR code (25 x 25 modules) that scans easily off a thermal label.
_TOKEN_BYTES: Final = 16
# A letter prefix keeps the renderer's token check happy and marks our tokens.
_TOKEN_PREFIX: Final = "pgq_"  # noqa: S105 - a public prefix, not a secret


def new_token() -> str:
    """A fresh QR token for one printed label."""
    return _TOKEN_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def record_label(session: Session, *, enterprise_id: str, waybill_no: str, token: str,
                 binding_id: str, pdf: bytes, issued_by: str, at: datetime) -> WaybillLabel:
    """Keep the record of one printed label (its token hashed, never the token)."""
    label = WaybillLabel(id=new_id("lbl"), enterprise_id=enterprise_id, waybill_no=waybill_no,
                         token_hash=token_hash(token), binding_id=binding_id,
                         pdf_sha256=hashlib.sha256(pdf).hexdigest(), issued_at=at,
                         issued_by=issued_by[:64])
    session.add(label)
    return label


def labels_issued(session: Session, enterprise_id: str | None = None) -> int:
    """Labels issued (reprints included), for one enterprise or all."""
    q = select(func.count()).select_from(WaybillLabel)
    if enterprise_id is not None:
        q = q.where(WaybillLabel.enterprise_id == enterprise_id)
    return int(session.scalar(q) or 0)


def label_for_token(session: Session, *, enterprise_id: str, token: str) -> WaybillLabel:
    """The label a scanned QR token belongs to, within the caller's enterprise."""
    if not token.startswith(_TOKEN_PREFIX) or len(token) > 64:
        raise InvalidInput("not a parcelguard label token")
    label = session.scalars(select(WaybillLabel).where(
        WaybillLabel.token_hash == token_hash(token))).first()
    if label is None or label.enterprise_id != enterprise_id:
        raise NotFound("unknown label token")
    return label


# -- partners, contracts, assessments and shares (checked by the gate's sharing) ------


def store_partner(session: Session, *, enterprise_id: str, partner_id: str, name: str,
                  relationship: str, public_key: bytes, key_id: str,
                  at: datetime) -> PartnerInfo:
    """Register a partner and its (parsed) public key; Conflict if already there."""
    if session.get(Partner, (enterprise_id, partner_id)) is not None:
        raise Conflict(f"partner {partner_id} is already registered")
    p = Partner(enterprise_id=enterprise_id, partner_id=partner_id, name=name,
                relationship=relationship, public_key=public_key, key_id=key_id, active=True,
                created_at=at)
    session.add(p)
    session.flush()
    return partner_info(p)


def set_partner_active(session: Session, enterprise_id: str, partner_id: str,
                       active: bool) -> bool | None:
    """Freeze or unfreeze a partner; returns whether it was active before (None: no
    such partner, nothing changed)."""
    p = session.get(Partner, (enterprise_id, partner_id))
    if p is None:
        return None
    was, p.active = bool(p.active), active
    return was


def store_contract(session: Session, *, enterprise_id: str, partner_id: str, reference: str,
                   fields: Sequence[str], starts_at: datetime, ends_at: datetime,
                   at: datetime, recorded_by: str) -> ContractInfo:
    c = ProcessingContract(id=new_id("pc"), enterprise_id=enterprise_id, partner_id=partner_id,
                           reference=reference, fields=list(fields), starts_at=starts_at,
                           ends_at=ends_at, recorded_at=at, recorded_by=recorded_by)
    session.add(c)
    session.flush()
    return contract_info(c)


def store_assessment(session: Session, *, enterprise_id: str, partner_id: str,
                     fields: Sequence[str], conclusion: str, at: datetime,
                     assessed_by: str) -> AssessmentInfo:
    a = ImpactAssessment(id=new_id("pia"), enterprise_id=enterprise_id, partner_id=partner_id,
                         fields=list(fields), conclusion=conclusion, assessed_at=at,
                         assessed_by=assessed_by)
    session.add(a)
    session.flush()
    return assessment_info(a)


def store_share(session: Session, *, share_id: str, enterprise_id: str, partner_id: str,
                waybill_no: str, fields: Sequence[str], allowed: bool, basis: str | None,
                reason: str, actor_id: str, payload_sha256: str | None, at: datetime) -> None:
    """Keep the record of one share attempt (never the values)."""
    session.add(Share(id=share_id, enterprise_id=enterprise_id, partner_id=partner_id,
                      waybill_no=waybill_no, fields=list(fields),
                      outcome="allowed" if allowed else "denied", basis=basis, reason=reason,
                      actor_id=actor_id, at=at, payload_sha256=payload_sha256))
    session.flush()
