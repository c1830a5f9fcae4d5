"""Stations, the employee roster, parcels and assignments.

Parcel PI is never stored in plaintext: each PI field is a vault ciphertext bound
to (enterprise, parcel, field), and phone lookups go through keyed blind indexes.
Lifecycle steps are events in the ledger, not rows here; a parcel's state and
history are the ledger's parcel projection (ledger/parcels.py), their one source.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from parcelguard.core.db import Base, UTCDateTime
from parcelguard.vault.rotation import CiphertextColumn


class Station(Base):
    __tablename__ = "stations"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(String(6))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Employee(Base):
    __tablename__ = "employees"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    station_id: Mapped[str | None] = mapped_column(ForeignKey("stations.id"))
    role: Mapped[str] = mapped_column(String(32))
    shift_start: Mapped[str | None] = mapped_column(String(5))
    shift_end: Mapped[str | None] = mapped_column(String(5))
    shift_tz: Mapped[str | None] = mapped_column(String(64))
    background_check: Mapped[str] = mapped_column(String(8), default="pending")
    trained_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(8), default="active")  # active | left
    hired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Parcel(Base):
    __tablename__ = "parcels"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    waybill_no: Mapped[str] = mapped_column(String(32), unique=True)
    origin_station_id: Mapped[str | None] = mapped_column(ForeignKey("stations.id"))
    destination_station_id: Mapped[str | None] = mapped_column(ForeignKey("stations.id"))
    destination_region: Mapped[str | None] = mapped_column(String(6))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Pseudonymous data-subject ids; their keys live in the vault (crypto-shredding).
    sender_subject_id: Mapped[str] = mapped_column(String(64), index=True)
    recipient_subject_id: Mapped[str] = mapped_column(String(64), index=True)
    sender_name_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    sender_phone_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    sender_address_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    sender_id_number_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    recipient_name_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    recipient_phone_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    recipient_address_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    # PIPL Art. 31: a sender whose ID number shows an age under 14 is a child, their PI
    # sensitive; collected only with a parent's or guardian's consent (None: no ID taken).
    sender_minor: Mapped[bool | None] = mapped_column(Boolean)
    guardian_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Blind indexes (keyed HMAC) to find a parcel by phone without decrypting.
    recipient_phone_bi: Mapped[bytes | None] = mapped_column(LargeBinary)
    recipient_phone_last4_bi: Mapped[bytes | None] = mapped_column(LargeBinary)
    sender_phone_bi: Mapped[bytes | None] = mapped_column(LargeBinary)

    __table_args__ = (
        Index("ix_parcels_enterprise_recipient_phone_bi", "enterprise_id", "recipient_phone_bi"),
        Index("ix_parcels_enterprise_recipient_last4_bi", "enterprise_id",
              "recipient_phone_last4_bi"),
        Index("ix_parcels_enterprise_sender_phone_bi", "enterprise_id", "sender_phone_bi"),
    )


class Assignment(Base):
    """An employee's purpose-bound, time-boxed responsibility for one parcel; the
    access gate allows a PI reveal only inside one of these."""

    __tablename__ = "assignments"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.id"))
    waybill_no: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(24))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        Index("ix_assignments_employee_waybill", "employee_id", "waybill_no"),
        Index("ix_assignments_enterprise_waybill", "enterprise_id", "waybill_no"),
    )


# Where parcels keep vault ciphertexts, for re-encrypting key rotations
# (core/plugin.py: ciphertext_columns); a column left out would be stranded.
CIPHERTEXT_COLUMNS = tuple(
    CiphertextColumn(table="parcels", field=f"{party}_{name}",
                     subject_column=f"{party}_subject_id", ct_column=f"{party}_{name}_ct")
    for party, names in (("sender", ("name", "phone", "address", "id_number")),
                         ("recipient", ("name", "phone", "address")))
    for name in names)
