"""Export slicing (issue 15): a bulk export cut into 20-record pieces needs the
second person's approval from the second piece on, and that second person must be a
vetted employee, through the real CLI (subprocess) and the API served by uvicorn;
the ledger shows what ran."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
import uvicorn
from faker import Faker
from sqlalchemy import select

from parcelguard.app import create_app
from parcelguard.core.clock import SystemClock
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity import service as identity
from parcelguard.identity.permissions import Principal
from parcelguard.ledger.models import LedgerEvent
from parcelguard.logistics import service as logistics
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.ops.store import init_store
from parcelguard.vault.provider import vault_service
from tests.e2e.staff_login import current_code, home_authenticator

pytestmark = pytest.mark.slow
PASSWORD = "correct horse battery staple 42"
WAYBILLS = [make_waybill_no("SF", i) for i in range(1, 61)]
SLICES = [WAYBILLS[i:i + 20] for i in range(0, 60, 20)]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    rt = Runtime(settings=Settings(home=home))
    init_store(rt.settings)  # a store is made only by init
    clock, now = SystemClock(), datetime.now(UTC)
    fake = Faker("zh_CN")
    fake.seed_instance(15)
    with rt.db.unit_of_work() as uow:
        s = uow.session
        identity.initialise(s, clock=clock)
        identity.create_organization(s, org_id="ent-a", kind="enterprise", name="甲快递",
                                     clock=clock)
        admin = Principal("ent-a", "enterprise", "enterprise_admin", account_id="acc-admin")
        logistics.create_station(s, admin, station_id="st-1", name="一号网点",
                                 region_code="310115", clock=clock)
        for emp, role in (("emp-cs", "customer_service"), ("emp-sec", "security")):
            logistics.hire_employee(s, admin, role=role, station_id="st-1",
                                    shift_start="00:00", shift_end="23:59", employee_id=emp,
                                    clock=clock)
            logistics.record_background_check(s, admin, employee_id=emp, result="passed",
                                              clock=clock)
        identity.create_account(s, org_id="ent-a", username="cs1", role="customer_service",
                                clock=clock, password=PASSWORD, employee_id="emp-cs")
        identity.create_account(s, org_id="ent-a", username="sec1", role="security_officer",
                                clock=clock, password=PASSWORD, employee_id="emp-sec")
        # an administrator's login with no roster record and no background check
        identity.create_account(s, org_id="ent-a", username="boss", role="enterprise_admin",
                                clock=clock, password=PASSWORD)
        people = [PartyIn(f"sub-{i}", fake.name(), fake.phone_number(), fake.address(),
                          fake.ssn()) for i in range(120)]
        register_parcels(s, vault_service(rt.settings), enterprise_id="ent-a",
                         record_created=False, parcels=[
                             ParcelIn(w, people[2 * i], people[2 * i + 1], now,
                                      destination_station_id="st-1")
                             for i, w in enumerate(WAYBILLS)])
        uow.commit()
    rt.close()
    return home


def _exports(home: Path) -> list[tuple[str, int]]:
    rt = Runtime(settings=Settings(home=home))
    init_store(rt.settings)  # a store is made only by init
    with rt.db.unit_of_work() as uow:
        evs = [msgspec.json.decode(x) for x in uow.session.scalars(
            select(LedgerEvent.leaf).where(LedgerEvent.kind == "access")
            .order_by(LedgerEvent.seq))]
    rt.close()
    return [(e["outcome"], e["record_count"]) for e in evs if e["action"] == "export"]


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PARCELGUARD_HOME": str(home), "PARCELGUARD_DATABASE_URL": ""}
    return subprocess.run([sys.executable, "-m", "parcelguard", "access", "export", *args,
                           "-e", "ent-a"], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_slices_need_approval_on_the_cli(home: Path, tmp_path: Path) -> None:
    def request(wbs: list[str]) -> dict[str, object]:
        r = cli(home, "request", "--account", "cs1", "--purpose", "complaint_handling",
                "-f", "recipient_phone", *[a for w in wbs for a in ("--waybill", w)])
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)  # type: ignore[no-any-return]

    first = request(SLICES[0])
    assert (first["record_count"], first["needs_approval"]) == (20, False)
    assert cli(home, "run", str(first["request_id"]), "--account", "cs1",
               "--out", str(tmp_path / "1.json")).returncode == 0
    second = request(SLICES[1])  # 20 more in the same week: 40 > 20
    assert (second["needs_approval"], second["status"]) == (True, "pending")
    rid = str(second["request_id"])
    refused = cli(home, "run", rid, "--account", "cs1", "--out", str(tmp_path / "2.json"))
    assert refused.returncode == 1
    assert "export_needs_approval" in refused.stdout + refused.stderr
    assert not (tmp_path / "2.json").exists()
    boss = cli(home, "approve", rid, "--account", "boss")
    assert boss.returncode == 1
    assert "approver_not_allowed" in boss.stdout + boss.stderr
    assert cli(home, "approve", rid, "--account", "sec1").returncode == 0
    done = cli(home, "run", rid, "--account", "cs1", "--out", str(tmp_path / "2.json"))
    assert done.returncode == 0, done.stderr
    assert _exports(home) == [("allowed", 20), ("denied", 0), ("denied", 0), ("allowed", 20)]


@pytest.fixture
def served(home: Path) -> Iterator[str]:
    rt = Runtime(settings=Settings(home=home))
    init_store(rt.settings)  # a store is made only by init
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(rt), host="127.0.0.1", port=port,
                                           log_level="warning", ws="none", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the web server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    rt.close()


def _post(url: str, body: dict[str, object] | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(url, data=json.dumps(body or {}).encode(), method="POST",
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_slices_need_approval_on_the_served_api(home: Path, served: str) -> None:
    def login(user: str) -> dict[str, str]:
        code, body = _post(f"{served}/api/v1/sessions",
                           {"username": user, "password": PASSWORD,
                            "code": current_code(home_authenticator(Settings(home=home),
                                                                    user))})
        assert code == 200, body
        return {"Authorization": f"Bearer {body['token']}", "X-Channel": "web"}

    cs, boss, sec = login("cs1"), login("boss"), login("sec1")
    exports = f"{served}/api/v1/pi/exports"

    def request(wbs: list[str]) -> dict[str, Any]:
        code, body = _post(exports, {"purpose": "complaint_handling",
                                     "fields": ["recipient_phone"],
                                     "scope": {"waybills": wbs}}, cs)
        assert code == 201, body
        return body

    first = request(SLICES[0])
    assert first["needs_approval"] is False
    assert _post(f"{exports}/{first['request_id']}/run", headers=cs)[0] == 200
    for wbs in SLICES[1:]:
        nxt = request(wbs)
        assert nxt["needs_approval"] is True
        code, body = _post(f"{exports}/{nxt['request_id']}/run", headers=cs)
        assert (code, body["reason"]) == (403, "export_needs_approval")
    rid = nxt["request_id"]
    code, body = _post(f"{exports}/{rid}/approve", headers=boss)
    assert (code, body["reason"]) == (403, "approver_not_allowed")
    assert _post(f"{exports}/{rid}/approve", headers=sec)[0] == 200
    assert _post(f"{exports}/{rid}/run", headers=cs)[0] == 200
    assert _exports(home) == [("allowed", 20), ("denied", 0), ("denied", 0), ("denied", 0),
                              ("allowed", 20)]
