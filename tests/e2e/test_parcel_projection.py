"""One parcel truth: the parcel projection fed by the event stream, through the real
entry points (the CLI as a process, the API and the consumer portal served by
``parcelguard serve``). Steps arrive as any carrier sends them: through ``ingest``
or ``POST /api/v1/events``, out of order and re-sent; every reader (erasure,
virtual-number expiry, tracking, ``parcels show``) follows them."""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from faker import Faker

from parcelguard.core.clock import ManualClock
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity.permissions import Principal
from parcelguard.logistics import service as logistics
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.logistics.models import Assignment
from parcelguard.logistics.rules import Window
from parcelguard.vault.provider import vault_service
from tests.e2e.served import hidden, last_code

# Each CLI call is a fresh process (a few seconds each on a loaded machine).
pytestmark = pytest.mark.slow
BIN = [sys.executable, "-m", "parcelguard"]
WB1, WB2 = make_waybill_no("SF", 1), make_waybill_no("SF", 2)
NOW = datetime.now(UTC).replace(microsecond=0)
ADMIN = Principal("ent-a", "enterprise", "enterprise_admin", account_id="acc-admin")


def env(home: Path) -> dict[str, str]:
    e = {**os.environ, "PARCELGUARD_HOME": str(home)}
    e.pop("PARCELGUARD_DATABASE_URL", None)
    return e


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BIN, *args], env=env(home), capture_output=True, text=True,
                          timeout=120, check=False)


def step(waybill: str, name: str, at: datetime, n: int = 0) -> dict[str, Any]:
    return {"event_id": f"ev-{waybill}-{name}-{n}", "kind": "parcel",
            "occurred_at": at.isoformat(), "enterprise_id": "ent-a", "waybill_no": waybill,
            "step": name, "station_id": "st-1"}


def ingest(home: Path, tmp: Path, events: list[dict[str, Any]]) -> None:
    if not home.exists():  # a store is made only by init
        assert run(home, "init").returncode == 0
    src = tmp / f"events-{time.monotonic_ns()}.jsonl"
    src.write_text("".join(json.dumps(e) + "\n" for e in events))
    r = run(home, "ingest", str(src))
    assert r.returncode == 0, r.stderr


def show(home: Path, waybill: str) -> dict[str, Any]:
    r = run(home, "parcels", "show", waybill, "-e", "ent-a", "--json")
    assert r.returncode == 0, r.stderr
    shown: dict[str, Any] = json.loads(r.stdout)
    return shown


def journey(waybill: str, start: datetime) -> list[dict[str, Any]]:
    return [step(waybill, s, start + timedelta(hours=i))
            for i, s in enumerate(("picked_up", "arrived", "delivered"))]


def test_steps_out_of_order_and_resent_give_the_in_order_state(tmp_path: Path) -> None:
    start = NOW - timedelta(hours=5)
    picked, arrived, delivered = journey(WB1, start)
    in_order, shuffled = tmp_path / "a", tmp_path / "b"
    ingest(in_order, tmp_path, [picked, arrived, delivered])
    ingest(shuffled, tmp_path, [delivered])
    ingest(shuffled, tmp_path, [arrived, delivered, picked])  # delivered re-sent

    shown = show(shuffled, WB1)
    assert shown == show(in_order, WB1)
    assert (shown["status"], shown["step"]) == ("delivered", "delivered")
    assert shown["status_at"] == (start + timedelta(hours=2)).isoformat()
    assert [s["step"] for s in shown["history"]] == ["picked_up", "arrived", "delivered"]
    with sqlite3.connect(shuffled / "parcelguard.db") as db:
        assert db.execute("SELECT status FROM parcel_states WHERE waybill_no = ?",
                          (WB1,)).fetchall() == [("delivered",)]

    unknown = run(shuffled, "parcels", "show", WB2, "-e", "ent-a")
    assert unknown.returncode == 1
    assert "no parcel" in unknown.stderr


@pytest.fixture
def home(tmp_path: Path) -> tuple[Path, dict[str, PartyIn]]:
    """ent-a with its notice, a cleared courier, and two parcels alice -> bob
    collected 20 days ago (PI sealed, ``created`` events in the stream), each
    assigned for delivery two hours ago from now to eight hours on."""
    home = tmp_path / "home"
    assert run(home, "init").returncode == 0
    assert run(home, "org", "create", "ent-a", "--kind", "enterprise",
               "--name", "A").returncode == 0
    assert run(home, "consent", "notice", "publish", "-e", "ent-a", "--processor-name",
               "甲快递有限公司", "--processor-contact",
               "privacy@carrier-a.example.com").returncode == 0
    fake = Faker("zh_CN")
    fake.seed_instance(21)
    people = {s: PartyIn(s, fake.name(), fake.phone_number(), fake.address())
              for s in ("sub-alice", "sub-bob")}
    rt = Runtime(settings=Settings(home=home))
    clock = ManualClock(NOW - timedelta(hours=2))
    with rt.db.unit_of_work() as uow:
        s = uow.session
        logistics.create_station(s, ADMIN, station_id="st-1", name="一号网点",
                                 region_code="310115", clock=clock)
        logistics.hire_employee(s, ADMIN, role="courier", station_id="st-1",
                                shift_start="08:00", shift_end="20:00", employee_id="emp-c",
                                clock=clock)
        logistics.record_background_check(s, ADMIN, employee_id="emp-c", result="passed",
                                          clock=clock)
        register_parcels(s, vault_service(rt.settings), enterprise_id="ent-a", parcels=[
            ParcelIn(wb, people["sub-alice"], people["sub-bob"], NOW - timedelta(days=20))
            for wb in (WB1, WB2)])
        for wb in (WB1, WB2):
            logistics.assign(s, ADMIN, waybill_no=wb, employee_id="emp-c", purpose="delivery",
                             window=Window(NOW - timedelta(hours=1), NOW + timedelta(hours=8)),
                             clock=clock)
        uow.commit()
    rt.close()
    return home, people


def test_erasure_waits_for_delivery_then_proceeds(home: tuple[Path, dict[str, PartyIn]],
                                                  tmp_path: Path) -> None:
    path, _ = home
    held = run(path, "subjects", "erase", "-e", "ent-a", "-s", "sub-bob")
    assert held.returncode == 1  # deferred: both parcels are still being carried
    assert "2 parcel(s) are still being delivered" in held.stderr
    ingest(path, tmp_path, [*journey(WB1, NOW - timedelta(minutes=50)),
                            *journey(WB2, NOW - timedelta(minutes=40))[::-1]])

    done = run(path, "subjects", "erase", "-e", "ent-a", "-s", "sub-bob")
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(path / "parcelguard.db") as db:
        assert db.execute("SELECT subject_id FROM vault_erasures").fetchall() == [("sub-bob",)]
        assert db.execute("SELECT status FROM consent_subject_requests WHERE subject_id = ?",
                          ("sub-bob",)).fetchall() == [("completed",)]


def test_binding_expires_once_the_grace_after_delivery_is_over(
        home: tuple[Path, dict[str, PartyIn]], tmp_path: Path) -> None:
    path, _ = home
    rt = Runtime(settings=Settings(home=path))
    with rt.db.unit_of_work() as uow:
        assignments = {a.waybill_no: a.id for a in uow.session.query(Assignment)}
    rt.close()
    for wb in (WB1, WB2):
        bound = run(path, "waybill", "bind", assignments[wb])
        assert bound.returncode == 0, bound.stderr
    grace = timedelta(days=Settings().waybill.binding_grace_days)
    long_ago = NOW - grace - timedelta(days=1)
    ingest(path, tmp_path, [step(WB1, "delivered", long_ago)])  # past its grace
    ingest(path, tmp_path, [step(WB2, "delivered", NOW - timedelta(hours=1))])

    r = run(path, "waybill", "bindings", "--expire", "--json")
    assert r.returncode == 0, r.stderr
    swept = json.loads(r.stdout)
    assert swept["expired"] == 1
    [live] = swept["bindings"]
    assert live["waybill_no"] == WB2
    assert live["expires_at"] == (NOW - timedelta(hours=1) + grace).isoformat()
    with sqlite3.connect(path / "parcelguard.db") as db:
        assert db.execute("SELECT waybill_no, expired_at IS NOT NULL FROM waybill_virtual_bindings "
                          "ORDER BY waybill_no").fetchall() == [(WB1, 1), (WB2, 0)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def served(home: tuple[Path, dict[str, PartyIn]]) -> Iterator[tuple[str, Path, PartyIn]]:
    path, people = home
    port = _free_port()
    log = path.parent / "serve.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen([*BIN, "serve", "--port", str(port)], env=env(path),
                                stdout=sink, stderr=sink)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while not _up(base):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"parcelguard serve did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield base, path, people["sub-bob"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_api_and_tracking_page_show_the_last_step(
        served: tuple[str, Path, PartyIn]) -> None:
    base, path, bob = served
    issued = run(path, "apikey", "issue", "--org", "ent-a", "--name", "tms",
                 "--role", "enterprise_admin")
    assert issued.returncode == 0, issued.stderr
    key = issued.stdout.strip().splitlines()[-1].strip()
    auth = {"Authorization": f"Bearer {key}"}
    picked, arrived, delivered = journey(WB1, NOW - timedelta(minutes=30))
    for batch in ([delivered, picked], [arrived, delivered]):  # out of order, re-sent
        r = httpx.post(f"{base}/api/v1/events", json=batch, headers=auth, timeout=30)
        assert r.status_code == 200, r.text

    shown = httpx.get(f"{base}/api/v1/parcels/{WB1}", headers=auth, timeout=30)
    assert shown.status_code == 200
    body = shown.json()
    assert (body["status"], body["history"][-1]["step"]) == ("delivered", "delivered")
    assert [s["step"] for s in body["history"]] == ["created", "assigned", "picked_up",
                                                   "arrived", "delivered"]
    assert body["assignee_id"] == "emp-c"
    assert httpx.get(f"{base}/api/v1/parcels/{WB2}", headers=auth,
                     timeout=30).json()["status"] == "created"

    with httpx.Client(base_url=base, headers={"Accept-Language": "en"}, timeout=30) as web:
        form = web.get("/consumer/track")
        match = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert match is not None
        asked = web.post("/consumer/track", data={"csrf_token": match.group(1),
                                                  "waybill_no": WB1, "phone": bob.phone},
                         follow_redirects=True)
        # the phone alone opens nothing: the one-time code sent to it does
        page = web.post("/consumer/track", data={
            "csrf_token": match.group(1), "challenge": hidden(asked.text, "challenge"),
            "code": last_code(path, "sub-bob")}, follow_redirects=True)
    assert page.status_code == 200
    status = re.search(r'id="parcel-status">([^<]*)<', page.text)
    assert status is not None
    assert status.group(1).startswith("delivered")
