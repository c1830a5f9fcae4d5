"""Pydantic shapes of the channel's API. Unknown fields are refused.

Fields that may hold PI (report text, names, contacts, numbers) carry no length or
pattern constraint here: a failed constraint would echo the value in the 422 body.
The services check them and answer without quoting them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AttachmentIn(_In):
    content_type: str = Field(description="image/png, image/jpeg, application/pdf or "
                              "text/plain; must match the bytes.")
    data_b64: str = Field(description="The file, base64-encoded (at most 5 MB decoded by "
                          "default).")


class ReportCreate(_In):
    kind: Literal["pi_leak", "scam_call", "misconduct"]
    body: str = Field(description="What happened. Stored encrypted.")
    anonymous: bool = Field(True, description="false: give your name (and a contact) so the "
                            "enterprise can reach you.")
    reporter_name: str | None = None
    reporter_contact: str | None = Field(None, description="Phone or e-mail, stored encrypted.")
    identity_consent: bool = Field(False, description="Allow the enterprise's staff to see "
                                   "your name and contact (otherwise they see a pseudonym).")
    wants_police: bool = Field(False, description="Ask for the case to go to the police.")
    waybills: list[str] = Field(default_factory=list, description="Waybill numbers involved.")
    scam_caller: str | None = Field(None, description="The number the scam call came from.")
    attachments: list[AttachmentIn] = Field(default_factory=list)


class ReportFiledRead(BaseModel):
    receipt_code: str = Field(description="Shown to you once with the secret; keep both.")
    secret: str = Field(description="Needed with the receipt code to follow the report; it "
                        "cannot be recovered.")
    ack_due_at: datetime
    answer_due_at: datetime


class FollowIn(_In):
    receipt_code: str
    secret: str


class FollowMessageIn(FollowIn):
    body: str
    attachments: list[AttachmentIn] = Field(default_factory=list)


class TextIn(_In):
    body: str


class AckIn(_In):
    message: str | None = Field(None, description="Optional first message to the reporter.")


class LinkIn(_In):
    target_type: Literal["waybill", "employee", "station", "alert", "incident"]
    target_id: str


class TriangulateIn(_In):
    waybills: list[str] = Field(description="The leaked waybills of one cluster.")
    top: int | None = Field(None, ge=1, le=1000)


class ReferIn(_In):
    reason: str = Field(description="Why a crime is suspected (no phone/ID numbers).")
    police_org_id: str | None = Field(None, description="Default: the only police "
                                      "organisation registered.")


class DeclineIn(_In):
    reason: str


class DataRequestIn(_In):
    scope: dict[str, Any] = Field(description='{"waybills": [...], "actor_ids": [...], '
                                  '"from": RFC 3339, "to": RFC 3339}; waybills or actor_ids '
                                  "required.")
    justification: str


class DecisionIn(_In):
    decision: Literal["approved", "refused", "ordered"]


class ConcludeIn(_In):
    outcome: Literal["case_filed", "suspect_identified", "administrative_penalty", "no_crime",
                     "transferred"]


class VerifyIn(_In):
    package: dict[str, Any]


class CanarySeedIn(_In):
    count: int = Field(1, ge=1, le=100)


class CanaryCallIn(_In):
    number: str = Field(description="The dialled number, as the telephony provider reports it.")
    at: datetime | None = None


class ReferralRead(BaseModel):
    id: str
    enterprise_id: str
    police_org_id: str
    source_type: str
    source_id: str
    status: str
    reason: str
    package_sha256: str
    created_at: datetime
    accepted_at: datetime | None
    concluded_at: datetime | None
    outcome: str | None

    @classmethod
    def of(cls, r: Any) -> ReferralRead:
        return cls(id=r.id, enterprise_id=r.enterprise_id, police_org_id=r.police_org_id,
                   source_type=r.source_type, source_id=r.source_id, status=r.status,
                   reason=r.reason, package_sha256=r.package_sha256, created_at=r.created_at,
                   accepted_at=r.accepted_at, concluded_at=r.concluded_at, outcome=r.outcome)


class DataRequestRead(BaseModel):
    id: str
    referral_id: str
    scope: dict[str, Any]
    justification: str
    status: str
    requested_at: datetime
    decided_at: datetime | None
    has_package: bool

    @classmethod
    def of(cls, r: Any) -> DataRequestRead:
        return cls(id=r.id, referral_id=r.referral_id, scope=r.scope,
                   justification=r.justification, status=r.status,
                   requested_at=r.requested_at, decided_at=r.decided_at,
                   has_package=r.package is not None)
