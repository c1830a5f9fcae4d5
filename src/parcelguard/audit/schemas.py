"""Audit API shapes. Nothing here can carry PI: results are aggregates, samples are
ledger leaves (ids and field names) with proofs, attestations are references and
hashes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from parcelguard.audit.models import (
    AuditAttestation,
    AuditControlResult,
    AuditEngagement,
    AuditFinding,
)
from parcelguard.audit.scorecards import Scorecard


class EngagementCreate(BaseModel):
    enterprise_id: str = Field(description="The audited enterprise.")
    auditor_org_id: str = Field(description="The auditor organisation (firm).")
    lead_auditor: str = Field(description="Lead auditor: account id or username of the firm.")
    kind: Literal["periodic", "ordered"] = Field(
        "periodic", description="periodic (commissioned or scheduled) or ordered by the "
        "supervision department after high risk or an incident.")
    period: str = Field(description="2026-11, 2026-Q4, 2026-H2, 2026 or "
                        "2026-11-09..2026-11-12 (China Standard Time, end exclusive).")
    scope: list[str] | None = Field(None, description="Control ids; default: the whole "
                                    "rulebook.")
    reason: str = Field("", description="Why it was ordered (required for ordered audits).")


class EngagementRead(BaseModel):
    id: str
    enterprise_id: str
    auditor_org_id: str
    lead_auditor_id: str
    kind: str
    reason: str
    scope: list[str]
    rulebook_version: str
    period_start: datetime
    period_end: datetime
    status: str
    access_from: datetime | None
    access_until: datetime | None
    score: float | None = Field(description="0-100 over the evaluable controls.")
    coverage: float | None = Field(description="Share of the scope's weight evaluated.")
    evaluated_at: datetime | None
    delivered_at: datetime | None

    @classmethod
    def of(cls, e: AuditEngagement) -> EngagementRead:
        return cls(id=e.id, enterprise_id=e.enterprise_id, auditor_org_id=e.auditor_org_id,
                   lead_auditor_id=e.lead_auditor_id, kind=e.kind, reason=e.reason,
                   scope=list(e.scope), rulebook_version=e.rulebook_version,
                   period_start=e.period_start, period_end=e.period_end, status=e.status,
                   access_from=e.access_from, access_until=e.access_until, score=e.score,
                   coverage=e.coverage, evaluated_at=e.evaluated_at, delivered_at=e.delivered_at)


class ResultRead(BaseModel):
    control_id: str
    control_version: int
    status: str = Field(description="pass, partial, fail or not_evaluable.")
    score: float | None
    value: float | None = Field(description="The measured figure on the control's metric.")
    weight: float
    summary: str
    evidence: dict[str, Any] = Field(description="Counts, shares and ids; never PI.")

    @classmethod
    def of(cls, r: AuditControlResult) -> ResultRead:
        return cls(control_id=r.control_id, control_version=r.control_version, status=r.status,
                   score=r.score, value=r.value, weight=r.weight, summary=r.summary,
                   evidence=dict(r.evidence))


class AttestationCreate(BaseModel):
    control_id: str
    confirmed: bool = Field(description="Whether the evidence shows the control is met.")
    evidence_ref: str = Field(description="Reference of the document seen (no PI).")
    evidence_sha256: str = Field(description="SHA-256 of the document seen, 64 hex digits.")
    note: str = ""


class AttestationRead(BaseModel):
    id: str
    control_id: str
    confirmed: bool
    evidence_ref: str
    evidence_sha256: str
    attested_at: datetime

    @classmethod
    def of(cls, a: AuditAttestation) -> AttestationRead:
        return cls(id=a.id, control_id=a.control_id, confirmed=a.confirmed,
                   evidence_ref=a.evidence_ref, evidence_sha256=a.evidence_sha256,
                   attested_at=a.attested_at)


class SampleRequest(BaseModel):
    size: int | None = Field(None, ge=1, description="Events to draw (default: setting).")
    kind: Literal["access", "parcel", "employee"] | None = None


class SampleRead(BaseModel):
    enterprise_id: str
    tree_size: int
    checkpoint: str | None = Field(description="The signed checkpoint note the proofs "
                                   "verify against (None: the log has none yet).")
    events: list[dict[str, Any]] = Field(description="leaf_index, tree_size, leaf (base64 "
                                         "canonical JSON), inclusion (base64 hashes).")


class FindingCreate(BaseModel):
    control_id: str
    severity: Literal["low", "medium", "high", "critical"]
    summary: str = Field(description="What was found (10-500 characters, no PI).")
    action: Literal["rectify", "incident"] | None = Field(
        None, description="Default: the rulebook's on_fail for the control.")


class FindingAnswer(BaseModel):
    response: str = Field(description="How the enterprise rectified it (no PI).")


class FindingRead(BaseModel):
    id: str
    engagement_id: str
    enterprise_id: str
    control_id: str
    severity: str
    action: str
    summary: str
    status: str
    due_at: datetime | None
    response: str | None
    answered_at: datetime | None
    raised_at: datetime

    @classmethod
    def of(cls, f: AuditFinding) -> FindingRead:
        return cls(id=f.id, engagement_id=f.engagement_id, enterprise_id=f.enterprise_id,
                   control_id=f.control_id, severity=f.severity, action=f.action,
                   summary=f.summary, status=f.status, due_at=f.due_at, response=f.response,
                   answered_at=f.answered_at, raised_at=f.raised_at)


class ReportRead(BaseModel):
    engagement_id: str
    sha256: str
    note: str = Field(description="C2SP signed note by the auditor firm over the SHA-256.")
    verifier_key: str = Field(description="The firm's note verifier key.")
    body: dict[str, Any]
    verified: bool
    delivered_to: list[str]


class ScorecardRead(BaseModel):
    enterprise_id: str
    name: str
    score: float | None
    coverage: float | None
    change: float | None = Field(description="Points since the previous delivered audit.")
    engagement_id: str | None
    period: str | None
    auditor_org_id: str | None
    controls: list[dict[str, Any]]
    weakest: list[str]
    trend: list[dict[str, Any]]

    @classmethod
    def of(cls, c: Scorecard) -> ScorecardRead:
        return cls(enterprise_id=c.enterprise_id, name=c.name, score=c.score,
                   coverage=c.coverage, change=c.change, engagement_id=c.engagement_id,
                   period=c.period, auditor_org_id=c.auditor_org_id, controls=c.controls,
                   weakest=c.weakest, trend=c.trend)


class PublishRequest(BaseModel):
    epsilon: float | None = Field(None, gt=0, description="Default: the per-report setting.")


class ReleaseRead(BaseModel):
    id: str
    enterprise_id: str
    period: str
    epsilon: float
    figures: dict[str, Any] = Field(description="Noisy counts and the privacy statement.")
    html_sha256: str
    published_at: datetime
