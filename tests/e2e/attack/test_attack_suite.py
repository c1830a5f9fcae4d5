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

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from parcelguard.app import create_app
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from tests.e2e.attack import matrix
from tests.e2e.attack.routes import ACCESS
from tests.e2e.attack.served import Served, served
from tests.e2e.attack.world import AttackWorld, build

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
            unclassified.append(f'    "{route.key}": "{matrix.observed(answers[route.key], by_name)}",')
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
