"""Consent use cases: publish notice versions, record acknowledgements, consents
and withdrawals, and answer the access gate's question `consent_allows`.

Services flush; the boundary commits. Every principal-facing function works inside
the caller's own enterprise: there is no parameter that names another tenant.
Data-subject requests live in `subject_requests.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from parcelguard.consent.models import ConsentRecord, Notice, NoticeVersion
from parcelguard.consent.notice import (
    NoticeParams,
    build_content,
    content_hash,
    needs_new_version,
    purpose_fingerprints,
)
from parcelguard.consent.repository import ConsentRepository
from parcelguard.consent.rules import (
    CHANNELS,
    DELIVERY,
    ConsentAction,
    ConsentEvent,
    ConsentState,
    Decision,
    NoticeTerms,
    Purpose,
    purposes_of,
)
from parcelguard.core.clock import Clock
from parcelguard.core.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from parcelguard.core.ids import new_id
from parcelguard.identity.permissions import Principal

# Subject ids are pseudonyms (the simulation uses "sub-<hex>"). A bare run of digits
# (optionally ending in the ID-number check character X) looks like a phone or resident
# ID number, i.e. PI used as a key, and is refused.
SUBJECT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_DIGITS_ONLY = re.compile(r"^\d{7,}[Xx]?$")


class NoticeTampered(DomainError):
    """A stored notice version no longer matches its content hash."""

    status_code = 500
    code = "notice_tampered"


def check_subject_id(subject_id: str) -> str:
    if not SUBJECT_ID_RE.match(subject_id):
        raise InvalidInput("subject id: 1-64 of A-Z, a-z, 0-9, '.', '_', ':', '-', "
                           "starting with a letter or digit")
    if _DIGITS_ONLY.match(subject_id):
        raise InvalidInput("subject ids are pseudonymous; a phone or ID number cannot be one")
    return subject_id


def check_channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}")
    return channel


def own_enterprise(principal: Principal, permission: str) -> str:
    """The caller's enterprise, after checking the permission."""
    principal.require(permission)
    if principal.org_kind != "enterprise":
        raise PermissionDenied("notices, consents and data-subject requests belong to "
                               "enterprises")
    return principal.org_id


def actor_of(principal: Principal) -> str | None:
    return principal.account_id or principal.api_key_id


# -- notices ------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    version: NoticeVersion
    created: bool  # False: the content was unchanged, the latest version stands


def publish_notice(session: Session, principal: Principal, *, params: NoticeParams,
                   clock: Clock) -> Published:
    """Fill the template for the caller's enterprise and publish it as a new version
    if its content differs from the latest one; older versions are kept unchanged."""
    ent = own_enterprise(principal, "consent:manage")
    content = build_content(params)
    digest = content_hash(content)
    repo = ConsentRepository(session, ent)
    latest = repo.latest_version()
    if latest is not None and not needs_new_version(latest.content_hash, digest):
        return Published(latest, created=False)
    now = clock.now()
    notice = repo.notice()
    if notice is None:
        notice = Notice(id=new_id("ntc"), enterprise_id=ent, created_at=now)
        session.add(notice)
        session.flush()
    version = NoticeVersion(
        id=new_id("ntv"), notice_id=notice.id, enterprise_id=ent,
        version=(latest.version + 1) if latest else 1, content=content, content_hash=digest,
        fingerprints=purpose_fingerprints(content), published_at=now,
        published_by=actor_of(principal))
    session.add(version)
    session.flush()
    return Published(version, created=True)


def _verified(v: NoticeVersion) -> NoticeVersion:
    # The text people consented to is evidence; a row edited behind our back must not
    # be shown as if it were what they saw.
    if content_hash(v.content) != v.content_hash:
        raise NoticeTampered(f"notice version {v.version} does not match its content hash")
    return v


def notice_version(session: Session, principal: Principal, *,
                   version: int | None = None) -> NoticeVersion:
    """One version (default: the latest), its content verified against its hash."""
    ent = own_enterprise(principal, "consent:read")
    repo = ConsentRepository(session, ent)
    v = repo.latest_version() if version is None else repo.version(version)
    if v is None:
        raise NotFound("no privacy notice is published yet" if version is None
                       else f"notice version {version} not found")
    return _verified(v)


def notice_versions(session: Session, principal: Principal) -> list[NoticeVersion]:
    return ConsentRepository(session, own_enterprise(principal, "consent:read")).versions()


# -- the consent state --------------------------------------------------------------


def _state(repo: ConsentRepository, subject_id: str) -> tuple[ConsentState, dict[int, str]]:
    """The person's consent state, and the id of each notice version by number."""
    versions = repo.version_terms()
    number_of = {vid: number for vid, number, _, _ in versions}
    terms = [NoticeTerms(number, at, fps) for _, number, at, fps in versions]
    events = [ConsentEvent(Purpose.parse(r.purpose), ConsentAction(r.action), r.at,
                           number_of[r.notice_version_id] if r.notice_version_id else None,
                           r.id)
              for r in repo.records(subject_id)]
    state = ConsentState(terms, events, restricted_since=repo.pending_deletion_since(subject_id),
                         erased_at=repo.erased_at(subject_id))
    return state, {number: vid for vid, number, _, _ in versions}


def consent_decision(session: Session, enterprise_id: str, subject_id: str,
                     purpose: str | Purpose, at: datetime) -> Decision:
    """`consent_allows` with the reason (for the gate's denial events)."""
    p = purpose if isinstance(purpose, Purpose) else Purpose.parse(purpose)
    state, _ = _state(ConsentRepository(session, enterprise_id), subject_id)
    return state.decide(p, at)


def consent_allows(session: Session, enterprise_id: str, subject_id: str,
                   purpose: str | Purpose, at: datetime) -> bool:
    """May ``subject_id``'s PI be processed for ``purpose`` at ``at``? The access gate
    asks this before every purpose-bound reveal or share. A system call: it trusts
    ``enterprise_id`` and reads nothing but that enterprise's records."""
    return consent_decision(session, enterprise_id, subject_id, purpose, at).allowed


def _record(session: Session, principal: Principal, ent: str, *, subject_id: str,
            purpose: Purpose, action: ConsentAction, version_id: str | None,
            channel: str, at: datetime) -> ConsentRecord:
    rec = ConsentRecord(enterprise_id=ent, subject_id=subject_id, purpose=str(purpose),
                        action=action.value, notice_version_id=version_id,
                        at=at, channel=channel, recorded_by=actor_of(principal))
    session.add(rec)
    session.flush()
    return rec


def _resolve_version(state: ConsentState, version: int | None, at: datetime) -> int:
    if version is not None:
        return version
    current = state.notice_in_force(at)
    if current is None:
        raise NotFound("no privacy notice is published yet; publish one first")
    return current.version


@dataclass
class _Recording:
    """What every recording starts from: the caller's enterprise, the instant, the
    person's state and the notice version ids."""

    enterprise_id: str
    at: datetime
    state: ConsentState
    version_ids: dict[int, str]


def _begin(session: Session, principal: Principal, subject_id: str, channel: str,
           clock: Clock) -> _Recording:
    ent = own_enterprise(principal, "consent:record")
    check_subject_id(subject_id)
    check_channel(channel)
    state, versions = _state(ConsentRepository(session, ent), subject_id)
    return _Recording(ent, clock.now(), state, versions)


def acknowledge_notice(session: Session, principal: Principal, *, subject_id: str,
                       version: int | None = None, channel: str,
                       clock: Clock) -> ConsentRecord:
    """Record that the person was shown the notice in force and acknowledged it: the
    basis for delivery (contract necessity needs notice, not consent)."""
    r = _begin(session, principal, subject_id, channel, clock)
    number = _resolve_version(r.state, version, r.at)
    r.state.check_acknowledge(number, r.at)
    return _record(session, principal, r.enterprise_id, subject_id=subject_id,
                   purpose=DELIVERY, action=ConsentAction.ACKNOWLEDGE,
                   version_id=r.version_ids[number], channel=channel, at=r.at)


def grant_consent(session: Session, principal: Principal, *, subject_id: str, purpose: str,
                  version: int | None = None, channel: str, clock: Clock) -> ConsentRecord:
    """Record the person's consent to one purpose under the notice in force. One
    purpose per call: separate consent (Arts. 23, 29) cannot be bundled."""
    r = _begin(session, principal, subject_id, channel, clock)
    p = Purpose.parse(purpose)
    number = _resolve_version(r.state, version, r.at)
    r.state.check_grant(p, number, r.at)
    return _record(session, principal, r.enterprise_id, subject_id=subject_id, purpose=p,
                   action=ConsentAction.GRANT, version_id=r.version_ids[number],
                   channel=channel, at=r.at)


def withdraw_consent(session: Session, principal: Principal, *, subject_id: str,
                     purpose: str, channel: str, clock: Clock) -> ConsentRecord:
    """Record a withdrawal; from this instant `consent_allows` answers no (Art. 15)."""
    r = _begin(session, principal, subject_id, channel, clock)
    p = Purpose.parse(purpose)
    r.state.check_withdraw(p, r.at)
    current = r.state.notice_in_force(r.at)
    return _record(session, principal, r.enterprise_id, subject_id=subject_id, purpose=p,
                   action=ConsentAction.WITHDRAW,
                   version_id=r.version_ids[current.version] if current else None,
                   channel=channel, at=r.at)


@dataclass(frozen=True)
class PurposeStatus:
    purpose: str
    basis: str
    allowed: bool
    reason: str


@dataclass(frozen=True)
class ConsentStatus:
    subject_id: str
    at: datetime
    notice_version: int | None
    purposes: list[PurposeStatus]
    history: list[dict[str, Any]]


def consent_status(session: Session, principal: Principal, *, subject_id: str,
                   clock: Clock, at: datetime | None = None) -> ConsentStatus:
    """Every purpose the notice in force declares (plus any the person consented to
    earlier) with whether it is allowed now and why, and the full history."""
    ent = own_enterprise(principal, "consent:read")
    check_subject_id(subject_id)
    return subject_status(session, ent, subject_id, at or clock.now())


def subject_status(session: Session, enterprise_id: str, subject_id: str,
                   when: datetime) -> ConsentStatus:
    """`consent_status` for a caller already confined to ``enterprise_id``."""
    state, _ = _state(ConsentRepository(session, enterprise_id), subject_id)
    current = state.notice_in_force(when)
    keys = set(current.fingerprints) if current else set()
    keys |= {str(e.purpose) for e in state.events}
    purposes = []
    for p in purposes_of(keys):
        d = state.decide(p, when)
        purposes.append(PurposeStatus(str(p), p.basis.value, d.allowed, d.reason))
    history = [{"at": e.at, "purpose": str(e.purpose), "action": e.action.value,
                "notice_version": e.notice_version} for e in state.events]
    return ConsentStatus(subject_id, when, current.version if current else None, purposes,
                         history)
