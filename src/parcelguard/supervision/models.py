"""Supervision tables for the checkpoint witness: the last checkpoint accepted per
enterprise, and the findings (``ledger_tamper``) a failed check leaves behind for the
monitor to raise as alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, LargeBinary, String, Text
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
