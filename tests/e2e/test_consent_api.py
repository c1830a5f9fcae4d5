"""The consent API through the real app on a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from faker import Faker
from fastapi.testclient import TestClient

from parcelguard.app import create_app
from parcelguard.core.clock import ManualClock
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity import service as identity
from parcelguard.identity.permissions import system_principal
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.ops.store import init_store
from parcelguard.vault.facade import Vault
from parcelguard.vault.http import vault_dep
from parcelguard.vault.kms import InMemoryKms
from parcelguard.vault.service import VaultService

NOTICE = {"processor_name": "甲快递有限公司", "processor_contact": "privacy@carrier-a.example.com",
          "partners": [{"id": "partner-b", "name": "乙速运有限公司",
                        "contact": "dpo@partner-b.example.com",
                        "purpose": {"zh-CN": "末端派送", "en": "last-mile delivery"},
                        "data_types": ["name", "phone", "address"]}]}


@dataclass
class Api:
    client: TestClient
    a: dict[str, str]  # auth headers, ent-a admin
    b: dict[str, str]  # ent-b admin
    courier: dict[str, str]
    people: dict[str, PartyIn]


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    rt = Runtime(settings=settings, clock=ManualClock(datetime(2026, 11, 11, 9, tzinfo=UTC)))
    init_store(rt.settings)
    vault = VaultService(Vault(InMemoryKms()))
    fake = Faker("zh_CN")
    fake.seed_instance(7)
    people = {s: PartyIn(s, fake.name(), fake.phone_number(), fake.address(), fake.ssn())
              for s in ("sub-alice", "sub-bob")}
    keys = {}
    with rt.db.unit_of_work() as uow:
        identity.initialise(uow.session, clock=rt.clock)
        for org in ("ent-a", "ent-b"):
            identity.create_organization(uow.session, org_id=org, kind="enterprise",
                                         name=org, clock=rt.clock)
        for name, org, role in (("a", "ent-a", "enterprise_admin"),
                                ("b", "ent-b", "enterprise_admin"),
                                ("courier", "ent-a", "courier")):
            keys[name] = identity.issue_api_key(
                uow.session, system_principal("supervision"), name=name, role=role,
                clock=rt.clock, org_id=org).secret
        register_parcels(uow.session, vault, enterprise_id="ent-a", record_created=False,
                         parcels=[ParcelIn(make_waybill_no("SF", 1), people["sub-alice"],
                                           people["sub-bob"], rt.clock.now())])
        uow.commit()
    app = create_app(rt)
    app.dependency_overrides[vault_dep] = lambda: vault
    with TestClient(app) as client:
        yield Api(client, *({"Authorization": f"Bearer {keys[k]}"}
                            for k in ("a", "b", "courier")), people=people)
    rt.close()


def test_notice_publish_and_show(api: Api) -> None:
    c = api.client
    r = c.post("/api/v1/consent/notice/versions", json=NOTICE, headers=api.a)
    assert r.status_code == 201
    assert r.json()["version"] == 1
    assert "partner_sharing:partner-b" in r.json()["purposes"]
    again = c.post("/api/v1/consent/notice/versions", json=NOTICE, headers=api.a)
    assert (again.status_code, again.json()["created"]) == (200, False)
    text = c.get("/api/v1/consent/notice?locale=en&format=text", headers=api.a)
    assert text.headers["x-notice-version"] == "1"
    assert "※ YOU MAY WITHDRAW ANY CONSENT" in text.text
    html = c.get("/api/v1/consent/notice/versions/1", headers=api.a)
    assert html.headers["content-type"].startswith("text/html")
    assert '<p class="pg-prominent"><strong>※【' in html.text
    assert c.get("/api/v1/consent/notice", headers=api.b).status_code == 404
    bad = c.post("/api/v1/consent/notice/versions", json={**NOTICE, "processor_name": " "},
                 headers=api.a)
    assert bad.status_code == 422
    assert "processor name" in bad.json()["detail"]
    typo = c.post("/api/v1/consent/notice/versions", json={**NOTICE, "proccessor": "x"},
                  headers=api.a)
    assert typo.status_code == 422
    assert c.post("/api/v1/consent/notice/versions", json=NOTICE,
                  headers=api.courier).status_code == 403


def test_consent_grant_withdraw_and_status(api: Api) -> None:
    c = api.client
    c.post("/api/v1/consent/notice/versions", json=NOTICE, headers=api.a)
    base = "/api/v1/consent/subjects/sub-alice"
    assert c.post(f"{base}/acknowledgements", json={"channel": "app"},
                  headers=api.a).status_code == 201
    r = c.post(f"{base}/grants", json={"purpose": "location_tracking", "channel": "app"},
               headers=api.a)
    assert r.status_code == 201
    assert r.json()["action"] == "grant"
    refused = c.post(f"{base}/grants", json={"purpose": "delivery", "channel": "app"},
                     headers=api.a)
    assert refused.status_code == 422
    assert "contract necessity" in refused.json()["detail"]
    assert c.post(f"{base}/withdrawals", json={"purpose": "location_tracking",
                                               "channel": "app"},
                  headers=api.a).status_code == 201
    status = c.get(base, headers=api.a).json()
    allowed = {p["purpose"]: p["allowed"] for p in status["purposes"]}
    assert allowed == {"delivery": True, "partner_sharing:partner-b": False,
                       "location_tracking": False, "marketing": False}
    assert c.get(base, headers=api.b).json()["history"] == []


def test_data_subject_requests_over_http(api: Api) -> None:
    c = api.client
    opened = c.post("/api/v1/dsr", json={"subject_id": "sub-alice", "kind": "access",
                                         "channel": "web"}, headers=api.a)
    assert opened.status_code == 201
    rid = opened.json()["id"]
    assert opened.json()["deadline_at"] > opened.json()["received_at"]
    assert c.get(f"/api/v1/dsr/{rid}", headers=api.b).status_code == 404
    # The copy goes to the person on the consumer portal, never to staff over the API
    # (tests/e2e/test_dsr_to_subject.py).
    export = c.post(f"/api/v1/dsr/{rid}/access", headers=api.a)
    assert export.status_code == 404
    assert api.people["sub-alice"].name not in export.text
    assert c.get(f"/api/v1/dsr/{rid}", headers=api.a).json()["status"] == "received"

    deletion = c.post("/api/v1/dsr", json={"subject_id": "sub-bob", "kind": "deletion",
                                           "channel": "web"}, headers=api.a).json()
    held = c.post(f"/api/v1/dsr/{deletion['id']}/deletion", headers=api.a).json()
    assert held["status"] == "deferred"  # the parcel is not delivered yet
    assert "still being delivered" in held["result_note"]
    bad = c.post("/api/v1/dsr", json={"subject_id": "sub-bob", "kind": "forget-me",
                                      "channel": "web"}, headers=api.a)
    assert bad.status_code == 422
