"""What conduct publishes (after commit, on the bus). Ids and figures only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class DecisionRecorded:
    decision_id: str
    enterprise_id: str
    employee_id: str
    kind: str
    decided_at: datetime


@dataclass(frozen=True)
class ConductReferralRequested:
    """Repeated low ratings met a sign of leakage: the wiring hands this to the
    channel as ``ReferConductFinding`` (conduct and channel do not import each other)."""

    decision_id: str
    enterprise_id: str
    employee_id: str
    reason: str
    figures: dict[str, Any] = field(default_factory=dict)
