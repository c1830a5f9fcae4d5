"""Public transparency reports: per enterprise and period, counts of reveals,
refused accesses, alerts, complaints and their handling times and sanctions,
published with differential privacy (dp.py); the enterprise's incidents by grade as
exact figures; and the latest audit score.

Noise goes only where a count is about people (an access event touches a person's
PI, a complaint is a person's, a sanction an employee's). A carrier's incidents by
grade are facts it reported to the regulator, not personal data: noising them once
made the page claim major incidents a carrier never had, so they are published as
they were filed (an incident counts once a report of it is filed). The exact
people-counts never leave this module: ``publish`` charges the budget first, then
adds noise, then stores and renders only the noisy figures with their intervals
(dp.py post-processing). Reading a published report again costs nothing; publishing
a new one for the same months spends again.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, column, func, select, table
from sqlalchemy.orm import Session

from parcelguard.access import read as access_read
from parcelguard.audit import dp, page, scorecards
from parcelguard.audit.controls.context import Ctx
from parcelguard.audit.model import Period
from parcelguard.audit.models import AuditDpRelease
from parcelguard.audit.settings import AuditSettings
from parcelguard.channel import read as channel_read
from parcelguard.conduct import read as conduct_read
from parcelguard.core.clock import Clock
from parcelguard.core.db import UTCDateTime
from parcelguard.core.errors import InvalidInput, NotFound
from parcelguard.core.ids import new_id
from parcelguard.identity import read as identity_read
from parcelguard.identity.permissions import Principal
from parcelguard.monitor import read as monitor_read

GRADES = ("particularly_major", "major", "relatively_major", "general")
_INCIDENTS = table("incidents", column("id", String), column("enterprise_id", String),
                   column("grade", String), column("detected_at", UTCDateTime()))
_REPORTS = table("incident_reports", column("incident_id", String), column("status", String))
# Answer-time buckets of complaints (Postal Law: answered within 30 days at most).
BUCKETS = ("complaints_answered_7d", "complaints_answered_30d", "complaints_answered_late",
           "complaints_open")


def incidents_by_grade(session: Session, enterprise_id: str, period: Period) -> dict[str, int]:
    """The enterprise's incidents detected in ``period`` that it reported (a statutory
    report of theirs is filed), by their grade now: facts it reported, published
    exactly. An incident still being drafted is not yet a fact the carrier stated."""
    filed = select(_REPORTS.c.incident_id).where(_REPORTS.c.status == "filed")
    grades: Counter[str] = Counter(dict(session.execute(
        select(_INCIDENTS.c.grade, func.count()).where(
            _INCIDENTS.c.enterprise_id == enterprise_id,
            _INCIDENTS.c.detected_at >= period.start,
            _INCIDENTS.c.detected_at < period.end,
            _INCIDENTS.c.id.in_(filed)).group_by(_INCIDENTS.c.grade)).all()))
    return {f"incidents_{g}": int(grades.get(g, 0)) for g in GRADES}


def exact_counts(session: Session, enterprise_id: str, period: Period,
                 now: datetime) -> tuple[dict[str, int], int]:
    """The true counts about people (cells each record falls in at most ``d_in`` of)
    and ``d_in``. Cells whose tables do not exist are left out."""
    ctx = Ctx(session, enterprise_id, period, now=now)
    cells: dict[str, int] = {
        "reveals": sum(1 for r in ctx.access_events()
                       if r.ev.action == "reveal" and r.ev.outcome == "allowed"),
        "refused_accesses": len(ctx.pi_accesses(allowed=False)),
        "alerts": monitor_read.alerts_raised(session, enterprise_id, period.start, period.end),
    }
    d_in = 1
    if ctx.has_tables(channel_read.REPORTS_TABLE):
        cells.update(_complaints(session, enterprise_id, period, ctx.cutoff))
        d_in = 2  # a complaint is in one answer bucket and maybe in acknowledged_in_time
    sanctions = access_read.employee_suspensions_started(session, enterprise_id, period.start,
                                                         period.end)
    if ctx.has_tables(conduct_read.DECISIONS_TABLE):
        sanctions += conduct_read.sanctions_decided(session, enterprise_id, period.start,
                                                    period.end)
    cells["sanctions"] = sanctions
    return cells, d_in


def _complaints(session: Session, enterprise_id: str, period: Period,
                cutoff: datetime) -> dict[str, int]:
    out = dict.fromkeys((*BUCKETS, "complaints_acknowledged_in_time"), 0)
    for received, ack, ack_due, answered, due in channel_read.report_timings(
            session, enterprise_id, period.start, period.end):
        if answered is None:
            out["complaints_answered_late" if due < cutoff else "complaints_open"] += 1
        elif answered > due:
            out["complaints_answered_late"] += 1
        elif answered - received <= timedelta(days=7):
            out["complaints_answered_7d"] += 1
        else:
            out["complaints_answered_30d"] += 1
        if ack is not None and ack <= ack_due:
            out["complaints_acknowledged_in_time"] += 1
    return out


def _may_publish(session: Session, principal: Principal, enterprise_id: str) -> None:
    principal.require("transparency:publish")
    if principal.org_id != enterprise_id and not principal.can("audit:read_all"):
        raise NotFound(f"no enterprise {enterprise_id}")
    identity_read.org_of_kind(session, enterprise_id, "enterprise")


def publish(session: Session, principal: Principal, enterprise_id: str, period: Period, *,
            settings: AuditSettings, clock: Clock,
            epsilon: float | None = None) -> AuditDpRelease:
    """Publish the enterprise's report for ``period`` (whole calendar months),
    spending ``epsilon`` (default: the per-report setting) of each month's budget;
    refused (409) beyond it."""
    _may_publish(session, principal, enterprise_id)
    org = identity_read.org_of_kind(session, enterprise_id, "enterprise")
    eps = settings.dp_epsilon_per_report if epsilon is None else epsilon
    if not 0 < eps <= settings.dp_budget_per_period:
        raise InvalidInput(f"epsilon must be in (0, {settings.dp_budget_per_period:g}]")
    now = clock.now()
    months = dp.months_of(period)
    counts, d_in = exact_counts(session, enterprise_id, period, now)
    facts = (incidents_by_grade(session, enterprise_id, period)
             if Ctx(session, enterprise_id, period, now=now).has_tables(
                 "incidents", "incident_reports") else {})
    mech = dp.mechanism(epsilon=eps, d_in=d_in)
    # Charge OpenDP's epsilon first: if the budget refuses, no noisy figure exists.
    spent_rows = dp.spend(session, enterprise_id, period, mech.epsilon,
                          total=settings.dp_budget_per_period, now=now)
    rel = mech.release(counts)
    del counts
    card = scorecards.build(session, enterprise_id)
    figures: dict[str, Any] = {
        "counts": rel.values,
        "derived": {"complaints_received": sum(rel.values.get(b, 0) for b in BUCKETS)}
        if "complaints_open" in rel.values else {},
        "facts": facts,
        "privacy": {"epsilon": round(rel.epsilon, 6), "mechanism": rel.mechanism,
                    "scale": round(rel.scale, 6), "sensitivity_l1": rel.d_in,
                    "interval_95": rel.half_width, "release_floor": rel.floor,
                    # a sum of the noisy buckets: each within its share of 5 % (union
                    # bound), so the sum is within this with 95 % confidence
                    "derived_interval_95": len(BUCKETS) * dp.interval_half_width(
                        rel.scale, 1 - (1 - dp.INTERVAL_CONFIDENCE) / len(BUCKETS)),
                    "unit": "one record (access event, alert, complaint, sanction)",
                    "budget": [{"month": b.period, "total": b.total, "spent": round(b.spent, 6),
                                "remaining": round(max(b.total - b.spent, 0.0), 6)}
                               for b in spent_rows]},
        "audit": {"score": card.score, "coverage": card.coverage, "period": card.period,
                  "auditor_org_id": card.auditor_org_id, "engagement_id": card.engagement_id},
        "period": {"key": period.key, "months": months, "start": period.start.isoformat(),
                   "end": period.end.isoformat()},
    }
    html = page.render(enterprise=org.name, enterprise_id=enterprise_id, figures=figures,
                       published_at=now)
    release = AuditDpRelease(
        id=new_id("tpr"), enterprise_id=enterprise_id, period=period.key, epsilon=rel.epsilon,
        figures=figures, html=html, html_sha256=hashlib.sha256(html.encode()).hexdigest(),
        published_at=now, published_by=f"{principal.org_id}/{principal.account_id or 'operator'}")
    session.add(release)
    session.flush()
    return release


def latest(session: Session, enterprise_id: str, period_key: str) -> AuditDpRelease:
    """The latest published report (public: noisy people-counts and reported facts)."""
    row = session.scalars(select(AuditDpRelease).where(
        AuditDpRelease.enterprise_id == enterprise_id, AuditDpRelease.period == period_key)
        .order_by(AuditDpRelease.published_at.desc()).limit(1)).first()
    if row is None:
        raise NotFound(f"no transparency report of {enterprise_id} for {period_key}")
    return row


def budget(session: Session, principal: Principal, enterprise_id: str, period: Period, *,
           settings: AuditSettings, clock: Clock) -> list[dict[str, Any]]:
    """Each month's budget: total, spent and remaining epsilon."""
    _may_publish(session, principal, enterprise_id)
    rows = dp.budgets(session, enterprise_id, dp.months_of(period),
                      total=settings.dp_budget_per_period, now=clock.now(), create=False)
    return [{"month": b.period, "total": b.total, "spent": round(b.spent, 6),
             "remaining": round(max(b.total - b.spent, 0.0), 6)} for b in rows]
