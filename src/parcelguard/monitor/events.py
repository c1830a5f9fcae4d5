"""Domain events the monitor publishes (after commit, on the bus)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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
