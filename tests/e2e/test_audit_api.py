"""The audit API through the real app on a real SQLite file: an auditor logs in and
works its engagement (aggregates, event leaves with proofs), but reads no PI and
nothing of another enterprise anywhere in the API; the supervision department opens
engagements and ranks; the transparency page is public and states epsilon."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec
import pytest
from faker import Faker
from fastapi.testclient import TestClient

from parcelguard.app import create_app
from parcelguard.audit.model import PERIOD_TZ
from parcelguard.core.clock import ManualClock
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity import service as identity
from parcelguard.identity.permissions import Principal
from parcelguard.ledger.ingest import record_events
from parcelguard.logistics import service as logistics
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.logistics.rules import Window
from parcelguard.ops.store import init_store
from parcelguard.supervision.witness import witness_enterprise
from parcelguard.vault.blind_index import normalize_phone
from parcelguard.vault.provider import vault_service
from tests.e2e.staff_login import api_login

PASSWORD = "correct horse battery staple 42"
T0 = datetime(2026, 10, 2, 9, tzinfo=PERIOD_TZ)
NOW = datetime(2026, 10, 30, 9, tzinfo=PERIOD_TZ)
PERIOD = "2026-10-01..2026-10-08"


@dataclass
class Api:
    client: TestClient
    pi: list[str]  # every PI value of the world, as it could appear in a response
    waybills: dict[str, list[str]]

    def login(self, username: str) -> dict[str, str]:
        return api_login(self.client, username, PASSWORD)


def _world(rt: Runtime, clock: ManualClock) -> tuple[list[str], dict[str, list[str]]]:
    vault = vault_service(rt.settings)
    fake = Faker("zh_CN")
    fake.seed_instance(42)
    pi: list[str] = []
    waybills: dict[str, list[str]] = {}
    with rt.db.unit_of_work() as uow:
        s = uow.session
        identity.initialise(s, clock=clock)
        for org, kind in (("ent-a", "enterprise"), ("ent-b", "enterprise"),
                          ("firm-a", "auditor"), ("firm-b", "auditor")):
            identity.create_organization(s, org_id=org, kind=kind, name=org, clock=clock)
        for user, org, role in (("auditor-a", "firm-a", "auditor"),
                                ("auditor-b", "firm-b", "auditor"),
                                ("sup", "supervision", "supervisor_admin"),
                                ("admin-a", "ent-a", "enterprise_admin")):
            identity.create_account(s, org_id=org, username=user, role=role, clock=clock,
                                    password=PASSWORD)
        for n, ent in enumerate(("ent-a", "ent-b")):
            admin = Principal(ent, "enterprise", "enterprise_admin", account_id="acc-x")
            past = ManualClock(T0 - timedelta(days=30))
            logistics.create_station(s, admin, station_id=f"st-{ent}", name="网点",
                                     region_code="310115", clock=past)
            logistics.hire_employee(s, admin, role="courier", station_id=f"st-{ent}",
                                    shift_start="08:00", shift_end="20:00",
                                    employee_id=f"emp-{ent}", clock=past)
            logistics.record_background_check(s, admin, employee_id=f"emp-{ent}",
                                              result="passed", clock=past)
            items = []
            for i in range(3):
                parties = [PartyIn(f"sub-{ent}-{i}-{k}", fake.name(), fake.phone_number(),
                                   fake.address(), fake.ssn() if k == 0 else None)
                           for k in range(2)]
                for p in parties:
                    pi += [p.name, p.address, normalize_phone(p.phone), *(
                        [p.id_number] if p.id_number else [])]
                items.append(ParcelIn(make_waybill_no("AB", 10 * n + i), parties[0],
                                      parties[1], T0 - timedelta(hours=1)))
            waybills[ent] = [p.waybill_no for p in items]
            register_parcels(s, vault, enterprise_id=ent, parcels=items)
            logistics.assign(s, admin, waybill_no=items[0].waybill_no,
                             employee_id=f"emp-{ent}", purpose="delivery",
                             window=Window(T0, T0 + timedelta(hours=8)), clock=ManualClock(T0))
            for k in range(4):
                at = T0 + timedelta(minutes=20 * k)
                record_events(s, [{
                    "event_id": f"ev-{ent}-{k}", "kind": "access", "occurred_at": at.isoformat(),
                    "enterprise_id": ent, "actor_type": "employee", "actor_id": f"emp-{ent}",
                    "action": "reveal", "fields": ["recipient_phone"], "record_count": 1,
                    "purpose": "delivery", "outcome": "allowed", "channel": "pda",
                    "waybill_no": items[k % 2].waybill_no}], clock_now=lambda at=at: at)
            witness_enterprise(s, ent, kms=vault.vault.kms, clock=clock)
        uow.commit()
    return pi, waybills


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    clock = ManualClock(NOW)
    rt = Runtime(settings=settings, clock=clock)
    init_store(rt.settings)
    pi, waybills = _world(rt, clock)
    with TestClient(create_app(rt)) as client:
        yield Api(client, pi, waybills)
    rt.close()


def _engage(api: Api, sup: dict[str, str], ent: str, firm: str, lead: str) -> str:
    r = api.client.post("/api/v1/audit/engagements", headers=sup, json={
        "enterprise_id": ent, "auditor_org_id": firm, "lead_auditor": lead, "period": PERIOD})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _no_pi(api: Api, text: str, where: str) -> None:
    digits = re.sub(r"\D", "", text)
    for value in api.pi:
        assert value not in text, f"{where} returned PI"
        assert not (value.isdigit() and value in digits), f"{where} returned PI digits"


def test_an_auditor_works_its_engagement_but_reads_no_pi_and_no_other_enterprise(
        api: Api) -> None:
    sup, aud = api.login("sup"), api.login("auditor-a")
    mine = _engage(api, sup, "ent-a", "firm-a", "auditor-a")
    theirs = _engage(api, sup, "ent-b", "firm-b", "auditor-b")
    c = api.client

    assert c.post(f"/api/v1/audit/engagements/{mine}/start", headers=aud).status_code == 200
    results = c.post(f"/api/v1/audit/engagements/{mine}/evaluate", headers=aud)
    assert results.status_code == 200, results.text
    by_id = {r["control_id"]: r for r in results.json()}
    assert by_id["reveal-assignment"]["evidence"]["reveals"] == 4
    sample = c.post(f"/api/v1/audit/engagements/{mine}/samples", headers=aud,
                    json={"size": 3, "kind": "access"})
    assert sample.status_code == 200, sample.text
    leaves = [msgspec.json.decode(base64.b64decode(e["leaf"])) for e in sample.json()["events"]]
    assert len(leaves) == 3
    assert {lf["enterprise_id"] for lf in leaves} == {"ent-a"}
    assert sample.json()["checkpoint"].startswith("parcelguard.example/ent-a\n")
    for resp, where in ((results, "evaluate"), (sample, "samples")):
        _no_pi(api, resp.text, where)

    # the other firm's engagement, the other enterprise: not even there
    for path in (f"/api/v1/audit/engagements/{theirs}", f"/api/v1/audit/engagements/{theirs}"
                 "/results", "/api/v1/audit/scorecards/ent-b", "/api/v1/audit/scorecards/ent-a",
                 f"/api/v1/audit/engagements/{theirs}/access-log"):
        assert c.get(path, headers=aud).status_code == 404, path
    assert c.post(f"/api/v1/audit/engagements/{theirs}/samples", headers=aud,
                  json={"size": 3}).status_code == 404
    assert [e["id"] for e in c.get("/api/v1/audit/engagements", headers=aud).json()] == [mine]
    assert c.get("/api/v1/audit/ranking", headers=aud).status_code == 403

    # the PI gate refuses an auditor outright
    for path, body in (("/api/v1/pi/reveal", {"waybill_no": api.waybills["ent-a"][0],
                                              "purpose": "audit",
                                              "fields": ["recipient_phone"]}),
                       ("/api/v1/pi/search", {"phone": "13800000000", "purpose": "security"})):
        r = c.post(path, headers=aud, json=body)
        assert r.status_code == 403, (path, r.status_code, r.text)

    # every readable route of the API, as the auditor, with the other enterprise's ids
    fill = {"enterprise_id": "ent-b", "engagement_id": theirs, "period": "2026-10",
            "waybill_no": api.waybills["ent-b"][0]}
    paths = c.get("/openapi.json").json()["paths"]
    for path, ops in paths.items():
        if "get" not in ops:
            continue
        url = re.sub(r"\{(\w+)\}", lambda m: fill.get(m.group(1), "x"), path)
        r = c.get(url, headers=aud)
        _no_pi(api, r.text, url)
        if r.status_code < 300 and "ent-b" in url:
            # transparency pages and the published tlog tiles (C2SP tlog-tiles) are
            # public and hold no PI (checked just above); nothing else serves ent-b
            assert url.startswith(("/api/v1/transparency/", "/tlog/")), \
                f"{url} served ent-b to an auditor"


def test_supervisor_ranks_and_the_public_page_states_epsilon(api: Api) -> None:
    sup, aud = api.login("sup"), api.login("auditor-a")
    eid = _engage(api, sup, "ent-a", "firm-a", "auditor-a")
    c = api.client
    c.post(f"/api/v1/audit/engagements/{eid}/start", headers=aud)
    c.post(f"/api/v1/audit/engagements/{eid}/evaluate", headers=aud)
    report = c.post(f"/api/v1/audit/engagements/{eid}/report", headers=aud)
    assert report.status_code == 201, report.text
    assert report.json()["verified"] is True
    assert c.post(f"/api/v1/audit/engagements/{eid}/evaluate", headers=aud).status_code == 403
    ranking = c.get("/api/v1/audit/ranking", headers=sup).json()
    assert ranking[0]["enterprise_id"] == "ent-a"
    assert ranking[0]["score"] is not None
    admin = api.login("admin-a")
    assert c.get(f"/api/v1/audit/engagements/{eid}/report", headers=admin).json()["verified"]

    pub = c.post("/api/v1/transparency/ent-a/2026-10", headers=admin, json={})
    assert pub.status_code == 201, pub.text
    page = c.get("/api/v1/transparency/ent-a/2026-10")  # no login: public
    assert page.status_code == 200
    assert "ε = 1</strong>" in page.text
    _no_pi(api, page.text, "transparency page")
    r = c.post("/api/v1/transparency/ent-a/2026-10", headers=admin, json={"epsilon": 2.5})
    assert r.status_code == 409
    assert "budget exhausted" in r.json()["detail"]
    assert c.post("/api/v1/transparency/ent-b/2026-10", headers=admin,
                  json={}).status_code == 404
