"""Demo stages for the enterprise-level protections and the ledger: notice and
consent at shipping, privacy waybills and virtual numbers, signed checkpoints
witnessed by the supervision department, and two tampering attempts being caught.
Kept apart from demo.py so each file does one job."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from parcelguard.consent.models import ConsentRecord, NoticeVersion
from parcelguard.consent.notice import NoticeParams
from parcelguard.consent.service import publish_notice
from parcelguard.core.bulk import bulk_insert
from parcelguard.core.clock import Clock
from parcelguard.core.runtime import Runtime
from parcelguard.identity.permissions import Principal
from parcelguard.ledger import logs
from parcelguard.ledger.models import LedgerEvent, LedgerHead
from parcelguard.simulation.model import World
from parcelguard.supervision.witness import witness_enterprise
from parcelguard.vault.service import VaultService

# Share of senders who also opt in at the counter or in the app (illustrative rates).
OPT_IN = {"location_tracking": 0.35, "marketing": 0.12}
WITHDRAW = 0.02  # of those opt-ins, later withdrawn


def record_consents(session: Session, world: World, clock: Clock) -> dict[str, Any]:
    """Each enterprise publishes its notice; every sender acknowledges it when
    shipping (delivery rests on the contract, PIPL Art. 13); some opt in to the
    optional purposes, each separately. Recorded in bulk, as a carrier's counter
    system would upload them."""
    rng = random.Random(world.config.seed)
    versions: dict[str, str] = {}
    for ent in world.enterprises:
        admin = Principal(org_id=ent.id, org_kind="enterprise", role="enterprise_admin")
        published = publish_notice(session, admin, params=NoticeParams(
            processor_name=ent.name, processor_contact=f"privacy@{ent.id}.example.com"),
            clock=clock)
        versions[ent.id] = published.version.id
    rows: list[tuple[Any, ...]] = []
    counts: Counter[str] = Counter()
    seen: set[tuple[str, str]] = set()
    at_type = ConsentRecord.__table__.c.at.type
    bind = at_type.bind_processor(session.connection().dialect) or (lambda v: v)
    for p in world.parcels:
        key = (p.enterprise_id, p.sender_id)
        if key in seen:
            continue
        seen.add(key)
        at = max(p.created_at, world.config.start)
        vid = versions[p.enterprise_id]
        rows.append((p.enterprise_id, p.sender_id, "delivery", "acknowledge", vid, bind(at),
                     "app", "intake"))
        counts["acknowledged"] += 1
        for purpose, rate in OPT_IN.items():
            if rng.random() < rate:
                rows.append((p.enterprise_id, p.sender_id, purpose, "grant", vid, bind(at),
                             "app", "intake"))
                counts[purpose] += 1
                if rng.random() < WITHDRAW:
                    rows.append((p.enterprise_id, p.sender_id, purpose, "withdraw", vid,
                                 bind(at), "app", "intake"))
                    counts[f"{purpose}_withdrawn"] += 1
    bulk_insert(session.connection(), ConsentRecord.__tablename__,
                ("enterprise_id", "subject_id", "purpose", "action", "notice_version_id", "at",
                 "channel", "recorded_by"), rows)
    senders = counts["acknowledged"]
    return {"notices_published": len(versions), "senders": senders,
            "notice_acknowledged": senders,
            "coverage": round(counts["acknowledged"] / senders, 4) if senders else 0.0,
            "opted_in": {k: counts[k] - counts[f"{k}_withdrawn"] for k in OPT_IN},
            "withdrawn": {k: counts[f"{k}_withdrawn"] for k in OPT_IN},
            "notice_versions": int(session.scalar(select(func.count())
                                                  .select_from(NoticeVersion)) or 0)}


def waybills(session: Session, world: World, vault: VaultService, out: Path,
             now: datetime) -> dict[str, Any]:
    from parcelguard.simulation.demo_waybill import demo_stage

    return demo_stage(session, vault, out_dir=out, now=now)


def ledger(drt: Runtime, world: World, vault: VaultService) -> dict[str, Any]:
    """Checkpoints for every log, witnessed; then an edited leaf named by verify and
    a rolled-back log caught by the witness, both undone afterwards."""
    kms = vault.vault.kms
    clock = drt.clock
    out: dict[str, Any] = {"checkpoints": {}, "verify": {}}
    with drt.db.unit_of_work() as uow:
        for ent in world.enterprises:
            o = witness_enterprise(uow.session, ent.id, kms=kms, clock=clock)
            out["checkpoints"][ent.id] = {"size": o.size, "witness": o.status}
            out["verify"][ent.id] = logs.verify(uow.session, ent.id).ok
        uow.commit()

    # 1. An insider edits a stored event to hide a reveal.
    edited = world.enterprises[0].id
    with drt.db.unit_of_work() as uow:
        s = uow.session
        row = s.scalars(select(LedgerEvent).where(
            LedgerEvent.enterprise_id == edited, LedgerEvent.kind == "access")
            .order_by(LedgerEvent.seq).offset(1000).limit(1)).one()
        original, seq = row.leaf, row.seq
        s.execute(update(LedgerEvent).where(LedgerEvent.enterprise_id == edited,
                                            LedgerEvent.seq == seq)
                  .values(leaf=original.replace(b'"allowed"', b'"denied"')))
        caught = logs.verify(s, edited)
        s.execute(update(LedgerEvent).where(LedgerEvent.enterprise_id == edited,
                                            LedgerEvent.seq == seq).values(leaf=original))
        restored = logs.verify(s, edited)
        uow.commit()
    out["edited_leaf"] = {"enterprise": edited, "index": seq,
                          "verify_named_index": caught.first_bad_index,
                          "caught": (not caught.ok) and caught.first_bad_index == seq,
                          "ok_after_restore": restored.ok}

    # 2. The enterprise rolls its log back to drop its last 50 events, and signs.
    rolled = world.enterprises[-1].id
    with drt.db.unit_of_work() as uow:
        s = uow.session
        size = int(s.scalar(select(LedgerHead.size).where(
            LedgerHead.enterprise_id == rolled)) or 0)
        tail = [(r.enterprise_id, r.seq, r.event_id, r.kind, r.occurred_at_us, r.subject_id,
                 r.waybill_no, r.leaf) for r in s.scalars(select(LedgerEvent).where(
                     LedgerEvent.enterprise_id == rolled, LedgerEvent.seq >= size - 50))]
        s.execute(delete(LedgerEvent).where(LedgerEvent.enterprise_id == rolled,
                                            LedgerEvent.seq >= size - 50))
        s.execute(update(LedgerHead).where(LedgerHead.enterprise_id == rolled)
                  .values(size=size - 50))
        outcome = witness_enterprise(s, rolled, kms=kms, clock=clock)
        uow.commit()
    with drt.db.unit_of_work() as uow:  # put the history back as it was
        bulk_insert(uow.session.connection(), LedgerEvent.__tablename__,
                    ("enterprise_id", "seq", "event_id", "kind", "occurred_at_us",
                     "subject_id", "waybill_no", "leaf"), tail)
        uow.session.execute(update(LedgerHead).where(LedgerHead.enterprise_id == rolled)
                            .values(size=size))
        uow.commit()
    out["rollback"] = {"enterprise": rolled, "dropped_events": len(tail),
                       "witness": outcome.status, "finding_id": outcome.finding_id,
                       "caught": outcome.status == "tamper"}
    return out
