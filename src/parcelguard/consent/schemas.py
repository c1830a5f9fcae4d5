"""Pydantic shapes of the consent API. Unknown fields are refused (``extra="forbid"``)
so a misspelt field is an error, not a silently ignored one."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from parcelguard.consent.models import ConsentRecord, DataSubjectRequest, NoticeVersion
from parcelguard.consent.read import RequestInfo
from parcelguard.consent.rules import purposes_of
from parcelguard.consent.subject_requests import lifecycle_of


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartnerCreate(_In):
    id: str = Field(description="Partner id (an organisation id), used in "
                    "`partner_sharing:<id>`.")
    name: str = Field(description="The recipient's name as shown to people.")
    contact: str = Field(description="How people reach the recipient.")
    purpose: dict[str, str] = Field(description="What the recipient does with the PI, "
                                    "per locale (zh-CN and en).")
    data_types: list[str] = Field(description="Codes of the PI shared: name, phone, "
                                  "address, id_number, parcel_info.")


class NoticePublish(_In):
    processor_name: str = Field(description="The enterprise's legal name.")
    processor_contact: str = Field(description="Contact of the PI protection officer.")
    partners: list[PartnerCreate] = Field(default_factory=list,
                                          description="Recipients named for Art. 23.")
    template: str = Field("default", description="Notice template name.")


class NoticeVersionRead(BaseModel):
    version: int
    content_hash: str
    published_at: datetime
    published_by: str | None
    purposes: list[str]
    created: bool | None = Field(None, description="On publish: false when the content was "
                                 "unchanged and no new version was made.")

    @classmethod
    def of(cls, v: NoticeVersion, created: bool | None = None) -> NoticeVersionRead:
        return cls(version=v.version, content_hash=v.content_hash,
                   published_at=v.published_at, published_by=v.published_by,
                   purposes=[str(p) for p in purposes_of(v.fingerprints)], created=created)


class AcknowledgeIn(_In):
    channel: str = Field(description="app, web, pda, counter, phone, sms or api.")
    notice_version: int | None = Field(None, description="The version shown; default the "
                                       "one in force. Any other is refused.")


class GrantIn(AcknowledgeIn):
    purpose: str = Field(description="location_tracking, marketing or "
                         "partner_sharing:<partner_id> (one per call: separate consent).")


class WithdrawIn(_In):
    purpose: str
    channel: str


class ConsentRecordRead(BaseModel):
    id: int
    subject_id: str
    purpose: str
    action: str
    at: datetime
    channel: str

    @classmethod
    def of(cls, r: ConsentRecord) -> ConsentRecordRead:
        return cls(id=r.id, subject_id=r.subject_id, purpose=r.purpose, action=r.action,
                   at=r.at, channel=r.channel)


class PurposeStatusRead(BaseModel):
    purpose: str
    basis: str
    allowed: bool
    reason: str


class ConsentHistoryItem(BaseModel):
    at: datetime
    purpose: str
    action: str
    notice_version: int | None


class ConsentStatusRead(BaseModel):
    subject_id: str
    at: datetime
    notice_version: int | None
    purposes: list[PurposeStatusRead]
    history: list[ConsentHistoryItem]


class RequestOpen(_In):
    subject_id: str
    kind: Literal["access", "correction", "deletion"]
    channel: str


class RequestReject(_In):
    reason: str = Field(description="Told to the person (Art. 50); no PI.")


class CorrectionIn(_In):
    waybill_no: str
    field: str = Field(description="One of the person's own fields, e.g. recipient_phone.")
    value: str = Field(description="The corrected value; sealed at once, never stored "
                       "in the clear or echoed back.")


class RequestRead(BaseModel):
    id: str
    subject_id: str
    kind: str
    status: str
    channel: str
    received_at: datetime
    deadline_at: datetime
    started_at: datetime | None
    closed_at: datetime | None
    deferred_until: datetime | None
    result_note: str
    overdue: bool

    @classmethod
    def of(cls, r: DataSubjectRequest | RequestInfo, now: datetime) -> RequestRead:
        lc = lifecycle_of(r)
        return cls(id=r.id, subject_id=r.subject_id, kind=r.kind, status=r.status,
                   channel=r.channel, received_at=r.received_at, deadline_at=r.deadline_at,
                   started_at=r.started_at, closed_at=r.closed_at,
                   deferred_until=r.deferred_until, result_note=r.result_note,
                   overdue=lc.overdue(now))
