"""Controls on who touched PI: reveals inside assignments, background checks before
access, no access after leaving, few attempts beyond one's scope. Measured on the
ledger's access events (ids and field names only) against the roster."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from parcelguard.access import read as access_read
from parcelguard.audit.controls.context import Ctx, share, to_us
from parcelguard.audit.model import Measurement
from parcelguard.logistics import read as logistics_read


def reveal_assignment(ctx: Ctx, params: Mapping[str, Any]) -> Measurement:
    """Share of allowed reveals inside an unrevoked assignment of the revealing
    employee for that waybill and purpose; break-glass reveals are left out (each is
    flagged and reviewed), external actors' reveals are never covered."""
    s, ent, p = ctx.session, ctx.enterprise_id, ctx.period
    reveals = [r for r in ctx.access_events()
               if r.ev.action == "reveal" and r.ev.outcome == "allowed"]
    if not reveals:
        return Measurement.not_evaluable("no PI was revealed in the period")
    glass = access_read.break_glass_event_ids(s, ent, p.start, p.end)
    windows: dict[tuple[str, str, str], list[tuple[int, int]]] = {}
    for emp, waybill, purpose, start, end in logistics_read.assignment_windows(
            s, ent, overlapping=(p.start, p.end)):
        windows.setdefault((emp, waybill, purpose), []).append((to_us(start), to_us(end)))
    counted = covered = 0
    uncovered: Counter[str] = Counter()
    employees: set[str] = set()
    for r in reveals:
        if r.event_id in glass:
            continue
        counted += 1
        ev = r.ev
        spans = (windows.get((ev.actor_id, ev.waybill_no or "", ev.purpose), [])
                 if ev.actor_type == "employee" else [])
        if any(a <= r.at_us < b for a, b in spans):
            covered += 1
        else:
            uncovered[ev.actor_type] += 1
            if ev.actor_type == "employee":
                employees.add(ev.actor_id)
    if not counted:
        return Measurement.not_evaluable("every reveal in the period was a break-glass use",
                                         break_glass=len(glass))
    value = covered / counted
    return Measurement(value, f"{covered:,} of {counted:,} allowed reveals were inside an "
                       f"assignment ({value:.2%})",
                       {"reveals": counted, "covered": covered,
                        "uncovered_by_actor_type": dict(uncovered),
                        "employees_with_uncovered_reveals": len(employees),
                        "break_glass_excluded": len(reveals) - counted})


def background_check(ctx: Ctx, params: Mapping[str, Any]) -> Measurement:
    """Share of employees who accessed PI in the period whose background check had
    passed before each of their accesses."""
    first_access: dict[str, int] = {}
    for r in ctx.pi_accesses(actor_type="employee"):
        first_access[r.ev.actor_id] = min(r.at_us, first_access.get(r.ev.actor_id, r.at_us))
    if not first_access:
        return Measurement.not_evaluable("no employee accessed PI in the period")
    passed = ctx.roster_history().check_passed
    roster = ctx.employees()
    checked_first = from_roster = 0
    never: list[str] = []
    early: list[str] = []
    for emp_id, at in first_access.items():
        when = passed.get(emp_id)
        if when is None:
            emp = roster.get(emp_id)
            if emp is not None and emp.background_check == "passed":
                # Records that predate the ledger: the roster says passed, not when;
                # the hiring time is the most generous reading.
                when = to_us(emp.hired_at)
                from_roster += 1
        if when is None:
            never.append(emp_id)
        elif when <= at:
            checked_first += 1
        else:
            early.append(emp_id)
    value = checked_first / len(first_access)
    return Measurement(value, f"{checked_first} of {len(first_access)} employees who accessed "
                       f"PI had passed their background check first",
                       {"accessing_employees": len(first_access), "checked_first": checked_first,
                        "accessed_before_check": len(early), "never_checked": len(never),
                        "check_time_from_roster_record": from_roster})


def offboarding(ctx: Ctx, params: Mapping[str, Any]) -> Measurement:
    """Share of employees who had left by the end of the period with no allowed PI
    access after their leaving time."""
    left: dict[str, int] = dict(ctx.roster_history().left)
    for emp in ctx.employees().values():
        if emp.left_at is not None and emp.left_at < ctx.period.end:
            at = to_us(emp.left_at)
            left[emp.id] = min(at, left.get(emp.id, at))
    if not left:
        return Measurement(1.0, "no employee had left by the end of the period",
                           {"leavers": 0})
    after: Counter[str] = Counter()
    for r in ctx.pi_accesses(actor_type="employee"):
        gone = left.get(r.ev.actor_id)
        if gone is not None and r.at_us >= gone:
            after[r.ev.actor_id] += 1
    value = share(len(left) - len(after), len(left))
    return Measurement(value, f"{len(after)} of {len(left)} leavers still accessed PI after "
                       f"leaving ({sum(after.values())} accesses)",
                       {"leavers": len(left), "leavers_with_access": len(after),
                        "accesses_after_leaving": sum(after.values())})


def access_denials(ctx: Ctx, params: Mapping[str, Any]) -> Measurement:
    """Share of employees' PI access attempts that the gate denied."""
    attempts = ctx.pi_accesses(allowed=None, actor_type="employee")
    if not attempts:
        return Measurement.not_evaluable("no employee attempted to access PI in the period")
    denied = [r for r in attempts if r.ev.outcome == "denied"]
    value = len(denied) / len(attempts)
    return Measurement(value, f"{len(denied):,} of {len(attempts):,} employees' PI attempts "
                       f"were denied ({value:.2%})",
                       {"attempts": len(attempts), "denied": len(denied),
                        "employees_denied": len({r.ev.actor_id for r in denied}),
                        "denied_by_action": dict(Counter(r.ev.action for r in denied))})
