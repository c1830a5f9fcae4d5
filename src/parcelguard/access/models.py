"""The gate's own records: bulk-export requests and their approvals, break-glass
uses, and suspensions of PI access.

None of these tables holds PI. Export scopes name stations, dates and waybill
numbers; break-glass justifications are checked for phone/ID-like content before
they are stored. The access events themselves live in the ledger, not here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from parcelguard.core.db import Base, UTCDateTime


class ExportRequest(Base):
    """A bulk export: requested by one person, approved by a second one when it is
    over the threshold (GB/T 35273 §7.1), run at most once before it expires.

    ``status``: pending (waiting for approval) | approved | rejected | exported.
    Expiry is a time, not a status, so nothing has to sweep the table."""

    __tablename__ = "access_export_requests"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    requester_employee_id: Mapped[str] = mapped_column(String(64))
    requester_account_id: Mapped[str | None] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(24))
    fields: Mapped[list[str]] = mapped_column(JSON)
    # {"station_id": ..., "created_from": iso, "created_to": iso} or {"waybills": [...]}
    scope: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Counted when requested: the approver approves this many records, no more.
    record_count: Mapped[int] = mapped_column(Integer)
    needs_approval: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(12))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    approver_account_id: Mapped[str | None] = mapped_column(String(64))
    approver_employee_id: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exported_count: Mapped[int | None] = mapped_column(Integer)
    # The run's access event and the waybills it returned: an export event carries a
    # count only, and the criminal count de-duplicates records across exports.
    event_id: Mapped[str | None] = mapped_column(String(64))
    exported_waybills: Mapped[list[str] | None] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_access_export_requests_status", "enterprise_id", "status", "requested_at"),
        Index("ix_access_export_requests_event_id", "enterprise_id", "event_id"),
    )


class BreakGlassRecord(Base):
    """One emergency reveal outside any assignment. Always flagged; a reviewer
    (security officer) closes it with an outcome."""

    __tablename__ = "access_break_glass"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    employee_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[str | None] = mapped_column(String(64))
    waybill_no: Mapped[str] = mapped_column(String(32))
    fields: Mapped[list[str]] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(String(24))  # the access event's purpose
    justification: Mapped[str] = mapped_column(Text)
    event_id: Mapped[str] = mapped_column(String(64))  # the access event in the ledger
    flagged: Mapped[bool] = mapped_column(Boolean, default=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_outcome: Mapped[str | None] = mapped_column(String(16))  # justified | abuse

    __table_args__ = (
        Index("ix_access_break_glass_open", "enterprise_id", "reviewed_at", "at"),
    )


class AccessSuspension(Base):
    """An employee or API key cut off from PI at the gate, effective the moment it
    is recorded (interventions, sanctions). Lifting sets ``lifted_at``; rows are
    never deleted, so who was suspended when stays on record."""

    __tablename__ = "access_suspensions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    employee_id: Mapped[str | None] = mapped_column(String(64))
    api_key_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500))
    suspended_by: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: until lifted
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by: Mapped[str | None] = mapped_column(String(64))
    # The measure that owns this suspension (an intervention id): it is lifted only
    # through that measure, so the enterprise cannot undo what the regulator ordered.
    held_by: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_access_suspensions_employee", "enterprise_id", "employee_id"),
        Index("ix_access_suspensions_api_key", "enterprise_id", "api_key_id"),
    )
