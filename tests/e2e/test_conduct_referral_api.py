"""Conduct police referrals through the real app (issue 15, last bullet): low
ratings with privacy tags and no evidence link lead to review, never to a referral;
a referral is only proposed on an evidence link (a monitor alert, a canary hit, a
leak cluster), goes to the police only on a person's decision (not a role without
conduct:manage, not an API key), and not at all once its evidence link is gone.
Ratings arrive as a recipient gives them (a one-time link, then the public
evaluation form); effects are read from the database."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from parcelguard.app import create_app
from parcelguard.channel.models import ChannelReferral
from parcelguard.channel.settings import ChannelSettings
from parcelguard.conduct.models import ConductDecision, ConductSignal
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity import service as identity
from parcelguard.identity.permissions import system_principal
from parcelguard.ops.store import init_store
from parcelguard.vault.http import vault_dep
from tests.e2e.staff_login import api_login
from tests.integration.channel.channel_world import COURIERS, ENT, POLICE, World, make_world

PASSWORD = "correct horse battery staple 42"


@dataclass
class Api:
    client: TestClient
    rt: Runtime
    world: World
    sec: dict[str, str]  # a security officer, logged in
    cs: dict[str, str]  # customer service: no conduct:manage
    key: dict[str, str]  # an API key with the security officer's role

    def rate(self, courier: str, ratings: list[tuple[int, list[str]]]) -> None:
        mine = [wb for wb, c in self.world.courier_of.items() if c == courier]
        for wb, (rating, tags) in zip(mine, ratings, strict=False):
            link = self.client.post("/api/v1/conduct/links", headers=self.sec,
                                    json={"waybill_no": wb})
            assert link.status_code == 201, link.text
            assert link.json()["employee_id"] == courier
            r = self.client.post("/api/v1/conduct/evaluations", json={
                "token": link.json()["token"], "rating": rating, "tags": tags})
            assert r.status_code == 201, r.text

    def run(self, courier: str) -> dict[str, dict[str, str]]:
        r = self.client.post("/api/v1/conduct/run", headers=self.sec,
                             json={"employee_ids": [courier]})
        assert r.status_code == 200, r.text
        return {d["kind"]: d for d in r.json()}

    def referrals(self) -> list[tuple[str, str, str]]:
        self.rt.db.dispatch_due()  # whatever the after-commit dispatch left
        with self.rt.db.unit_of_work() as uow:
            return [(r.source_type, r.source_id, r.police_org_id)
                    for r in uow.session.scalars(select(ChannelReferral))]

    def status(self, decision_id: str) -> str | None:
        with self.rt.db.unit_of_work() as uow:
            d = uow.session.get(ConductDecision, decision_id)
            return d.status if d else None


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    # two police organisations are registered
    settings.section(ChannelSettings).police_org_id = POLICE
    rt = Runtime(settings=settings)
    init_store(rt.settings)
    with rt.db.unit_of_work() as uow:
        world = make_world(uow.session, parcels=60)
        rt.clock = world.clock
        for user, role in (("sec", "security_officer"), ("service", "customer_service")):
            identity.create_account(uow.session, org_id=ENT, username=user, role=role,
                                    clock=world.clock, password=PASSWORD)
        key = identity.issue_api_key(uow.session, system_principal("supervision"),
                                     name="soc-bot", role="security_officer",
                                     clock=world.clock, org_id=ENT).secret
        uow.commit()
    app = create_app(rt)
    app.dependency_overrides[vault_dep] = lambda: world.vault
    with TestClient(app) as client:
        yield Api(client, rt, world, api_login(client, "sec", PASSWORD),
                  api_login(client, "service", PASSWORD), {"Authorization": f"Bearer {key}"})
    rt.close()


def test_ratings_and_privacy_tags_alone_lead_to_review(api: Api) -> None:
    tagged = COURIERS[1]
    api.rate(tagged, [(1, ["data_misuse"]), (2, ["data_misuse"]), (1, [])])
    made = api.run(tagged)
    assert "review" in made
    assert "police_referral" not in made
    assert api.referrals() == []


def test_a_referral_needs_an_evidence_link_and_a_persons_decision(api: Api) -> None:
    courier = COURIERS[2]
    api.rate(courier, [(1, []), (1, []), (2, [])])
    assert "police_referral" not in api.run(courier)  # ratings alone
    alert_at = api.world.clock.now() - timedelta(hours=1)
    signal = {"employee_id": courier, "source": "monitor_alert", "ref": "alr-77",
              "severity": "high", "at": alert_at.isoformat()}
    r = api.client.post("/api/v1/conduct/signals", headers=api.sec, json=signal)
    assert r.status_code == 201, r.text
    proposed = api.run(courier)["police_referral"]
    assert proposed["status"] == "proposed"
    assert api.referrals() == []  # the rules only propose
    url = f"/api/v1/conduct/decisions/{proposed['id']}/confirm-referral"

    # not a role without conduct:manage, not a machine client
    assert api.client.post(url, headers=api.cs).status_code == 403
    by_key = api.client.post(url, headers=api.key)
    assert by_key.status_code == 403
    assert "person" in by_key.json()["detail"]
    # the alert turns out a false positive and is purged: nothing left to refer on
    with api.rt.db.unit_of_work() as uow:
        uow.session.execute(delete(ConductSignal).where(ConductSignal.employee_id == courier))
        uow.commit()
    bare = api.client.post(url, headers=api.sec)
    assert bare.status_code == 422
    assert "evidence link" in bare.json()["detail"]
    assert (api.referrals(), api.status(proposed["id"])) == ([], "proposed")

    # the alert stands after all (restored as it was): a person sends it
    assert api.client.post("/api/v1/conduct/signals", headers=api.sec,
                           json=signal).status_code == 201
    sent = api.client.post(url, headers=api.sec)
    assert sent.status_code == 200, sent.text
    assert sent.json()["evidence_links"] == ["monitor_alert:alr-77"]
    assert api.referrals() == [("conduct", proposed["id"], POLICE)]
    assert api.status(proposed["id"]) == "active"
    assert api.client.post(url, headers=api.sec).status_code == 409
    assert len(api.referrals()) == 1
