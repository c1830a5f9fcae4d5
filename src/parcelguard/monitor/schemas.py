"""Alert API shapes: the contract's fields (alert.schema.json) plus handling."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from parcelguard.monitor.models import MonitorAlert


class AlertRead(BaseModel):
    alert_id: str
    detector: str = Field(description="Stable detector name (docs/monitor.md).")
    enterprise_id: str
    subject_type: str
    subject_id: str
    severity: str
    score: float
    raised_at: datetime = Field(description="Event time at which the detector fired.")
    first_event_at: datetime
    last_event_at: datetime
    event_ids: list[str] = Field(description="Evidence (capped; record_count is the total).")
    record_count: int
    summary: str
    status: str = Field(description="open, acknowledged (seen, still open) or closed.")
    acknowledged_at: datetime | None = None
    closed_at: datetime | None = None

    @classmethod
    def of(cls, row: MonitorAlert) -> AlertRead:
        return cls(alert_id=row.id, detector=row.detector, enterprise_id=row.enterprise_id,
                   subject_type=row.subject_type, subject_id=row.subject_id,
                   severity=row.severity, score=row.score, raised_at=row.raised_at,
                   first_event_at=row.first_event_at, last_event_at=row.last_event_at,
                   event_ids=list(row.event_ids), record_count=row.record_count,
                   summary=row.summary, status=row.status,
                   acknowledged_at=row.acknowledged_at, closed_at=row.closed_at)
