"""Alert use cases: list (tenant-scoped; supervision reads all), acknowledge,
close, and the ledger_tamper alert raised from the supervision witness."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from parcelguard.access.policy import looks_like_pi
from parcelguard.core.clock import Clock
from parcelguard.core.errors import Conflict, InvalidInput, NotFound
from parcelguard.identity.permissions import Principal
from parcelguard.monitor.detectors import base
from parcelguard.monitor.events import AlertRaised
from parcelguard.monitor.model import US, AlertUpdate
from parcelguard.monitor.models import MonitorAlert
from parcelguard.monitor.store import apply_updates

STATUSES = ("open", "acknowledged", "closed")


@dataclass(frozen=True)
class AlertFilter:
    enterprise_id: str | None = None
    status: str | None = None
    detector: str | None = None
    subject_id: str | None = None
    severity: str | None = None
    limit: int = 100
    offset: int = 0


def _scoped(principal: Principal) -> Select[Any]:
    """Alerts the caller may read: their own enterprise's, or all with read_all."""
    principal.require("alerts:read")
    stmt = select(MonitorAlert)
    if not principal.can("alerts:read_all"):
        stmt = stmt.where(MonitorAlert.enterprise_id == principal.org_id)
    return stmt


def list_alerts(session: Session, principal: Principal, flt: AlertFilter) -> list[MonitorAlert]:
    """Newest first."""
    stmt = _scoped(principal)
    for column, value in ((MonitorAlert.enterprise_id, flt.enterprise_id),
                          (MonitorAlert.status, flt.status),
                          (MonitorAlert.detector, flt.detector),
                          (MonitorAlert.subject_id, flt.subject_id),
                          (MonitorAlert.severity, flt.severity)):
        if value is not None:
            stmt = stmt.where(column == value)
    stmt = stmt.order_by(MonitorAlert.raised_us.desc(), MonitorAlert.id)
    return list(session.scalars(stmt.limit(flt.limit).offset(flt.offset)))


def get_alert(session: Session, principal: Principal, alert_id: str) -> MonitorAlert:
    row = session.scalars(_scoped(principal).where(MonitorAlert.id == alert_id)).first()
    if row is None:  # another tenant's alert is as absent as a missing one
        raise NotFound(f"no alert {alert_id}")
    return row


def _own(session: Session, principal: Principal, alert_id: str) -> MonitorAlert:
    principal.require("alerts:ack")
    row = get_alert(session, principal, alert_id)
    if row.enterprise_id != principal.org_id:
        raise NotFound(f"no alert {alert_id}")
    return row


def acknowledge(session: Session, principal: Principal, alert_id: str, *,
                clock: Clock) -> MonitorAlert:
    """The enterprise's security staff have seen it. It stays open: evidence keeps
    accumulating until it is closed."""
    row = _own(session, principal, alert_id)
    if row.status == "closed":
        raise Conflict(f"alert {alert_id} is closed")
    if row.status == "open":
        row.status = "acknowledged"
        row.acknowledged_by = principal.account_id or principal.api_key_id
        row.acknowledged_at = clock.now()
    session.flush()
    return row


# Why an alert is closed (the portal asks for one; the CLI and API may give one).
CLOSE_REASONS = ("handled", "false_positive", "duplicate", "escalated")


def close(session: Session, principal: Principal, alert_id: str, *, clock: Clock,
          reason: str | None = None, note: str = "") -> MonitorAlert:
    """Handled. Further evidence about the subject opens a new alert. ``reason`` is
    one of ``CLOSE_REASONS``; ``note`` is free text shown to the regulator, so it
    must carry no PI."""
    if reason is not None and reason not in CLOSE_REASONS:
        raise InvalidInput(f"reason: one of {', '.join(CLOSE_REASONS)}")
    clean = " ".join(note.split())
    if len(clean) > 500:
        raise InvalidInput("note: at most 500 characters")
    if clean and looks_like_pi(clean):
        raise InvalidInput("note: no phone numbers, ID numbers or e-mail addresses")
    row = _own(session, principal, alert_id)
    if row.status != "closed":
        row.status, row.open_key, row.closed_at = "closed", None, clock.now()
        row.closed_by = principal.account_id or principal.api_key_id
        row.close_reason, row.close_note = reason, clean or None
    session.flush()
    return row


class TamperFinding(Protocol):
    """What ledger_tamper needs of the witness's LedgerTamperDetected (structural, so
    the monitor does not import the supervision package, which sits above it)."""

    @property
    def enterprise_id(self) -> str: ...
    @property
    def finding_id(self) -> int: ...
    @property
    def reason(self) -> str: ...
    @property
    def detected_at(self) -> datetime: ...


def raise_ledger_tamper(session: Session, finding: TamperFinding, *,
                        cap: int = 500) -> list[AlertRaised]:
    """A ledger_tamper alert about the enterprise's log; the witness's finding is the
    evidence. The reaction supervision/plugin.py registers for LedgerTamperDetected; repeated
    findings join the open alert."""
    t = int(finding.detected_at.timestamp() * US)
    update = AlertUpdate(
        enterprise_id=finding.enterprise_id, detector="ledger_tamper", subject_type="ledger",
        subject_id=finding.enterprise_id, fire=True, t_us=t, first_us=t,
        event_ids=[f"supervision-finding:{finding.finding_id}"], score=base("ledger_tamper"),
        summary=f"the log of {finding.enterprise_id} failed the witness: "
        f"{finding.reason}"[:500])
    return apply_updates(session, [update], cap=cap)
