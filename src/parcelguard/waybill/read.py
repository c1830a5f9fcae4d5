"""What other packages may read of waybill: plain values, never the ORM rows
(``waybill/models.py`` is waybill's own): partners and their keys, processing
contracts, impact assessments, the label register and virtual-number bindings.
Writes to these tables are ``waybill/service.py``'s (the gate's sharing checks the
request, then stores through it) and ``waybill/virtual.py``'s (binding, expiry)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.waybill.models import (
    ImpactAssessment,
    Partner,
    ProcessingContract,
    VirtualBinding,
    WaybillLabel,
)


@dataclass(frozen=True, slots=True)
class PartnerInfo:
    enterprise_id: str
    partner_id: str
    name: str
    relationship: str  # third_party | entrusted
    public_key: bytes  # raw X25519, 32 bytes
    key_id: str
    active: bool
    created_at: datetime


def partner_info(p: Partner) -> PartnerInfo:
    return PartnerInfo(enterprise_id=p.enterprise_id, partner_id=p.partner_id, name=p.name,
                       relationship=p.relationship, public_key=bytes(p.public_key),
                       key_id=p.key_id, active=bool(p.active), created_at=p.created_at)


def partner(session: Session, enterprise_id: str, partner_id: str) -> PartnerInfo | None:
    row = session.get(Partner, (enterprise_id, partner_id))
    return None if row is None else partner_info(row)


def partners(session: Session, enterprise_id: str) -> list[PartnerInfo]:
    """The enterprise's partners, by id."""
    return [partner_info(p) for p in session.scalars(
        select(Partner).where(Partner.enterprise_id == enterprise_id)
        .order_by(Partner.partner_id))]


@dataclass(frozen=True, slots=True)
class ContractInfo:
    id: str
    enterprise_id: str
    partner_id: str
    reference: str
    fields: tuple[str, ...]
    starts_at: datetime
    ends_at: datetime
    recorded_at: datetime
    recorded_by: str


def contract_info(c: ProcessingContract) -> ContractInfo:
    return ContractInfo(id=c.id, enterprise_id=c.enterprise_id, partner_id=c.partner_id,
                        reference=c.reference, fields=tuple(c.fields), starts_at=c.starts_at,
                        ends_at=c.ends_at, recorded_at=c.recorded_at, recorded_by=c.recorded_by)


def contracts_in_force(session: Session, enterprise_id: str, partner_id: str,
                       at: datetime) -> list[ContractInfo]:
    """The partner's processing contracts in force at ``at``."""
    return [contract_info(c) for c in session.scalars(select(ProcessingContract).where(
        ProcessingContract.enterprise_id == enterprise_id,
        ProcessingContract.partner_id == partner_id,
        ProcessingContract.starts_at <= at, ProcessingContract.ends_at > at))]


@dataclass(frozen=True, slots=True)
class AssessmentInfo:
    id: str
    enterprise_id: str
    partner_id: str
    fields: tuple[str, ...]
    conclusion: str
    assessed_at: datetime
    assessed_by: str


def assessment_info(a: ImpactAssessment) -> AssessmentInfo:
    return AssessmentInfo(id=a.id, enterprise_id=a.enterprise_id, partner_id=a.partner_id,
                          fields=tuple(a.fields), conclusion=a.conclusion,
                          assessed_at=a.assessed_at, assessed_by=a.assessed_by)


def assessments_until(session: Session, enterprise_id: str, partner_id: str,
                      at: datetime) -> list[AssessmentInfo]:
    """The impact assessments recorded for the partner up to ``at``."""
    return [assessment_info(a) for a in session.scalars(select(ImpactAssessment).where(
        ImpactAssessment.enterprise_id == enterprise_id,
        ImpactAssessment.partner_id == partner_id, ImpactAssessment.assessed_at <= at))]


def labels_issued_in(session: Session, enterprise_id: str, start: datetime,
                     end: datetime) -> Sequence[tuple[str, str | None]]:
    """(waybill, binding id) of every label the enterprise issued in [start, end)
    (reprints included)."""
    return [(w, b) for w, b in session.execute(
        select(WaybillLabel.waybill_no, WaybillLabel.binding_id)
        .where(WaybillLabel.enterprise_id == enterprise_id, WaybillLabel.issued_at >= start,
               WaybillLabel.issued_at < end))]


@dataclass(frozen=True, slots=True)
class BindingInfo:
    """A virtual-number binding as it stood when read (re-read to see it dated or
    expired later)."""

    id: str
    enterprise_id: str
    waybill_no: str
    mode: str
    number: str
    extension: str | None
    recipient_subject_id: str
    courier_id: str | None
    window_starts_at: datetime | None
    window_ends_at: datetime | None
    bound_at: datetime
    delivered_at: datetime | None
    expires_at: datetime | None
    expired_at: datetime | None


def binding_info(b: VirtualBinding) -> BindingInfo:
    return BindingInfo(b.id, b.enterprise_id, b.waybill_no, b.mode, b.number, b.extension,
                       b.recipient_subject_id, b.courier_id, b.window_starts_at,
                       b.window_ends_at, b.bound_at, b.delivered_at, b.expires_at,
                       b.expired_at)


def binding(session: Session, binding_id: str) -> BindingInfo | None:
    row = session.get(VirtualBinding, binding_id)
    return None if row is None else binding_info(row)


def live_binding(session: Session, enterprise_id: str, waybill_no: str) -> BindingInfo | None:
    """The parcel's binding not yet expired, if any."""
    row = session.scalars(select(VirtualBinding).where(
        VirtualBinding.enterprise_id == enterprise_id, VirtualBinding.waybill_no == waybill_no,
        VirtualBinding.expired_at.is_(None))).first()
    return None if row is None else binding_info(row)
