"""Domain events the supervision department emits to the outbox (core/outbox.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from parcelguard.core.messages import message


@message("supervision.ledger_tamper_detected", version=1)
@dataclass(frozen=True)
class LedgerTamperDetected:
    """A checkpoint of an enterprise's log could not be shown to extend the last one
    the witness accepted: history was rewritten, reordered, truncated or forked.

    Carries ids and sizes only; the evidence (both checkpoints and the failed proof)
    is in the finding, which the monitor turns into an alert."""

    enterprise_id: str
    finding_id: int
    accepted_size: int
    presented_size: int | None
    reason: str
    detected_at: datetime
