"""Commit, then answer: on a served app (uvicorn on loopback, a real HTTP client), a
write is durable by the time its response arrives, and a commit that fails is a 5xx
that acknowledges nothing: no receipt code, no ``stored`` count, no row."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import msgspec
import pytest

from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.ops.store import init_store
from tests.e2e.served import CommitFault, parcel_event, serve, small_world

ENT = "ent-a"


@dataclass
class Served:
    rt: Runtime
    url: str
    key: str
    db_path: Path
    fault: CommitFault

    def count(self, sql: str, *args: object) -> int:
        # A connection of its own, outside the app: what another reader sees now.
        with sqlite3.connect(self.db_path) as conn:
            return int(conn.execute(sql, args).fetchone()[0])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("commit-home")
    db_path = home / "parcelguard.db"
    rt = Runtime(settings=Settings(home=home, database_url=f"sqlite:///{db_path}"))
    init_store(rt.settings)  # a store is made only by init
    keys = small_world(rt, (ENT,))
    with CommitFault(rt.db.engine) as fault, serve(rt) as url:
        yield Served(rt, url, keys[ENT], db_path, fault)
    rt.close()


REPORT = {"kind": "scam_call", "body": "A caller quoted my parcel and asked for a code.",
          "anonymous": True}


def test_a_report_whose_commit_fails_gets_no_receipt(served: Served) -> None:
    reports = "SELECT count(*) FROM channel_reports"
    before = served.count(reports)
    served.fault.arm()
    # A fresh connection per request: after a 500 the server may close the old one.
    r = httpx2.post(f"{served.url}/api/v1/channel/{ENT}/reports", json=REPORT)
    assert r.status_code >= 500
    assert "receipt_code" not in r.text
    assert served.fault.fired == 1
    assert served.count(reports) == before
    # The same report sent again is stored, and its receipt follows it up.
    again = httpx2.post(f"{served.url}/api/v1/channel/{ENT}/reports", json=REPORT)
    assert again.status_code == 201
    receipt = again.json()
    assert served.count(reports) == before + 1
    follow = httpx2.post(f"{served.url}/api/v1/channel/{ENT}/follow-up", json={
        "receipt_code": receipt["receipt_code"], "secret": receipt["secret"]})
    assert follow.status_code == 200


def test_a_portal_report_whose_commit_fails_shows_no_receipt(served: Served) -> None:
    reports = "SELECT count(*) FROM channel_reports"
    before = served.count(reports)
    form = {"carrier": ENT, "kind": "scam_call", "identity": "anonymous",
            "body": "A caller quoted my parcel and asked for a code."}

    def file_report(*, fail: bool) -> httpx2.Response:
        with httpx2.Client(base_url=served.url) as c:
            page = c.get("/consumer/report").text
            m = re.search(r'name="csrf_token" value="([^"]+)"', page)
            assert m is not None
            if fail:
                served.fault.arm()
            return c.post("/consumer/report", data={**form, "csrf_token": m.group(1)})

    r = file_report(fail=True)
    assert r.status_code >= 500
    assert "receipt-code" not in r.text
    assert served.count(reports) == before
    again = file_report(fail=False)
    assert again.status_code == 200
    assert "receipt-code" in again.text
    assert served.count(reports) == before + 1


def test_a_batch_whose_commit_fails_is_not_acknowledged(served: Served) -> None:
    events = "SELECT count(*) FROM ledger_events WHERE event_id LIKE 'fail-%'"
    body = msgspec.json.encode([parcel_event(f"fail-{i}", ENT) for i in range(500)])
    auth = {"Authorization": f"Bearer {served.key}"}
    served.fault.arm()
    r = httpx2.post(f"{served.url}/api/v1/events", content=body, headers=auth)
    assert r.status_code >= 500
    assert "stored" not in r.text
    assert served.count(events) == 0
    again = httpx2.post(f"{served.url}/api/v1/events", content=body, headers=auth)
    assert again.json() == {"stored": 500, "duplicates": 0, "rejected": []}
    assert served.count(events) == 500


@pytest.mark.slow
def test_a_40000_event_batch_is_visible_when_its_answer_arrives(served: Served) -> None:
    body = msgspec.json.encode([parcel_event(f"big-{i}", ENT) for i in range(40_000)])
    with httpx2.Client(base_url=served.url, timeout=120) as c:
        r = c.post("/api/v1/events", content=body,
                   headers={"Authorization": f"Bearer {served.key}"})
        # Counted before anything else happens: the answer promised these rows.
        visible = served.count("SELECT count(*) FROM ledger_events WHERE event_id LIKE 'big-%'")
    assert r.status_code == 200
    assert r.json()["stored"] == 40_000
    assert visible == 40_000
