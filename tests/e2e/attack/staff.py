"""Staff accounts with an enrolled authenticator, made through identity's and the
portal's own services, and the two ways people log in: the API and the portal form."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx2 as httpx

from parcelguard.core.runtime import Runtime
from parcelguard.identity import service as identity
from parcelguard.identity.passwords import generate_password
from parcelguard.vault.provider import vault_service
from parcelguard.web import totp


@dataclass
class Person:
    username: str
    password: str = field(repr=False)
    totp_secret: str = field(repr=False)
    org_id: str
    role: str
    last_step: int = field(default=0, repr=False, compare=False)

    def code(self, step: int = 0) -> str:
        """The authenticator's code now (``step`` 30-second steps later: a code is
        good once, so a second log-in within the same step uses the next one)."""
        now = datetime.now(UTC).timestamp() + 30 * step
        return totp.current_code(self.totp_secret, datetime.fromtimestamp(now, UTC))

    def fresh_code(self) -> str:
        """A code this person has not used yet, as a careful user types it: the server
        takes one step of drift and each step once, so after two log-ins within one
        step the third waits for the clock (at most 30 s) instead of being refused."""
        now = time.time()
        step = max(int(now) // totp.STEP_SECONDS, self.last_step + 1)
        wait = (step - 1) * totp.STEP_SECONDS - now
        if wait > 0:
            time.sleep(wait + 0.05)
        self.last_step = step
        return totp.current_code(self.totp_secret,
                                 datetime.fromtimestamp(step * totp.STEP_SECONDS, UTC))


def make_person(rt: Runtime, *, org_id: str, username: str, role: str,
                employee_id: str | None = None) -> Person:
    """An account with a confirmed TOTP secret (the state after a first log-in)."""
    kms = vault_service(rt.settings).vault.kms
    password = generate_password()
    with rt.db.unit_of_work() as uow:
        acc, _ = identity.create_account(uow.session, org_id=org_id, username=username,
                                         role=role, clock=rt.clock, password=password,
                                         employee_id=employee_id)
        enrolment = totp.enrol(uow.session, kms, account_id=acc.id, at=rt.clock.now())
        totp.confirm(uow.session, account_id=acc.id, at=rt.clock.now())
        uow.commit()
    return Person(username, password, enrolment.secret, org_id, role)


def make_org(rt: Runtime, org_id: str, kind: str = "enterprise") -> str:
    with rt.db.unit_of_work() as uow:
        identity.create_organization(uow.session, org_id=org_id, kind=kind, name=org_id,
                                     clock=rt.clock)
        uow.commit()
    return org_id


def api_login(client: httpx.Client, username: str, password: str,
              code: str | None) -> httpx.Response:
    body = {"username": username, "password": password}
    if code is not None:
        body["code"] = code
    return client.post("/api/v1/sessions", json=body)


def csrf(client: httpx.Client) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert m is not None
    return m.group(1)


def portal_login(client: httpx.Client, username: str, password: str,
                 code: str) -> httpx.Response:
    return client.post("/login", data={"csrf_token": csrf(client), "username": username,
                                       "password": password, "code": code})
