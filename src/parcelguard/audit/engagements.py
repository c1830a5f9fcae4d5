"""Engagements: who may open one, the rotation rule, the auditor's time-bound grant,
and who may see what.

Tenancy: an engagement is visible to the audited enterprise, to the auditor firm
holding it and to the supervision department (``audit:read_all``); to anyone else it
does not exist (404). Acting on it as the auditor needs ``audit:conduct``, the firm
that holds it, fieldwork, and the access window; every such read is logged.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.audit import model
from parcelguard.audit.model import Period
from parcelguard.audit.models import AuditAccessLog, AuditEngagement
from parcelguard.audit.rulebook import Rulebook, RulebookError
from parcelguard.audit.settings import AuditSettings
from parcelguard.core.clock import Clock, aware_time
from parcelguard.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from parcelguard.core.ids import new_id
from parcelguard.identity import read as identity_read
from parcelguard.identity.permissions import Principal

KINDS = ("periodic", "ordered")


def actor_of(principal: Principal) -> str:
    """``org/account`` (or ``org/key:<id>``) for the records."""
    who = principal.account_id or (f"key:{principal.api_key_id}" if principal.api_key_id
                                   else "operator")
    return f"{principal.org_id}/{who}"


def _org(session: Session, org_id: str, kind: str) -> identity_read.Org:
    org = identity_read.org(session, org_id)
    if org is None or org.kind != kind:
        raise InvalidInput(f"{org_id} is not a registered {kind} organisation")
    return org


def _lead(session: Session, auditor_org_id: str, lead: str) -> identity_read.AccountInfo:
    """The lead auditor, by account id or username, of the auditor firm."""
    acc = identity_read.account(session, lead) or identity_read.account_by_username(session,
                                                                                    lead)
    if acc is None or acc.org_id != auditor_org_id or acc.role != "auditor" or not acc.active:
        raise InvalidInput(f"{lead} is not an active auditor account of {auditor_org_id}")
    return acc


def history(session: Session, enterprise_id: str) -> list[tuple[str, str]]:
    """The enterprise's engagements as (firm, lead), oldest first, cancelled ones out."""
    rows = session.execute(select(AuditEngagement.auditor_org_id, AuditEngagement.lead_auditor_id)
                           .where(AuditEngagement.enterprise_id == enterprise_id,
                                  AuditEngagement.status != "cancelled")
                           .order_by(AuditEngagement.period_end, AuditEngagement.created_at))
    return [(f, ld) for f, ld in rows]


def create(session: Session, principal: Principal, *, enterprise_id: str, auditor_org_id: str,
           lead_auditor: str, kind: str, period: Period, rulebook: Rulebook,
           scope: Sequence[str] | None = None, reason: str = "",
           clock: Clock) -> AuditEngagement:
    """Open an engagement. Periodic: the enterprise commissions it for itself
    (``audit:commission``) or the supervision department schedules it; ordered: only
    the supervision department (``audit:order``), with a reason. Refused (409) when
    the firm or the lead auditor did the enterprise's last three audits."""
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}")
    if kind == "ordered" or principal.org_id != enterprise_id:
        principal.require("audit:order")
    elif not principal.can("audit:order"):
        principal.require("audit:commission")
    if kind == "ordered" and len(reason.strip()) < 10:
        raise InvalidInput("an ordered audit states its reason (at least 10 characters)")
    _org(session, enterprise_id, "enterprise")
    _org(session, auditor_org_id, "auditor")
    lead = _lead(session, auditor_org_id, lead_auditor)
    try:
        controls = rulebook.select(scope)
    except RulebookError as exc:
        raise InvalidInput(str(exc)) from None
    if period.end > clock.now():
        raise InvalidInput("an engagement audits a period that has ended")
    problem = model.rotation_problem(history(session, enterprise_id), auditor_org_id, lead.id)
    if problem:
        raise Conflict(problem)
    eng = AuditEngagement(
        id=new_id("aud"), enterprise_id=enterprise_id, auditor_org_id=auditor_org_id,
        lead_auditor_id=lead.id, kind=kind, reason=reason.strip()[:500],
        scope=[c.id for c in controls], rulebook_version=rulebook.version,
        period_start=period.start, period_end=period.end, status="planned",
        requested_by=actor_of(principal), created_at=clock.now(),
        sample_seed=secrets.token_hex(16))
    session.add(eng)
    session.flush()
    return eng


def visible(principal: Principal, eng: AuditEngagement) -> bool:
    if not principal.can("audit:read"):
        return False
    return (principal.can("audit:read_all")
            or principal.org_id in (eng.enterprise_id, eng.auditor_org_id))


def get(session: Session, principal: Principal, engagement_id: str) -> AuditEngagement:
    eng = session.get(AuditEngagement, engagement_id)
    if eng is None or not visible(principal, eng):
        raise NotFound(f"no engagement {engagement_id}")
    return eng


def list_for(session: Session, principal: Principal, *,
             enterprise_id: str | None = None) -> list[AuditEngagement]:
    """Engagements the caller may see, newest first."""
    principal.require("audit:read")
    stmt = select(AuditEngagement).order_by(AuditEngagement.created_at.desc())
    if not principal.can("audit:read_all"):
        stmt = stmt.where((AuditEngagement.enterprise_id == principal.org_id)
                          | (AuditEngagement.auditor_org_id == principal.org_id))
    if enterprise_id is not None:
        stmt = stmt.where(AuditEngagement.enterprise_id == enterprise_id)
    return list(session.scalars(stmt))


def held_by_caller(session: Session, principal: Principal, engagement_id: str) -> AuditEngagement:
    principal.require("audit:conduct")
    eng = get(session, principal, engagement_id)
    if eng.auditor_org_id != principal.org_id:
        raise NotFound(f"no engagement {engagement_id}")
    return eng


def start(session: Session, principal: Principal, engagement_id: str, *, clock: Clock,
          settings: AuditSettings) -> AuditEngagement:
    """The auditor starts fieldwork: read-only access opens for ``grant_days``."""
    eng = held_by_caller(session, principal, engagement_id)
    eng.status = model.move(eng.status, "fieldwork")
    now = clock.now()
    eng.access_from, eng.access_until = now, now + timedelta(days=settings.grant_days)
    session.flush()
    return eng


def cancel(session: Session, principal: Principal, engagement_id: str) -> AuditEngagement:
    """Whoever could open it (or the firm holding it) cancels a planned or running
    engagement; a cancelled one does not count towards the rotation rule."""
    eng = get(session, principal, engagement_id)
    if not (principal.can("audit:order") or principal.org_id == eng.auditor_org_id
            or (principal.org_id == eng.enterprise_id and principal.can("audit:commission")
                and eng.kind == "periodic")):
        raise PermissionDenied("only the supervision department, the firm or the "
                               "commissioning enterprise may cancel this engagement")
    eng.status = model.move(eng.status, "cancelled")
    eng.access_until = None
    session.flush()
    return eng


def conducting(session: Session, principal: Principal, engagement_id: str, *, clock: Clock,
               action: str, detail: dict[str, Any] | None = None) -> AuditEngagement:
    """The engagement, if the caller's firm holds it and its access window is open
    now; logs the read."""
    eng = held_by_caller(session, principal, engagement_id)
    now = clock.now()
    if not model.access_open(eng.status, now, eng.access_from, eng.access_until):
        raise PermissionDenied(f"engagement {engagement_id} is {eng.status}; the auditor's "
                               "read-only access is closed")
    session.add(AuditAccessLog(engagement_id=eng.id, actor=actor_of(principal), action=action,
                               detail=detail or {}, at=now))
    return eng


def access_log(session: Session, principal: Principal,
               engagement_id: str) -> list[AuditAccessLog]:
    """What the auditors read through the engagement (the enterprise and the
    supervision department check the grant was used as agreed)."""
    eng = get(session, principal, engagement_id)
    return list(session.scalars(select(AuditAccessLog)
                                .where(AuditAccessLog.engagement_id == eng.id)
                                .order_by(AuditAccessLog.id)))


def period(eng: AuditEngagement) -> Period:
    return model.period_of(eng.period_start, eng.period_end)


def record_grant(session: Session, grant: dict[str, Any], *, holder: str, granted_by: str,
                 clock: Clock) -> AuditEngagement | None:
    """An engagement the supervision department opened on its own store, as its
    ``audit_grant`` (node/relay.py) reached the node of ``holder``: the auditor firm
    (which then works it with its own `audit` commands) or the audited enterprise
    (which then knows what its auditor's data requests may name). Kept under the
    department's id, ``planned``; once (a grant held already is returned as it is).
    None for a grant that does not name ``holder`` or cannot be read."""
    from parcelguard.identity.service import create_organization, ensure_enterprises

    def text(key: str, max_len: int = 64) -> str | None:
        value = grant.get(key)
        return value if isinstance(value, str) and 0 < len(value) <= max_len else None

    eng_id, enterprise, auditor = text("engagement"), text("enterprise"), text("auditor")
    start, end = aware_time(grant.get("period_start")), aware_time(grant.get("period_end"))
    kind, scope = grant.get("kind"), grant.get("scope")
    if eng_id is None or enterprise is None or auditor is None or holder not in (
            enterprise, auditor) or kind not in KINDS or start is None or end is None \
            or not isinstance(scope, list) or not all(isinstance(c, str) for c in scope):
        return None
    held = session.get(AuditEngagement, eng_id)
    if held is not None:
        return held if (held.enterprise_id, held.auditor_org_id) == (enterprise,
                                                                     auditor) else None
    if ensure_enterprises(session, {enterprise}, clock):
        return None
    firm = identity_read.org(session, auditor)
    if firm is None:
        create_organization(session, org_id=auditor, kind="auditor", name=auditor,
                            clock=clock)
    elif firm.kind != "auditor":
        return None
    seed = text("sample_seed", 32)
    eng = AuditEngagement(
        id=eng_id, enterprise_id=enterprise, auditor_org_id=auditor,
        lead_auditor_id=text("lead") or f"{auditor}/lead", kind=kind,
        reason=str(grant.get("reason") or "")[:500], scope=list(scope)[:200],
        rulebook_version=text("rulebook", 32) or "", period_start=start, period_end=end,
        status="planned", requested_by=text("requested_by", 140) or f"node:{granted_by}",
        created_at=aware_time(grant.get("created_at")) or clock.now(),
        sample_seed=seed or secrets.token_hex(16))
    session.add(eng)
    session.flush()
    return eng


def granted_read(session: Session, engagement_id: object, *, auditor: str, enterprise: str,
                 request: str, clock: Clock) -> str | None:
    """Whether an auditor's data request to the enterprise's node may be answered:
    it names an engagement granted to that auditor over that enterprise (held here
    by ``record_grant``) and not cancelled. None when it may (the read is then logged
    against the engagement, as ``conducting`` logs a read on a single store), else
    why not."""
    if not isinstance(engagement_id, str) or not engagement_id:
        return "a data request from an auditor names the engagement it was granted"
    eng = session.get(AuditEngagement, engagement_id[:64])
    if eng is None or (eng.auditor_org_id, eng.enterprise_id) != (auditor, enterprise):
        return f"no engagement {engagement_id[:64]} of {auditor} over {enterprise} is granted"
    if eng.status == "cancelled":
        return f"engagement {eng.id} is cancelled"
    session.add(AuditAccessLog(engagement_id=eng.id, actor=f"{auditor}/node",
                               action="data_request", detail={"request": request[:64]},
                               at=clock.now()))
    session.flush()
    return None
