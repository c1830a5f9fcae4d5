"""Conduct's domain events. Ids and figures only. ``ConductReferralRequested`` is
emitted to the outbox (core/outbox.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from parcelguard.core.messages import message


@dataclass(frozen=True)
class DecisionRecorded:
    decision_id: str
    enterprise_id: str
    employee_id: str
    kind: str
    decided_at: datetime


@message("conduct.referral_requested", version=1)
@dataclass(frozen=True)
class ConductReferralRequested:
    """Repeated low ratings met a sign of leakage: bridges/reactions.py hands this to the
    channel as ``ReferConductFinding`` (conduct and channel do not import each other)."""

    decision_id: str
    enterprise_id: str
    employee_id: str
    reason: str
    figures: dict[str, Any] = field(default_factory=dict)
