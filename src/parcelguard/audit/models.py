"""Audit tables: engagements and what they produce (control results, attestations,
findings and rectification orders, the signed report, the auditor's read trail), the
auditor organisations' signing keys, and the transparency reports' privacy budget.

None of them holds PI. Evidence is counts, shares and ids; attestation evidence is a
reference and a SHA-256 of the document the auditor saw, checked for PI-shaped text
before it is kept. Every foreign key points at ``organizations`` only, so this
capability's migration branches from the foundation alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from parcelguard.core.db import Base, UTCDateTime


class AuditEngagement(Base):
    """One third-party audit of one enterprise over one period.

    ``kind``: periodic (commissioned by the enterprise or scheduled) | ordered (by the
    supervision department after high risk or an incident). ``status``: planned ->
    fieldwork -> delivered, or cancelled. The auditor's read-only access to the
    enterprise's aggregates and event samples runs from ``access_from`` to
    ``access_until`` and only while the engagement is in fieldwork."""

    __tablename__ = "audit_engagements"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    auditor_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    # The lead auditor's account (an account of the auditor organisation).
    lead_auditor_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(String(500), default="")
    scope: Mapped[list[str]] = mapped_column(JSON)  # control ids
    rulebook_version: Mapped[str] = mapped_column(String(32))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)  # exclusive
    status: Mapped[str] = mapped_column(String(12))
    requested_by: Mapped[str] = mapped_column(String(140))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    access_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    access_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Seeds the event samples, so a sample can be drawn again and compared.
    sample_seed: Mapped[str] = mapped_column(String(32))
    evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    score: Mapped[float | None] = mapped_column(Float)
    coverage: Mapped[float | None] = mapped_column(Float)  # share of weight evaluable
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_audit_engagements_enterprise", "enterprise_id", "created_at"),
        Index("ix_audit_engagements_auditor", "auditor_org_id", "status"),
    )


class AuditControlResult(Base):
    """The latest evaluation of one control in one engagement."""

    __tablename__ = "audit_control_results"
    engagement_id: Mapped[str] = mapped_column(ForeignKey("audit_engagements.id"),
                                               primary_key=True)
    control_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    control_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # pass | partial | fail | not_evaluable
    score: Mapped[float | None] = mapped_column(Float)  # 0..1; None when not evaluable
    value: Mapped[float | None] = mapped_column(Float)  # the measured figure
    weight: Mapped[float] = mapped_column(Float)
    summary: Mapped[str] = mapped_column(String(500))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditAttestation(Base):
    """A manual attestation for a control checked that way: what the auditor saw
    (a reference and the document's SHA-256, never the document) and the verdict."""

    __tablename__ = "audit_attestations"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    engagement_id: Mapped[str] = mapped_column(ForeignKey("audit_engagements.id"))
    control_id: Mapped[str] = mapped_column(String(40))
    confirmed: Mapped[bool] = mapped_column(Boolean)
    evidence_ref: Mapped[str] = mapped_column(String(200))
    evidence_sha256: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(500), default="")
    attested_by: Mapped[str] = mapped_column(String(140))
    attested_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_audit_attestations_engagement", "engagement_id",
                            "control_id"),)


class AuditFinding(Base):
    """A finding of an engagement. ``action`` says what it set off: ``rectify`` makes
    it a rectification order to the enterprise (due by ``due_at``; ``status`` open ->
    answered -> closed), ``incident`` also emitted ``AuditFindingRaised`` to the outbox for
    the incident desk."""

    __tablename__ = "audit_findings"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    engagement_id: Mapped[str] = mapped_column(ForeignKey("audit_engagements.id"))
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    control_id: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(8))  # low | medium | high | critical
    action: Mapped[str] = mapped_column(String(8))  # rectify | incident
    summary: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(12))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response: Mapped[str | None] = mapped_column(String(1000))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by: Mapped[str | None] = mapped_column(String(140))
    raised_by: Mapped[str] = mapped_column(String(140))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_audit_findings_enterprise", "enterprise_id", "status", "due_at"),
        Index("ix_audit_findings_engagement", "engagement_id"),
    )


class AuditReport(Base):
    """The signed report: its canonical JSON body, the body's SHA-256, and a C2SP
    signed note over that hash by the auditor organisation's Ed25519 key."""

    __tablename__ = "audit_reports"
    engagement_id: Mapped[str] = mapped_column(ForeignKey("audit_engagements.id"),
                                               primary_key=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_to: Mapped[list[str]] = mapped_column(JSON)  # organisation ids


class AuditSigningKey(Base):
    """An auditor organisation's report-signing key: Ed25519, the signer half stored
    only wrapped by the KMS under a context naming the organisation."""

    __tablename__ = "audit_signing_keys"
    auditor_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"),
                                                primary_key=True)
    key_name: Mapped[str] = mapped_column(String(200))
    verifier_key: Mapped[str] = mapped_column(String(300))
    kms_key_id: Mapped[str] = mapped_column(String(64))
    wrapped_signer_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditAccessLog(Base):
    """Every read an auditor made through an engagement (aggregates, samples): the
    time-bound grant is accountable, like any other access."""

    __tablename__ = "audit_access_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    engagement_id: Mapped[str] = mapped_column(ForeignKey("audit_engagements.id"))
    actor: Mapped[str] = mapped_column(String(140))
    action: Mapped[str] = mapped_column(String(24))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_audit_access_log_engagement", "engagement_id", "id"),)


class AuditDpBudget(Base):
    """The differential-privacy budget of one enterprise's transparency reports for
    one period: ``spent`` only grows, and never past ``total``."""

    __tablename__ = "audit_dp_budgets"
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"),
                                               primary_key=True)
    period: Mapped[str] = mapped_column(String(32), primary_key=True)
    total: Mapped[float] = mapped_column(Float)
    spent: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditDpRelease(Base):
    """One published transparency report: the noisy figures as released (reading
    them again costs nothing), the epsilon it spent and the page's SHA-256."""

    __tablename__ = "audit_dp_releases"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    period: Mapped[str] = mapped_column(String(32))
    epsilon: Mapped[float] = mapped_column(Float)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    html: Mapped[str] = mapped_column(Text)
    html_sha256: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_by: Mapped[str] = mapped_column(String(140))

    __table_args__ = (Index("ix_audit_dp_releases_enterprise", "enterprise_id", "period",
                            "published_at"),)


# -- legal (issue 16): the industry association, auditors' data support to the police --


class AssociationMember(Base):
    """An enterprise's membership of an industry association (seed 3.1/3.2: the
    association applies the uniform rulebook and supervises its members)."""

    __tablename__ = "association_members"
    association_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"),
                                                primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"),
                                               primary_key=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RulebookVersion(Base):
    """A version of the uniform rulebook an association published (validated like the
    shipped one; the text and its SHA-256 are kept so every report can cite it)."""

    __tablename__ = "rulebook_versions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    association_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    rulebook_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_by: Mapped[str] = mapped_column(String(140))

    __table_args__ = (
        Index("uq_rulebook_versions_version", "association_id", "rulebook_id", "version",
              unique=True),
    )


class AuditDataSupport(Base):
    """An auditor's data support to a police case (seed 4.3): findings and evidence
    references (ledger event ids) from an engagement with the referral's enterprise,
    no PI. ``status``: sent -> received (the police's receipt)."""

    __tablename__ = "audit_data_supports"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    referral_id: Mapped[str] = mapped_column(String(64), index=True)
    engagement_id: Mapped[str] = mapped_column(ForeignKey("audit_engagements.id"))
    auditor_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    police_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    package: Mapped[dict[str, Any]] = mapped_column(JSON)
    package_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_by: Mapped[str] = mapped_column(String(140))
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_by: Mapped[str | None] = mapped_column(String(140))
    receipt: Mapped[str | None] = mapped_column(String(32))
