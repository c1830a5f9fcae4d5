"""People log in with password and TOTP on every path, and guessing is throttled.

Against ``parcelguard serve`` on loopback (real subprocesses): an API session needs
the second factor; API tokens and portal cookies are never accepted as each other;
failed log-ins lock the username (known or not, API or portal) and the source
address with back-off, even for the right password; each failure of an enterprise
account is a ``login_failed`` access event in its log; an unknown username costs
the same time as a known one; an old-parameter password hash is upgraded at log-in.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from parcelguard.core.runtime import Runtime
from parcelguard.identity.models import Account, LoginThrottle
from parcelguard.ledger.models import LedgerEvent
from tests.e2e.attack.served import Served, served
from tests.e2e.attack.staff import Person, api_login, make_org, make_person, portal_login

ENT = "ent-a"


def _world(rt: Runtime) -> dict[str, Person]:
    make_org(rt, ENT)
    people = {name: make_person(rt, org_id=ENT, username=name, role=role)
              for name, role in (("alice", "enterprise_admin"), ("bob", "security_officer"),
                                 ("carol", "enterprise_admin"), ("dave", "enterprise_admin"),
                                 ("erin", "enterprise_admin"))}
    # an account whose hash was made with weaker Argon2 parameters (an older release)
    legacy = people["erin"]
    with rt.db.unit_of_work() as uow:
        acc = uow.session.scalars(select(Account).where(Account.username == "erin")).one()
        acc.password_hash = PasswordHasher(time_cost=1, memory_cost=8192,
                                           parallelism=1).hash(legacy.password)
        uow.commit()
    return people


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, dict[str, Person]]]:
    with served(tmp_path_factory.mktemp("login"), _world) as pair:
        yield pair


def _db(site: Served) -> Session:
    return Session(create_engine(f"sqlite:///{site.home / 'parcelguard.db'}"))


def _login_failed_events(site: Served) -> int:
    with _db(site) as s:
        leaves = s.scalars(select(LedgerEvent.leaf).where(LedgerEvent.enterprise_id == ENT))
        return sum(1 for leaf in leaves if msgspec.json.decode(leaf)["action"] == "login_failed")


def test_an_api_session_needs_the_second_factor(site: tuple[Served, dict[str, Person]]) -> None:
    srv, people = site
    alice = people["alice"]
    with srv.client() as c:
        assert api_login(c, "alice", alice.password, None).status_code == 422  # code missing
        wrong = api_login(c, "alice", alice.password, "000000")
        assert wrong.status_code == 401
        assert "token" not in wrong.json()
        ok = api_login(c, "alice", alice.password, alice.code())
        assert ok.status_code == 200, ok.text
        assert ok.json()["role"] == "enterprise_admin"


def test_api_tokens_and_portal_cookies_are_not_each_other(
        site: tuple[Served, dict[str, Person]]) -> None:
    srv, people = site
    bob = people["bob"]
    with srv.client() as api:
        token = api_login(api, "bob", bob.password, bob.code()).json()["token"]
        bearer = {"Authorization": f"Bearer {token}"}
        assert api.get("/api/v1/alerts", headers=bearer).status_code == 200
    with srv.client() as c:  # the API token as the portal's cookie: not logged in
        c.cookies.set("pg_session", token)
        r = c.get("/enterprise/keys")
        assert r.status_code == 303
        assert r.headers["location"].startswith("/login")
    with srv.client() as browser:
        assert portal_login(browser, "bob", bob.password, bob.code(1)).status_code == 303
        cookie = browser.cookies["pg_session"]
        assert browser.get("/enterprise/keys").status_code == 200
    with srv.client() as c:  # the portal cookie as an API bearer token: refused
        r = c.get("/api/v1/alerts", headers={"Authorization": f"Bearer {cookie}"})
        assert r.status_code == 401


def test_sixty_wrong_passwords_lock_the_api_log_in_even_for_the_right_one(
        site: tuple[Served, dict[str, Person]]) -> None:
    srv, people = site
    carol = people["carol"]
    before = _login_failed_events(srv)
    with srv.client() as c:
        answers = [api_login(c, "carol", f"wrong password {i}", carol.code()).status_code
                   for i in range(60)]
        assert set(answers[:4]) == {401}
        assert answers[-1] == 429
        right = api_login(c, "carol", carol.password, carol.code())
    assert right.status_code == 429
    assert int(right.headers["retry-after"]) > 0
    assert "token" not in right.json()
    # every attempt, refused by the lock or not, is an access event the monitor reads
    assert _login_failed_events(srv) - before == 61
    with _db(srv) as s:  # counters are stored under hashes, never the username
        assert s.scalar(select(LoginThrottle.lockouts).where(
            LoginThrottle.locked_until.is_not(None)).limit(1)) == 1


def test_the_portal_locks_after_wrong_passwords_and_wrong_codes(
        site: tuple[Served, dict[str, Person]]) -> None:
    srv, people = site
    dave = people["dave"]
    with srv.client() as c:
        for i in range(30):
            assert portal_login(c, "dave", f"not it {i}", "123456").status_code in (401, 429)
        for _ in range(30):
            assert portal_login(c, "dave", dave.password, "000000").status_code == 429
        r = portal_login(c, "dave", dave.password, dave.code())
        assert r.status_code == 429
        assert "pg_session" not in c.cookies


def test_unknown_usernames_get_the_same_answers_and_lock_the_same(
        site: tuple[Served, dict[str, Person]]) -> None:
    srv, _ = site
    with srv.client() as c:
        known = [api_login(c, "bob", f"guess {i}", "123456") for i in range(6)]
        unknown = [api_login(c, "bobby.nobody", f"guess {i}", "123456") for i in range(6)]
    assert [r.status_code for r in known] == [r.status_code for r in unknown] == \
        [401] * 4 + [401, 429]
    assert known[0].json() == unknown[0].json()
    assert known[-1].json() == unknown[-1].json()


def test_an_old_parameter_hash_is_upgraded_at_log_in(
        site: tuple[Served, dict[str, Person]]) -> None:
    srv, people = site
    erin = people["erin"]
    with _db(srv) as s:
        old = s.scalars(select(Account.password_hash).where(Account.username == "erin")).one()
    assert "m=8192,t=1,p=1" in old
    with srv.client() as c:
        assert api_login(c, "erin", erin.password, erin.code()).status_code == 200
    with _db(srv) as s:
        new = s.scalars(select(Account.password_hash).where(Account.username == "erin")).one()
    assert "m=65536,t=3,p=4" in new
    assert PasswordHasher().verify(new, erin.password)


def test_the_source_address_locks_and_forwarded_headers_do_not_change_it(
        site: tuple[Served, dict[str, Person]]) -> None:
    """Last in this module: it locks 127.0.0.1 for every later log-in here. The
    server trusts no proxy (the default), so X-Forwarded-For is ignored."""
    srv, people = site
    alice = people["alice"]
    with srv.client() as c:
        answers = [c.post("/api/v1/sessions", json={
            "username": f"spray{i}", "password": "Winter2026!", "code": "123456"},
            headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code for i in range(40)]
        assert answers[0] == 401
        assert answers[-1] == 429
        right = api_login(c, "alice", alice.password, alice.code(2))
        assert right.status_code == 429


@pytest.mark.slow
def test_unknown_and_known_usernames_take_the_same_time(tmp_path: Path) -> None:
    def world(rt: Runtime) -> Person:
        make_org(rt, ENT)
        return make_person(rt, org_id=ENT, username="known.user", role="courier")

    relaxed = {"PARCELGUARD_LOGIN__ACCOUNT_FAILURES": "1000",
               "PARCELGUARD_LOGIN__SOURCE_FAILURES": "1000"}
    with served(tmp_path, world, env=relaxed) as (srv, _), srv.client() as c:
        api_login(c, "warm.up", "x" * 12, "123456")
        times: dict[str, list[float]] = {"known.user": [], "no.such.user": []}
        for i in range(16):
            name = ("known.user", "no.such.user")[i % 2]
            t0 = time.perf_counter()
            assert api_login(c, name, f"wrong password {i}", "123456").status_code == 401
            times[name].append(time.perf_counter() - t0)
    known, unknown = (statistics.median(times[n]) for n in ("known.user", "no.such.user"))
    # Before: ~2 ms for an unknown name against ~100+ ms (Argon2) for a real one.
    assert 0.6 < unknown / known < 1.6, (known, unknown)
