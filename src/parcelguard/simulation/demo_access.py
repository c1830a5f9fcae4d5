"""The gate in the demo: a realistic mix of attempts on the demo database.

Assigned couriers and customer service reveal inside their assignment windows
(allowed); then the refusals the court cases are about: parcels not assigned to
the caller, windows that ended, assignments for another purpose, employees who
left or were never cleared, roles asking for fields they may not see, a
suspended courier, searches by the wrong role, bulk exports without a second
person, break-glass with and without a justification. Every attempt goes through
``AccessGate`` and leaves one access event in the enterprise's log, so the demo's
ledger now holds gate decisions next to the simulated stream.

Only counts come back; the values the gate revealed stay in this function.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import pairwise
from random import Random
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parcelguard.access import suspensions
from parcelguard.access.caller import caller_for_employee
from parcelguard.access.policy import EXPORT_APPROVAL_THRESHOLD, RECIPIENT, SENDER
from parcelguard.access.service import AccessGate
from parcelguard.access.trail import Outcome
from parcelguard.core.clock import ManualClock
from parcelguard.logistics.models import Assignment, Employee, Parcel
from parcelguard.vault.service import VaultService

_FIELDS = {"delivery": sorted(RECIPIENT), "pickup": sorted(SENDER),
           "customer_service": ["recipient_name", "recipient_phone"]}
_O = TypeVar("_O", bound=Outcome)
_JUSTIFICATION = "收件人投诉包裹被他人冒领，需核实收件信息后配合警方调查"


class _Run:
    def __init__(self, session: Session, vault: VaultService, now: datetime) -> None:
        self.clock = ManualClock(now)
        self.gate = AccessGate(session, vault, self.clock)
        self.session = session
        self.now = now
        self.by_reason: Counter[str] = Counter()
        self.by_action: Counter[tuple[str, str]] = Counter()

    def note(self, action: str, out: _O) -> _O:
        self.by_action[(action, "allowed" if out.allowed else "denied")] += 1
        if not out.allowed:
            self.by_reason[out.reason] += 1
        return out

    def reveal(self, emp: Employee, *, waybill: str, purpose: str, at: datetime,
               fields: list[str] | None = None) -> Outcome:
        self.clock.set(at)
        caller = caller_for_employee(emp.enterprise_id, emp.id, emp.role, channel="pda")
        return self.note("reveal", self.gate.reveal(
            caller, waybill_no=waybill, purpose=purpose,
            fields=fields or _FIELDS.get(purpose, ["recipient_phone"])))


def _mid(a: Assignment) -> datetime:
    return a.starts_at + (a.ends_at - a.starts_at) / 2


def _employees(session: Session, **where: Any) -> list[Employee]:
    stmt = select(Employee).filter_by(**where).order_by(Employee.id)
    return list(session.scalars(stmt))


def exercise_gate(session: Session, vault: VaultService, now: datetime, *,
                  sample: int = 200, seed: int = 7) -> dict[str, Any]:
    """Drive about ``sample`` attempts through the gate on the demo database (after
    its world is loaded) and return ``{"attempts", "allowed", "denied",
    "denied_by_reason", "by_action", "break_glass_flagged", "export_records"}``.
    Attempts happen at simulated times up to ``now``. Deterministic for a seed."""
    rng = Random(seed)
    run = _Run(session, vault, now)
    rows: list[tuple[Assignment, Employee]] = [(a, e) for a, e in session.execute(
        select(Assignment, Employee).join(Employee, Employee.id == Assignment.employee_id)
        .where(Employee.status == "active", Employee.background_check == "passed",
               Assignment.revoked.is_(False), Assignment.starts_at < now,
               # Sorting assignments are for printing masked labels, not for reveals.
               Assignment.purpose.in_(tuple(_FIELDS)))
        .order_by(Assignment.waybill_no, Assignment.purpose).limit(sample * 4))]
    rng.shuffle(rows)
    if not rows:
        return _summary(run, flagged=0, exported=0)
    n_ok = max(1, sample // 2)
    # Allowed: inside the window, the fields the role needs for the purpose.
    for a, emp in rows[:n_ok]:
        run.reveal(emp, waybill=a.waybill_no, purpose=a.purpose, at=min(_mid(a), now))
    rest = rows[n_ok:] or rows
    # Refused: a parcel that is someone else's, at the same moment.
    for (a, emp), (b, _) in pairwise(rest[:sample // 10 + 1]):
        run.reveal(emp, waybill=b.waybill_no, purpose=a.purpose, at=min(_mid(a), now))
    # Refused: after the window ended; and for a purpose the assignment is not for.
    for a, emp in rest[:sample // 12]:
        run.reveal(emp, waybill=a.waybill_no, purpose=a.purpose,
                   at=a.ends_at + timedelta(hours=1))
    for a, emp in [r for r in rest if r[0].purpose == "pickup"][:sample // 20]:
        run.reveal(emp, waybill=a.waybill_no, purpose="delivery", at=min(_mid(a), now))
    # Refused: fields beyond the role's table.
    for a, emp in [r for r in rest if r[0].purpose == "delivery"][:sample // 20]:
        run.reveal(emp, waybill=a.waybill_no, purpose="delivery", at=min(_mid(a), now),
                   fields=["recipient_phone", "sender_id_number"])
    for a, emp in [r for r in rest if r[0].purpose == "customer_service"][:sample // 20]:
        run.reveal(emp, waybill=a.waybill_no, purpose="customer_service",
                   at=min(_mid(a), now), fields=["recipient_address"])
    # Refused: who the caller is (left, never cleared, a role that sees masked labels).
    waybills = [a.waybill_no for a, _ in rows]
    for where in ({"status": "left"}, {"background_check": "pending"},
                  {"background_check": "failed"}, {"role": "sorter"}, {"role": "warehouse"}):
        for emp in _employees(session, **where)[:max(1, sample // 40)]:
            run.reveal(emp, waybill=rng.choice(waybills), purpose="delivery", at=now)
    _suspended(run, rest, sample)
    _search(run, rows, now)
    flagged = _break_glass(run, rng.choice(waybills))
    exported = _export(run, now)
    return _summary(run, flagged=flagged, exported=exported)


def _suspended(run: _Run, rows: list[tuple[Assignment, Employee]], sample: int) -> None:
    """An intervention suspends one courier; their next reveals are refused at once."""
    mine = [r for r in rows if r[1].role == "courier"][:max(1, sample // 40)]
    if not mine:
        return
    emp = mine[0][1]
    first = min(_mid(a) for a, _ in mine)
    run.clock.set(first - timedelta(minutes=1))
    s = suspensions.suspend(run.session, enterprise_id=emp.enterprise_id, by="demo",
                            reason="demo: an alert named this account", employee_id=emp.id,
                            clock=run.clock)
    for a, _ in [r for r in rows if r[1].id == emp.id][:3]:
        run.reveal(emp, waybill=a.waybill_no, purpose=a.purpose, at=max(_mid(a), first))
    run.clock.set(run.now)
    suspensions.lift(run.session, enterprise_id=emp.enterprise_id, suspension_id=s.id,
                     by="demo", clock=run.clock)


def _search(run: _Run, rows: list[tuple[Assignment, Employee]], now: datetime) -> None:
    """Customer service finds a caller's parcels by the number they gave (taken here
    from an allowed reveal); a courier trying the same is refused."""
    cs = [(a, e) for a, e in rows if e.role == "customer_service"][:1]
    couriers = [e for _, e in rows if e.role == "courier"][:1]
    if not cs:
        return
    a, emp = cs[0]
    run.clock.set(min(_mid(a), now))
    caller = caller_for_employee(emp.enterprise_id, emp.id, emp.role)
    shown = run.gate.reveal(caller, waybill_no=a.waybill_no, purpose="customer_service",
                            fields=["recipient_phone"])
    run.note("reveal", shown)
    phone = shown.values.by_field.get("recipient_phone")
    if phone:
        run.note("search", run.gate.search_by_phone(caller, phone=phone,
                                                    purpose="customer_service"))
        for c in couriers:
            run.note("search", run.gate.search_by_phone(
                caller_for_employee(c.enterprise_id, c.id, c.role), phone=phone,
                purpose="delivery"))


def _break_glass(run: _Run, waybill: str) -> int:
    sec = _employees(run.session, role="security", status="active",
                     background_check="passed")[:1]
    if not sec:
        return 0
    run.clock.set(run.now)
    caller = caller_for_employee(sec[0].enterprise_id, sec[0].id, "security")
    parcel = run.session.scalars(select(Parcel).where(Parcel.waybill_no == waybill)).first()
    if parcel is None or parcel.enterprise_id != sec[0].enterprise_id:
        parcel = run.session.scalars(select(Parcel).where(
            Parcel.enterprise_id == sec[0].enterprise_id).limit(1)).first()
    if parcel is None:
        return 0
    run.note("break_glass", run.gate.break_glass_reveal(
        caller, waybill_no=parcel.waybill_no, fields=["recipient_phone"], justification="急"))
    ok = run.note("break_glass", run.gate.break_glass_reveal(
        caller, waybill_no=parcel.waybill_no, fields=["recipient_phone"],
        justification=_JUSTIFICATION))
    return int(ok.allowed)


def _export(run: _Run, now: datetime) -> int:
    """A security officer's bulk export: refused without a second person and when
    they approve it themselves, then approved by an administrator and run."""
    sec = _employees(run.session, role="security", status="active",
                     background_check="passed")[:1]
    if not sec:
        return 0
    emp = sec[0]
    admins = _employees(run.session, role="admin", enterprise_id=emp.enterprise_id,
                        status="active", background_check="passed")[:1]
    since = now - timedelta(days=1)
    # The busiest destination station of the last day: a realistic bulk request.
    station = run.session.scalars(
        select(Parcel.destination_station_id).where(
            Parcel.enterprise_id == emp.enterprise_id, Parcel.created_at >= since,
            Parcel.created_at < now)
        .group_by(Parcel.destination_station_id)
        .order_by(func.count().desc(), Parcel.destination_station_id).limit(1)).first()
    if station is None:
        return 0
    run.clock.set(now)
    caller = replace(caller_for_employee(emp.enterprise_id, emp.id, emp.role),
                     account_id=f"demo-{emp.id}")
    req = run.gate.request_export(caller, purpose="security",
                                  fields=["recipient_name", "recipient_phone"], scope={
                                      "station_id": station,
                                      "created_from": since.isoformat(),
                                      "created_to": now.isoformat()})
    if not req.allowed or req.request_id is None:
        run.note("export", req)
        return 0
    rid = req.request_id
    if req.needs_approval:
        run.note("export", run.gate.run_export(caller, request_id=rid))  # no approval yet
        run.note("export", run.gate.approve_export(caller, request_id=rid))  # self: refused
        if not admins:
            return 0
        approver = replace(caller_for_employee(emp.enterprise_id, admins[0].id, "admin"),
                           account_id=f"demo-{admins[0].id}")
        run.gate.approve_export(approver, request_id=rid)
    done = run.note("export", run.gate.run_export(caller, request_id=rid))
    return done.record_count if done.allowed else 0


def _summary(run: _Run, *, flagged: int, exported: int) -> dict[str, Any]:
    allowed = sum(n for (_, o), n in run.by_action.items() if o == "allowed")
    denied = sum(n for (_, o), n in run.by_action.items() if o == "denied")
    return {"attempts": allowed + denied, "allowed": allowed, "denied": denied,
            "denied_by_reason": dict(run.by_reason.most_common()),
            "by_action": {f"{a}:{o}": n for (a, o), n in sorted(run.by_action.items())},
            "break_glass_flagged": flagged, "export_records": exported,
            "export_approval_threshold": EXPORT_APPROVAL_THRESHOLD}
