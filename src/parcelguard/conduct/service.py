"""Conduct use cases: one-time evaluation links after delivery, evaluations, signs of
leakage noted from other domains, the rules round, decisions and appeals.

Links carry 192 random bits and only their SHA-256 is stored; a link is used once
and expires (``link_days``). Whatever is wrong with a link (unknown, used, expired),
the answer is the same, so links cannot be probed.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from parcelguard.access import suspensions
from parcelguard.access.policy import looks_like_pi
from parcelguard.conduct import rules
from parcelguard.conduct.events import ConductReferralRequested, DecisionRecorded
from parcelguard.conduct.models import (
    ConductAppeal,
    ConductDecision,
    ConductEvaluation,
    ConductLink,
    ConductSignal,
)
from parcelguard.conduct.settings import ConductSettings
from parcelguard.core.clock import Clock
from parcelguard.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from parcelguard.core.ids import new_id
from parcelguard.core.outbox import emit
from parcelguard.identity import read as identity_read
from parcelguard.identity.permissions import Principal
from parcelguard.logistics import read as logistics_read
from parcelguard.logistics.identifiers import is_valid_waybill_no

INVALID_LINK = "this evaluation link is not valid (unknown, already used or expired)"
SIGNAL_SOURCES = ("monitor_alert", "canary", "channel")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedLink:
    waybill_no: str
    employee_id: str
    expires_at: datetime
    token: str = field(repr=False)  # goes to the recipient only


def issue_link(session: Session, *, enterprise_id: str, waybill_no: str, clock: Clock,
               settings: ConductSettings, employee_id: str | None = None) -> IssuedLink:
    """A link for the recipient to evaluate the parcel's delivery courier (the last
    delivery assignment unless named). One link per parcel."""
    if not is_valid_waybill_no(waybill_no):
        raise InvalidInput("waybill number is malformed or fails its check digit")
    if employee_id is None:
        employee_id = logistics_read.delivery_courier(session, enterprise_id, waybill_no)
        if employee_id is None:
            raise InvalidInput("the parcel has no delivery courier to evaluate")
    if logistics_read.employee_of(session, enterprise_id, employee_id) is None:
        raise NotFound.of("no employee %(id)s", id=employee_id)
    if session.scalar(select(ConductLink.token_hash).where(
            ConductLink.enterprise_id == enterprise_id,
            ConductLink.waybill_no == waybill_no)) is not None:
        raise Conflict("an evaluation link was already issued for this parcel")
    token = secrets.token_urlsafe(24)
    now = clock.now()
    link = ConductLink(token_hash=_hash(token), enterprise_id=enterprise_id,
                       waybill_no=waybill_no, employee_id=employee_id, issued_at=now,
                       expires_at=now + timedelta(days=settings.link_days))
    session.add(link)
    session.flush()
    return IssuedLink(waybill_no, employee_id, link.expires_at, token)


def submit_evaluation(session: Session, *, token: str, rating: int, tags: Iterable[str],
                      clock: Clock) -> ConductEvaluation:
    """The recipient's evaluation through their one-time link."""
    clean = rules.check_evaluation(rating, tags)
    now = clock.now()
    link = session.get(ConductLink, _hash(token), with_for_update=True)
    if link is None or link.used_at is not None or link.expires_at <= now:
        raise NotFound(INVALID_LINK)
    link.used_at = now
    ev = ConductEvaluation(id=new_id("evl"), enterprise_id=link.enterprise_id,
                           employee_id=link.employee_id, waybill_no=link.waybill_no,
                           rating=rating, tags=clean, privacy_flag=rules.has_privacy_tag(clean),
                           at=now)
    session.add(ev)
    session.flush()
    return ev


def note_signal(session: Session, *, enterprise_id: str, employee_id: str, source: str,
                ref: str, severity: str, at: datetime) -> bool:
    """Record a sign of leakage about an employee (a monitor alert, a canary hit);
    bridges/reactions.py calls this for ``AlertRaised``/``CanaryTouched``. True if new."""
    if source not in SIGNAL_SOURCES:
        raise InvalidInput(f"source must be one of {', '.join(SIGNAL_SOURCES)}")
    exists = session.scalar(select(ConductSignal.id).where(
        ConductSignal.enterprise_id == enterprise_id, ConductSignal.employee_id == employee_id,
        ConductSignal.source == source, ConductSignal.ref == ref))
    if exists is not None:
        return False
    session.add(ConductSignal(enterprise_id=enterprise_id, employee_id=employee_id,
                              source=source, ref=ref[:128], severity=severity[:8], at=at))
    session.flush()
    return True


def window_of(session: Session, *, enterprise_id: str, employee_id: str, now: datetime,
              settings: ConductSettings) -> rules.Window:
    since = now - timedelta(days=settings.window_days)
    evals = session.execute(select(ConductEvaluation.rating, ConductEvaluation.tags).where(
        ConductEvaluation.enterprise_id == enterprise_id,
        ConductEvaluation.employee_id == employee_id, ConductEvaluation.at > since,
        ConductEvaluation.at <= now)).all()
    signals = len(session.scalars(select(ConductSignal.id).where(
        ConductSignal.enterprise_id == enterprise_id, ConductSignal.employee_id == employee_id,
        ConductSignal.at > since, ConductSignal.at <= now)).all())
    return rules.window(evals, leak_signals=signals, low_rating=settings.low_rating)


@dataclass
class Round:
    decisions: list[ConductDecision] = field(default_factory=list)
    events: list[object] = field(default_factory=list)  # referral requests are emitted


def apply_rules(session: Session, *, enterprise_id: str, now: datetime,
                settings: ConductSettings, by: str, clock: Clock,
                employee_ids: Sequence[str] | None = None) -> Round:
    """Evaluate the window of every employee with evaluations or signals in it (or
    those named) and record what the rules call for. A kind already decided in the
    window (and not overturned) is not decided again."""
    since = now - timedelta(days=settings.window_days)
    if employee_ids is None:
        ids = set(session.scalars(select(ConductEvaluation.employee_id).where(
            ConductEvaluation.enterprise_id == enterprise_id, ConductEvaluation.at > since)))
        ids |= set(session.scalars(select(ConductSignal.employee_id).where(
            ConductSignal.enterprise_id == enterprise_id, ConductSignal.at > since)))
        employee_ids = sorted(ids)
    out = Round()
    for emp in employee_ids:
        w = window_of(session, enterprise_id=enterprise_id, employee_id=emp, now=now,
                      settings=settings)
        recent = set(session.scalars(select(ConductDecision.kind).where(
            ConductDecision.enterprise_id == enterprise_id, ConductDecision.employee_id == emp,
            ConductDecision.decided_at > since, ConductDecision.status != "overturned")))
        for verdict in rules.decide(w, settings):
            if verdict.kind in recent:
                continue
            d = _record(session, enterprise_id=enterprise_id, employee_id=emp,
                        verdict=verdict, w=w, by=by, clock=clock, now=now)
            out.decisions.append(d)
            out.events.append(DecisionRecorded(d.id, enterprise_id, emp, d.kind, now))
    return out


def confirm_referral(session: Session, principal: Principal, decision_id: str, *,
                     clock: Clock) -> ConductReferralRequested:
    """A person decides that a proposed police referral goes to the police. The
    referral carries its evidence links (the signals behind it); it is refused when
    none is left in the window (a referral never rests on ratings alone). Deciding is
    a person's act: an API key (a machine client) cannot confirm, or an integration
    could send every proposal to the police unseen."""
    principal.require("conduct:manage")
    if principal.account_id is None:
        raise PermissionDenied("confirming a police referral is a person's decision: log "
                               "in as a person, an API key cannot")
    d = session.scalars(_decisions(principal).where(ConductDecision.id == decision_id)
                        .with_for_update()).first()
    if d is None or d.kind != "police_referral":
        raise NotFound.of("no proposed police referral %(id)s", id=decision_id)
    if d.status != "proposed":
        raise Conflict.of("the referral is %(status)s", status=d.status)
    links = [f"{src}:{ref}" for src, ref in session.execute(
        select(ConductSignal.source, ConductSignal.ref).where(
            ConductSignal.enterprise_id == d.enterprise_id,
            ConductSignal.employee_id == d.employee_id, ConductSignal.at <= d.decided_at)
        .order_by(ConductSignal.at))]
    if not links:
        raise InvalidInput("a police referral needs an evidence link (an alert, an access "
                           "anomaly or a leak cluster); ratings alone lead to review")
    d.status = "active"
    d.decided_by = (principal.account_id or "staff")[:64]
    d.decided_at = clock.now()
    session.flush()
    ev = ConductReferralRequested(d.id, d.enterprise_id, d.employee_id, d.rule,
                                  {**d.figures, "evidence_links": links})
    # The referral goes to the police through the outbox once this commits, whichever
    # entry point confirmed it (the channel reacts; conduct does not import it).
    emit(session, ev)
    return ev


def _record(session: Session, *, enterprise_id: str, employee_id: str,
            verdict: rules.Verdict, w: rules.Window, now: datetime, by: str,
            clock: Clock) -> ConductDecision:
    # a police referral is only proposed by the rules: a person confirms it
    status = "proposed" if verdict.kind == "police_referral" else "active"
    d = ConductDecision(id=new_id("cdc"), enterprise_id=enterprise_id, employee_id=employee_id,
                        kind=verdict.kind, rule=verdict.rule[:200], figures=w.as_dict(),
                        status=status, decided_at=now, decided_by=by)
    if verdict.kind == "suspension":
        sus = suspensions.suspend(session, enterprise_id=enterprise_id,
                                  reason=f"conduct: {verdict.rule}"[:500], by=by, clock=clock,
                                  employee_id=employee_id)
        d.suspension_id = sus.id
    session.add(d)
    session.flush()
    return d


# -- reading, appeals ---------------------------------------------------------------


def _decisions(principal: Principal) -> Select[ConductDecision]:
    if principal.org_kind != "enterprise":
        raise PermissionDenied("conduct decisions belong to an enterprise")
    return select(ConductDecision).where(ConductDecision.enterprise_id == principal.org_id)


def _own_employee(session: Session, principal: Principal) -> str | None:
    return identity_read.employee_of(session, principal.account_id)


def list_decisions(session: Session, principal: Principal, *,
                   employee_id: str | None = None) -> list[ConductDecision]:
    """Staff with conduct:read see all; an employee sees their own."""
    stmt = _decisions(principal)
    if not principal.can("conduct:read"):
        principal.require("conduct:appeal")
        employee_id = _own_employee(session, principal) or "-"
    if employee_id is not None:
        stmt = stmt.where(ConductDecision.employee_id == employee_id)
    return list(session.scalars(stmt.order_by(ConductDecision.decided_at.desc(),
                                              ConductDecision.id)))


def _text(value: str, what: str) -> str:
    text = " ".join(value.split())
    if not 3 <= len(text) <= 1000:
        raise InvalidInput(f"{what}: 3-1000 characters")
    if looks_like_pi(text):
        raise InvalidInput(f"{what}: no phone numbers, ID numbers or e-mail addresses")
    return text


def appeal(session: Session, principal: Principal, decision_id: str, *, grounds: str,
           clock: Clock) -> ConductAppeal:
    """The employee (or staff on their behalf) appeals a sanction."""
    d = session.scalars(_decisions(principal).where(ConductDecision.id == decision_id)).first()
    if d is None:
        raise NotFound.of("no decision %(id)s", id=decision_id)
    if not principal.can("conduct:manage"):
        principal.require("conduct:appeal")
        if _own_employee(session, principal) != d.employee_id:
            raise NotFound.of("no decision %(id)s", id=decision_id)
    if d.kind not in rules.SANCTIONS:
        raise InvalidInput("only sanctions can be appealed")
    if d.status != "active":
        raise Conflict.of("the decision is %(status)s", status=d.status)
    a = ConductAppeal(id=new_id("apl"), decision_id=d.id, grounds=_text(grounds, "grounds"),
                      filed_by=principal.account_id or principal.api_key_id or "system",
                      filed_at=clock.now(), status="pending")
    d.status = "appealed"
    session.add(a)
    session.flush()
    return a


def decide_appeal(session: Session, principal: Principal, appeal_id: str, *, outcome: str,
                  response: str, clock: Clock) -> ConductAppeal:
    """Uphold or overturn; overturning a suspension lifts it at once."""
    principal.require("conduct:manage")
    a = session.get(ConductAppeal, appeal_id)
    d = session.get(ConductDecision, a.decision_id) if a is not None else None
    if a is None or d is None or d.enterprise_id != principal.org_id:
        raise NotFound.of("no appeal %(id)s", id=appeal_id)
    if outcome not in ("upheld", "overturned"):
        raise InvalidInput("outcome: upheld or overturned")
    if a.status != "pending":
        raise Conflict.of("the appeal was already %(status)s", status=a.status)
    text = _text(response, "response")  # checked before anything changes
    by = principal.account_id or principal.api_key_id or "system"
    a.status, a.decided_by, a.decided_at, a.response = outcome, by, clock.now(), text
    d.status = outcome
    if outcome == "overturned" and d.suspension_id is not None:
        # lifted already by someone else: the outcome is the same
        with contextlib.suppress(Conflict):
            suspensions.lift(session, enterprise_id=d.enterprise_id,
                             suspension_id=d.suspension_id, by=by, clock=clock)
    session.flush()
    return a


def appeals(session: Session, principal: Principal, *,
            status: str | None = None) -> list[ConductAppeal]:
    principal.require("conduct:read")
    stmt = select(ConductAppeal).join(ConductDecision,
                                      ConductDecision.id == ConductAppeal.decision_id).where(
        ConductDecision.enterprise_id == principal.org_id)
    if status is not None:
        stmt = stmt.where(ConductAppeal.status == status)
    return list(session.scalars(stmt.order_by(ConductAppeal.filed_at, ConductAppeal.id)))
