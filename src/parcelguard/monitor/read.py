"""What other packages may read of the monitor: plain values, never the ORM rows
(``monitor/models.py`` is the monitor's own): an alert as stored, and the counts and
timings audits take of alerts in a period (tuples from one query)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parcelguard.monitor.models import MonitorAlert


@dataclass(frozen=True, slots=True)
class AlertInfo:
    """An alert: what was detected about whom, when, and its evidence (event ids)."""

    id: str
    enterprise_id: str
    detector: str
    subject_type: str
    subject_id: str
    severity: str
    status: str  # open | acknowledged | closed
    raised_at: datetime
    event_ids: tuple[str, ...]
    record_count: int
    summary: str


def alert(session: Session, alert_id: str) -> AlertInfo | None:
    row = session.get(MonitorAlert, alert_id)
    if row is None:
        return None
    return AlertInfo(id=row.id, enterprise_id=row.enterprise_id, detector=row.detector,
                     subject_type=row.subject_type, subject_id=row.subject_id,
                     severity=row.severity, status=row.status, raised_at=row.raised_at,
                     event_ids=tuple(row.event_ids), record_count=row.record_count,
                     summary=row.summary)


def alerts_raised(session: Session, enterprise_id: str, start: datetime, end: datetime) -> int:
    """How many alerts about the enterprise were raised in [start, end)."""
    return int(session.scalar(select(func.count()).select_from(MonitorAlert).where(
        MonitorAlert.enterprise_id == enterprise_id, MonitorAlert.raised_at >= start,
        MonitorAlert.raised_at < end)) or 0)


def employee_alerts(session: Session, enterprise_id: str, severities: Sequence[str],
                    start: datetime, end: datetime) -> list[tuple[str, datetime]]:
    """(employee, raised at) of the alerts of those severities about employees
    raised in [start, end)."""
    return [(s, at) for s, at in session.execute(
        select(MonitorAlert.subject_id, MonitorAlert.raised_at).where(
            MonitorAlert.enterprise_id == enterprise_id, MonitorAlert.subject_type == "employee",
            MonitorAlert.severity.in_(severities), MonitorAlert.raised_at >= start,
            MonitorAlert.raised_at < end))]


def alert_timings(session: Session, enterprise_id: str, start: datetime,
                  end: datetime) -> list[tuple[datetime, datetime | None, datetime | None]]:
    """(raised, acknowledged, closed) of the alerts raised in [start, end)."""
    return [(r, a, c) for r, a, c in session.execute(
        select(MonitorAlert.raised_at, MonitorAlert.acknowledged_at, MonitorAlert.closed_at)
        .where(MonitorAlert.enterprise_id == enterprise_id, MonitorAlert.raised_at >= start,
               MonitorAlert.raised_at < end))]
