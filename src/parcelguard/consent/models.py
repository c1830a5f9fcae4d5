"""Consent tables: privacy notices and their versions, the consent record, and
data-subject requests.

The consent record is append-only: a grant is never updated to "withdrawn"; a
withdrawal is a new row. The state at any instant is derived from the history
(`rules.ConsentState`), so what the gate allowed at a past moment can be shown
later. No table here holds PI: people appear only as pseudonymous subject ids.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from parcelguard.core.db import Base, UTCDateTime


class Notice(Base):
    """An enterprise's privacy notice (one per enterprise); its text lives in versions."""

    __tablename__ = "consent_notices"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NoticeVersion(Base):
    """One published text. Never changed or deleted: consents point at it."""

    __tablename__ = "consent_notice_versions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    notice_id: Mapped[str] = mapped_column(ForeignKey("consent_notices.id"))
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    version: Mapped[int] = mapped_column(Integer)
    # The filled notice (both locales and the terms), exactly as shown.
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    # SHA-256 of the content's canonical JSON; checked again whenever it is read.
    content_hash: Mapped[str] = mapped_column(String(64))
    # purpose -> SHA-256 of its terms: what decides whether old consent still counts.
    fingerprints: Mapped[dict[str, str]] = mapped_column(JSON)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_by: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("enterprise_id", "version"),)


class ConsentRecord(Base):
    """An acknowledgement of the notice, a consent or a withdrawal, for one purpose."""

    __tablename__ = "consent_records"
    # An integer key orders records made within the same instant (the tie-breaker
    # ConsentState needs); ids are not secret, subjects are pseudonymous.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    subject_id: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(12))  # acknowledge | grant | withdraw
    # The version in force when recorded (for a withdrawal: for reference only).
    notice_version_id: Mapped[str | None] = mapped_column(
        ForeignKey("consent_notice_versions.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(16))
    recorded_by: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_consent_records_subject", "enterprise_id", "subject_id", "at"),
    )


class DataSubjectRequest(Base):
    """A request to see/copy, correct or delete one's PI (PIPL Arts. 45-47).
    ``result_note`` and reasons are told to the person and never hold PI."""

    __tablename__ = "consent_subject_requests"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    subject_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(12))  # access | correction | deletion
    status: Mapped[str] = mapped_column(String(12))
    channel: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deferred_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result_note: Mapped[str] = mapped_column(String(500), default="")
    opened_by: Mapped[str | None] = mapped_column(String(64))
    handled_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_consent_subject_requests_subject", "enterprise_id", "subject_id"),
        # The overdue list: open requests by deadline.
        Index("ix_consent_subject_requests_due", "enterprise_id", "status", "deadline_at"),
    )
