"""What evaluators read, loaded once per (enterprise, period) and shared by every
control of an engagement: the period's access events from the ledger (decoded from
their leaves, which carry no PI), the roster and its history, table availability.

Tables of capabilities in the same architectural row (incidents, supervision) are
read with SQL text after checking they exist, never by importing their packages.
A control whose tables do not exist yet reports "not evaluable" and starts counting
by itself once a migration creates them.

Scale note: the embedded deployment evaluates from the live tables in one pass per
engagement (a few hundred thousand events a second). A national node would feed the
same evaluators from the Parquet lake; the evaluators only see these accessors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from parcelguard.audit.model import Period
from parcelguard.ledger import read as ledger_read
from parcelguard.logistics import read as logistics_read
from parcelguard.logistics.read import EmployeeInfo

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Actions that touch PI values (login attempts carry no fields).
PI_ACTIONS = frozenset({"reveal", "search", "export", "print_label", "share", "update",
                        "delete"})


class Access(msgspec.Struct, gc=False):
    """The parts of an access event's leaf the controls use."""

    actor_type: str
    actor_id: str
    action: str
    fields: list[str]
    outcome: str
    record_count: int = 0
    waybill_no: str | None = None
    purpose: str = "other"


class _Roster(msgspec.Struct, gc=False):
    employee_id: str
    change: str
    background_check: str | None = None


_access = msgspec.json.Decoder(Access)
_roster = msgspec.json.Decoder(_Roster)


@dataclass(frozen=True, slots=True)
class AccessRow:
    event_id: str
    at_us: int
    ev: Access

    @property
    def at(self) -> datetime:
        return from_us(self.at_us)


def from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


@dataclass(frozen=True)
class RosterHistory:
    check_passed: dict[str, int]
    left: dict[str, int]
    trained: dict[str, int]


@dataclass(frozen=True)
class AttestationView:
    confirmed: bool
    evidence_ref: str
    evidence_sha256: str


@dataclass
class Ctx:
    """One enterprise and period, as the evaluators see it."""

    session: Session
    enterprise_id: str
    period: Period
    attestations: Mapping[str, AttestationView] = field(default_factory=dict)
    engagement_id: str | None = None
    # When the evaluation runs: deadlines still running then are not counted yet.
    now: datetime | None = None
    _cache: dict[str, Any] = field(default_factory=dict)

    def has_tables(self, *names: str) -> bool:
        if "tables" not in self._cache:
            self._cache["tables"] = set(inspect(self.session.connection()).get_table_names())
        tables: set[str] = self._cache["tables"]
        return all(n in tables for n in names)

    def access_events(self) -> list[AccessRow]:
        """The period's access events, in log order."""
        if "access" not in self._cache:
            rows = ledger_read.events(self.session, self.enterprise_id, kind="access",
                                      since_us=self.period.start_us,
                                      until_us=self.period.end_us)
            decode = _access.decode
            self._cache["access"] = [AccessRow(r[1], r[2], decode(r[3])) for r in rows]
        out: list[AccessRow] = self._cache["access"]
        return out

    def pi_accesses(self, *, allowed: bool | None = True,
                    actor_type: str | None = None) -> list[AccessRow]:
        """Access events that touch PI values, filtered by outcome and actor type."""
        return [r for r in self.access_events()
                if r.ev.action in PI_ACTIONS and r.ev.fields
                and (allowed is None or (r.ev.outcome == "allowed") == allowed)
                and (actor_type is None or r.ev.actor_type == actor_type)]

    def employees(self) -> dict[str, EmployeeInfo]:
        if "employees" not in self._cache:
            self._cache["employees"] = {e.id: e for e in logistics_read.roster(
                self.session, self.enterprise_id)}
        out: dict[str, EmployeeInfo] = self._cache["employees"]
        return out

    @property
    def cutoff(self) -> datetime:
        """When deadlines are judged: the evaluation time (a complaint received in the
        period and answered in time after it ends counts as answered in time), or the
        end of the period when none is given."""
        return self.now or self.period.end

    def roster_history(self) -> RosterHistory:
        """From the ledger's roster events up to the end of the period: when each
        employee's background check first passed, when they left and when they last
        completed training (UTC microseconds)."""
        if "roster" not in self._cache:
            passed: dict[str, int] = {}
            left: dict[str, int] = {}
            trained: dict[str, int] = {}
            rows = ledger_read.events(self.session, self.enterprise_id, kind="employee",
                                      until_us=self.period.end_us)
            for _, _, us, leaf in rows:
                ev = _roster.decode(leaf)
                if ev.background_check == "passed":
                    passed[ev.employee_id] = min(us, passed.get(ev.employee_id, us))
                if ev.change == "left":
                    left[ev.employee_id] = min(us, left.get(ev.employee_id, us))
                if ev.change == "training_completed":
                    trained[ev.employee_id] = max(us, trained.get(ev.employee_id, us))
            self._cache["roster"] = RosterHistory(passed, left, trained)
        out: RosterHistory = self._cache["roster"]
        return out


def to_us(when: datetime) -> int:
    return (when - _EPOCH) // timedelta(microseconds=1)


def share(good: int, total: int) -> float:
    return good / total if total else 1.0
