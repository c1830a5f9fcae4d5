"""POST /api/v1/events through the real app on a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pytest
from fastapi.testclient import TestClient

from parcelguard.app import create_app
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity import service as identity
from parcelguard.identity.permissions import system_principal
from parcelguard.ops.store import init_store


def event(event_id: str, enterprise: str = "ent-a", **over: object) -> dict[str, object]:
    ev: dict[str, object] = {
        "event_id": event_id, "kind": "parcel", "occurred_at": "2026-11-11T08:00:00+08:00",
        "enterprise_id": enterprise, "waybill_no": "SF1234567890128", "step": "created"}
    ev.update(over)
    return ev


@pytest.fixture
def api(settings: Settings) -> Iterator[tuple[TestClient, str]]:
    rt = Runtime(settings=settings)
    init_store(rt.settings)
    with rt.db.unit_of_work() as uow:
        identity.initialise(uow.session, clock=rt.clock)
        for org in ("ent-a", "ent-b"):
            identity.create_organization(uow.session, org_id=org, kind="enterprise",
                                         name=org, clock=rt.clock)
        key = identity.issue_api_key(uow.session, system_principal("supervision"),
                                     name="feeder", role="ingest_client", clock=rt.clock,
                                     org_id="ent-a")
        uow.commit()
    with TestClient(create_app(rt)) as client:
        yield client, key.secret
    rt.close()


def test_batch_is_stored_with_the_same_rules_as_the_cli(api: tuple[TestClient, str]) -> None:
    client, key = api
    auth = {"Authorization": f"Bearer {key}"}
    body = [event("e1"), event("e2", step="teleported"), event("e3")]
    r = client.post("/api/v1/events", json=body, headers=auth)
    assert r.status_code == 422
    assert r.json()["stored"] == 2
    assert [x["index"] for x in r.json()["rejected"]] == [2]
    again = client.post("/api/v1/events", json=[event("e1"), event("e3")], headers=auth)
    assert again.status_code == 200
    assert again.json() == {"stored": 0, "duplicates": 2, "rejected": []}


def test_ndjson_is_accepted(api: tuple[TestClient, str]) -> None:
    client, key = api
    body = b"\n".join(msgspec.json.encode(event(f"n{i}")) for i in range(3)) + b"\n"
    r = client.post("/api/v1/events", content=body, headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"})
    assert r.status_code == 200
    assert r.json()["stored"] == 3


def test_a_key_cannot_write_another_enterprises_log(api: tuple[TestClient, str]) -> None:
    client, key = api
    r = client.post("/api/v1/events", json=[event("x1", "ent-b")],
                    headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 422
    assert r.json()["stored"] == 0
    assert "not the caller's organisation" in r.json()["rejected"][0]["reason"]


def test_unauthenticated_and_malformed_requests_get_clear_errors(
        api: tuple[TestClient, str]) -> None:
    client, key = api
    assert client.post("/api/v1/events", json=[event("e1")]).status_code == 401
    bad = client.post("/api/v1/events", json=[event("e1")],
                      headers={"Authorization": "Bearer pgk_not-a-key"})
    assert bad.status_code == 401
    assert "unknown or revoked" in bad.json()["detail"]
    r = client.post("/api/v1/events", content=b"{oops", headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    assert r.status_code == 422
    assert "not JSON" in r.json()["detail"]
