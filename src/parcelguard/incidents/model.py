"""The incident lifecycle as a pure domain object (no database, no framework).

    detected -> triaged -> contained -> reported -> resolved -> reviewed

One step forward at a time; anything else (skipping, going back, staying put) is an
``IllegalTransition``. Two moves have preconditions the law gives them:

- ``reported`` only once every initial statutory report (CAC or PIPL Art. 57, and
  the postal authority's) has been filed: the state must not claim what the
  regulator has not received;
- ``resolved`` only when the playbook's tasks are done (the emergency plan is the
  checklist the supervision department approved), and ``reviewed`` only after the
  summary report went out (CAC measures: within 30 days after handling ends).

Each accepted move records an ``IncidentMoved`` event naming who moved it and when.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from itertools import pairwise
from typing import Final

from parcelguard.core.errors import Conflict, InvalidInput


class State(StrEnum):
    DETECTED = "detected"
    TRIAGED = "triaged"
    CONTAINED = "contained"
    REPORTED = "reported"
    RESOLVED = "resolved"
    REVIEWED = "reviewed"


class Category(StrEnum):
    INSIDER_ABUSE = "insider_abuse"
    ACCOUNT_COMPROMISE = "account_compromise"
    EXTERNAL_ATTACK = "external_attack"
    TAMPERING = "tampering"
    MISCONFIGURATION = "misconfiguration"
    PARTNER = "partner"


class CauseClass(StrEnum):
    """DOMAIN.md: subjective (staff management, weak technology, missing encryption)
    or objective (hacker attacks, malicious third-party tampering)."""

    SUBJECTIVE = "subjective"
    OBJECTIVE = "objective"


class Disposition(StrEnum):
    """How a case ended when it is closed (resolved), as incident-response tools
    record it: the regulator reads the disposition with the reason."""

    CONFIRMED_BREACH = "confirmed_breach"
    CONTAINED_NO_HARM = "contained_no_harm"
    FALSE_POSITIVE = "false_positive"
    DUPLICATE = "duplicate"


# The usual cause of each category; the handler may say otherwise (an insider who
# rented out an account is subjective even though outsiders drove it).
DEFAULT_CAUSE: Final[dict[Category, CauseClass]] = {
    Category.INSIDER_ABUSE: CauseClass.SUBJECTIVE,
    Category.ACCOUNT_COMPROMISE: CauseClass.SUBJECTIVE,  # rented or shared accounts
    Category.EXTERNAL_ATTACK: CauseClass.OBJECTIVE,
    Category.TAMPERING: CauseClass.OBJECTIVE,
    Category.MISCONFIGURATION: CauseClass.SUBJECTIVE,
    Category.PARTNER: CauseClass.OBJECTIVE,
}

ORDER: Final = tuple(State)
NEXT: Final[dict[State, State]] = dict(pairwise(ORDER))
OPEN_STATES: Final = frozenset(ORDER[:4])  # still being handled: evidence may be added


class IllegalTransition(Conflict):
    code = "illegal_transition"


@dataclass(frozen=True)
class Facts:
    """What the service knows when a move is asked for."""

    initial_reports_pending: int = 0
    open_tasks: int = 0
    summary_filed: bool = False


@dataclass(frozen=True)
class IncidentMoved:
    """Domain event: an incident changed state (returned by the service)."""

    incident_id: str
    enterprise_id: str
    from_state: str
    to_state: str
    at: datetime
    by: str
    note: str = ""


@dataclass
class Lifecycle:
    """An incident's state and the time of its last move; ``events`` collects the
    moves made through this object for the service to publish."""

    incident_id: str
    enterprise_id: str
    state: State = State.DETECTED
    last_at: datetime | None = None
    events: list[IncidentMoved] = field(default_factory=list)

    def can_move(self, to: State) -> bool:
        return NEXT.get(self.state) == to

    def move(self, to: State | str, *, at: datetime, by: str, facts: Facts,
             note: str = "") -> IncidentMoved:
        """Move one step forward, or refuse with the reason."""
        try:
            target = State(to)
        except ValueError:
            raise InvalidInput(f"unknown state {to!r}; states: "
                               f"{', '.join(s.value for s in ORDER)}") from None
        if not self.can_move(target):
            nxt = NEXT.get(self.state)
            allowed = f"only {nxt.value}" if nxt else "none (the incident is closed)"
            raise IllegalTransition(f"an incident cannot move from {self.state.value} to "
                                    f"{target.value}; next allowed: {allowed}")
        if at.tzinfo is None:
            raise InvalidInput("transition time needs a time zone")
        if self.last_at is not None and at < self.last_at:
            raise IllegalTransition("a move cannot be dated before the previous one")
        self._guard(target, facts)
        moved = IncidentMoved(self.incident_id, self.enterprise_id, self.state.value,
                              target.value, at, by, note)
        self.state, self.last_at = target, at
        self.events.append(moved)
        return moved

    @staticmethod
    def _guard(target: State, facts: Facts) -> None:
        if target is State.REPORTED and facts.initial_reports_pending:
            raise IllegalTransition(f"{facts.initial_reports_pending} initial report(s) are "
                                    "not filed yet; file them before marking it reported")
        if target is State.RESOLVED and facts.open_tasks:
            raise IllegalTransition(f"{facts.open_tasks} playbook task(s) are still open")
        if target is State.REVIEWED and not facts.summary_filed:
            raise IllegalTransition("the summary report is not filed yet")
