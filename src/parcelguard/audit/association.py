"""The industry association (seed 3.1, 3.2): it publishes the uniform rulebook
(together with the administration: each version is validated exactly like the shipped
rulebook and kept with its SHA-256 so reports can cite it), applies it to its members
and supervises them by reading their scorecards. It reads members only, and only
reads: it orders nothing, that is the supervision department's power.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.audit import scorecards
from parcelguard.audit.controls import EVALUATORS
from parcelguard.audit.models import AssociationMember, RulebookVersion
from parcelguard.audit.rulebook import RulebookError, parse
from parcelguard.core.clock import Clock
from parcelguard.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from parcelguard.core.ids import new_id
from parcelguard.identity import read as identity_read
from parcelguard.identity.permissions import Principal


def _org(session: Session, org_id: str, kind: str) -> identity_read.Org:
    return identity_read.org_of_kind(session, org_id, kind)


def join(session: Session, *, association_id: str, enterprise_id: str,
         clock: Clock) -> AssociationMember:
    """Record an enterprise's membership (the machine-local operator registers it)."""
    _org(session, association_id, "association")
    _org(session, enterprise_id, "enterprise")
    if session.get(AssociationMember, (association_id, enterprise_id)) is not None:
        raise Conflict(f"{enterprise_id} is already a member of {association_id}")
    row = AssociationMember(association_id=association_id, enterprise_id=enterprise_id,
                            joined_at=clock.now())
    session.add(row)
    session.flush()
    return row


def members(session: Session, association_id: str) -> list[str]:
    return list(session.scalars(select(AssociationMember.enterprise_id).where(
        AssociationMember.association_id == association_id)
        .order_by(AssociationMember.enterprise_id)))


def publish(session: Session, principal: Principal, doc: dict[str, Any], *,
            clock: Clock) -> RulebookVersion:
    """Publish a rulebook version; refused unless it validates like the shipped one
    and its (id, version) is new for this association."""
    principal.require("rulebook:publish")
    try:
        rb = parse(doc, EVALUATORS)
    except RulebookError as exc:
        raise InvalidInput(f"the rulebook does not validate: {exc}") from None
    if session.scalars(select(RulebookVersion.id).where(
            RulebookVersion.association_id == principal.org_id,
            RulebookVersion.rulebook_id == rb.id,
            RulebookVersion.version == rb.version)).first() is not None:
        raise Conflict(f"{rb.id} version {rb.version} is already published")
    row = RulebookVersion(id=new_id("rbv"), association_id=principal.org_id,
                          rulebook_id=rb.id, version=rb.version, sha256=rb.sha256,
                          content=doc, published_at=clock.now(),
                          published_by=principal.account_id or "operator")
    session.add(row)
    session.flush()
    return row


def versions(session: Session) -> list[RulebookVersion]:
    """Every published version, newest first: public, as the rulebook itself is."""
    return list(session.scalars(select(RulebookVersion).order_by(
        RulebookVersion.published_at.desc(), RulebookVersion.id)))


def member_scorecards(session: Session, principal: Principal,
                      enterprise_id: str | None = None) -> list[scorecards.Scorecard]:
    """The association's members' scorecards (one member's when named). A
    non-member is answered like an unknown enterprise."""
    principal.require("members:read")
    if principal.org_kind != "association":
        raise PermissionDenied("members' scorecards are the association's view")
    mine = members(session, principal.org_id)
    if enterprise_id is not None:
        if enterprise_id not in mine:
            raise NotFound(f"no member enterprise {enterprise_id}")
        mine = [enterprise_id]
    return [scorecards.build(session, e) for e in mine]
