"""The outbox as operators see it: the backlog, messages with each handler's
delivery state and failure reason (never a payload), and requeueing
(``parcelguard events ...``; a health check reads ``backlog``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from parcelguard.core.outbox import EMITTED, OutboxDelivery, OutboxMessage, wall_now


def requeue(session: Session, *, message_id: str | None = None, dead: bool = False,
            now: datetime | None = None) -> list[str]:
    """Make a failed or dead message (or every dead one) due now, its given-up
    deliveries with a fresh budget of attempts. Returns the requeued ids."""
    now = now or wall_now()
    stmt = select(OutboxMessage.id).where(OutboxMessage.status.in_(("failed", "dead")))
    if message_id is not None:
        stmt = stmt.where(OutboxMessage.id == message_id)
    elif dead:
        stmt = stmt.where(OutboxMessage.status == "dead")
    ids = list(session.scalars(stmt))
    if ids:
        session.execute(update(OutboxDelivery).where(
            OutboxDelivery.message_id.in_(ids), OutboxDelivery.status != "done").values(
            status="failed", attempts=0, next_attempt_at=now, updated_at=now))
        session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(
            status="pending", attempts=0, next_attempt_at=now))
        session.info.setdefault(EMITTED, []).extend(ids)
    return ids


@dataclass(frozen=True)
class MessageView:
    """A message as operators see it: no payload (it is for handlers only)."""

    id: str
    type: str
    version: int
    source_org: str | None
    created_at: datetime
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    deliveries: tuple[dict[str, Any], ...]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "version": self.version,
                "source_org": self.source_org, "created_at": self.created_at.isoformat(),
                "status": self.status, "attempts": self.attempts,
                "next_attempt_at": self.next_attempt_at.isoformat(),
                "last_error": self.last_error, "deliveries": list(self.deliveries)}


def list_messages(session: Session, *, status: str | None = None,
                  limit: int = 100) -> list[MessageView]:
    """Newest first; ``status`` None lists every message not yet done."""
    stmt = select(OutboxMessage)
    stmt = stmt.where(OutboxMessage.status == status) if status else stmt.where(
        OutboxMessage.status != "done")
    rows = list(session.scalars(stmt.order_by(OutboxMessage.seq.desc()).limit(limit)))
    by_msg: dict[str, list[dict[str, Any]]] = {}
    if rows:
        for d in session.scalars(select(OutboxDelivery).where(
                OutboxDelivery.message_id.in_([r.id for r in rows]))
                .order_by(OutboxDelivery.handler)):
            by_msg.setdefault(d.message_id, []).append({
                "handler": d.handler, "status": d.status, "attempts": d.attempts,
                "next_attempt_at": d.next_attempt_at.isoformat() if d.next_attempt_at
                else None, "last_error": d.last_error})
    return [MessageView(r.id, r.type, r.version, r.source_org, r.created_at, r.status,
                        r.attempts, r.next_attempt_at, r.last_error,
                        tuple(by_msg.get(r.id, ()))) for r in rows]


def backlog(session: Session) -> dict[str, int]:
    """Messages not yet done, by status (what a health check reports)."""

    return {str(st): int(n) for st, n in session.execute(
        select(OutboxMessage.status, func.count()).where(OutboxMessage.status != "done")
        .group_by(OutboxMessage.status))}
