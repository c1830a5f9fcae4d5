"""POST/GET /api/v1/checkpoints through the real app on a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import msgspec
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from parcelguard.app import create_app
from parcelguard.core.clock import ManualClock
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity import service as identity
from parcelguard.identity.permissions import system_principal
from parcelguard.ledger import signing
from parcelguard.ledger.models import LedgerEvent, LedgerTile
from parcelguard.ops.store import init_store
from parcelguard.vault.kms import InMemoryKms
from tests.integration.ledger.conftest import START, parcel


@dataclass
class Api:
    client: TestClient
    rt: Runtime
    kms: InMemoryKms
    ent_a: dict[str, str]
    ent_b: dict[str, str]
    supervisor: dict[str, str]

    def push_events(self, lo: int, hi: int) -> None:
        r = self.client.post("/api/v1/events", headers=self.ent_a,
                             content=msgspec.json.encode([parcel(i) for i in range(lo, hi)]))
        assert r.status_code == 200, r.text

    def sign(self) -> str:
        with self.rt.db.unit_of_work() as uow:
            note = signing.checkpoint(uow.session, "ent-a", kms=self.kms,
                                      clock=self.rt.clock).note
            uow.commit()
        return note


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    rt = Runtime(settings=settings, clock=ManualClock(START))
    init_store(rt.settings)
    with rt.db.unit_of_work() as uow:
        identity.initialise(uow.session, clock=rt.clock)
        keys = {}
        for org in ("ent-a", "ent-b"):
            identity.create_organization(uow.session, org_id=org, kind="enterprise",
                                         name=org, clock=rt.clock)
            keys[org] = identity.issue_api_key(uow.session, system_principal("supervision"),
                                               name="feeder", role="ingest_client",
                                               clock=rt.clock, org_id=org).secret
        keys["supervision"] = identity.issue_api_key(
            uow.session, system_principal("supervision"), name="console",
            role="supervisor_analyst", clock=rt.clock, org_id="supervision").secret
        uow.commit()
    with TestClient(create_app(rt)) as client:
        yield Api(client, rt, InMemoryKms(), *({"Authorization": f"Bearer {keys[k]}"}
                                               for k in ("ent-a", "ent-b", "supervision")))
    rt.close()


def test_pushed_checkpoints_are_witnessed_and_shown_to_the_supervisor(api: Api) -> None:
    api.push_events(0, 40)
    first = api.client.post("/api/v1/checkpoints", json={"note": api.sign()}, headers=api.ent_a)
    assert (first.status_code, first.json()["status"]) == (200, "first")
    api.push_events(40, 90)
    grown = api.client.post("/api/v1/checkpoints", json={"note": api.sign()}, headers=api.ent_a)
    assert (grown.status_code, grown.json()["status"], grown.json()["accepted_size"]) == \
        (200, "accepted", 40)
    status = api.client.get("/api/v1/checkpoints/ent-a", headers=api.supervisor)
    assert status.status_code == 200
    assert status.json()["accepted"]["size"] == 90
    assert status.json()["findings"] == []


def test_a_rewritten_history_answers_409_and_leaves_a_finding(api: Api) -> None:
    api.push_events(0, 40)
    api.client.post("/api/v1/checkpoints", json={"note": api.sign()}, headers=api.ent_a)
    with api.rt.db.unit_of_work() as uow:  # an insider rewrites event 3 and its leaf hash
        uow.session.execute(update(LedgerEvent).where(LedgerEvent.seq == 3)
                            .values(leaf=b'{"forged":true}'))
        uow.session.execute(update(LedgerTile).values(data=b"\x00" * 32 * 40))
        uow.commit()
    api.push_events(40, 50)
    r = api.client.post("/api/v1/checkpoints", json={"note": api.sign()}, headers=api.ent_a)
    assert r.status_code == 409
    assert r.json()["status"] == "tamper"
    findings = api.client.get("/api/v1/checkpoints/ent-a",
                              headers=api.supervisor).json()["findings"]
    assert [f["id"] for f in findings] == [r.json()["finding_id"]]
    assert findings[0]["evidence"]["proof"]["verified"] is False


def test_bad_notes_and_foreign_readers_are_refused(api: Api) -> None:
    api.push_events(0, 5)
    note = api.sign()
    bad = api.client.post("/api/v1/checkpoints", json={"note": note.replace("\n5\n", "\n6\n")},
                          headers=api.ent_a)
    assert bad.status_code == 422
    # ent-b cannot push ent-a's note as its own, nor read ent-a's status
    assert api.client.post("/api/v1/checkpoints", json={"note": note},
                           headers=api.ent_b).status_code == 422
    assert api.client.get("/api/v1/checkpoints/ent-a", headers=api.ent_b).status_code == 403
    assert api.client.post("/api/v1/checkpoints", json={"note": note}).status_code == 401
