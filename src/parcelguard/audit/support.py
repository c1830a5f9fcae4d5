"""Auditors' data support to the police (seed 4.3: third-party intermediaries give the
police network-security department data support). An auditor firm holding an
engagement with the enterprise a police case is about hands the case a package of
what the audit established: the engagement (period, score, the rulebook it was
measured against), chosen findings, and references to ledger events (id and log
position, verifiable against the enterprise's signed checkpoints). No PI: events carry
none, and finding summaries are checked for PI-shaped text before they go.

Each hand-off is written in the referral's own log and answered with the police's
receipt, so the enterprise, the police and the supervision department see it.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.access.policy import looks_like_pi
from parcelguard.audit import engagements
from parcelguard.audit.models import AuditDataSupport, AuditFinding
from parcelguard.channel import read as channel_read
from parcelguard.channel.evidence import package_digest
from parcelguard.channel.history import positions_of
from parcelguard.channel.referrals import log_referral
from parcelguard.core.clock import Clock
from parcelguard.core.errors import Conflict, InvalidInput, NotFound
from parcelguard.core.ids import new_id
from parcelguard.identity.permissions import Principal


def _who(p: Principal) -> str:
    return p.account_id or p.api_key_id or "operator"


def send(session: Session, principal: Principal, *, referral_id: str, engagement_id: str,
         finding_ids: Sequence[str] = (), event_ids: Sequence[str] = (),
         clock: Clock) -> AuditDataSupport:
    """Hand a police case the audit's findings and event references."""
    principal.require("audit:support_police")
    eng = engagements.held_by_caller(session, principal, engagement_id)
    ref = channel_read.referral(session, referral_id)
    # a case about another enterprise is none of this engagement's business
    if ref is None or ref.enterprise_id != eng.enterprise_id:
        raise NotFound(f"no police case {referral_id} about {eng.enterprise_id}")
    if not finding_ids and not event_ids:
        raise InvalidInput("name at least one finding or event")
    findings = list(session.scalars(select(AuditFinding).where(
        AuditFinding.engagement_id == eng.id, AuditFinding.id.in_(list(finding_ids)))))
    missing = sorted(set(finding_ids) - {f.id for f in findings})
    if missing:
        raise NotFound(f"not findings of {eng.id}: {', '.join(missing)}")
    if any(looks_like_pi(f.summary) for f in findings):
        raise InvalidInput("a finding's summary holds PI-shaped text; it cannot go as it is")
    positions = positions_of(session, eng.enterprise_id, event_ids)
    unknown = sorted(set(event_ids) - set(positions))
    if unknown:
        raise NotFound(f"not events of {eng.enterprise_id}: {', '.join(unknown)}")
    package: dict[str, Any] = {
        "referral_id": ref.id, "enterprise_id": eng.enterprise_id,
        "auditor_org_id": eng.auditor_org_id,
        "engagement": {"id": eng.id, "period": engagements.period(eng).key,
                       "score": eng.score, "status": eng.status,
                       "rulebook_version": eng.rulebook_version},
        "findings": [{"id": f.id, "control_id": f.control_id, "severity": f.severity,
                      "summary": f.summary, "raised_at": f.raised_at.isoformat()}
                     for f in sorted(findings, key=lambda f: f.id)],
        "events": [{"event_id": e, "seq": positions[e]} for e in sorted(positions)]}
    now = clock.now()
    row = AuditDataSupport(
        id=new_id("sup"), referral_id=ref.id, engagement_id=eng.id,
        auditor_org_id=eng.auditor_org_id, police_org_id=ref.police_org_id,
        enterprise_id=eng.enterprise_id, package=package,
        package_sha256=package_digest(package), status="sent", sent_at=now,
        sent_by=_who(principal))
    session.add(row)
    log_referral(session, ref.id, at=now, org=principal.org_id, who=row.sent_by,
                 action="auditor_support",
                 detail={"support_id": row.id, "package_sha256": row.package_sha256})
    session.flush()
    return row


def _addressed(session: Session, principal: Principal, support_id: str) -> AuditDataSupport:
    row = session.get(AuditDataSupport, support_id)
    if row is None or principal.org_id not in (row.police_org_id, row.auditor_org_id):
        raise NotFound(f"no data support {support_id}")
    return row


def listing(session: Session, principal: Principal) -> list[AuditDataSupport]:
    """What the caller's police organisation received, or its firm sent."""
    if not (principal.can("audit:receive_support") or principal.can("audit:support_police")):
        principal.require("audit:receive_support")
    col = (AuditDataSupport.police_org_id if principal.org_kind == "police"
           else AuditDataSupport.auditor_org_id)
    return list(session.scalars(select(AuditDataSupport).where(col == principal.org_id)
                                .order_by(AuditDataSupport.sent_at, AuditDataSupport.id)))


def package(session: Session, principal: Principal, support_id: str) -> dict[str, Any]:
    return _addressed(session, principal, support_id).package


def receive(session: Session, principal: Principal, *, support_id: str,
            clock: Clock) -> AuditDataSupport:
    """The police acknowledge the support: their receipt."""
    principal.require("audit:receive_support")
    row = _addressed(session, principal, support_id)
    if principal.org_id != row.police_org_id:
        raise NotFound(f"no data support {support_id}")
    if row.status != "sent":
        raise Conflict(f"data support {support_id} is already {row.status}")
    now = clock.now()
    row.status, row.received_at, row.received_by = "received", now, _who(principal)
    row.receipt = f"POL-{secrets.token_hex(6).upper()}"
    log_referral(session, row.referral_id, at=now, org=principal.org_id,
                 who=row.received_by or "", action="support_received",
                 detail={"support_id": row.id, "receipt": row.receipt})
    session.flush()
    return row
