"""What a received envelope changes on the node that receives it, in the receipt's
transaction (node/service.py ``receive``: once per message id, so never twice).

- An enterprise that receives an ordered ``intervention`` naming a kind and a target
  (``{"kind": "suspend_employee", "target_id": ..., "incident": ..., "ref": ...}``)
  applies it in its own store (incidents/interventions.py: the suspension, the
  blocked device, the frozen partner, its ledger event), records it acknowledged and
  answers ``intervention_ack`` with the outcome; an order it cannot apply (unknown
  target, already in force) is acknowledged ``refused`` with the reason, so the
  department sees it rather than a message retried forever. An order without a kind
  is kept on record and acknowledged ``recorded``.
- An enterprise that receives a ``data_request`` (from the supervision department,
  the police or an auditor holding a grant) answers ``data_answer`` with the figures
  of its own store: its log's size, incidents, reports filed, interventions.
  Ids and counts only: the answer never carries PI.
- Everything else is kept as received (``node_inbox``): reports, acknowledgements,
  referrals, grants and answers are evidence in their signed form.

Replies get message ids derived from the message they answer (``reply_id``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parcelguard.core.clock import SystemClock
from parcelguard.core.errors import DomainError
from parcelguard.incidents.settings import IncidentSettings
from parcelguard.node.envelope import Envelope

Reply = tuple[str, str, dict[str, Any]]  # kind, recipient org, body


def reply_id(message_id: str, kind: str) -> str:
    """The message id of the ``kind`` answer to ``message_id`` (one answer each)."""
    return f"{kind[:12]}_{hashlib.sha256(message_id.encode()).hexdigest()[:40]}"


def apply(session: Session, e: Envelope, *, me_org: str, me_role: str) -> Iterator[Reply]:
    if me_role != "enterprise":
        return
    if e.kind == "intervention":
        yield "intervention_ack", e.sender_org, _intervention(session, e, me_org)
    elif e.kind == "data_request":
        yield "data_answer", e.sender_org, {"request": e.message_id,
                                            "ref": e.body.get("ref"),
                                            **figures(session, me_org)}


def _intervention(session: Session, e: Envelope, me_org: str) -> dict[str, Any]:
    from parcelguard.incidents import interventions
    from parcelguard.incidents.models import Incident
    from parcelguard.incidents.timeline import record

    ack: dict[str, Any] = {"intervention": e.message_id, "ref": e.body.get("ref")}
    kind, target = e.body.get("kind"), e.body.get("target_id")
    if not isinstance(kind, str) or not isinstance(target, str):
        return ack | {"status": "recorded"}
    ref = e.body.get("incident")
    inc = session.get(Incident, ref) if isinstance(ref, str) else None
    if inc is not None and inc.enterprise_id != me_org:
        inc = None
    clock = SystemClock()
    try:
        with session.begin_nested():
            applied = interventions.apply_system(
                session, enterprise_id=me_org, kind=kind, target_id=target,
                reason=str(e.body.get("reason") or f"ordered by {e.sender_org}")[:500],
                actor=f"node:{e.sender_org}", actor_org=e.sender_org, ordered=True,
                incident=inc, clock=clock, ack_hours=IncidentSettings().ack_hours)
            iv = applied.intervention
            now = clock.now()
            # the node acknowledges on receipt: the order is applied in this transaction
            iv.acknowledged_at, iv.acknowledged_by = now, f"node:{me_org}"
            if inc is not None:
                record(session, inc.id, at=now, actor=iv.acknowledged_by,
                       action="intervention_acknowledged", intervention_id=iv.id)
            session.flush()
    except DomainError as exc:
        return ack | {"status": "refused", "reason": exc.message[:300]}
    return ack | {"status": "applied", "intervention_id": iv.id, "kind": kind,
                  "ledger_event_id": iv.ledger_event_id}


def figures(session: Session, org: str) -> dict[str, Any]:
    """An enterprise's own figures, as a data answer carries them (no PI)."""
    from parcelguard.incidents.models import Incident, IncidentReport, Intervention
    from parcelguard.ledger.models import LedgerHead

    head = session.get(LedgerHead, org)
    return {
        "log_size": int(head.size) if head is not None else 0,
        "incidents": int(session.scalar(select(func.count()).select_from(Incident).where(
            Incident.enterprise_id == org)) or 0),
        "reports_filed": int(session.scalar(select(func.count()).select_from(
            IncidentReport).where(IncidentReport.enterprise_id == org,
                                  IncidentReport.status == "filed")) or 0),
        "interventions": int(session.scalar(select(func.count()).select_from(
            Intervention).where(Intervention.enterprise_id == org)) or 0),
    }
