"""Scorecards: each enterprise's latest audited score with its per-control breakdown
and the trend over its delivered engagements; the supervision department's ranking.

Only delivered (signed) engagements count: a score in fieldwork can still change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.audit import engagements
from parcelguard.audit.models import AuditControlResult, AuditEngagement
from parcelguard.core.errors import NotFound, PermissionDenied
from parcelguard.identity import read as identity_read
from parcelguard.identity.permissions import Principal


@dataclass
class Scorecard:
    enterprise_id: str
    name: str
    score: float | None = None
    coverage: float | None = None
    engagement_id: str | None = None
    period: str | None = None
    auditor_org_id: str | None = None
    controls: list[dict[str, Any]] = field(default_factory=list)
    weakest: list[str] = field(default_factory=list)
    trend: list[dict[str, Any]] = field(default_factory=list)

    @property
    def change(self) -> float | None:
        """Points gained (or lost) since the previous delivered engagement."""
        scores = [t["score"] for t in self.trend if t["score"] is not None]
        return round(scores[-1] - scores[-2], 1) if len(scores) >= 2 else None


def _delivered(session: Session, enterprise_id: str) -> list[AuditEngagement]:
    return list(session.scalars(select(AuditEngagement).where(
        AuditEngagement.enterprise_id == enterprise_id, AuditEngagement.status == "delivered")
        .order_by(AuditEngagement.period_end, AuditEngagement.delivered_at)))


def build(session: Session, enterprise_id: str) -> Scorecard:
    """The scorecard as stored (no permission check: callers check)."""
    org = identity_read.org_of_kind(session, enterprise_id, "enterprise")
    card = Scorecard(enterprise_id, org.name)
    done = _delivered(session, enterprise_id)
    card.trend = [{"engagement_id": e.id, "period": engagements.period(e).key,
                   "score": e.score, "coverage": e.coverage, "auditor_org_id": e.auditor_org_id,
                   "delivered_at": e.delivered_at.isoformat() if e.delivered_at else None}
                  for e in done]
    if not done:
        return card
    last = done[-1]
    card.score, card.coverage, card.engagement_id = last.score, last.coverage, last.id
    card.period, card.auditor_org_id = engagements.period(last).key, last.auditor_org_id
    rows = list(session.scalars(select(AuditControlResult)
                                .where(AuditControlResult.engagement_id == last.id)))
    order = {cid: i for i, cid in enumerate(last.scope)}
    rows.sort(key=lambda r: order.get(r.control_id, len(order)))
    card.controls = [{"control_id": r.control_id, "status": r.status, "score": r.score,
                      "weight": r.weight, "points_lost": round(r.weight * (1 - r.score), 2)
                      if r.score is not None else None, "summary": r.summary} for r in rows]
    ranked = sorted((r for r in rows if r.score is not None and r.score < 1),
                    key=lambda r: (-(r.weight * (1 - (r.score or 0.0))), r.control_id))
    card.weakest = [r.control_id for r in ranked[:3]]
    return card


def scorecard(session: Session, principal: Principal, enterprise_id: str) -> Scorecard:
    """The enterprise's own scorecard, or any for the supervision department."""
    principal.require("audit:read")
    if principal.org_id != enterprise_id and not principal.can("audit:read_all"):
        raise NotFound(f"no enterprise {enterprise_id}")
    return build(session, enterprise_id)


def ranking(session: Session, principal: Principal) -> list[Scorecard]:
    """Every enterprise, best latest score first (never audited last)."""
    if not principal.can("audit:read_all"):
        raise PermissionDenied("the ranking is the supervision department's view")
    ids = identity_read.org_ids(session, "enterprise")
    cards = [build(session, i) for i in ids]
    cards.sort(key=lambda c: (c.score is None, -(c.score or 0.0), c.enterprise_id))
    return cards
