"""Channel tables: reports and their threads, attachments, links, throttles, police
referrals with their data requests and log, canary parcels and their hits.

Nothing here holds PI in clear. Report texts, messages, the reporter's name and
contact, the scam caller's number and attachments are vault ciphertexts sealed under
a per-report pseudonymous subject (``reporter_subject_id``), so erasing that subject
crypto-shreds the whole report. Sources and receipt codes are kept only as keyed or
plain hashes, secrets only as Argon2id hashes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from parcelguard.core.db import Base, UTCDateTime


class ChannelReport(Base):
    """One report or complaint. ``status``: received | acknowledged | answered | closed."""

    __tablename__ = "channel_reports"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    receipt_code: Mapped[str] = mapped_column(String(20), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # pi_leak | scam_call | misconduct
    anonymous: Mapped[bool] = mapped_column(Boolean)
    # What staff see instead of the reporter: stable per report, meaningless outside it.
    pseudonym: Mapped[str] = mapped_column(String(24))
    reporter_subject_id: Mapped[str] = mapped_column(String(64))
    identity_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    wants_police: Mapped[bool] = mapped_column(Boolean, default=False)
    # The reporter's request to go to the police owes a referral by then (issue 16).
    police_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    body_ct: Mapped[bytes] = mapped_column(LargeBinary)
    reporter_name_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    reporter_contact_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    scam_caller_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Keyed blind index of the scam caller's number: reports quoting the same caller
    # cluster without anyone decrypting the number.
    scam_caller_bi: Mapped[bytes | None] = mapped_column(LargeBinary)
    source_hash: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ack_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    answer_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The police outcome as told to the reporter (a fixed code, no free text).
    police_outcome: Mapped[str | None] = mapped_column(String(24))

    __table_args__ = (
        Index("ix_channel_reports_enterprise_status", "enterprise_id", "status", "received_at"),
        Index("ix_channel_reports_caller", "enterprise_id", "scam_caller_bi"),
    )


class ChannelReportWaybill(Base):
    """A waybill number the reporter named (format-checked, not necessarily ours)."""

    __tablename__ = "channel_report_waybills"
    report_id: Mapped[str] = mapped_column(ForeignKey("channel_reports.id"), primary_key=True)
    waybill_no: Mapped[str] = mapped_column(String(32), primary_key=True)


class ChannelMessage(Base):
    """One message of a report's thread. ``author``: reporter | staff | police | system."""

    __tablename__ = "channel_messages"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    report_id: Mapped[str] = mapped_column(ForeignKey("channel_reports.id"), index=True)
    # The report's enterprise and subject again, so key rotation can re-encrypt this
    # table like any other (vault.rotation.CiphertextColumn reads them per row).
    enterprise_id: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(64))
    author: Mapped[str] = mapped_column(String(8))
    author_ref: Mapped[str | None] = mapped_column(String(64))  # staff account, never shown
    body_ct: Mapped[bytes] = mapped_column(LargeBinary)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChannelAttachment(Base):
    """An attachment, sealed like the report. Only the sniffed type is kept, never the
    uploaded file name (names often carry PI)."""

    __tablename__ = "channel_attachments"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    report_id: Mapped[str] = mapped_column(ForeignKey("channel_reports.id"), index=True)
    enterprise_id: Mapped[str] = mapped_column(String(64))  # for key rotation, as above
    subject_id: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content_ct: Mapped[bytes] = mapped_column(LargeBinary)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChannelLink(Base):
    """What the investigation tied the report to: a waybill, employee, station, alert
    or incident (ids only)."""

    __tablename__ = "channel_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[str] = mapped_column(ForeignKey("channel_reports.id"), index=True)
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[str] = mapped_column(String(128))
    linked_by: Mapped[str] = mapped_column(String(64))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChannelThrottle(Base):
    """Failure counters for receipt secrets and report intake. ``key`` is a hash of
    (scope, enterprise, receipt code or keyed source hash)."""

    __tablename__ = "channel_throttles"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    count: Mapped[int] = mapped_column(Integer)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChannelReferral(Base):
    """A case, incident or conduct finding forwarded to a police organisation.

    ``status``: sent | accepted | declined | concluded. ``package`` is the evidence
    package (events with inclusion proofs against a signed checkpoint, counts against
    the criminal thresholds, the triangulation result); ids only, no PI values."""

    __tablename__ = "channel_referrals"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    police_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    source_type: Mapped[str] = mapped_column(String(12))  # report | incident | conduct
    source_id: Mapped[str] = mapped_column(String(64))
    report_id: Mapped[str | None] = mapped_column(ForeignKey("channel_reports.id"))
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(12))
    package: Mapped[dict[str, Any]] = mapped_column(JSON)
    package_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    concluded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(24))
    # The police's receipt, given when they acknowledge a referral (accept it).
    receipt: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_channel_referrals_police", "police_org_id", "status"),
        Index("ix_channel_referrals_enterprise", "enterprise_id", "created_at"),
    )


class ChannelDataRequest(Base):
    """The police asking for more data on a referral, scoped. ``status``: pending |
    approved (by the enterprise) | ordered (by the supervisor) | refused. Approved and
    ordered requests are fulfilled at once with a package limited to the scope."""

    __tablename__ = "channel_data_requests"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    referral_id: Mapped[str] = mapped_column(ForeignKey("channel_referrals.id"), index=True)
    scope: Mapped[dict[str, Any]] = mapped_column(JSON)
    justification: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(12))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    requested_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    package: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ChannelReferralLog(Base):
    """Every step of a referral, who took it and when (the hand-off is auditable)."""

    __tablename__ = "channel_referral_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    referral_id: Mapped[str] = mapped_column(ForeignKey("channel_referrals.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_org_id: Mapped[str] = mapped_column(String(64))
    actor_ref: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(24))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class ChannelCanary(Base):
    """A synthetic parcel seeded to catch leaks. Its recipient's phone is a monitored
    virtual number: nobody has a reason to touch the parcel or call the number."""

    __tablename__ = "channel_canaries"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    waybill_no: Mapped[str] = mapped_column(String(32), unique=True)
    # The enterprise's own monitored line (not a person's number).
    monitored_number: Mapped[str] = mapped_column(String(20), unique=True)
    seeded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seeded_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_channel_canaries_enterprise", "enterprise_id"),)


class ChannelCanaryHit(Base):
    """One use of a canary: an access event on its waybill or a call to its number.
    ``exposed_to`` names everyone who ever had access to the canary."""

    __tablename__ = "channel_canary_hits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    canary_id: Mapped[str] = mapped_column(ForeignKey("channel_canaries.id"), index=True)
    enterprise_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))  # access | export | call
    event_id: Mapped[str | None] = mapped_column(String(64))
    actor_type: Mapped[str | None] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    exposed_to: Mapped[list[str]] = mapped_column(JSON)

    __table_args__ = (
        Index("uq_channel_canary_hits_event", "enterprise_id", "event_id", unique=True),
    )


class ChannelCanaryCursor(Base):
    """Where the canary scan has read to per enterprise: the next log position, and
    the last bulk export it looked at (exports name no waybill in their event)."""

    __tablename__ = "channel_canary_cursors"
    enterprise_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    exports_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
