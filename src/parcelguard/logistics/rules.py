"""Pure logistics rules: the parcel lifecycle and assignment windows.

No database, no framework: the service applies these and records events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from parcelguard.core.errors import Conflict, InvalidInput
from parcelguard.ledger.parcels import STEP_STATUS

# Which steps may follow a parcel in each status. A returned parcel travels back
# through the network; a closed one is final.
ALLOWED_STEPS: dict[str, frozenset[str]] = {
    "created": frozenset({"picked_up", "closed"}),
    "picked_up": frozenset({"arrived", "departed", "returned"}),
    "in_transit": frozenset({"arrived", "departed", "delivery_attempted", "delivered",
                             "returned"}),
    "out_for_delivery": frozenset({"delivery_attempted", "delivered", "returned", "arrived"}),
    "delivered": frozenset({"closed"}),
    "returned": frozenset({"arrived", "departed", "delivered", "closed"}),
    "closed": frozenset(),
}

ASSIGNMENT_PURPOSES = ("pickup", "sorting", "delivery", "customer_service")


class IllegalStep(Conflict):
    """A lifecycle step that cannot follow the parcel's current status."""


def next_status(current: str, step: str) -> str:
    """The status after ``step``; ``assigned`` keeps the status."""
    if step == "assigned":
        if current == "closed":
            raise IllegalStep("a closed parcel cannot be assigned")
        return current
    if step not in STEP_STATUS:
        raise InvalidInput(f"unknown step {step!r}")
    if step not in ALLOWED_STEPS[current]:
        raise IllegalStep(f"step {step} cannot follow status {current}")
    return STEP_STATUS[step]


@dataclass(frozen=True)
class Window:
    starts_at: datetime
    ends_at: datetime

    def __post_init__(self) -> None:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise InvalidInput("assignment windows need timezone-aware times")
        if self.ends_at <= self.starts_at:
            raise InvalidInput("an assignment window must end after it starts")

    def covers(self, when: datetime) -> bool:
        return self.starts_at <= when < self.ends_at
