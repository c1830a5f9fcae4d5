"""Supervision tables for the checkpoint witness: the last checkpoint accepted per
enterprise, and the findings (``ledger_tamper``) a failed check leaves behind for the
monitor to raise as alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from parcelguard.core.db import Base, UTCDateTime


class WitnessedCheckpoint(Base):
    """The newest checkpoint of an enterprise's log the witness has accepted.

    The verifier key is pinned here on first acceptance: later checkpoints must be
    signed by the same key, whatever the enterprise's own tables say by then."""

    __tablename__ = "supervision_witnessed_checkpoints"
    enterprise_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    origin: Mapped[str] = mapped_column(String(200))
    verifier_key: Mapped[str] = mapped_column(String(300))
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SupervisionFinding(Base):
    """Something the supervision department established about an enterprise, with
    its evidence (no PI: checkpoints, sizes, hashes). The monitor turns open findings
    into alerts."""

    __tablename__ = "supervision_findings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    enterprise_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))  # ledger_tamper
    status: Mapped[str] = mapped_column(String(16))  # open | alerted | closed
    summary: Mapped[str] = mapped_column(String(500))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_supervision_findings_enterprise", "enterprise_id", "id"),)


class TlogWitnessLog(Base):
    """C2SP tlog-witness state: per cosigner and log origin, the latest checkpoint it
    cosigned. Every add-checkpoint must start from exactly this size."""

    __tablename__ = "tlog_witness_logs"
    witness: Mapped[str] = mapped_column(String(200), primary_key=True)
    origin: Mapped[str] = mapped_column(String(200), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MirrorLog(Base):
    """A remote log this node mirrors from its tiles. ``size``/``root`` is the prefix
    mirrored and verified so far (entries below ``size`` are in ``mirror_entries``);
    ``checkpoint_*`` is the newest signed checkpoint that prefix was proved against."""

    __tablename__ = "mirror_logs"
    origin: Mapped[str] = mapped_column(String(200), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(64))
    verifier_key: Mapped[str] = mapped_column(String(300))
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    checkpoint_size: Mapped[int] = mapped_column(BigInteger)
    checkpoint_note: Mapped[str | None] = mapped_column(Text)
    refused: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MirrorEntry(Base):
    """One mirrored log entry (the remote ledger's leaf bytes: event ids, no PI)."""

    __tablename__ = "mirror_entries"
    origin: Mapped[str] = mapped_column(String(200), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    leaf: Mapped[bytes] = mapped_column(LargeBinary)


class MirrorTile(Base):
    """The mirror's own Merkle tiles over ``mirror_entries`` (ledger/tiles.py layout)."""

    __tablename__ = "mirror_tiles"
    origin: Mapped[str] = mapped_column(String(200), primary_key=True)
    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)
