"""The gate's API through the real app on a real SQLite file: a courier logs in,
is allowed to reveal their assigned parcel and refused (403 with the reason) for
another one; both attempts are in the ledger."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from faker import Faker
from fastapi.testclient import TestClient
from sqlalchemy import select

from parcelguard.app import create_app
from parcelguard.core.clock import ManualClock
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity import service as identity
from parcelguard.identity.permissions import Principal
from parcelguard.ledger.models import LedgerEvent
from parcelguard.logistics import service as logistics
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.logistics.rules import Window
from parcelguard.ops.store import init_store
from parcelguard.vault.facade import Vault
from parcelguard.vault.http import vault_dep
from parcelguard.vault.kms import InMemoryKms
from parcelguard.vault.service import VaultService
from tests.e2e.staff_login import api_login

T0 = datetime(2026, 11, 11, 1, tzinfo=UTC)
PASSWORD = "correct horse battery staple 42"


@dataclass
class Api:
    client: TestClient
    rt: Runtime
    courier: dict[str, str]
    supervisor: dict[str, str]
    recipient: PartyIn
    mine: str
    other: str


def _login(client: TestClient, username: str) -> dict[str, str]:
    return {**api_login(client, username, PASSWORD), "X-Channel": "pda",
            "X-Device-Id": "pda-0042"}


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    clock = ManualClock(T0)
    rt = Runtime(settings=settings, clock=clock)
    init_store(rt.settings)
    vault = VaultService(Vault(InMemoryKms()))
    fake = Faker("zh_CN")
    fake.seed_instance(11)
    people = [PartyIn(f"sub-{i}", fake.name(), fake.phone_number(), fake.address(), fake.ssn())
              for i in range(2)]
    mine, other = make_waybill_no("SF", 1), make_waybill_no("SF", 2)
    with rt.db.unit_of_work() as uow:
        s = uow.session
        identity.initialise(s, clock=clock)
        identity.create_organization(s, org_id="ent-a", kind="enterprise", name="甲快递",
                                     clock=clock)
        admin = Principal("ent-a", "enterprise", "enterprise_admin", account_id="acc-admin")
        logistics.create_station(s, admin, station_id="st-1", name="一号网点",
                                 region_code="310115", clock=clock)
        logistics.hire_employee(s, admin, role="courier", station_id="st-1",
                                shift_start="08:00", shift_end="20:00",
                                employee_id="emp-courier", clock=clock)
        logistics.record_background_check(s, admin, employee_id="emp-courier",
                                          result="passed", clock=clock)
        identity.create_account(s, org_id="ent-a", username="courier1", role="courier",
                                clock=clock, password=PASSWORD, employee_id="emp-courier")
        identity.create_account(s, org_id="supervision", username="analyst",
                                role="supervisor_analyst", clock=clock, password=PASSWORD)
        register_parcels(s, vault, enterprise_id="ent-a", record_created=False, parcels=[
            ParcelIn(w, people[0], people[1], T0, destination_station_id="st-1")
            for w in (mine, other)])
        logistics.assign(s, admin, waybill_no=mine, employee_id="emp-courier",
                         purpose="delivery", window=Window(T0, T0 + timedelta(hours=8)),
                         clock=clock)
        uow.commit()
    app = create_app(rt)
    app.dependency_overrides[vault_dep] = lambda: vault
    with TestClient(app) as client:
        yield Api(client, rt, _login(client, "courier1"), _login(client, "analyst"),
                  people[1], mine, other)
    rt.close()


def _access_events(rt: Runtime) -> list[dict[str, object]]:
    with rt.db.unit_of_work() as uow:
        leaves = uow.session.scalars(select(LedgerEvent.leaf).where(
            LedgerEvent.enterprise_id == "ent-a", LedgerEvent.kind == "access")
            .order_by(LedgerEvent.seq))
        events = [msgspec.json.decode(leaf) for leaf in leaves]
    # the API log-ins are access events too; these tests look at the gate's
    return [e for e in events if e["action"] not in ("login", "login_failed")]


def test_reveal_allowed_for_the_assigned_parcel_and_refused_for_another(api: Api) -> None:
    body = {"waybill_no": api.mine, "purpose": "delivery",
            "fields": ["recipient_name", "recipient_phone"]}
    ok = api.client.post("/api/v1/pi/reveal", json=body, headers=api.courier)
    assert ok.status_code == 200, ok.text
    assert ok.json()["allowed"] is True
    assert ok.json()["values"] == {"recipient_name": api.recipient.name,
                                   "recipient_phone": api.recipient.phone}

    no = api.client.post("/api/v1/pi/reveal", json={**body, "waybill_no": api.other},
                         headers=api.courier)
    assert no.status_code == 403
    refusal = no.json()
    assert refusal["reason"] == "no_assignment"
    assert refusal["message_en"] == "This parcel is not assigned to you for delivery"
    assert "values" not in refusal
    assert api.recipient.phone not in no.text
    assert api.recipient.name not in no.text

    events = _access_events(api.rt)
    assert [(e["outcome"], e["waybill_no"], e["channel"], e["device_id"]) for e in events] == [
        ("allowed", api.mine, "pda", "pda-0042"), ("denied", api.other, "pda", "pda-0042")]
    assert [e["event_id"] for e in events] == [ok.json()["event_id"], refusal["event_id"]]
    for e in events:
        assert e["actor_id"] == "emp-courier"
        text = msgspec.json.encode(e).decode()
        assert api.recipient.phone not in text
        assert api.recipient.name not in text


def test_a_courier_cannot_search_and_other_organisations_get_nothing(api: Api) -> None:
    r = api.client.post("/api/v1/pi/search", headers=api.courier,
                        json={"phone": api.recipient.phone, "purpose": "delivery"})
    assert (r.status_code, r.json()["reason"]) == (403, "no_permission")
    assert api.recipient.phone not in r.text
    s = api.client.post("/api/v1/pi/reveal", headers=api.supervisor,
                        json={"waybill_no": api.mine, "purpose": "delivery",
                              "fields": ["recipient_phone"]})
    assert s.status_code == 403
    assert [e["action"] for e in _access_events(api.rt)] == ["search"]
