"""The authorisation matrix: every route of the app's own route table, asked by every
principal, with the answer each must get.

Principals: anonymous; an API session of every role (the demo organisations); the
ingest API key; the rival enterprise's administrator (the other tenant); a portal
session of every role; and the two kinds of token swapped (an API token sent as the
portal cookie, a portal cookie sent as an API bearer token).

Path parameters name the demo enterprise's real objects (its id, its incident,
referral, engagement, a waybill), so the rival administrator asks for another
tenant's things; bodies are the smallest that the OpenAPI schema accepts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2 as httpx
from fastapi import FastAPI, routing
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from parcelguard.web.auth import PORTAL_OF_ROLE
from tests.e2e.attack.served import Served
from tests.e2e.attack.staff import api_login, portal_login
from tests.e2e.attack.world import AttackWorld

PUBLIC = "public"
_PARAM = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")


@dataclass(frozen=True)
class Route:
    method: str
    path: str

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")

    @property
    def params(self) -> list[str]:
        return _PARAM.findall(self.path)


def app_routes(app: FastAPI) -> list[Route]:
    """Every (method, path) the app answers, from its route table (mounts of static
    files excepted). Log-out comes last: it ends the session it is sent with."""
    out = set()
    for ctx in routing.iter_route_contexts(app.routes):
        methods = getattr(ctx.original_route, "methods", None)
        for method in methods or ():
            if method != "HEAD":
                out.add(Route(method, ctx.path))
    return sorted(out, key=lambda r: (r.path == "/logout", r.method != "GET", r.path, r.method))


@dataclass
class Principal:
    name: str
    role: str | None = None  # None: anonymous
    bearer: str | None = None
    cookie: str | None = None  # the pg_session cookie
    other_tenant: bool = False
    client: httpx.Client | None = field(default=None, repr=False)
    csrf: str = ""


def principals(srv: Served, world: AttackWorld) -> list[Principal]:
    """Log every principal in (portal first, then the API with the next code)."""
    out = [Principal("anonymous")]
    cookies: dict[str, str] = {}
    api_tokens: dict[str, str] = {}
    for role, person in sorted(world.people.items()):
        with srv.client() as c:
            r = portal_login(c, person.username, person.password, person.fresh_code())
            assert r.status_code == 303, (role, r.status_code)
            cookies[role] = c.cookies["pg_session"]
            r = api_login(c, person.username, person.password, person.fresh_code())
            assert r.status_code == 200, (role, r.text)
            api_tokens[role] = r.json()["token"]
        out.append(Principal(f"api:{role}", role, bearer=api_tokens[role]))
        out.append(Principal(f"portal:{role}", role, cookie=cookies[role]))
    out.append(Principal("api:ingest_client(key)", "ingest_client", bearer=world.ingest_key))
    rival = world.rival_admin
    with srv.client() as c:
        r = api_login(c, rival.username, rival.password, rival.fresh_code())
        assert r.status_code == 200, r.text
        out.append(Principal("api:rival enterprise_admin", "enterprise_admin",
                             bearer=r.json()["token"], other_tenant=True))
    out.append(Principal("api token as portal cookie", None,
                         cookie=api_tokens["security_officer"]))
    out.append(Principal("portal cookie as api bearer", None,
                         bearer=cookies["security_officer"]))
    for p in out:
        p.client = srv.client(follow_redirects=False)
        p.client.get("/login")  # the CSRF cookie; forms send it back as their token
        p.csrf = p.client.cookies["pg_csrf"]
        if p.cookie:
            p.client.cookies.set("pg_session", p.cookie)
    return out


def path_values(world: AttackWorld) -> dict[str, str]:
    return {"enterprise_id": world.enterprise_id, "incident_id": world.cases.incident_id or "",
            "referral_id": world.cases.referral_id or "",
            "engagement_id": world.cases.engagement_id or "", "period": "2026-11",
            "waybill_no": world.prov.assigned[0], "employee_id": world.prov.courier_employee_id,
            "version": "1"}


# -- smallest accepted bodies, from the OpenAPI schema -------------------------------------


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def example(schema: dict[str, Any], spec: dict[str, Any], depth: int = 0) -> Any:
    schema = _resolve(schema, spec)
    if depth > 8:
        return None
    for combo in ("anyOf", "oneOf"):
        if combo in schema:
            options = [s for s in schema[combo] if _resolve(s, spec).get("type") != "null"]
            return example(options[0] if options else schema[combo][0], spec, depth + 1)
    if "allOf" in schema:
        return example(schema["allOf"][0], spec, depth + 1)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {k: example(props[k], spec, depth + 1) for k in schema.get("required", [])
                if k in props}
    if kind == "array":
        n = schema.get("minItems", 0)
        return [example(schema.get("items", {}), spec, depth + 1) for _ in range(n)]
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), int(schema.get("exclusiveMinimum", 0)) + 1)
    if kind == "number":
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        high = schema.get("maximum", schema.get("exclusiveMaximum", low + 2))
        return (low + high) / 2
    if kind == "boolean":
        return False
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "date-time":
            return "2026-11-11T09:00:00+00:00"
        if fmt == "date":
            return "2026-11-11"
        if "pattern" in schema:
            try:
                from hypothesis import find

                return find(st.from_regex(schema["pattern"], fullmatch=True), lambda _: True)
            except (NoSuchExample, Exception):  # an exotic pattern: send a plain string
                return "x"
        return "x" * max(1, int(schema.get("minLength", 1)))
    return None


def body_for(route: Route, spec: dict[str, Any]) -> Any:
    op = spec.get("paths", {}).get(route.path, {}).get(route.method.lower(), {})
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        return example(content["application/json"].get("schema", {}), spec)
    return None


# -- asking and judging ---------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    route: Route
    principal: str
    status: int
    location: str
    text: str


def ask(p: Principal, route: Route, values: dict[str, str], spec: dict[str, Any]) -> Answer:
    assert p.client is not None
    path = _PARAM.sub(lambda m: values.get(m.group(1), "x0unknown0x"), route.path)
    headers = {"Authorization": f"Bearer {p.bearer}"} if p.bearer else {}
    kwargs: dict[str, Any] = {}
    if route.method != "GET":
        if route.is_api:
            body = body_for(route, spec)
            if body is not None:
                kwargs["json"] = body
        else:
            kwargs["data"] = {"csrf_token": p.csrf}
    r = p.client.request(route.method, path, headers=headers, **kwargs)
    return Answer(route, p.name, r.status_code, r.headers.get("location", ""), r.text)


def to_login(a: Answer) -> bool:
    return a.status in (302, 303, 307) and a.location.startswith("/login")


def judge(a: Answer, p: Principal, expected: str | frozenset[str],
          foreign: list[str]) -> Iterator[str]:
    """What is wrong with one answer (nothing: it is right)."""
    r, s = a.route, a.status
    if s >= 500:
        yield f"{r.key} as {p.name}: {s}"
        return
    if expected == PUBLIC:
        return
    if p.other_tenant and 200 <= s < 300:
        leaked = [f for f in foreign if f and f in a.text]
        if leaked or any(n in r.params for n in ("incident_id", "referral_id",
                                                 "engagement_id", "enterprise_id")):
            yield f"{r.key} as {p.name}: {s} for another tenant's data"
            return
    if r.is_api:
        assert isinstance(expected, frozenset)
        if p.bearer is None or p.role is None:
            if s != 401:
                yield f"{r.key} as {p.name}: {s}, expected 401"
        elif p.role in expected:
            if s in (401, 403):
                yield f"{r.key} as {p.name}: {s}, but the role is allowed"
        elif s < 300 or s == 401:
            yield f"{r.key} as {p.name}: {s}, but the role is not allowed"
        return
    assert isinstance(expected, str)
    portal, *roles = expected.removeprefix("portal:").split()
    if p.cookie is None or p.role is None:
        if not to_login(a):
            yield f"{r.key} as {p.name}: {s}, expected a redirect to /login"
    elif PORTAL_OF_ROLE.get(p.role) == portal and (not roles or p.role in roles):
        if to_login(a) or s == 403:
            yield f"{r.key} as {p.name}: {s} {a.location}, but the role may use it"
    elif s != 403:
        yield f"{r.key} as {p.name}: {s}, expected 403 (not this role's page)"


def observed(answers: list[Answer], people: dict[str, Principal]) -> str:
    """The classification the answers suggest, for a route missing from the table."""
    route = answers[0].route
    if all(a.status != 401 and not to_login(a) for a in answers):
        return PUBLIC
    if route.is_api:
        roles = sorted({people[a.principal].role or "" for a in answers
                        if people[a.principal].bearer and a.status not in (401, 403, 404)
                        and not people[a.principal].other_tenant} - {""})
        return " ".join(roles)
    staff = [(people[a.principal].role or "", a) for a in answers
             if people[a.principal].cookie and people[a.principal].role]
    passed = {role for role, a in staff if a.status != 403 and not to_login(a)}
    portals = sorted({PORTAL_OF_ROLE.get(role, "") for role in passed} - {""})
    refused = {role for role, _ in staff if PORTAL_OF_ROLE.get(role) in portals} - passed
    return f"portal:{'|'.join(portals)}" + (f" {' '.join(sorted(passed))}" if refused else "")
