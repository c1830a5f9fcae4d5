"""What other packages may read of identity: plain values, never the ORM rows
(``identity/models.py`` is identity's own): organisations, accounts (who acted, by
name; which roster employee an account is) and API keys."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.core.errors import NotFound
from parcelguard.identity.models import Account, ApiKey, Organization
from parcelguard.identity.permissions import Principal


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


@dataclass(frozen=True, slots=True)
class AccountInfo:
    id: str
    org_id: str
    username: str
    display_name: str
    role: str
    employee_id: str | None
    active: bool

    def principal(self, org_kind: str) -> Principal:
        return Principal(org_id=self.org_id, org_kind=org_kind, role=self.role,
                         account_id=self.id)


def _account(row: Account | None) -> AccountInfo | None:
    if row is None:
        return None
    return AccountInfo(id=row.id, org_id=row.org_id, username=row.username,
                       display_name=row.display_name, role=row.role,
                       employee_id=row.employee_id, active=bool(row.active))


def account(session: Session, account_id: str | None) -> AccountInfo | None:
    return _account(session.get(Account, account_id)) if account_id else None


def account_by_username(session: Session, username: str) -> AccountInfo | None:
    return _account(session.scalars(select(Account).where(Account.username == username))
                    .first())


def active_principal(session: Session, username: str) -> Principal | None:
    """The principal of the active account ``username`` (machine-local commands that
    act as a named account), or None."""
    acc = account_by_username(session, username)
    if acc is None or not acc.active:
        return None
    found = org(session, acc.org_id)
    return acc.principal(found.kind if found else "")


def employee_of(session: Session, account_id: str | None) -> str | None:
    """The roster employee an account belongs to (couriers, sorters ...), if any."""
    acc = account(session, account_id)
    return acc.employee_id if acc else None


def display_names(session: Session, account_ids: Iterable[str]) -> dict[str, str]:
    """Account id -> the name people know it by (display name, else username)."""
    ids = set(account_ids)
    return {a.id: a.display_name or a.username for a in session.scalars(
        select(Account).where(Account.id.in_(ids)))} if ids else {}


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    id: str
    org_id: str
    revoked: bool


def api_key(session: Session, key_id: str) -> ApiKeyInfo | None:
    row = session.get(ApiKey, key_id)
    return None if row is None else ApiKeyInfo(id=row.id, org_id=row.org_id,
                                               revoked=row.revoked_at is not None)
