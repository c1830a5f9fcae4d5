"""Identity queries. Every read starts from a base query scoped to the caller's
organisation; reading other organisations needs ``orgs:read_all``."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from parcelguard.identity.models import Account, ApiKey, LoginSession, Organization
from parcelguard.identity.permissions import Principal


class OrganizationRepository:
    def __init__(self, session: Session, principal: Principal) -> None:
        self.session = session
        self.principal = principal

    def _base(self) -> Select[Organization]:
        stmt = select(Organization)
        if not self.principal.can("orgs:read_all"):
            stmt = stmt.where(Organization.id == self.principal.org_id)
        return stmt

    def list_all(self, kind: str | None = None) -> list[Organization]:
        stmt = self._base().order_by(Organization.kind, Organization.id)
        if kind:
            stmt = stmt.where(Organization.kind == kind)
        return list(self.session.scalars(stmt))

    def get(self, org_id: str) -> Organization | None:
        return self.session.scalars(self._base().where(Organization.id == org_id)).first()


class AccountRepository:
    def __init__(self, session: Session, principal: Principal) -> None:
        self.session = session
        self.principal = principal

    def _base(self) -> Select[Account]:
        return select(Account).where(Account.org_id == self.principal.org_id)

    def list_all(self) -> list[Account]:
        return list(self.session.scalars(self._base().order_by(Account.username)))

    def get(self, account_id: str) -> Account | None:
        return self.session.scalars(self._base().where(Account.id == account_id)).first()

    def api_keys(self) -> list[ApiKey]:
        stmt = select(ApiKey).where(ApiKey.org_id == self.principal.org_id)
        return list(self.session.scalars(stmt.order_by(ApiKey.created_at)))


# Authentication lookups happen before a principal exists, so they are the one
# place that reads across organisations, and they return nothing but the match.
def find_account_by_username(session: Session, username: str) -> Account | None:
    return session.scalars(select(Account).where(Account.username == username)).first()


def find_api_key_by_hash(session: Session, key_hash: str) -> ApiKey | None:
    return session.scalars(select(ApiKey).where(ApiKey.key_hash == key_hash)).first()


def find_session(session: Session, session_id: str) -> LoginSession | None:
    return session.get(LoginSession, session_id)
