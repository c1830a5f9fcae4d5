"""The events API learns its caller through core's caller port (core/http.py), filled
by the authenticator the identity plugin installs: with it, the caller's permission
and organisation decide; without it, nothing is served and nothing stored."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from parcelguard.app import create_app
from parcelguard.core.clock import ManualClock
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity import service as identity
from parcelguard.identity.permissions import system_principal
from parcelguard.ledger.models import LedgerEvent
from parcelguard.ops.store import init_store
from tests.integration.ledger.conftest import START, parcel


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[Runtime, FastAPI, dict[str, str]]]:
    rt = Runtime(settings=settings, clock=ManualClock(START))
    init_store(rt.settings)
    with rt.db.unit_of_work() as uow:
        identity.initialise(uow.session, clock=rt.clock)
        identity.create_organization(uow.session, org_id="ent-a", kind="enterprise",
                                     name="ent-a", clock=rt.clock)
        keys = {role: identity.issue_api_key(uow.session, system_principal("supervision"),
                                             name=role, role=role, clock=rt.clock,
                                             org_id="ent-a").secret
                for role in ("ingest_client", "security_officer")}
        uow.commit()
    try:
        yield rt, create_app(rt), keys
    finally:
        rt.close()


def _stored(rt: Runtime) -> int:
    with rt.db.unit_of_work() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(LedgerEvent)) or 0)


def _post(client: TestClient, key: str, docs: list[dict[str, object]]) -> int:
    return client.post("/api/v1/events", content=msgspec.json.encode(docs),
                       headers={"Authorization": f"Bearer {key}"}).status_code


def test_the_installed_authenticator_decides_who_may_write(
        served: tuple[Runtime, FastAPI, dict[str, str]]) -> None:
    rt, app, keys = served
    with TestClient(app) as client:
        assert _post(client, "pgk_not-a-key", [parcel(0)]) == 401
        assert _post(client, keys["security_officer"], [parcel(0)]) == 403  # no events:write
        assert _stored(rt) == 0
        assert _post(client, keys["ingest_client"], [parcel(0), parcel(1, "ent-b")]) == 422
        assert _stored(rt) == 1  # its own enterprise's event only


def test_without_an_authenticator_the_events_api_serves_no_one(
        served: tuple[Runtime, FastAPI, dict[str, str]]) -> None:
    rt, app, keys = served
    del app.state.authenticate  # as if the identity plugin's api hook had not run
    with TestClient(app, raise_server_exceptions=False) as client:
        assert _post(client, keys["ingest_client"], [parcel(0)]) == 500
    assert _stored(rt) == 0
