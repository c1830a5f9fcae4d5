"""Logging a person in on the API the way it is done for real: password and the
current code of their authenticator. The authenticator is provisioned here (a fresh
TOTP secret, as the operator's provisioning or a first portal log-in would leave),
so each call can log in again without replaying a code."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from parcelguard.core.db import Database
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity import repository as identity_repo
from parcelguard.vault.provider import vault_service
from parcelguard.web import totp


def authenticator(app: Any, username: str) -> str:
    """A confirmed TOTP secret for ``username``'s account (replacing any other)."""
    rt: Runtime = app.state.runtime
    with rt.db.unit_of_work() as uow:
        acc = identity_repo.find_account_by_username(uow.session, username)
        assert acc is not None, username
        enrolment = totp.enrol(uow.session, app.state.vault.vault.kms, account_id=acc.id,
                               at=rt.clock.now(), reset=True)
        totp.confirm(uow.session, account_id=acc.id, at=rt.clock.now())
        uow.commit()
    return enrolment.secret


def api_login(client: Any, username: str, password: str) -> dict[str, str]:
    """``Authorization`` headers of a fresh API session (TestClient or httpx client
    with ``.app``)."""
    app = client.app
    secret = authenticator(app, username)
    code = totp.current_code(secret, app.state.runtime.clock.now())
    r = client.post("/api/v1/sessions",
                    json={"username": username, "password": password, "code": code})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def home_authenticator(settings: Settings, username: str) -> str:
    """The same for a home a served process works on: enrolled through the database,
    as the portal's first log-in would."""
    db = Database(settings)
    try:
        with db.unit_of_work() as uow:
            acc = identity_repo.find_account_by_username(uow.session, username)
            assert acc is not None, username
            now = datetime.now(UTC)
            enrolment = totp.enrol(uow.session, vault_service(settings).vault.kms,
                                   account_id=acc.id, at=now, reset=True)
            totp.confirm(uow.session, account_id=acc.id, at=now)
            uow.commit()
    finally:
        db.dispose()
    return enrolment.secret


def current_code(secret: str) -> str:
    return totp.current_code(secret, datetime.now(UTC))
