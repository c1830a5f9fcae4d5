"""The channel through the real app on a real SQLite file: an anonymous reporter
files and follows a report with nothing but the receipt code and secret; staff see
a pseudonym, download attachments only as downloads, triangulate and refer; one
police organisation sees the referral and its verifiable evidence, another sees
nothing; the reporter learns the outcome."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from parcelguard.app import create_app
from parcelguard.channel.settings import ChannelSettings
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity import service as identity
from parcelguard.ledger.signing import registered_verifier
from parcelguard.ops.store import init_store
from parcelguard.vault.http import vault_dep
from tests.e2e.staff_login import api_login
from tests.integration.channel.channel_world import (
    ENT,
    INSIDER,
    OTHER_POLICE,
    POLICE,
    World,
    independently_verified,
    make_world,
)

PASSWORD = "correct horse battery staple 42"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))


@dataclass
class Api:
    client: TestClient
    rt: Runtime
    world: World
    staff: dict[str, str]
    police: dict[str, str]
    other_police: dict[str, str]
    supervisor: dict[str, str]


def _login(client: TestClient, username: str) -> dict[str, str]:
    return api_login(client, username, PASSWORD)


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    # many victims report from the one test client: lift the per-source hourly limit
    settings.section(ChannelSettings).reports_per_source_per_hour = 100
    rt = Runtime(settings=settings)
    init_store(rt.settings)
    with rt.db.unit_of_work() as uow:
        world = make_world(uow.session, parcels=60)
        rt.clock = world.clock
        for user, org, role in (("sec", ENT, "security_officer"), ("cop", POLICE,
                                "police_investigator"), ("cop2", OTHER_POLICE,
                                "police_investigator"), ("analyst", "supervision",
                                "supervisor_analyst")):
            identity.create_account(uow.session, org_id=org, username=user, role=role,
                                    clock=world.clock, password=PASSWORD)
        uow.commit()
    app = create_app(rt)
    app.dependency_overrides[vault_dep] = lambda: world.vault
    with TestClient(app) as client:
        yield Api(client, rt, world, _login(client, "sec"), _login(client, "cop"),
                  _login(client, "cop2"), _login(client, "analyst"))
    rt.close()


def _report(api: Api, waybill: str, **extra: object) -> dict[str, str]:
    r = api.client.post(f"/api/v1/channel/{ENT}/reports", json={
        "kind": "scam_call", "body": "骗子说出了我的快递单号", "waybills": [waybill],
        "scam_caller": "17100009999", **extra})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_an_anonymous_report_is_followed_only_with_its_receipt_and_secret(api: Api) -> None:
    png = base64.b64encode(PNG).decode()
    filed = _report(api, api.world.victims[0],
                    attachments=[{"content_type": "image/png", "data_b64": png}])
    url = f"/api/v1/channel/{ENT}/follow-up"
    ok = api.client.post(url, json={"receipt_code": filed["receipt_code"],
                                    "secret": filed["secret"]})
    assert ok.status_code == 200
    assert ok.json()["status"] == "received"
    wrong = api.client.post(url, json={"receipt_code": filed["receipt_code"], "secret": "x"})
    unknown = api.client.post(url, json={"receipt_code": "ABCD-EFGH-JKMN",
                                         "secret": filed["secret"]})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    for _ in range(5):
        api.client.post(url, json={"receipt_code": filed["receipt_code"], "secret": "guess"})
    locked = api.client.post(url, json={"receipt_code": filed["receipt_code"],
                                        "secret": filed["secret"]})
    assert locked.status_code == 429
    assert filed["secret"] not in locked.text
    # staff: pseudonym, attachment only as a download
    listed = api.client.get("/api/v1/channel/reports", headers=api.staff).json()
    assert listed[0]["pseudonym"].startswith("reporter-")
    detail = api.client.get(f"/api/v1/channel/reports/{listed[0]['id']}",
                            headers=api.staff).json()
    att = detail["attachments"][0]
    dl = api.client.get(f"/api/v1/channel/reports/{listed[0]['id']}/attachments/{att['id']}",
                        headers=api.staff)
    assert dl.content == PNG
    assert dl.headers["content-type"] == "application/octet-stream"
    assert dl.headers["content-disposition"].startswith("attachment;")
    assert dl.headers["x-content-type-options"] == "nosniff"
    assert api.client.get("/api/v1/channel/reports", headers=api.police).status_code == 403


def test_triangulate_refer_and_only_the_addressed_police_see_it(api: Api) -> None:
    victims = api.world.victims
    receipts = [_report(api, wb) for wb in victims]
    tri = api.client.post("/api/v1/channel/triangulate", headers=api.staff,
                          json={"waybills": victims})
    assert tri.status_code == 200
    assert set(tri.json()[0]) == {"subject_type", "subject_id", "score", "accessed",
                                  "expected"}
    assert tri.json()[0]["subject_id"] == INSIDER
    report_id = api.client.get("/api/v1/channel/reports", headers=api.staff).json()[0]["id"]
    case = api.client.get(f"/api/v1/channel/reports/{report_id}/triangulation",
                          headers=api.staff).json()
    assert case["ranking"][0]["subject_id"] == INSIDER  # the same ranking in the case
    ref = api.client.post(f"/api/v1/channel/reports/{report_id}/refer", headers=api.staff,
                          json={"reason": "疑似内部人员泄露", "police_org_id": POLICE})
    assert ref.status_code == 201, ref.text
    rid = ref.json()["id"]
    assert api.client.get("/api/v1/referrals", headers=api.other_police).json() == []
    for path in (f"/api/v1/referrals/{rid}", f"/api/v1/referrals/{rid}/evidence"):
        assert api.client.get(path, headers=api.other_police).status_code == 404
    assert [r["id"] for r in api.client.get("/api/v1/referrals",
                                            headers=api.police).json()] == [rid]
    pkg = api.client.get(f"/api/v1/referrals/{rid}/evidence", headers=api.police).json()
    with api.rt.db.unit_of_work() as uow:  # the key from the registry, not the package
        row = registered_verifier(uow.session, ENT)
        assert row is not None
        vkey = row.verifier_key
    assert independently_verified(pkg, vkey) == pkg["events_total"]
    check = api.client.post(f"/api/v1/referrals/{rid}/evidence/verify", headers=api.police)
    assert check.json()["ok"] is True
    assert api.client.get(f"/api/v1/referrals/{rid}/evidence",
                          headers=api.supervisor).status_code == 403
    assert api.client.post(f"/api/v1/referrals/{rid}/accept",
                           headers=api.police).status_code == 200
    done = api.client.post(f"/api/v1/referrals/{rid}/conclude", headers=api.police,
                           json={"outcome": "suspect_identified"})
    assert done.status_code == 200
    assert done.json()["status"] == "concluded"
    view = api.client.post(f"/api/v1/channel/{ENT}/follow-up", json={
        "receipt_code": receipts[3]["receipt_code"], "secret": receipts[3]["secret"]}).json()
    assert "嫌疑人" in view["police_outcome"]
    stats = api.client.get("/api/v1/channel/stats", headers=api.supervisor).json()[ENT]
    assert stats["received"] == len(victims)
    assert stats["forwarded_to_police"] == 1
