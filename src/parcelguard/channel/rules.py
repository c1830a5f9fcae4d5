"""The channel's lifecycles and deadlines, in plain Python.

A report moves ``received -> acknowledged -> answered -> closed``; a referral to the
police ``sent -> accepted -> concluded`` (or ``declined``); a data request
``pending -> approved | ordered | refused``. Each transition is a function that
refuses an illegal move with ``Conflict``, so every caller (API, CLI, demo, the
plugins' handlers) gets the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from parcelguard.core.errors import Conflict, InvalidInput

REPORT_KINDS: Final = ("pi_leak", "scam_call", "misconduct")
REPORT_STATUSES: Final = ("received", "acknowledged", "answered", "closed")
LINK_TYPES: Final = ("waybill", "employee", "station", "alert", "incident")
REFERRAL_SOURCES: Final = ("report", "incident", "conduct")
REFERRAL_STATUSES: Final = ("sent", "accepted", "declined", "concluded")
# What the police may conclude, as told to the reporter: fixed codes, so the message
# the reporter reads never carries details of the investigation or other people.
POLICE_OUTCOMES: Final = {
    "case_filed": "立案侦查 / a criminal case was opened",
    "suspect_identified": "已查明嫌疑人 / a suspect was identified",
    "administrative_penalty": "给予行政处罚 / an administrative penalty was imposed",
    "no_crime": "经审查未发现违法犯罪 / no offence was found",
    "transferred": "已移交其他机关 / the case was transferred to another authority",
}
DATA_REQUEST_STATUSES: Final = ("pending", "approved", "ordered", "refused")
DATA_SCOPE_KEYS: Final = frozenset({"waybills", "actor_ids", "from", "to"})
MAX_SCOPE_ITEMS: Final = 1_000

# Postal Law: complaints are answered within 30 days (the settings may only shorten it).
ANSWER_DAYS_LIMIT: Final = 30


@dataclass(frozen=True)
class Deadlines:
    ack_due: datetime
    answer_due: datetime


def deadlines(received_at: datetime, *, ack_hours: int, answer_days: int) -> Deadlines:
    """When the acknowledgement and the answer are due."""
    days = min(answer_days, ANSWER_DAYS_LIMIT)
    return Deadlines(received_at + timedelta(hours=ack_hours), received_at + timedelta(days=days))


def check_kind(kind: str) -> str:
    if kind not in REPORT_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(REPORT_KINDS)}")
    return kind


def acknowledge(status: str) -> str:
    if status != "received":
        raise Conflict(f"a report that is {status} cannot be acknowledged again")
    return "acknowledged"


def answer(status: str) -> str:
    """The enterprise's answer to the reporter; acknowledging first is implied."""
    if status not in ("received", "acknowledged"):
        raise Conflict(f"a report that is {status} cannot be answered")
    return "answered"


def close(status: str) -> str:
    if status != "answered":
        raise Conflict("a report is closed only after it was answered")
    return "closed"


def may_message(status: str) -> None:
    if status == "closed":
        raise Conflict("the report is closed; file a new report")


def ack_on_time(acknowledged_at: datetime | None, due: datetime) -> bool:
    return acknowledged_at is not None and acknowledged_at <= due


def overdue(done_at: datetime | None, due: datetime, now: datetime) -> bool:
    """Still not done and past its deadline."""
    return done_at is None and now > due


# -- referrals ------------------------------------------------------------------------


def accept_referral(status: str) -> str:
    if status != "sent":
        raise Conflict(f"a referral that is {status} cannot be accepted")
    return "accepted"


def decline_referral(status: str) -> str:
    if status != "sent":
        raise Conflict(f"a referral that is {status} cannot be declined")
    return "declined"


def conclude_referral(status: str, outcome: str) -> str:
    if outcome not in POLICE_OUTCOMES:
        raise InvalidInput(f"outcome must be one of {', '.join(POLICE_OUTCOMES)}")
    if status != "accepted":
        raise Conflict("only an accepted referral can be concluded")
    return "concluded"


def may_request_data(status: str) -> None:
    if status != "accepted":
        raise Conflict("data can be requested only on an accepted referral")


def decide_data_request(status: str, decision: str) -> str:
    """``decision``: approved (enterprise), ordered (supervisor) or refused (enterprise).
    A refused request can still be ordered by the supervisor."""
    if decision not in ("approved", "ordered", "refused"):
        raise InvalidInput("decision must be approved, ordered or refused")
    if status == "pending" or (status == "refused" and decision == "ordered"):
        return decision
    raise Conflict(f"a data request that is {status} cannot be {decision}")


def check_scope(scope: dict[str, object]) -> dict[str, object]:
    """A data request names what it wants: waybills and/or actor ids, optionally a
    time range; nothing open-ended (a request without them would be a fishing trip)."""
    unknown = set(scope) - DATA_SCOPE_KEYS
    if unknown:
        raise InvalidInput(f"unknown scope keys: {', '.join(sorted(unknown))}")
    lists = [scope.get("waybills") or [], scope.get("actor_ids") or []]
    if not any(lists):
        raise InvalidInput("a data request names waybills or actor ids")
    for items in lists:
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise InvalidInput("waybills and actor_ids are lists of strings")
        if len(items) > MAX_SCOPE_ITEMS:
            raise InvalidInput(f"at most {MAX_SCOPE_ITEMS} items per list")
    for key in ("from", "to"):
        value = scope.get(key)
        if value is not None:
            try:
                parsed = datetime.fromisoformat(str(value))
            except ValueError:
                raise InvalidInput(f"{key}: an RFC 3339 time with an offset") from None
            if parsed.tzinfo is None:
                raise InvalidInput(f"{key}: an RFC 3339 time with an offset")
    return scope
