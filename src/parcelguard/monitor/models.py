"""Monitor tables: where each enterprise's log has been read to, the detectors'
state, and the alerts. The runner writes all three in one transaction per
micro-batch, so a crash loses or repeats nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Float, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from parcelguard.core.db import Base, UTCDateTime


class MonitorCursor(Base):
    """The next log position (``ledger_events.seq``) the monitor reads per enterprise."""

    __tablename__ = "monitor_cursors"
    enterprise_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MonitorState(Base):
    """Serialised (MessagePack) state of one key: a subject (``s``), a waybill
    (``w``) or the peer baselines (``b``). ``last_us`` is the key's last event time,
    for expiry."""

    __tablename__ = "monitor_state"
    enterprise_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(1), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    last_us: Mapped[int] = mapped_column(BigInteger)


class MonitorAlert(Base):
    """An alert (contracts/alert.schema.json plus its handling). ``open_key`` is
    ``enterprise|detector|subject`` while the alert is open or acknowledged and NULL
    once closed: the unique index makes it one open alert per subject and detector."""

    __tablename__ = "monitor_alerts"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(64))
    detector: Mapped[str] = mapped_column(String(40))
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(128))
    severity: Mapped[str] = mapped_column(String(8))
    score: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))  # open | acknowledged | closed
    open_key: Mapped[str | None] = mapped_column(String(240))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_event_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_event_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # microseconds as well: the runner folds evidence exactly, datetimes round on SQLite
    raised_us: Mapped[int] = mapped_column(BigInteger)
    first_us: Mapped[int] = mapped_column(BigInteger)
    last_us: Mapped[int] = mapped_column(BigInteger)
    event_ids: Mapped[list[str]] = mapped_column(JSON)
    record_count: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(String(500))
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # why it was closed (service.CLOSE_REASONS) and by whom: a closed alert must say
    # whether it was handled, a false positive or carried into an incident
    closed_by: Mapped[str | None] = mapped_column(String(64))
    close_reason: Mapped[str | None] = mapped_column(String(24))
    close_note: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        Index("uq_monitor_alerts_open_key", "open_key", unique=True),
        Index("ix_monitor_alerts_enterprise_raised", "enterprise_id", "raised_us"),
    )
