"""The attack matrix of the federation surface: what `parcelguard node serve` answers
beyond `parcelguard serve`'s routes, classified in routes.py (``NODE_ACCESS``).

Every node's route table (enterprise, supervision, police and auditor nodes, built
as `node serve` builds them) is checked against the classification: a route a node
serves that is neither in the application's matrix nor here fails, as does a
classification no node serves. Then a served supervision node and enterprise node
are asked every classified route by four callers: no client certificate, a
certificate of another CA (both must get no HTTP answer at all), a node the CA
certified but the directory does not list, and a node the directory lists.
"""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from parcelguard.app import create_app
from parcelguard.core.runtime import Runtime
from parcelguard.ledger.ingest import EventLog
from parcelguard.ledger.tlog import publish_checkpoint
from parcelguard.node import pki
from parcelguard.node.app import create_node_app
from parcelguard.node.envelope import Envelope
from parcelguard.node.home import Node, node_settings
from parcelguard.vault.provider import vault_service
from tests.e2e.attack import matrix
from tests.e2e.attack.routes import ACCESS, NODE_ACCESS
from tests.e2e.served import free_port
from tests.e2e.test_node_federation import NodeProc, cli

pytestmark = pytest.mark.slow
ROLES = {"sup": "supervision", "e1": "enterprise", "p1": "police", "a1": "auditor",
         "x1": "auditor"}  # x1: certified by the CA, never added to the directory


@dataclass
class Surface:
    base: Path
    urls: dict[str, str]
    served: dict[str, NodeProc]

    def node(self, org: str) -> Node:
        return Node(self.base / org)


@pytest.fixture(scope="module")
def surface(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Surface]:
    base = tmp_path_factory.mktemp("node-attack")
    ca = base / "ca"
    cli("node", "ca", "init", "--out", str(ca))
    urls = {org: f"https://127.0.0.1:{free_port()}" for org in ROLES}
    cli("node", "init", "--home", str(base / "sup"), "--role", "supervision", "--org", "sup",
        "--url", urls["sup"], "--ca", str(ca))
    sup_key = json.loads((base / "sup" / "node-card.json").read_text())["node_key"]
    for org, role in ROLES.items():
        if org == "sup":
            continue
        cli("node", "init", "--home", str(base / org), "--role", role, "--org", org,
            "--url", urls[org], "--ca", str(ca), "--supervision-key", sup_key,
            "--supervision-url", urls["sup"])
        if org != "x1":
            cli("node", "directory", "add", "--home", str(base / "sup"), "--card",
                str(base / org / "node-card.json"))
    # e1's log: five events and a signed checkpoint, so its tiles answer
    rt = Runtime(settings=node_settings(base / "e1"))
    try:
        with rt.db.unit_of_work() as uow:
            lines = [(i, msgspec.json.encode({"event_id": f"n{i}", "kind": "parcel",
                                              "occurred_at": "2026-12-07T08:00:00+08:00",
                                              "enterprise_id": "e1", "waybill_no": f"SF{i:013d}",
                                              "step": "created"})) for i in range(1, 6)]
            assert not EventLog(clock_now=rt.clock.now).append_raw(uow.session, lines).rejected
            publish_checkpoint(uow.session, "e1", kms=vault_service(rt.settings).vault.kms,
                               clock=rt.clock)
            uow.commit()
    finally:
        rt.close()
    served = {org: NodeProc(base / org, urls[org]) for org in ("sup", "e1")}
    try:
        served["sup"].start(Node(base / "e1"))
        cli("node", "directory", "fetch", "--home", str(base / "e1"))
        served["e1"].start(Node(base / "sup"))
        yield Surface(base, urls, served)
    finally:
        for p in served.values():
            if p.proc is not None:
                p.stop()


def _routes(app: object) -> set[str]:
    return {r.key for r in matrix.app_routes(app)}  # type: ignore[arg-type]


def test_every_route_a_node_serves_is_classified(surface: Surface) -> None:
    plain: set[str] = set()
    per_node: dict[str, set[str]] = {}
    for org in ("sup", "e1", "p1", "a1"):
        rt = Runtime(settings=node_settings(surface.base / org))
        try:
            per_node[org] = _routes(create_node_app(rt, surface.node(org)))
            if org == "e1":
                plain = _routes(create_app(rt))
        finally:
            rt.close()
    served = set().union(*per_node.values())
    unclassified = sorted(served - plain - set(NODE_ACCESS))
    assert not unclassified, "node routes without a classification in tests/e2e/attack/" \
        f"routes.py NODE_ACCESS: {unclassified}"
    assert not sorted(set(NODE_ACCESS) - served), "NODE_ACCESS names routes no node serves"
    # a node that holds no PI serves the federation routes and nothing of the application
    assert per_node["sup"] == per_node["a1"] == {
        "POST /node/v1/inbox", "GET /node/v1/directory", "POST /witness/add-checkpoint"}
    # and `parcelguard serve` serves none of the federation routes
    assert not {k for k, v in NODE_ACCESS.items() if v == "node:member"} & plain
    assert "POST /witness/add-checkpoint" not in plain
    assert {k for k in NODE_ACCESS if k in plain} <= set(ACCESS)


def _ask(ctx: ssl.SSLContext, url: str, method: str, path: str,
         body: bytes | None = None) -> int:
    """One request; the status, or an OSError (ssl.SSLError among them) when the
    server gave no HTTP answer."""
    host, port = url.removeprefix("https://").split(":")
    conn = http.client.HTTPSConnection(host, int(port), timeout=15, context=ctx)
    try:
        conn.request(method, path, body=body,
                     headers={"content-type": "application/json"} if body else {})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def test_the_node_routes_answer_only_whom_they_are_classified_for(surface: Surface) -> None:
    e1, x1 = surface.node("e1"), surface.node("x1")
    base = surface.base
    bare = ssl.create_default_context(cafile=str(e1.paths.ca_cert))
    other_ca = pki.init_ca(base / "other-ca")
    pki.write_private(base / "rogue.crt", pki.issue_cert(
        other_ca, org="e1", node_key_id=e1.key_id,
        tls_public=pki.new_tls_key(base / "rogue.key").public_key(),
        hosts=["127.0.0.1"]).public_bytes(Encoding.PEM))
    rogue = ssl.create_default_context(cafile=str(e1.paths.ca_cert))
    rogue.load_cert_chain(str(base / "rogue.crt"), str(base / "rogue.key"))

    def envelope(sender: Node, mid: str) -> bytes:
        return msgspec.json.encode(Envelope(
            message_id=mid, sender_org=sender.config.org, sender_key_id=sender.key_id,
            recipient_org="sup", kind="incident_report", body={"incident": mid},
            created_at="2026-12-07T02:00:00.000+00:00").sign(sender.signing_key).to_json())

    # (node, path, body for the outsider, body for the member)
    asks = {
        "POST /node/v1/inbox": ("sup", "/node/v1/inbox", envelope(x1, "env_x1"),
                                envelope(e1, "env_e1")),
        "GET /node/v1/directory": ("sup", "/node/v1/directory", None, None),
        "POST /witness/add-checkpoint": ("sup", "/witness/add-checkpoint",
                                         b"old 0\n\nnot a checkpoint\n", None),
        "GET /tlog/{enterprise_id}/checkpoint": ("e1", "/tlog/e1/checkpoint", None, None),
        "GET /tlog/{enterprise_id}/tile/{path:path}": ("e1", "/tlog/e1/tile/entries/000.p/5",
                                                       None, None),
    }
    assert set(asks) == set(NODE_ACCESS)
    problems = []
    for key, rule in NODE_ACCESS.items():
        org, path, outsider_body, member_body = asks[key]
        method = key.split()[0]
        url = surface.urls[org]
        for name, ctx in (("no certificate", bare), ("another CA's certificate", rogue)):
            try:
                status = _ask(ctx, url, method, path, outsider_body)
            except OSError:
                continue
            problems.append(f"{key} with {name}: HTTP {status}, not refused at TLS")
        outsider = _ask(x1.client_context(), url, method, path, outsider_body)
        member = _ask(e1.client_context(), url, method, path, member_body or outsider_body)
        if rule == "node:member":
            if outsider != 403:
                problems.append(f"{key} by a node outside the directory: {outsider}, not 403")
            if member != 200:
                problems.append(f"{key} by a listed node: {member}, not 200")
        elif rule == "node:any":
            want = 400 if method == "POST" else 200  # a garbage checkpoint is refused
            for who, status in (("outside the directory", outsider), ("listed", member)):
                if status != want:
                    problems.append(f"{key} by a node {who}: {status}, not {want}")
        else:
            problems.append(f"{key}: unknown rule {rule!r}")
    assert not problems, "\n".join(problems)
