"""Transparency reports on the portals (``audit budget``, ``audit publish``): each
month's privacy budget, the reports published, and publishing one after a
confirmation (it spends budget that never comes back). Used by the supervision
department for any enterprise and by an enterprise's administrator for its own;
``audit.transparency`` decides who may, this module only shows and asks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.audit import transparency
from parcelguard.audit.model import PERIOD_TZ, parse_period
from parcelguard.audit.models import AuditDpRelease
from parcelguard.audit.settings import AuditSettings
from parcelguard.core.errors import InvalidInput
from parcelguard.core.runtime import Runtime
from parcelguard.identity.permissions import Principal
from parcelguard.web.actions import CONFIRM, confirmed
from parcelguard.web.sections import Action, Cell, Input, Section


def last_month(now: datetime) -> str:
    """The calendar month before ``now`` (China time): the usual report's period."""
    local = now.astimezone(PERIOD_TZ)
    y, m = (local.year - 1, 12) if local.month == 1 else (local.year, local.month - 1)
    return f"{y:04d}-{m:02d}"


def sections(session: Session, principal: Principal, rt: Runtime, enterprise_id: str, *,
             period: str | None, base: str) -> list[Section]:
    """The budget of ``period`` (default: this year), the reports published and the
    publishing form (``base``: the page, its form posts to ``base/publish``)."""
    now = rt.clock.now()
    key = (period or "").strip()[:40] or f"{now.astimezone(PERIOD_TZ).year}"
    budget = Section("Privacy budget", ["Month", "Total", "Spent", "Remaining"],
                     html_id="budget", empty="No month in this period.",
                     intro="Each transparency report spends differential-privacy budget "
                           "(epsilon) of every month it covers; a month's budget never "
                           "comes back, and a report beyond it is refused.")
    budget.facts = [("Period", key)]
    rows = transparency.budget(session, principal, enterprise_id, parse_period(key),
                               settings=rt.settings.section(AuditSettings), clock=rt.clock)
    for b in rows:
        left = b["remaining"]
        budget.add([b["month"], b["total"], b["spent"],
                    Cell(left, cls="overdue" if left <= 0 else None)])
    releases = Section("Transparency reports published", ["Published", "Period", "Epsilon",
                                                          "Published by", "Report"],
                       html_id="releases", empty="No report published yet.")
    for r in session.scalars(select(AuditDpRelease).where(
            AuditDpRelease.enterprise_id == enterprise_id)
            .order_by(AuditDpRelease.published_at.desc())):
        releases.add([r.published_at, r.period, r.epsilon, r.published_by,
                      Cell("Read the public report", translate=True,
                           href=f"/api/v1/transparency/{enterprise_id}/{r.period}")])
    releases.forms.append(Action(f"{base}/publish", "Publish a transparency report", inputs=(
        Input("period", "Period (whole months: 2026-11, 2026-Q4, 2026-H2, 2026)",
              required=True, value=last_month(now)),
        Input("epsilon", "Epsilon to spend (empty: the setting)"),
        CONFIRM)))
    return [budget, releases]


def publish(session: Session, principal: Principal, rt: Runtime, enterprise_id: str,
            v: dict[str, str]) -> tuple[str, dict[str, str]]:
    """Publish as ``audit publish`` does, after the confirmation."""
    principal.require("transparency:publish")  # who may not is told so, not to confirm
    confirmed(v)
    raw = v.get("epsilon", "").strip()
    try:
        eps = float(raw) if raw else None
    except ValueError:
        raise InvalidInput("Epsilon: a number, such as 0.5.") from None
    rel = transparency.publish(session, principal, enterprise_id,
                               parse_period(v.get("period",
                                                  "")), settings=rt.settings.section(AuditSettings),
                               clock=rt.clock, epsilon=eps)
    left = min(b["remaining"] for b in rel.figures["privacy"]["budget"])
    return ("Transparency report published for %(period)s: epsilon %(eps)s spent, "
            "%(left)s left.", {"period": rel.period, "eps": f"{rel.epsilon:g}",
                               "left": f"{left:g}"})
