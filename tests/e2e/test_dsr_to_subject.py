"""A data-subject access request is fulfilled to the data subject, never to staff:
over HTTP on a served app, a customer-service account that opens an access request
for any subject it names gets no PI back (round 1 answered with the full name, phone
and address), while the person, after confirming with the code sent to their phone,
sees their own copy on the consumer portal."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import select

from parcelguard.app import create_app
from parcelguard.consent.models import DataSubjectRequest
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity import service as identity
from parcelguard.identity.permissions import system_principal
from parcelguard.ledger.models import LedgerEvent
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.ops.store import init_store
from parcelguard.vault.provider import vault_service
from tests.e2e.served import csrf, hidden, last_code, serve

SENDER = PartyIn("sub-sender-1", "钱七", "13500135000", "上海市徐汇区示例路 1 号")
RECIPIENT = PartyIn("sub-recip-1", "孙八", "13400134011", "成都市武侯区示例街 2 号 3 室")
WAYBILL = make_waybill_no("SF", 4242)


@dataclass
class Site:
    rt: Runtime
    base_url: str
    cs_key: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home: Path = tmp_path_factory.mktemp("dsr-subject")
    rt = Runtime(settings=Settings(home=home, database_url=f"sqlite:///{home / 'pg.db'}"))
    init_store(rt.settings)  # a store is made only by init
    with rt.db.unit_of_work() as uow:
        identity.initialise(uow.session, clock=rt.clock)
        identity.create_organization(uow.session, org_id="ent-a", kind="enterprise",
                                     name="ent-a", clock=rt.clock)
        key = identity.issue_api_key(uow.session, system_principal("supervision"), name="cs",
                                     role="customer_service", clock=rt.clock,
                                     org_id="ent-a").secret
        register_parcels(uow.session, vault_service(rt.settings), enterprise_id="ent-a",
                         record_created=False, parcels=[
                             ParcelIn(WAYBILL, SENDER, RECIPIENT, rt.clock.now())])
        uow.commit()
    with serve(create_app(rt)) as base_url:
        yield Site(rt, base_url, key)
    rt.close()


def test_an_access_request_is_fulfilled_to_the_person_not_to_staff(site: Site) -> None:
    auth = {"Authorization": f"Bearer {site.cs_key}"}
    with httpx.Client(base_url=site.base_url, timeout=10) as c:
        opened = c.post("/api/v1/dsr", headers=auth, json={
            "subject_id": RECIPIENT.subject_id, "kind": "access", "channel": "counter"})
        assert opened.status_code == 201
        export = c.post(f"/api/v1/dsr/{opened.json()['id']}/access", headers=auth)
    assert export.status_code == 404
    for value in (RECIPIENT.name, RECIPIENT.phone, RECIPIENT.address):
        assert value not in export.text
    # The person collects the copy: after the code sent to their phone, on the portal.
    with httpx.Client(base_url=site.base_url, timeout=10) as c:
        t = csrf(c.get("/consumer/rights").text)
        asked = c.post("/consumer/rights", data={"csrf_token": t, "waybill_no": WAYBILL,
                                                 "phone": RECIPIENT.phone},
                       follow_redirects=True)
        page = c.post("/consumer/rights", data={
            "csrf_token": t, "challenge": hidden(asked.text, "challenge"),
            "code": last_code(site.rt.settings.home, RECIPIENT.subject_id)},
            follow_redirects=True)
        assert page.status_code == 200
        copy = c.post("/consumer/rights", data={"csrf_token": t,
                                                "token": hidden(page.text, "token"),
                                                "action": "request", "kind": "access"},
                      follow_redirects=True)
        # post/redirect/get: the copy is handed over once; a reload shows none
        reloaded = c.get(copy.url.path)
    assert copy.status_code == 200
    assert copy.url.path.startswith("/consumer/rights/copy/")
    assert reloaded.status_code == 200
    assert RECIPIENT.name not in reloaded.text
    assert RECIPIENT.address not in reloaded.text
    assert copy.headers["cache-control"] == "no-store"
    shown = re.sub(r"\s+", " ", copy.text)
    assert RECIPIENT.name in shown
    assert RECIPIENT.address in shown
    assert SENDER.name not in shown  # only the person's own role

    def completed() -> None:
        with site.rt.db.unit_of_work() as uow:
            kinds = {(r.kind, r.status, r.channel) for r in uow.session.scalars(
                select(DataSubjectRequest).where(
                    DataSubjectRequest.subject_id == RECIPIENT.subject_id))}
        # The request customer service opened at the counter is the one the person's
        # collection completed.
        assert kinds == {("access", "completed", "counter")}
        with site.rt.db.unit_of_work() as uow:
            events = [json.loads(x) for x in uow.session.scalars(select(LedgerEvent.leaf).where(
                LedgerEvent.enterprise_id == "ent-a", LedgerEvent.kind == "access"))]
        # The person fetched their own copy: the log names them, not an employee.
        assert [(e["action"], e["actor_type"], e["actor_id"]) for e in events] == [
            ("export", "consumer", RECIPIENT.subject_id)]
    completed()
