"""What other packages may read of identity: plain values, never the ORM rows
(``identity/models.py`` is identity's own). Organisations are registered facts
(kind, name, region, CII status) that every level of supervision names."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.core.errors import NotFound
from parcelguard.identity.models import Organization


@dataclass(frozen=True, slots=True)
class Org:
    id: str
    kind: str
    name: str
    region_code: str | None
    is_cii: bool


def org(session: Session, org_id: str) -> Org | None:
    row = session.get(Organization, org_id)
    if row is None:
        return None
    return Org(id=row.id, kind=row.kind, name=row.name, region_code=row.region_code,
               is_cii=bool(row.is_cii))


def org_of_kind(session: Session, org_id: str, kind: str) -> Org:
    """The organisation, which must be of ``kind``; else NotFound ("no <kind> <id>")."""
    found = org(session, org_id)
    if found is None or found.kind != kind:
        raise NotFound(f"no {kind} {org_id}")
    return found


def org_name(session: Session, org_id: str) -> str:
    """The organisation's registered name (its id when it is not registered)."""
    name = session.scalar(select(Organization.name).where(Organization.id == org_id))
    return name if name else org_id


def org_ids(session: Session, kind: str) -> list[str]:
    """The ids of every organisation of ``kind``, sorted."""
    return list(session.scalars(select(Organization.id).where(Organization.kind == kind)
                                .order_by(Organization.id)))
