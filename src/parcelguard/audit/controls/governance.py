"""Controls on how the enterprise is run: training, the emergency plan and drills,
incident reports, complaint handling, sanctions, alert handling, audit frequency and
the PI protection officer.

Incident tables belong to a capability in audit's own architectural row, so they are
named here as lightweight ``table()`` clauses (typed columns, no import of the
package) and used only once they exist. Deadlines still running when the evaluation
runs are not counted either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, String, column, func, select, table
from sqlalchemy.orm import Session

from parcelguard.access import read as access_read
from parcelguard.audit.controls.context import Ctx, from_us
from parcelguard.audit.model import Measurement
from parcelguard.audit.models import AuditEngagement
from parcelguard.channel import read as channel_read
from parcelguard.conduct import read as conduct_read
from parcelguard.core.db import UTCDateTime
from parcelguard.ledger.retention import months_before
from parcelguard.monitor import read as monitor_read
from parcelguard.vault import read as vault_read

_PLANS = table("incident_plans", column("enterprise_id", String), column("kind", String),
               column("status", String), column("reviewed_at", UTCDateTime()))
_DRILLS = table("incident_drills", column("enterprise_id", String),
                column("held_at", UTCDateTime()))
_REPORTS = table("incident_reports", column("enterprise_id", String), column("status", String),
                 column("due_at", UTCDateTime()), column("filed_at", UTCDateTime()),
                 column("on_time", Boolean))


def training(ctx: Ctx, params: Mapping[str, Any]) -> Measurement:
    """Share of employees active at the end of the period trained within
    ``max_age_days`` before it (the roster record or a later training event)."""
    end = ctx.period.end
    oldest = end - timedelta(days=float(params.get("max_age_days", 365)))
    events = ctx.roster_history().trained
    active = [e for e in ctx.employees().values()
              if e.hired_at < end and (e.left_at is None or e.left_at >= end)]
    if not active:
        return Measurement.not_evaluable("no employee was active at the end of the period")
    stale = never = 0
    for e in active:
        times = [t for t in (e.trained_at,
                             from_us(events[e.id]) if e.id in events else None)
                 if t is not None and t < end]
        if not times:
            never += 1
        elif max(times) < oldest:
            stale += 1
    good = len(active) - stale - never
    value = good / len(active)
    return Measurement(value, f"{good} of {len(active)} active employees trained within "
                       f"{params.get('max_age_days', 365)} days ({value:.1%})",
                       {"active_employees": len(active), "trained": good,
                        "training_out_of_date": stale, "never_trained": never})


def emergency_plan(ctx: Ctx, params: Mapping[str, Any]) -> Measurement:
    """1 for an approved emergency plan drilled within ``max_age_days``; 0.5 approved
    but not drilled in time; 0 without an approved plan."""
    if not ctx.has_tables("incident_plans", "incident_drills"):
        return Measurement.not_evaluable("the platform keeps no emergency plans yet "
                                         "(incident tables not installed)")
    s, ent, end = ctx.session, ctx.enterprise_id, ctx.period.end
    approved = s.scalar(select(func.max(_PLANS.c.reviewed_at)).where(
        _PLANS.c.enterprise_id == ent, _PLANS.c.kind == "emergency",
        _PLANS.c.status == "approved", _PLANS.c.reviewed_at < end))
    drilled = s.scalar(select(func.max(_DRILLS.c.held_at)).where(
        _DRILLS.c.enterprise_id == ent, _DRILLS.c.held_at < end))
    oldest = end - timedelta(days=float(params.get("max_age_days", 365)))
    recent = drilled is not None and drilled >= oldest
    value = 0.0 if approved is None else 1.0 if recent else 0.5
    summary = ("no approved emergency plan" if approved is None else
               "emergency plan approved and drilled within the year" if recent else
               "emergency plan approved but not drilled within the year")
    return Measurement(value, summary, {
        "plan_approved_at": approved.isoformat() if approved else None,
        "last_drill_at": drilled.isoformat() if drilled else None})


def incident_reporting(ctx: Ctx, params: Mapping[str, Any]) -> Measurement:
    """Share of statutory reports due in the period filed by their deadline."""
    if not ctx.has_tables("incident_reports"):
        return Measurement.not_evaluable("the platform files no incident reports yet "
                                         "(incident tables not installed)")
    s, p, cutoff = ctx.session, ctx.period, ctx.cutoff
    rows = s.execute(select(_REPORTS.c.status, _REPORTS.c.due_at, _REPORTS.c.filed_at).where(
        _REPORTS.c.enterprise_id == ctx.enterprise_id, _REPORTS.c.due_at.is_not(None),
        _REPORTS.c.due_at >= p.start, _REPORTS.c.due_at < p.end)).all()
    on_time = late = running = 0
    for status, due, filed in rows:
        if status == "filed" and filed is not None:
            on_time += filed <= due
            late += filed > due
        elif due < cutoff:
            late += 1
        else:
            running += 1
    decided = on_time + late
    if not decided:
        return Measurement(1.0, "no incident report fell due in the period",
                           {"reports_due": 0, "still_running": running})
    value = on_time / decided
    return Measurement(value, f"{on_time} of {decided} incident reports filed on time",
                       {"reports_due": decided, "on_time": on_time, "late": late,
                        "still_running": running})


def _late(done: datetime | None, due: datetime, cutoff: datetime) -> bool | None:
    """True late, False in time, None still running."""
    if done is not None:
        return done > due
    return True if due < cutoff else None


def complaint_handling(ctx: Ctx, params: Mapping[str, Any]) -> Measurement:
    """Share of reports received in the period acknowledged and answered in time."""
    if not ctx.has_tables(channel_read.REPORTS_TABLE):
        return Measurement.not_evaluable("the platform has no reporting channel yet")
    s, p, cutoff = ctx.session, ctx.period, ctx.cutoff
    rows = channel_read.report_timings(s, ctx.enterprise_id, p.start, p.end)
    on_time = late_ack = late_answer = running = 0
    for _, ack, ack_due, answer, answer_due in rows:
        a, b = _late(ack, ack_due, cutoff), _late(answer, answer_due, cutoff)
        if a or b:
            late_ack += bool(a)
            late_answer += bool(b)
        elif a is None or b is None:
            running += 1
        else:
            on_time += 1
    decided = len(rows) - running
    if not decided:
        return Measurement(1.0, "no report or complaint was due in the period",
                           {"received": len(rows), "still_running": running})
    value = on_time / decided
    return Measurement(value, f"{on_time} of {decided} reports acknowledged and answered "
                       f"in time", {"received": len(rows), "decided": decided,
                                    "on_time": on_time, "acknowledged_late": late_ack,
                                    "answered_late": late_answer, "still_running": running})


def sanctions(ctx: Ctx, params: Mapping[str, Any]) -> Measurement:
    """Share of cases demanding a sanction that got one within ``within_days``."""
    s, ent, p = ctx.session, ctx.enterprise_id, ctx.period
    cases: list[tuple[str, datetime, str]] = [
        (emp, at, "break_glass_abuse")
        for emp, at in access_read.break_glass_abuse(s, ent, p.start, p.end)]
    severities = list(params.get("alert_severities", ["high", "critical"]))
    cases += [(emp, at, "alert") for emp, at in monitor_read.employee_alerts(
        s, ent, severities, p.start, p.end)]
    if not cases:
        return Measurement(1.0, "no case in the period demanded a sanction", {"cases": 0})
    within = timedelta(days=float(params.get("within_days", 14)))
    measures = _measures(s, ctx, {emp for emp, _, _ in cases})
    sanctioned = unsanctioned = running = 0
    for emp, at, _ in cases:
        # A measure shortly before the case counts too: the same alert may have
        # suspended access automatically a moment before it was recorded here.
        if any(at - timedelta(days=1) <= m <= at + within for m in measures.get(emp, [])):
            sanctioned += 1
        elif at + within > ctx.cutoff:
            running += 1
        else:
            unsanctioned += 1
    decided = sanctioned + unsanctioned
    if not decided:
        return Measurement(1.0, "every case's time to sanction is still running",
                           {"cases": len(cases), "still_running": running})
    value = sanctioned / decided
    return Measurement(value, f"{sanctioned} of {decided} cases demanding a sanction got one",
                       {"cases": len(cases), "sanctioned": sanctioned,
                        "unsanctioned": unsanctioned, "still_running": running,
                        "by_kind": {k: sum(1 for *_, c in cases if c == k)
                                    for k in ("break_glass_abuse", "alert")}})


def _measures(s: Session, ctx: Ctx, employees: set[str]) -> dict[str, list[datetime]]:
    out: dict[str, list[datetime]] = {}
    ent = ctx.enterprise_id
    ids = sorted(employees)
    for emp, at in access_read.suspension_starts(s, ent, ids):
        out.setdefault(emp or "", []).append(at)
    if ctx.has_tables(conduct_read.DECISIONS_TABLE):
        for emp, at in conduct_read.sanctions_of(s, ent, ids):
            out.setdefault(emp, []).append(at)
    return out


def alert_handling(ctx: Ctx, params: Mapping[str, Any]) -> Measurement:
    """Share of monitor alerts raised in the period acknowledged or closed in time."""
    p = ctx.period
    hours = timedelta(hours=float(params.get("ack_hours", 24)))
    rows = monitor_read.alert_timings(ctx.session, ctx.enterprise_id, p.start, p.end)
    in_time = late = running = 0
    for raised, acked, closed in rows:
        handled = min((t for t in (acked, closed) if t is not None), default=None)
        verdict = _late(handled, raised + hours, ctx.cutoff)
        if verdict is None:
            running += 1
        elif verdict:
            late += 1
        else:
            in_time += 1
    decided = in_time + late
    if not decided:
        return Measurement(1.0, "no monitor alert was due for handling in the period",
                           {"alerts": len(rows), "still_running": running})
    value = in_time / decided
    return Measurement(value, f"{in_time} of {decided} alerts handled within "
                       f"{params.get('ack_hours', 24)} h",
                       {"alerts": len(rows), "in_time": in_time, "late": late,
                        "still_running": running})


def people_held(ctx: Ctx) -> int:
    """People whose PI the enterprise holds: data subjects with keys in its vault."""
    if "people" not in ctx._cache:
        ctx._cache["people"] = vault_read.people_with_keys(ctx.session, ctx.enterprise_id)
    people: int = ctx._cache["people"]
    return people


def audit_frequency(ctx: Ctx, params: Mapping[str, Any]) -> Measurement:
    """Above ``people_threshold`` people, a delivered audit whose period ended within
    ``every_months`` before the end of this one."""
    threshold = int(params.get("people_threshold", 10_000_000))
    people = people_held(ctx)
    if people < threshold:
        return Measurement(1.0, f"not required: PI of {people:,} people, below "
                           f"{threshold:,}", {"people": people, "required": False})
    months = int(params.get("every_months", 24))
    since = months_before(ctx.period.end, months)
    last = ctx.session.scalar(select(func.max(AuditEngagement.period_end)).where(
        AuditEngagement.enterprise_id == ctx.enterprise_id,
        AuditEngagement.status == "delivered", AuditEngagement.period_end >= since,
        AuditEngagement.id != (ctx.engagement_id or "")))
    value = 1.0 if last is not None else 0.0
    return Measurement(value, f"PI of {people:,} people: " + (
        f"audited within the last {months} months" if last
        else f"no delivered audit within the last {months} months"),
        {"people": people, "required": True,
         "last_audit_period_end": last.isoformat() if last else None})


def pi_officer(ctx: Ctx, params: Mapping[str, Any]) -> Measurement:
    """Above ``people_threshold`` people, a PI protection officer's registration that
    the auditor attested with evidence."""
    threshold = int(params.get("people_threshold", 1_000_000))
    people = people_held(ctx)
    if people < threshold:
        return Measurement(1.0, f"not required: PI of {people:,} people, below "
                           f"{threshold:,}", {"people": people, "required": False})
    att = ctx.attestations.get(str(params.get("control_id", "pi-officer")))
    if att is None:
        return Measurement(0.0, "no attestation of the officer's registration was recorded",
                           {"people": people, "required": True, "attested": False})
    return Measurement(1.0 if att.confirmed else 0.0,
                       "registration attested" if att.confirmed
                       else "the auditor found no valid registration",
                       {"people": people, "required": True, "attested": True,
                        "confirmed": att.confirmed, "evidence_ref": att.evidence_ref,
                        "evidence_sha256": att.evidence_sha256})
