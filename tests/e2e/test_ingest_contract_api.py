"""Contract v2 through POST /api/v1/events on a served app (uvicorn on loopback,
real SQLite file): each hostile event is a rejected index with its reason and the
rest is stored, as a JSON array and as NDJSON; never a 500; the body limit holds
before the body is read; the contract is published at its route."""

from __future__ import annotations

import http.client
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pytest
import uvicorn

from parcelguard.app import create_app
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity import service as identity
from parcelguard.identity.permissions import system_principal
from parcelguard.ops.store import init_store
from tests.conftest import SHARED
from tests.e2e.hostile_events import HOSTILE, PHONE, SECRETS, good


@dataclass
class Served:
    port: int
    key: str
    db: Path

    def post(self, body: bytes, content_type: str = "application/json",
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request("POST", "/api/v1/events", body=body, headers={
            "Authorization": f"Bearer {self.key}", "Content-Type": content_type,
            **(headers or {})})
        r = conn.getresponse()
        out = (r.status, msgspec.json.decode(r.read()))
        conn.close()
        return out

    def stored(self, *expected: str) -> tuple[set[str], bytes]:
        """The ledger's event ids and leaves once ``expected`` are among them. (Until
        commit-before-answer lands, issue 12, the commit may follow the answer by a
        moment; waiting for the good events also makes the absence of the bad ones
        meaningful.)"""
        deadline = time.monotonic() + 10
        while True:
            with sqlite3.connect(self.db) as conn:
                rows = conn.execute("SELECT event_id, leaf FROM ledger_events").fetchall()
            ids = {e for e, _ in rows}
            if set(expected) <= ids or time.monotonic() > deadline:
                return ids, b"\n".join(leaf for _, leaf in rows)
            time.sleep(0.05)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("contract-api")
    rt = Runtime(settings=Settings(home=home, database_url=f"sqlite:///{home / 'pg.db'}"))
    init_store(rt.settings)  # a store is made only by init
    with rt.db.unit_of_work() as uow:
        identity.initialise(uow.session, clock=rt.clock)
        for org in ("ent-a", "ent-b"):
            identity.create_organization(uow.session, org_id=org, kind="enterprise",
                                         name=org, clock=rt.clock)
        key = identity.issue_api_key(uow.session, system_principal("supervision"),
                                     name="feeder", role="ingest_client", clock=rt.clock,
                                     org_id="ent-a")
        uow.commit()
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(rt), host="127.0.0.1", port=port,
                                           log_level="warning", ws="none", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the API server did not start")
        time.sleep(0.05)
    yield Served(port, key.secret, home / "pg.db")
    server.should_exit = True
    thread.join(timeout=10)
    rt.close()


KINDS = {**HOSTILE, "enterprise_the_key_may_not_write": (good(99, "ent-b"),
                                                         "not the caller's organisation")}


def _renamed(raw: bytes, tag: str) -> bytes:
    # Each POST sends its own event ids, so the good events of one are not
    # duplicates of another's.
    return raw.replace(b'"event_id":"ok', f'"event_id":"{tag}-ok'.encode()).replace(
        b'"event_id":"bad', f'"event_id":"{tag}-bad'.encode())


# A line that is not JSON stands on its own in NDJSON; inside an array it makes the
# whole body malformed (see the test after this one).
CASES = [(k, "ndjson") for k in KINDS] + [(k, "array") for k in KINDS if k != "not_json"]


@pytest.mark.parametrize(("kind", "fmt"), CASES)
def test_each_hostile_event_is_rejected_and_the_rest_stored(served: Served, kind: str,
                                                            fmt: str) -> None:
    raw, reason = KINDS[kind]
    tag = f"{fmt}-{kind}"[:40]
    items = [_renamed(good(1), tag), _renamed(raw, tag), _renamed(good(2), tag)]
    if fmt == "array":
        status, out = served.post(b"[" + b",".join(items) + b"]")
    else:
        status, out = served.post(b"\n".join(items) + b"\n", "application/x-ndjson")
    assert status == 422, out
    assert out["stored"] == 2
    rejected = out["rejected"]
    assert isinstance(rejected, list)
    assert [r["index"] for r in rejected] == [2]
    assert reason in rejected[0]["reason"]
    assert PHONE not in rejected[0]["reason"]
    stored, leaves = served.stored(f"{tag}-ok1", f"{tag}-ok2")
    assert {f"{tag}-ok1", f"{tag}-ok2"} <= stored
    assert not any(e.startswith(f"{tag}-bad") for e in stored)
    for secret in SECRETS:
        assert secret not in leaves


def test_a_body_that_is_not_json_is_refused_whole(served: Served) -> None:
    status, out = served.post(b"[" + good(1) + b"," + HOSTILE["not_json"][0] + b"]")
    assert status == 422
    assert "not JSON" in str(out["detail"])


def test_an_event_over_the_line_limit_is_refused_as_on_the_cli(served: Served) -> None:
    # Issue 14: the API stored a 200 KB event while the CLI limit is 64 KB.
    big = good(7)[:-1].replace(b'"ok7"', b'"big-ok7"') + b',"pad":"' + b"x" * 200_000 + b'"}'
    status, out = served.post(b"[" + big + b"]")
    assert status == 422
    assert out["rejected"] == [{"index": 1, "reason": "line longer than 65536 bytes"}]
    assert "big-ok7" not in served.stored()[0]


def test_a_body_over_the_limit_is_refused_before_it_is_read(served: Served) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    conn.putrequest("POST", "/api/v1/events")
    conn.putheader("Authorization", f"Bearer {served.key}")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(120 * 1024 * 1024))
    conn.endheaders()
    conn.send(b"[" + good(1))  # a few bytes of the announced 120 MB, then wait
    try:
        r = conn.getresponse()
        assert r.status == 413  # from the app's body limit, before the route reads it
        r.read()
    finally:
        conn.close()
    conn.close()


def test_the_published_contract_is_the_shared_schema(served: Served) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    conn.request("GET", "/api/v1/contract/event.schema.json")
    r = conn.getresponse()
    assert r.status == 200
    assert r.getheader("content-type", "").startswith("application/schema+json")
    assert r.read() == (SHARED / "contracts" / "event.schema.json").read_bytes()
    conn.close()
