"""People and organisations by name on staff pages: an account's display name for an
account or the employee it belongs to, an organisation's name for its id. Employees
have no name of their own (the roster is pseudonymous), so one without an account
stays an id. Looked up once per page, in two queries."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.identity.models import Account, Organization


class Names:
    def __init__(self, session: Session) -> None:
        self.orgs: dict[str, str] = {}
        for org_id, name in session.execute(select(Organization.id, Organization.name)):
            self.orgs[org_id] = name
        self.people: dict[str, str] = {}
        for acc_id, emp_id, name in session.execute(select(
                Account.id, Account.employee_id, Account.display_name).where(
                Account.display_name != "")):
            self.people[acc_id] = name
            if emp_id is not None:
                self.people[emp_id] = name

    def org(self, org_id: str) -> str:
        return self.orgs.get(org_id, org_id)

    def person(self, some_id: str | None) -> str | None:
        """"Name (id)" for a known account or employee; the id otherwise."""
        if some_id is None:
            return None
        name = self.people.get(some_id)
        return f"{name} ({some_id})" if name else some_id

    def actor(self, actor: str) -> str:
        """A timeline's "org/account" actor as "Name · Organisation"."""
        org, _, who = actor.partition("/")
        if not who:
            return actor
        name = self.people.get(who)
        return f"{name} · {self.org(org)}" if name else f"{who} · {self.org(org)}"
