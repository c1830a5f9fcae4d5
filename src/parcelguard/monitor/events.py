"""Domain events the monitor emits to the outbox (core/outbox.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from parcelguard.core.messages import message


@message("monitor.alert_raised", version=1)
@dataclass(frozen=True)
class AlertRaised:
    """A new alert was opened (evidence added to an open alert raises nothing).
    Ids only: the evidence is in the alert, readable with the right permission."""

    alert_id: str
    enterprise_id: str
    detector: str
    subject_type: str
    subject_id: str
    severity: str
    score: float
    raised_at: datetime
