"""The waybill API through the real app on a real SQLite file: a courier logged in
with their own account, an enterprise admin with an API key, and an administrator
on the roster logged in with theirs (sharing goes through the gate, which needs an
employee behind the account)."""

from __future__ import annotations

import base64
import re
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
from parcelguard.identity.permissions import Principal, system_principal
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
from parcelguard.waybill.partner_payload import LAST_MILE_FIELDS, generate_keypair
from tests.e2e.staff_login import api_login
from tests.unit.waybill.pdf_text import page_text

T0 = datetime(2026, 11, 11, 9, tzinfo=UTC)
WAYBILL = make_waybill_no("SF", 1)
PASSWORD = "correct horse battery staple 42"


@dataclass
class Api:
    client: TestClient
    clock: ManualClock
    admin: dict[str, str]
    courier: dict[str, str]
    other: dict[str, str]
    sharer: dict[str, str]
    recipient: PartyIn
    assignment_id: str
    rt: Runtime

    def access_outcomes(self, action: str) -> list[str]:
        with self.rt.db.unit_of_work() as uow:
            leaves = uow.session.scalars(select(LedgerEvent.leaf).where(
                LedgerEvent.kind == "access").order_by(LedgerEvent.seq)).all()
        return [e["outcome"] for e in map(msgspec.json.decode, leaves) if e["action"] == action]


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    clock = ManualClock(T0)
    rt = Runtime(settings=settings, clock=clock)
    init_store(rt.settings)
    vault = VaultService(Vault(InMemoryKms()))
    fake = Faker("zh_CN")
    fake.seed_instance(11)
    people = [PartyIn(s, fake.name(), fake.phone_number(), fake.address())
              for s in ("sub-alice", "sub-bob")]
    admin = Principal("ent-a", "enterprise", "enterprise_admin")
    with rt.db.unit_of_work() as uow:
        s = uow.session
        identity.initialise(s, clock=clock)
        identity.create_organization(s, org_id="ent-a", kind="enterprise", name="甲快递",
                                     clock=clock)
        key = identity.issue_api_key(s, system_principal("supervision"), name="admin",
                                     role="enterprise_admin", clock=clock, org_id="ent-a").secret
        logistics.create_station(s, admin, station_id="st-a1", name="一站",
                                 region_code="310115", clock=clock)
        for emp, role, account_role in (("emp-c1", "courier", "courier"),
                                        ("emp-c2", "courier", "courier"),
                                        ("emp-admin", "admin", "enterprise_admin")):
            logistics.hire_employee(s, admin, role=role, station_id="st-a1",
                                    shift_start="08:00", shift_end="18:00", employee_id=emp,
                                    clock=clock)
            logistics.record_background_check(s, admin, employee_id=emp, result="passed",
                                              clock=clock)
            identity.create_account(s, org_id="ent-a", username=emp, role=account_role,
                                    clock=clock, password=PASSWORD, employee_id=emp)
        register_parcels(s, vault, enterprise_id="ent-a", record_created=False,
                         parcels=[ParcelIn(WAYBILL, people[0], people[1], T0)])
        assignment = logistics.assign(s, admin, waybill_no=WAYBILL, employee_id="emp-c1",
                                      purpose="delivery",
                                      window=Window(T0, T0 + timedelta(hours=8)), clock=clock)
        assignment_id = assignment.id
        uow.commit()
    app = create_app(rt)
    app.dependency_overrides[vault_dep] = lambda: vault
    with TestClient(app) as client:
        tokens = {emp: api_login(client, emp, PASSWORD)
                  for emp in ("emp-c1", "emp-c2", "emp-admin")}
        yield Api(client, clock, {"Authorization": f"Bearer {key}"},
                  tokens["emp-c1"], tokens["emp-c2"], tokens["emp-admin"], people[1], assignment_id,
                  rt)
    rt.close()


def test_courier_flow_label_bind_resolve_call(api: Api) -> None:
    c = api.client
    label = c.post("/api/v1/waybill/labels", json={"waybill_no": WAYBILL, "purpose": "delivery"},
                   headers=api.courier)
    assert label.status_code == 200, label.text
    assert label.headers["content-type"] == "application/pdf"
    text = "\n".join(page_text(label.content))
    phone = re.sub(r"\D", "", api.recipient.phone)
    assert phone not in re.sub(r"\D", "", text)
    assert api.recipient.name not in text

    bound = c.post("/api/v1/waybill/bindings", json={"assignment_id": api.assignment_id},
                   headers=api.admin)
    assert bound.status_code == 201, bound.text
    assert bound.json()["virtual_number"] in text  # the printed number is the bound one
    api.clock.advance(timedelta(hours=1))

    url = f"/api/v1/waybill/parcels/{WAYBILL}"
    ok = c.post(f"{url}/resolve", headers=api.courier)
    assert (ok.status_code, ok.json()["phone"]) == (200, api.recipient.phone)
    denied = c.post(f"{url}/resolve", headers=api.other)
    assert denied.status_code == 403
    assert denied.json()["detail"] == "not_bound_courier"
    assert denied.json()["event_id"]
    assert phone not in re.sub(r"\D", "", denied.text)

    # The refusal was committed with its event, not rolled back with the request.
    assert api.access_outcomes("reveal") == ["allowed", "denied"]

    call = c.post(f"{url}/call", headers=api.courier)
    assert call.status_code == 200
    assert phone not in re.sub(r"\D", "", call.text)
    assert c.post(f"{url}/call", headers=api.other).status_code == 403
    assert c.get("/api/v1/waybill/labels/count", headers=api.admin).json() == {
        "labels_issued": 1}


def test_share_refused_then_bad_input_changes_nothing(api: Api) -> None:
    c = api.client
    _, public = generate_keypair()
    created = c.post("/api/v1/waybill/partners", headers=api.admin, json={
        "partner_id": "partner-b", "name": "乙速运", "relationship": "third_party",
        "public_key": base64.b64encode(public).decode()})
    assert created.status_code == 201, created.text
    # no impact assessment yet (PIPL Arts. 55-56): refused, and recorded
    unassessed = c.post("/api/v1/waybill/shares", headers=api.sharer,
                        json={"partner_id": "partner-b", "waybill_no": WAYBILL})
    assert (unassessed.status_code, unassessed.json()["reason"]) == (403, "partner_not_assessed")
    assessed = c.post("/api/v1/waybill/partners/partner-b/assessments", headers=api.admin,
                      json={"fields": list(LAST_MILE_FIELDS), "conclusion":
                            "necessary for the last mile; risk of resale limited by masking "
                            "and the partner's access controls"})
    assert assessed.status_code == 201, assessed.text
    refused = c.post("/api/v1/waybill/shares", headers=api.sharer,
                     json={"partner_id": "partner-b", "waybill_no": WAYBILL})
    assert refused.status_code == 403
    assert refused.json()["detail"].startswith("recipient_consent_")
    assert refused.json()["reason"] == "no_consent"
    assert api.access_outcomes("share") == ["denied", "denied"]
    bad = c.post("/api/v1/waybill/shares", headers=api.sharer, json={
        "partner_id": "partner-b", "waybill_no": WAYBILL, "fields": ["sender_id_number"]})
    assert bad.status_code == 422
    assert c.post("/api/v1/waybill/shares", headers=api.courier, json={
        "partner_id": "partner-b", "waybill_no": WAYBILL}).status_code == 403  # no pi:share
    assert api.access_outcomes("share") == ["denied", "denied"]  # bad input: nothing
    masked = c.post("/api/v1/waybill/mask", headers=api.admin,
                    json={"field": "phone", "value": "13812345678"})
    assert masked.json() == {"masked": "138******78"}


def test_labels_and_shares_are_decided_by_the_gate(api: Api) -> None:
    c = api.client
    # emp-c2 has no assignment on the parcel: refused and recorded, no PDF.
    label = c.post("/api/v1/waybill/labels", headers=api.other,
                   json={"waybill_no": WAYBILL, "purpose": "delivery"})
    assert (label.status_code, label.json()["reason"]) == (403, "no_assignment")
    assert label.json()["event_id"]
    assert api.access_outcomes("print_label") == ["denied"]
    # An API key has no roster employee behind it: the gate refuses, and records it.
    share = c.post("/api/v1/waybill/shares", headers=api.admin,
                   json={"partner_id": "partner-b", "waybill_no": WAYBILL})
    assert (share.status_code, share.json()["reason"]) == (403, "no_employee")
    assert api.access_outcomes("share") == ["denied"]
    assert api.recipient.phone not in share.text + label.text
