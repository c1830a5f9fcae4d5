"""What the demo reads from the nodes' own stores, and the waits on them (mirrors
caught up, checkpoints cosigned, outboxes drained)."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from parcelguard.simulation.federated.fed import AUDITOR, POLICE, SUP, Fed

# -- reading the nodes' stores -------------------------------------------------------


def store_counts(fed: Fed, org: str) -> dict[str, int]:
    from parcelguard.node import service

    with fed.rt(org).db.unit_of_work() as uow:
        return service.counts(uow.session)


def inbox_of(fed: Fed, org: str, kind: str | None = None) -> list[dict[str, Any]]:
    from parcelguard.node.models import NodeInbox

    with fed.rt(org).db.unit_of_work() as uow:
        q = select(NodeInbox).order_by(NodeInbox.received_at, NodeInbox.message_id)
        if kind is not None:
            q = q.where(NodeInbox.kind == kind)
        return [{"message_id": r.message_id, "sender_org": r.sender_org, "kind": r.kind,
                 "deliveries": r.deliveries, "body": json.loads(r.envelope)["body"]}
                for r in uow.session.scalars(q)]


def leaves_digest(fed: Fed, org: str) -> tuple[int, str]:
    from parcelguard.ledger.models import LedgerEvent

    h = hashlib.sha256()
    n = 0
    with fed.rt(org).db.unit_of_work() as uow:
        for leaf in uow.session.scalars(select(LedgerEvent.leaf).where(
                LedgerEvent.enterprise_id == org).order_by(LedgerEvent.seq)):
            h.update(hashlib.sha256(leaf).digest())
            n += 1
    return n, h.hexdigest()


def mirrored_logs(fed: Fed) -> dict[str, dict[str, Any]]:
    from parcelguard.supervision.models import MirrorEntry, MirrorLog

    out: dict[str, dict[str, Any]] = {}
    with fed.rt(SUP).db.unit_of_work() as uow:
        for m in uow.session.scalars(select(MirrorLog)):
            h = hashlib.sha256()
            for leaf in uow.session.scalars(select(MirrorEntry.leaf).where(
                    MirrorEntry.origin == m.origin).order_by(MirrorEntry.seq)):
                h.update(hashlib.sha256(leaf).digest())
            out[m.enterprise_id] = {"size": int(m.size), "digest": h.hexdigest(),
                                    "refused": bool(m.refused),
                                    "checkpoint_size": int(m.checkpoint_size)}
    return out


def mirror_sizes(fed: Fed) -> dict[str, int]:
    from parcelguard.supervision.models import MirrorLog

    with fed.rt(SUP).db.unit_of_work() as uow:
        return {str(e): int(s) for e, s in uow.session.execute(
            select(MirrorLog.enterprise_id, MirrorLog.size))}


def log_size_of(fed: Fed, org: str) -> int:
    from parcelguard.ledger.models import LedgerHead

    with fed.rt(org).db.unit_of_work() as uow:
        head = uow.session.get(LedgerHead, org)
        return int(head.size) if head is not None else 0


def cosignatures_of(fed: Fed, org: str) -> dict[str, Any]:
    """The enterprise's newest checkpoint size and, per witness, the checkpoints it
    cosigned and the newest size it cosigned."""
    from parcelguard.ledger.models import LedgerCheckpoint, LedgerCosignature

    with fed.rt(org).db.unit_of_work() as uow:
        rows = uow.session.execute(
            select(LedgerCosignature.witness, func.count(), func.max(LedgerCheckpoint.size))
            .join(LedgerCheckpoint, LedgerCheckpoint.id == LedgerCosignature.checkpoint_id)
            .where(LedgerCheckpoint.enterprise_id == org)
            .group_by(LedgerCosignature.witness)).all()
    return {str(w).rsplit("/", 1)[-1]: {"checkpoints": int(n), "max_size": int(s)}
            for w, n, s in rows}


def caught_up(fed: Fed) -> bool:
    sizes = mirror_sizes(fed)
    return all(sizes.get(e, -1) == log_size_of(fed, e) for e in fed.enterprises)


def cosigned_by_all(fed: Fed) -> bool:
    for e in fed.enterprises:
        size = log_size_of(fed, e)
        c = cosignatures_of(fed, e)
        if any(c.get(w, {}).get("max_size", -1) != size for w in (SUP, POLICE, AUDITOR)):
            return False
    return True


def outboxes_drained(fed: Fed) -> bool:
    return all(store_counts(fed, org)["sent_pending"] == 0 for org in fed.procs)


def relay_all(fed: Fed) -> None:
    """Queue now what every node's records owe (the nodes do it every second; the
    demo does not wait for that tick). Idempotent: a record is queued once."""
    from sqlalchemy.exc import IntegrityError

    from parcelguard.node.federation import relay_pass

    for org in fed.procs:
        for _ in range(5):
            try:
                relay_pass(fed.node(org), fed.quiet_rt(org))
                break
            except IntegrityError:  # the node's own pass queued the same record first
                time.sleep(0.2)


def order_audits(fed: Fed) -> list[str]:
    """The department orders an audit of each carrier by the auditor, recorded in its
    own store (what audit/engagements.py ``create`` records); its node's relay grants
    them."""
    from parcelguard.audit.models import AuditEngagement
    from parcelguard.identity.models import Organization
    from parcelguard.identity.service import create_organization, ensure_enterprises

    rt = fed.rt(SUP)
    start = fed.world.config.start
    ids = [f"aud-2026q4-{e}" for e in fed.enterprises]
    with rt.db.unit_of_work() as uow:
        s = uow.session
        ensure_enterprises(s, set(fed.enterprises), rt.clock)
        if s.get(Organization, AUDITOR) is None:
            create_organization(s, org_id=AUDITOR, kind="auditor",
                                name="第三方审计机构 (demo)", clock=rt.clock)
        for eid, e in zip(ids, fed.enterprises, strict=True):
            if s.get(AuditEngagement, eid) is None:
                s.add(AuditEngagement(
                    id=eid, enterprise_id=e, auditor_org_id=AUDITOR,
                    lead_auditor_id=f"{AUDITOR}/lead", kind="ordered",
                    reason="ordered by the department for the 2026 Q4 review",
                    scope=[], rulebook_version="demo", period_start=start - timedelta(days=90),
                    period_end=start, status="planned", requested_by=f"{SUP}/officer",
                    created_at=start, sample_seed="0" * 32))
        uow.commit()
    return ids


def wait_for(fed: Fed, what: str) -> None:
    """Every record's envelope queued and delivered, every log mirrored and cosigned."""
    relay_all(fed)
    fed.wait(what, lambda: outboxes_drained(fed), lambda: backlog_progress(fed))
    fed.wait("the mirror to catch up", lambda: caught_up(fed), lambda: mirror_progress(fed))
    fed.wait("the witnesses to cosign the grown logs", lambda: cosigned_by_all(fed))


def mirror_progress(fed: Fed) -> str:
    sizes = mirror_sizes(fed)
    return ", ".join(f"{e} {sizes.get(e, 0):,}/{log_size_of(fed, e):,}" for e in fed.enterprises)


def backlog_progress(fed: Fed) -> str:
    return ", ".join(f"{o} {store_counts(fed, o)['sent_pending']}" for o in fed.procs)


def send_envelope(fed: Fed, sender: str, to: str, kind: str, body: dict[str, Any]) -> str:
    from parcelguard.node import service

    node = fed.node(sender)
    with fed.quiet_rt(sender).db.unit_of_work() as uow:
        mid = service.send(uow.session, me=service.Me(org=sender, role=node.config.role,
                                                      key_id=node.key_id),
                           directory=node.directory(), to_org=to, kind=kind, body=body)
        uow.commit()
    return mid
