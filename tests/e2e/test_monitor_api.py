"""The alerts API through the real app: the enterprise's security staff see and
acknowledge their own alerts, the supervision department reads everyone's, other
roles and tenants see nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from parcelguard.app import create_app
from parcelguard.core.clock import ManualClock
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity import service as identity
from parcelguard.identity.permissions import system_principal
from parcelguard.monitor.model import AlertUpdate
from parcelguard.monitor.store import apply_updates
from parcelguard.ops.store import init_store

T0 = 1_794_000_000_000_000


@dataclass
class Api:
    client: TestClient
    officer_a: dict[str, str]
    officer_b: dict[str, str]
    courier_a: dict[str, str]
    supervisor: dict[str, str]
    alert_a: str


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    rt = Runtime(settings=settings, clock=ManualClock(datetime(2026, 11, 11, 9, tzinfo=UTC)))
    init_store(rt.settings)
    keys = {}
    with rt.db.unit_of_work() as uow:
        identity.initialise(uow.session, clock=rt.clock)
        for org in ("ent-a", "ent-b"):
            identity.create_organization(uow.session, org_id=org, kind="enterprise",
                                         name=org, clock=rt.clock)
        for name, org, role in (("oa", "ent-a", "security_officer"),
                                ("ob", "ent-b", "security_officer"),
                                ("ca", "ent-a", "courier"),
                                ("sv", "supervision", "supervisor_analyst")):
            keys[name] = identity.issue_api_key(
                uow.session, system_principal("supervision"), name=name, role=role,
                clock=rt.clock, org_id=org).secret
        raised = apply_updates(uow.session, [
            AlertUpdate(enterprise_id=ent, detector="after_leaving", subject_type="employee",
                        subject_id="emp-1", fire=True, t_us=T0, first_us=T0,
                        event_ids=["ev-1"], score=0.95, summary="emp-1 used after leaving")
            for ent in ("ent-a", "ent-b")], cap=500)
        uow.commit()
    with TestClient(create_app(rt)) as client:
        yield Api(client, *({"Authorization": f"Bearer {keys[k]}"}
                            for k in ("oa", "ob", "ca", "sv")), alert_a=raised[0].alert_id)
    rt.close()


def test_each_sees_what_they_may(api: Api) -> None:
    c = api.client
    mine = c.get("/api/v1/alerts", headers=api.officer_a).json()
    assert [(a["enterprise_id"], a["detector"], a["severity"]) for a in mine] == [
        ("ent-a", "after_leaving", "critical")]
    assert mine[0]["event_ids"] == ["ev-1"]
    assert mine[0]["status"] == "open"
    everyone = c.get("/api/v1/alerts", headers=api.supervisor).json()
    assert {a["enterprise_id"] for a in everyone} == {"ent-a", "ent-b"}
    one = c.get("/api/v1/alerts?enterprise_id=ent-b", headers=api.supervisor).json()
    assert [a["enterprise_id"] for a in one] == ["ent-b"]
    assert c.get("/api/v1/alerts", headers=api.courier_a).status_code == 403
    assert c.get(f"/api/v1/alerts/{api.alert_a}", headers=api.officer_b).status_code == 404
    assert c.get("/api/v1/alerts").status_code == 401


def test_acknowledge_and_close(api: Api) -> None:
    c = api.client
    url = f"/api/v1/alerts/{api.alert_a}"
    assert c.post(f"{url}/ack", headers=api.officer_b).status_code == 404
    assert c.post(f"{url}/ack", headers=api.supervisor).status_code == 403
    r = c.post(f"{url}/ack", headers=api.officer_a)
    assert (r.status_code, r.json()["status"]) == (200, "acknowledged")
    assert c.post(f"{url}/close", headers=api.officer_a).json()["status"] == "closed"
    assert c.post(f"{url}/ack", headers=api.officer_a).status_code == 409
    listed = c.get("/api/v1/alerts?status=closed", headers=api.officer_a).json()
    assert [a["alert_id"] for a in listed] == [api.alert_a]
