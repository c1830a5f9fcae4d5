"""Conduct tables: one-time evaluation links, evaluations, signs of leakage noted
from elsewhere (monitor alerts, canary hits), decisions and their appeals.

No PI: a link names the waybill and the courier; an evaluation holds a rating and
fixed tags, never free text from the recipient.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from parcelguard.core.db import Base, UTCDateTime


class ConductLink(Base):
    """A one-time evaluation link sent to the recipient after delivery. Only the
    SHA-256 of its token is kept (the token carries 192 random bits)."""

    __tablename__ = "conduct_links"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    waybill_no: Mapped[str] = mapped_column(String(32))
    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("uq_conduct_links_waybill", "enterprise_id", "waybill_no", unique=True),
    )


class ConductEvaluation(Base):
    __tablename__ = "conduct_evaluations"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.id"))
    waybill_no: Mapped[str] = mapped_column(String(32))
    rating: Mapped[int] = mapped_column(Integer)
    tags: Mapped[list[str]] = mapped_column(JSON)
    privacy_flag: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_conduct_evaluations_employee", "enterprise_id", "employee_id", "at"),
    )


class ConductSignal(Base):
    """A sign of leakage about an employee from outside conduct: a monitor alert or a
    canary hit (``source``), by reference."""

    __tablename__ = "conduct_signals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    enterprise_id: Mapped[str] = mapped_column(String(64))
    employee_id: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str] = mapped_column(String(128))
    severity: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("uq_conduct_signals_ref", "enterprise_id", "employee_id", "source", "ref",
              unique=True),
    )


class ConductDecision(Base):
    """A reward or sanction. ``kind``: reward | warning | training | suspension |
    police_referral | review. ``status``: active | appealed | upheld | overturned, and
    proposed for a police referral no person has confirmed yet."""

    __tablename__ = "conduct_decisions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.id"))
    kind: Mapped[str] = mapped_column(String(16))
    rule: Mapped[str] = mapped_column(String(200))
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str] = mapped_column(String(64))
    suspension_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_conduct_decisions_employee", "enterprise_id", "employee_id", "decided_at"),
    )


class ConductAppeal(Base):
    """An appeal against a decision. ``status``: pending | upheld | overturned."""

    __tablename__ = "conduct_appeals"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    decision_id: Mapped[str] = mapped_column(ForeignKey("conduct_decisions.id"), index=True)
    grounds: Mapped[str] = mapped_column(String(1000))
    filed_by: Mapped[str] = mapped_column(String(64))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response: Mapped[str | None] = mapped_column(String(1000))
