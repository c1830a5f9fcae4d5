"""Waybill tables: issued labels, the virtual-number pool and bindings, partners,
processing contracts and the record of shares.

None of them holds PI. Labels keep only a hash of their QR token; bindings name the
recipient by pseudonymous subject id and the courier by employee id; a share row
records what was given to whom, not the values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from parcelguard.core.db import Base, UTCDateTime

# A binding is live until the sweep (or an unbind) sets expired_at; the partial
# unique indexes below hold only among live bindings, so numbers are reused.
_LIVE = "expired_at IS NULL"


class WaybillLabel(Base):
    """One issued (printed) privacy label. Reprints are new rows: bursts of
    reprints are a known leak path, so each one is counted."""

    __tablename__ = "waybill_labels"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    waybill_no: Mapped[str] = mapped_column(String(32))
    # SHA-256 of the QR token: a stolen table cannot be turned back into tokens.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    binding_id: Mapped[str | None] = mapped_column(ForeignKey("waybill_virtual_bindings.id"))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_waybill_labels_enterprise_waybill", "enterprise_id",
                            "waybill_no"),)


class VirtualNumber(Base):
    """A host number leased from the telephony provider (virtual-operator ranges
    170/171). One number serves many bindings: AXN with distinct extensions, AXB
    with distinct parties."""

    __tablename__ = "waybill_virtual_numbers"
    number: Mapped[str] = mapped_column(String(20), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    mode: Mapped[str] = mapped_column(String(8))  # axb | axn_ext
    leased_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_waybill_virtual_numbers_enterprise_mode", "enterprise_id",
                            "mode"),)


class VirtualBinding(Base):
    """A virtual number bound between a parcel's recipient and (once assigned) its
    delivery courier, valid for the courier inside the assignment window and for
    the parcel until delivery plus the grace period."""

    __tablename__ = "waybill_virtual_bindings"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    waybill_no: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(8))
    number: Mapped[str] = mapped_column(ForeignKey("waybill_virtual_numbers.number"))
    extension: Mapped[str | None] = mapped_column(String(4))
    recipient_subject_id: Mapped[str] = mapped_column(String(64))
    courier_id: Mapped[str | None] = mapped_column(ForeignKey("employees.id"))
    assignment_id: Mapped[str | None] = mapped_column(ForeignKey("assignments.id"))
    window_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    window_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bound_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("uq_waybill_virtual_bindings_live_waybill", "enterprise_id", "waybill_no",
              unique=True, sqlite_where=text(_LIVE), postgresql_where=text(_LIVE)),
        # AXN: one live binding per (host number, extension).
        Index("uq_waybill_virtual_bindings_live_extension", "number", "extension",
              unique=True, sqlite_where=text(f"{_LIVE} AND mode = 'axn_ext'"),
              postgresql_where=text(f"{_LIVE} AND mode = 'axn_ext'")),
        # AXB: on one number each party is in at most one live binding, or a call
        # from that party could not be routed unambiguously.
        Index("uq_waybill_virtual_bindings_live_axb_courier", "number", "courier_id",
              unique=True, sqlite_where=text(f"{_LIVE} AND mode = 'axb'"),
              postgresql_where=text(f"{_LIVE} AND mode = 'axb'")),
        Index("uq_waybill_virtual_bindings_live_axb_recipient", "number",
              "recipient_subject_id", unique=True,
              sqlite_where=text(f"{_LIVE} AND mode = 'axb'"),
              postgresql_where=text(f"{_LIVE} AND mode = 'axb'")),
        Index("ix_waybill_virtual_bindings_expired_at", "expired_at"),
    )


class Partner(Base):
    """A partner carrier or outlet PI may be shared with, and its public key."""

    __tablename__ = "waybill_partners"
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"),
                                               primary_key=True)
    partner_id: Mapped[str] = mapped_column(String(48), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # third_party: a separate processor (PIPL Art. 23, separate consent);
    # entrusted: processes on our behalf under a contract (Art. 21).
    relationship: Mapped[str] = mapped_column(String(16))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # raw X25519, 32 bytes
    key_id: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProcessingContract(Base):
    """An entrusted-processing contract (Art. 21): which fields, for how long."""

    __tablename__ = "waybill_processing_contracts"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    partner_id: Mapped[str] = mapped_column(String(48))
    reference: Mapped[str] = mapped_column(String(100))
    fields: Mapped[list[str]] = mapped_column(JSON)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_waybill_processing_contracts_partner", "enterprise_id",
                            "partner_id"),)


class ImpactAssessment(Base):
    """A PI protection impact assessment (PIPL Arts. 55-56) recorded before PI goes to
    a partner (provided to a separate processor, or entrusted): which fields, what it
    concluded, who assessed; kept at least three years (Art. 56) and never edited."""

    __tablename__ = "waybill_impact_assessments"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    partner_id: Mapped[str] = mapped_column(String(48))
    fields: Mapped[list[str]] = mapped_column(JSON)
    # Art. 56: lawfulness and necessity, the effect on the people and the risks, and
    # whether the protection measures fit the risk
    conclusion: Mapped[str] = mapped_column(String(2000))
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    assessed_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_waybill_impact_assessments_partner", "enterprise_id",
                            "partner_id"),)


class Share(Base):
    """Every attempt to share a parcel's PI with a partner, allowed or refused: the
    enterprise's record of what it gave to whom and on which basis."""

    __tablename__ = "waybill_shares"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    partner_id: Mapped[str] = mapped_column(String(48))
    waybill_no: Mapped[str] = mapped_column(String(32))
    fields: Mapped[list[Any]] = mapped_column(JSON)
    outcome: Mapped[str] = mapped_column(String(8))  # allowed | denied
    basis: Mapped[str | None] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(String(200))
    actor_id: Mapped[str] = mapped_column(String(64))
    payload_sha256: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_waybill_shares_enterprise_waybill", "enterprise_id",
                            "waybill_no"),)
