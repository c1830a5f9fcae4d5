"""Pydantic shapes of the gate's API. Unknown fields are refused (``extra="forbid"``).

Inputs that may hold PI (the phone number of a search) carry no length or pattern
constraint here: a failed constraint would echo the value in the 422 body. The
service checks them and answers with a reason that never quotes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from parcelguard.access.models import AccessSuspension, BreakGlassRecord, ExportRequest
from parcelguard.access.policy import BREAK_GLASS_FIELDS
from parcelguard.waybill.partner_payload import LAST_MILE_FIELDS
from parcelguard.waybill.read import ContractInfo, PartnerInfo


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RevealIn(_In):
    waybill_no: str = Field(description="The parcel's waybill number.")
    purpose: str = Field(description="Why: pickup, sorting, delivery, customer_service, "
                         "complaint_handling (see docs/access.md for who may use which).")
    fields: list[str] = Field(description="PI fields wanted, e.g. recipient_phone.")


class SearchIn(_In):
    phone: str = Field(description="The whole number, or its last four digits with "
                       "`last4: true`. Never echoed back.")
    purpose: str = Field(description="customer_service, complaint_handling or security.")
    last4: bool = Field(False, description="Search the recipients' last four digits within "
                        "the caller's own station.")


class ExportIn(_In):
    purpose: str = Field(description="complaint_handling, security or law_enforcement.")
    fields: list[str] = Field(description="PI fields to export.")
    scope: dict[str, Any] = Field(description='{"waybills": [...]} or {"station_id": ..., '
                                  '"created_from": RFC 3339, "created_to": RFC 3339}.')


class ApproveIn(_In):
    approve: bool = Field(True, description="false rejects the request.")


class BreakGlassIn(_In):
    waybill_no: str
    fields: list[str] = Field(description=f"Any of {', '.join(sorted(BREAK_GLASS_FIELDS))}.")
    justification: str = Field(description="Why this cannot wait for an assignment: at least "
                               "20 characters, no phone/ID numbers or e-mail addresses.")


class ReviewIn(_In):
    outcome: Literal["justified", "abuse"]


class SuspendIn(_In):
    employee_id: str | None = None
    api_key_id: str | None = None
    reason: str = Field(description="3-500 characters, no PI.")
    until: datetime | None = Field(None, description="Default: until lifted.")


class DecisionRead(BaseModel):
    allowed: bool
    reason: str = Field(description="ok, or a stable refusal code (docs/access.md).")
    event_id: str | None = Field(description="The access event that records the attempt.")


class RevealRead(DecisionRead):
    values: dict[str, str | None] = Field(description="The revealed fields; null where "
                                          "the person's PI was erased.")


class HitRead(BaseModel):
    waybill_no: str
    status: str
    party: str
    name: str = Field(description="Masked.")
    phone: str = Field(description="Masked (at least six digits hidden).")
    destination_station_id: str | None
    created_at: datetime


class SearchRead(DecisionRead):
    total: int = Field(description="Parcels matching the number.")
    withheld: int = Field(description="Matches not shown: the person's PI is erased or a "
                          "deletion request is open.")
    hits: list[HitRead]


class ExportRead(DecisionRead):
    request_id: str | None
    status: str | None
    record_count: int = Field(description="Records in scope (request, approval) or "
                              "returned (run).")
    needs_approval: bool
    expires_at: datetime | None
    withheld: int = 0
    records: list[dict[str, str | None]] = Field(default_factory=list)


class ExportRequestRead(BaseModel):
    id: str
    requester_employee_id: str
    purpose: str
    fields: list[str]
    scope: dict[str, Any]
    record_count: int
    needs_approval: bool
    status: str
    requested_at: datetime
    approver_account_id: str | None
    expires_at: datetime | None
    exported_count: int | None

    @classmethod
    def of(cls, r: ExportRequest) -> ExportRequestRead:
        return cls(id=r.id, requester_employee_id=r.requester_employee_id, purpose=r.purpose,
                   fields=r.fields, scope=r.scope, record_count=r.record_count,
                   needs_approval=r.needs_approval, status=r.status,
                   requested_at=r.requested_at, approver_account_id=r.approver_account_id,
                   expires_at=r.expires_at, exported_count=r.exported_count)


class BreakGlassRead(RevealRead):
    record_id: str | None = None
    flagged: bool = Field(True, description="Break-glass uses are always flagged for review.")


class BreakGlassRecordRead(BaseModel):
    id: str
    employee_id: str
    waybill_no: str
    fields: list[str]
    purpose: str
    justification: str
    at: datetime
    reviewed_by: str | None
    review_outcome: str | None

    @classmethod
    def of(cls, r: BreakGlassRecord) -> BreakGlassRecordRead:
        return cls(id=r.id, employee_id=r.employee_id, waybill_no=r.waybill_no,
                   fields=r.fields, purpose=r.purpose, justification=r.justification, at=r.at,
                   reviewed_by=r.reviewed_by, review_outcome=r.review_outcome)


class SuspensionRead(BaseModel):
    id: str
    employee_id: str | None
    api_key_id: str | None
    reason: str
    suspended_by: str
    starts_at: datetime
    until: datetime | None
    lifted_at: datetime | None

    @classmethod
    def of(cls, s: AccessSuspension) -> SuspensionRead:
        return cls(id=s.id, employee_id=s.employee_id, api_key_id=s.api_key_id,
                   reason=s.reason, suspended_by=s.suspended_by, starts_at=s.starts_at,
                   until=s.until, lifted_at=s.lifted_at)


# -- labels, virtual numbers, partners and shares (access/waybills/router.py) ----------


class LabelIn(_In):
    waybill_no: str = Field(max_length=32)
    purpose: str = Field(max_length=32, description="pickup or delivery (couriers), sorting "
                         "(sorters): the assignment that covers the print.")


class BindIn(_In):
    assignment_id: str = Field(max_length=64)
    mode: Literal["axn_ext", "axb"] | None = Field(
        None, description="Only for a parcel without a binding; default from settings.")


class ExpiredRead(BaseModel):
    expired: int


class ResolveRead(BaseModel):
    waybill_no: str
    phone: str
    event_id: str | None


class CallRead(BaseModel):
    call_id: str
    connected: bool
    dialled: str


class PartnerIn(_In):
    partner_id: str = Field(max_length=48)
    name: str = Field(max_length=200)
    relationship: Literal["third_party", "entrusted"]
    public_key: str = Field(max_length=1000, description="X25519 public key: PEM or base64.")


class PartnerRead(BaseModel):
    partner_id: str
    name: str
    relationship: str
    key_id: str
    active: bool

    @classmethod
    def of(cls, p: PartnerInfo) -> PartnerRead:
        return cls(partner_id=p.partner_id, name=p.name, relationship=p.relationship,
                   key_id=p.key_id, active=p.active)


class ContractIn(_In):
    reference: str = Field(max_length=100)
    fields: list[str] = Field(max_length=6)
    starts_at: datetime
    ends_at: datetime


class ContractRead(BaseModel):
    id: str
    partner_id: str
    reference: str
    fields: list[str]
    starts_at: datetime
    ends_at: datetime

    @classmethod
    def of(cls, c: ContractInfo) -> ContractRead:
        return cls(id=c.id, partner_id=c.partner_id, reference=c.reference, fields=list(c.fields),
                   starts_at=c.starts_at, ends_at=c.ends_at)


class AssessmentIn(_In):
    fields: list[str] = Field(max_length=6)
    conclusion: str = Field(max_length=2000, description="Necessity, risks to the people "
                            "and the measures against them (PIPL Art. 56)")


class AssessmentRead(BaseModel):
    id: str
    partner_id: str
    fields: list[str]
    assessed_at: datetime


class ShareIn(_In):
    partner_id: str = Field(max_length=48)
    waybill_no: str = Field(max_length=32)
    fields: list[str] = Field(default_factory=lambda: list(LAST_MILE_FIELDS), max_length=6)
    purpose: str = Field("delivery", max_length=32)


class ShareRead(BaseModel):
    share_id: str
    basis: str | None
    event_id: str
    payload: str = Field(description="The sealed payload (JSON text) for the partner.")
