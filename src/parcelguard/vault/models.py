"""Vault tables: wrapped keys only. Plaintext keys never touch the database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from parcelguard.core.db import Base, UTCDateTime


class VaultKek(Base):
    __tablename__ = "vault_keks"
    enterprise_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(8))  # primary | active | retired
    kms_key_id: Mapped[str] = mapped_column(String(64))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)  # b"" once retired
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        # Exactly one primary per enterprise: two concurrent rotations collide here.
        Index("uq_vault_keks_one_primary", "enterprise_id", unique=True,
              sqlite_where=text("status = 'primary'"),
              postgresql_where=text("status = 'primary'")),
    )


class VaultBlindIndexKey(Base):
    __tablename__ = "vault_blind_index_keys"
    enterprise_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kms_key_id: Mapped[str] = mapped_column(String(64))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)


class VaultSubjectKey(Base):
    """A data subject's wrapped data key. Deleting the row is the crypto-shred."""

    __tablename__ = "vault_subject_keys"
    enterprise_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    dek_version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kek_version: Mapped[int] = mapped_column(Integer)
    wrapped_dek: Mapped[bytes] = mapped_column(LargeBinary)
    # No index on kek_version: a rotation walks the primary key in subject order, and
    # such an index would be rewritten for every key it moves (a third of its cost).


class VaultErasure(Base):
    """A tombstone: this subject's keys were destroyed, when and why (no PI)."""

    __tablename__ = "vault_erasures"
    enterprise_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(200))


class VaultRotationJob(Base):
    """A key rotation in progress. Each batch moves ``cursor`` forward in the same
    transaction as its re-wrapped keys, so a crash loses at most one batch of work
    and a resume never does a subject twice."""

    __tablename__ = "vault_rotation_jobs"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(64), index=True)
    to_version: Mapped[int] = mapped_column(Integer)
    reencrypt: Mapped[bool] = mapped_column(default=False)
    cursor: Mapped[str] = mapped_column(String(64), default="")  # last subject_id done
    subjects_done: Mapped[int] = mapped_column(Integer, default=0)
    fields_reencrypted: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(12), default="running")  # running | done
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
