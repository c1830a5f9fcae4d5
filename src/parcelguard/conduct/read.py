"""What other packages may read of conduct: plain values, never the ORM rows
(``conduct/models.py`` is conduct's own): the sanctions decided about employees."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parcelguard.conduct.models import ConductDecision

# Audits run where conduct may not be installed yet (a store older than it).
DECISIONS_TABLE: Final = ConductDecision.__tablename__


def sanctions_of(session: Session, enterprise_id: str,
                 employee_ids: Sequence[str]) -> list[tuple[str, datetime]]:
    """(employee, decided at) of the sanctions (not rewards, not overturned) of those
    employees."""
    return [(e, at) for e, at in session.execute(
        select(ConductDecision.employee_id, ConductDecision.decided_at)
        .where(ConductDecision.enterprise_id == enterprise_id,
               ConductDecision.employee_id.in_(employee_ids),
               ConductDecision.kind != "reward", ConductDecision.status != "overturned"))]


def sanctions_decided(session: Session, enterprise_id: str, start: datetime,
                      end: datetime) -> int:
    """How many sanctions (any decision but a reward) were decided in [start, end)."""
    return int(session.scalar(select(func.count()).select_from(ConductDecision).where(
        ConductDecision.enterprise_id == enterprise_id, ConductDecision.kind != "reward",
        ConductDecision.decided_at >= start, ConductDecision.decided_at < end)) or 0)
