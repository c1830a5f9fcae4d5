"""The standing attack suite, on one served world (``parcelguard serve`` on loopback):

1. the authorisation matrix over the app's route table;
2. anonymous channel traffic from a remote address (through a configured proxy),
   one-time tokens in paths, oversized bodies, the docs page;
3. a bounded schemathesis run against /openapi.json: no answer is a 5xx;
4. the scan: nothing under the home, in the database or in the server's log holds
   the reporter's address, a one-time token, or a phone or ID number in plaintext.

The tests run in this order and share the server (the scan looks at what the
others left behind).
"""

from __future__ import annotations

import re
import secrets
import socket
import stat
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from parcelguard.app import create_app
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from tests.e2e.attack import matrix
from tests.e2e.attack.routes import ACCESS
from tests.e2e.attack.served import Served, served
from tests.e2e.attack.staff import api_login
from tests.e2e.attack.world import PEOPLE, AttackWorld, build

# The reporter's address as the trusted proxy (the test, on 127.0.0.1) forwards it.
REPORTER_IP = "203.0.113.77"


@dataclass
class Suite:
    srv: Served
    world: AttackWorld
    secrets: list[str]  # one-time tokens the suite used, for the scan


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    env = {"PARCELGUARD_HTTP__FORWARDED_ALLOW_IPS": '["127.0.0.1"]',
           "PARCELGUARD_HTTP__MAX_BODY_BYTES": str(8 * 1024 * 1024)}
    with served(tmp_path_factory.mktemp("attack"), build, env=env) as (srv, world):
        yield Suite(srv, world, [])


def _app_routes(home: Path) -> list[matrix.Route]:
    rt = Runtime(settings=Settings(home=home))
    try:
        return matrix.app_routes(create_app(rt))
    finally:
        rt.close()


def test_authorisation_matrix(suite: Suite, capsys: pytest.CaptureFixture[str]) -> None:
    routes = _app_routes(suite.srv.home)
    people = matrix.principals(suite.srv, suite.world)
    by_name = {p.name: p for p in people}
    with suite.srv.client() as c:
        spec: dict[str, Any] = c.get("/openapi.json").json()
    values = matrix.path_values(suite.world)
    foreign = [suite.world.enterprise_id, *(v for v in vars(suite.world.cases).values() if v)]
    problems: list[str] = []
    unclassified: list[str] = []
    answers: dict[str, list[matrix.Answer]] = defaultdict(list)
    for route in routes:
        for p in people:
            answers[route.key].append(matrix.ask(p, route, values, spec))
        rule = ACCESS.get(route.key)
        if rule is None:
            seen = Counter(a.status for a in answers[route.key])
            unclassified.append(
                f'    "{route.key}": "{matrix.observed(answers[route.key], by_name)}",  # '
                + " ".join(f"{s}x{n}" for s, n in sorted(seen.items())))
            continue
        expected = rule if rule == matrix.PUBLIC or rule.startswith("portal:") \
            else frozenset(rule.split())
        for a in answers[route.key]:
            problems.extend(matrix.judge(a, by_name[a.principal], expected, foreign))
    for p in people:
        assert p.client is not None
        p.client.close()
    stale = sorted(set(ACCESS) - {r.key for r in routes})
    with capsys.disabled():
        print(f"\nauthorisation matrix: {len(routes)} routes × {len(people)} principals = "
              f"{len(routes) * len(people)} requests covered")
    assert not unclassified, "routes without a classification in tests/e2e/attack/" \
        "routes.py (observed now):\n" + "\n".join(unclassified)
    assert not stale, f"routes.py names routes the app no longer has: {stale}"
    assert not problems, f"{len(problems)} wrong answers:\n" + "\n".join(problems[:80])


def _staff_headers(suite: Suite, role: str) -> dict[str, str]:
    """An API session of ``role``'s person, logged in with a code not used before."""
    person = suite.world.people[role]
    with suite.srv.client() as c:
        r = api_login(c, person.username, person.password, person.fresh_code())
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_anonymous_channels_leave_no_address_or_token_in_the_log(suite: Suite) -> None:
    """A reporter behind the configured proxy files and follows a report; one-time
    tokens travel in paths. The log keeps none of the address, tokens or queries."""
    ent, world = suite.world.enterprise_id, suite.world
    remote = {"X-Forwarded-For": REPORTER_IP}
    with suite.srv.client(headers=remote) as c:
        r = c.post(f"/api/v1/channel/{ent}/reports", json={
            "kind": "scam_call", "anonymous": False, "reporter_name": PEOPLE[0].name,
            "reporter_contact": PEOPLE[0].phone, "identity_consent": False,
            "scam_caller": "17000000000", "waybills": world.waybills[:1],
            "body": f"A caller knew my parcel. My ID is {PEOPLE[0].id_number}."})
        assert r.status_code == 201, r.text
        filed = r.json()
        suite.secrets.append(filed["secret"])
        follow = c.post(f"/api/v1/channel/{ent}/follow-up", json={
            "receipt_code": filed["receipt_code"], "secret": filed["secret"]})
        assert follow.status_code == 200, follow.text
        assert c.get("/consumer/report").status_code == 200
        token = secrets.token_urlsafe(24)
        suite.secrets.append(token)
        assert c.get(f"/consumer/evaluate/{token}?lang=en").status_code < 500
    courier = _staff_headers(suite, "courier")
    qr = secrets.token_urlsafe(24)
    suite.secrets.append(qr)
    with suite.srv.client(headers=courier) as c:
        assert c.get(f"/api/v1/waybill/tokens/{qr}").status_code in (403, 404, 422)
    log = suite.srv.log_text()
    access = [line for line in log.splitlines() if ' - "' in line]
    assert any("/consumer/evaluate/<redacted>?<redacted>" in line for line in access)
    assert any("/api/v1/waybill/tokens/<redacted>" in line for line in access)
    assert all(line.split(' - "')[0].endswith(" -") for line in access), access[:3]
    for value in (REPORTER_IP, token, qr, filed["secret"], "lang=en"):
        assert value not in log
    # the channel itself keeps only a keyed hash of the reporter's address
    db = (suite.srv.home / "parcelguard.db").read_bytes()
    assert REPORTER_IP.encode() not in db


def test_bodies_over_the_limit_are_refused_before_they_are_read(suite: Suite) -> None:
    ent = suite.world.enterprise_id
    host, port = suite.srv.base_url.removeprefix("http://").split(":")
    before = suite.srv.rss_bytes()
    # Declared 120 MB: the answer comes after the headers and a first 64 KiB, no more.
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(f"POST /api/v1/channel/{ent}/reports HTTP/1.1\r\nHost: {host}\r\n"
                  f"Content-Type: application/json\r\nContent-Length: {120 * 1024 * 1024}"
                  "\r\n\r\n".encode() + b"{" + b" " * 65_535)
        head = s.recv(4096).decode(errors="replace")
    assert head.startswith("HTTP/1.1 413"), head[:200]
    # Streamed (chunked, no length): refused once past the limit, never held whole.
    def chunks() -> Iterator[bytes]:
        yield b'{"kind": "pi_leak", "body": "'
        for _ in range(120):
            yield b"A" * (1024 * 1024)
        yield b'"}'
    with suite.srv.client() as c:
        try:
            r = c.post(f"/api/v1/channel/{ent}/reports", content=chunks(),
                       headers={"Content-Type": "application/json"})
            assert r.status_code == 413
        except httpx.TransportError:
            pass  # the server answered 413 and closed while the client was still sending
    assert suite.srv.rss_bytes() - before < 60 * 1024 * 1024


def test_docs_come_from_this_origin(suite: Suite) -> None:
    with suite.srv.client() as c:
        page = c.get("/docs")
        assert page.status_code == 200
        scripts = re.findall(r"<script([^>]*)>", page.text)
        assert scripts
        assert all('src="/' in s for s in scripts)  # no inline script
        assert "http://" not in page.text
        assert "https://" not in page.text
        for asset in re.findall(r'(?:src|href)="(/[^"]+)"', page.text):
            assert c.get(asset).status_code == 200, asset
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert c.get("/redoc").status_code == 404  # FastAPI's CDN pages are gone


def test_former_server_errors_are_clear_refusals(suite: Suite) -> None:
    admin = _staff_headers(suite, "supervisor_admin")
    with suite.srv.client(headers=admin) as c:
        r = c.get("/api/v1/transparency/no-such-enterprise/2026-11/budget")
        assert r.status_code == 404, r.text
        assert c.get("/api/v1/alerts", params={"offset": 2**64}).status_code == 422
        assert c.get(f"/api/v1/consent/notice/versions/{2**64}").status_code == 422
    with _db(suite) as s:  # reading a budget wrote nothing
        assert s.scalar(text("SELECT count(*) FROM audit_dp_budgets WHERE enterprise_id = "
                             "'no-such-enterprise'")) == 0


def _db(suite: Suite) -> Session:
    return Session(create_engine(f"sqlite:///{suite.srv.home / 'parcelguard.db'}"))


@pytest.mark.slow
def test_fuzzing_the_openapi_schema_finds_no_server_error(
        suite: Suite, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """schemathesis over every API operation, as the demo enterprise's administrator
    and as the supervision department: bounded examples, a fixed seed, no 5xx."""
    for role in ("enterprise_admin", "supervisor_admin"):
        auth = _staff_headers(suite, role)["Authorization"]
        run = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "run",
             f"{suite.srv.base_url}/openapi.json", "--checks", "not_a_server_error",
             "--max-examples", "6", "--seed", "20261206", "--workers", "1",
             "--max-time", "60", "--no-shrink", "--generation-database", "none",
             "--request-timeout", "30", "--header", f"Authorization: {auth}",
             "--exclude-path", "/api/v1/sessions", "--no-color",
             "--report", "ndjson", "--report-dir", str(tmp_path / role)],
            check=False, capture_output=True, text=True, timeout=400, env=suite.srv.env,
            cwd=tmp_path)  # its own caches stay out of the checkout
        assert run.returncode == 0, run.stdout[-6000:]
        with capsys.disabled():
            print(f"\nschemathesis as {role}: " + " | ".join(
                line.strip() for line in run.stdout.splitlines()
                if line.strip().startswith(("Selected:", "Tested:")) or " generated" in line))


def test_after_the_attacks_nothing_at_rest_holds_an_address_a_token_or_pi(
        suite: Suite) -> None:
    """Last: every file under the home (database, WAL/SHM, keys, outputs) and the
    server's log hold no reporter address, no one-time secret, no phone, ID number,
    name or address of the world's people; and all of them are private to the owner."""
    needles = [REPORTER_IP, *suite.secrets, *suite.world.pi_values()]
    assert len(suite.secrets) >= 3  # the earlier tests ran and left their secrets
    blobs: dict[str, bytes] = {"server log": suite.srv.log.read_bytes()}
    for path in sorted(suite.srv.home.rglob("*")):
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.is_dir():
            assert mode == 0o700, f"{path.relative_to(suite.srv.home)}: {oct(mode)}"
        else:
            assert mode == 0o600, f"{path.relative_to(suite.srv.home)}: {oct(mode)}"
            blobs[str(path.relative_to(suite.srv.home))] = path.read_bytes()
    assert "parcelguard.db" in blobs
    # positive control: the same bytes do hold what is not secret
    assert suite.world.waybills[0].encode() in b"".join(blobs.values())
    found = []
    for where, blob in blobs.items():
        for needle in needles:
            forms = [needle.encode()] + ([needle.encode("utf-16-le")] if needle.isascii() else [])
            if any(f in blob for f in forms):
                found.append(f"{where}: a {_kind(needle, suite)}")
    assert not found, found


def _kind(needle: str, suite: Suite) -> str:
    if needle == REPORTER_IP:
        return "reporter's address"
    if needle in suite.secrets:
        return "one-time secret"
    return "PI value"
