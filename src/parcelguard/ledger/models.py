"""Event store tables. ``ledger_events`` holds every event of every enterprise as
its canonical bytes (the future Merkle leaf) plus the few columns queries need;
``seq`` is the event's position in its enterprise's log (0-based, gap-free)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from parcelguard.core.db import Base, UTCDateTime


class LedgerEvent(Base):
    __tablename__ = "ledger_events"
    # No foreign key to organizations: the row rate here is hundreds of thousands a
    # second and the enterprise is checked once per batch by the ingest service.
    enterprise_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))
    # UTC microseconds: portable, compact and cheap to range-scan by event time.
    occurred_at_us: Mapped[int] = mapped_column(BigInteger)
    subject_id: Mapped[str | None] = mapped_column(String(128))
    waybill_no: Mapped[str | None] = mapped_column(String(64))
    leaf: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        Index("uq_ledger_events_enterprise_event", "enterprise_id", "event_id", unique=True),
    )


class LedgerHead(Base):
    """Per-enterprise log size: the row every writer locks, so concurrent ingests
    into one enterprise's log serialise and positions never collide."""

    __tablename__ = "ledger_heads"
    enterprise_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
