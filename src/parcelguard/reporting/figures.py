"""The figures of the supervision report, read from the database. Each query is
guarded by the tables it needs: a database without incidents, channel or audit
tables yet gives an empty series and the report says the figure is not available.
Only counts and pseudonymous ids: nothing here reads PI."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

US_PER_HOUR = 3_600_000_000


@dataclass
class Figures:
    events_by_hour: list[tuple[datetime, str, int]] = field(default_factory=list)
    alerts_by_detector: list[tuple[str, str, int]] = field(default_factory=list)
    detect_minutes: list[tuple[str, float]] = field(default_factory=list)
    incidents_by_grade: list[tuple[str, str, int]] | None = None
    reports_timeliness: list[tuple[str, str, int]] | None = None
    channel_by_day: list[tuple[str, str, int]] | None = None
    scorecards: list[tuple[str, float, float | None]] | None = None
    enterprises: int = 0
    events: int = 0


def _tables(session: Session) -> set[str]:
    return set(inspect(session.connection()).get_table_names())


def _rows(session: Session, sql: str, **params: Any) -> list[Any]:
    return list(session.execute(text(sql), params))


_DISPLAY_TZ = ZoneInfo("Asia/Shanghai")


def _day(value: Any) -> str:
    """The day on the China Standard Time calendar (the report's clock)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(_DISPLAY_TZ).date().isoformat()
    return str(value)[:10]


def _ledger(session: Session, f: Figures) -> None:
    # Integer division by an hour in microseconds: portable SQL, one index-free scan.
    for hour, kind, n in _rows(session, "SELECT occurred_at_us / :h AS hour, kind, COUNT(*) "
                               "FROM ledger_events GROUP BY hour, kind ORDER BY hour",
                               h=US_PER_HOUR):
        f.events_by_hour.append((datetime.fromtimestamp(int(hour) * 3600, UTC), kind, int(n)))
        f.events += int(n)


def _monitor(session: Session, f: Figures) -> None:
    f.alerts_by_detector = [(d, s, int(n)) for d, s, n in _rows(
        session, "SELECT detector, severity, COUNT(*) FROM monitor_alerts "
        "GROUP BY detector, severity ORDER BY detector")]
    f.detect_minutes = [(d, max(0.0, (int(r) - int(first)) / 60e6)) for d, r, first in _rows(
        session, "SELECT detector, raised_us, first_us FROM monitor_alerts")]


def _reports(session: Session, f: Figures) -> None:
    f.reports_timeliness = []
    for kind, status, on_time, n in _rows(
            session, "SELECT kind, status, on_time, COUNT(*) FROM incident_reports "
            "WHERE due_at IS NOT NULL GROUP BY kind, status, on_time"):
        label = "pending" if status != "filed" else "on time" if on_time else "late"
        f.reports_timeliness.append((kind, label, int(n)))


def _channel(session: Session, f: Figures, have: set[str]) -> None:
    f.channel_by_day = []
    for col, label in (("received_at", "received"), ("acknowledged_at", "acknowledged"),
                       ("answered_at", "answered")):
        for at, n in _rows(session, f"SELECT {col}, 1 FROM channel_reports "
                           f"WHERE {col} IS NOT NULL"):
            f.channel_by_day.append((_day(at), label, int(n)))
    if "channel_referrals" in have:
        for at, n in _rows(session, "SELECT created_at, 1 FROM channel_referrals"):
            f.channel_by_day.append((_day(at), "referred to police", int(n)))


def collect(session: Session) -> Figures:
    """Every figure whose tables exist in this database."""
    have = _tables(session)
    f = Figures()
    if "ledger_events" in have:
        _ledger(session, f)
    if "organizations" in have:
        f.enterprises = int(session.execute(text(
            "SELECT COUNT(*) FROM organizations WHERE kind = 'enterprise'")).scalar_one())
    if "monitor_alerts" in have:
        _monitor(session, f)
    if "incidents" in have:
        f.incidents_by_grade = [(g, c, int(n)) for g, c, n in _rows(
            session, "SELECT grade, cause_class, COUNT(*) FROM incidents "
            "GROUP BY grade, cause_class")]
    if "incident_reports" in have:
        _reports(session, f)
    if "channel_reports" in have:
        _channel(session, f, have)
    if "audit_engagements" in have:
        f.scorecards = [(e, float(s), None if c is None else float(c)) for e, s, c in _rows(
            session, "SELECT enterprise_id, score, coverage FROM audit_engagements "
            "WHERE score IS NOT NULL ORDER BY enterprise_id")]
    return f
