"""Federation nodes as separate processes: each `parcelguard node serve` its own
process, home, SQLite database and keys, on loopback ports with mutual TLS.

What a user of the federation notices: an incident report reaches the supervision
node, the intervention it orders comes back and is acknowledged; a supervision node
that is down (stopped, or killed -9 mid-delivery) loses nothing and applies nothing
twice once it is back; a sender outside the directory, a wrong signing key and
another node's TLS certificate are refused.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from typer.testing import CliRunner

import parcelguard
from parcelguard.cli import app
from parcelguard.node import pki
from parcelguard.node.envelope import Envelope
from parcelguard.node.home import Node
from parcelguard.node.transport import DeliveryError, request
from tests.e2e.served import free_port

pytestmark = pytest.mark.slow
runner = CliRunner()
SRC = str(Path(parcelguard.__file__).resolve().parents[1])
# Fast retries so a drained backlog is seconds, not the production minute.
ENV = {"PARCELGUARD_OUTBOX__POLL_SECONDS": "0.2", "PARCELGUARD_OUTBOX__BACKOFF_SECONDS": "0.2",
       "PARCELGUARD_OUTBOX__BACKOFF_MAX_SECONDS": "1"}
WAIT = 180.0  # two shared cores and eight test runs: be patient, never flaky


def cli(*args: str) -> str:
    result = runner.invoke(app, list(args), env=ENV)
    assert result.exit_code == 0, result.output
    return result.stdout


def wait_for(what: str, check: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


@dataclass
class NodeProc:
    home: Path
    url: str
    prefix: tuple[str, ...] = ()  # e.g. ("ip", "netns", "exec", NS): run it elsewhere
    proc: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.home.parent / f"{self.home.name}.log"

    def start(self, probe: Node) -> None:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("PARCELGUARD_")} | ENV
        env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [*self.prefix, sys.executable, "-m", "parcelguard", "node", "serve", "--home",
                 str(self.home)],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

        def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"node {self.home.name} exited: "
                                     f"{self.log.read_text()[-2000:]}")
            try:
                status, _ = request(probe, self.url, "GET", "/node/v1/directory", pin=None)
            except DeliveryError:
                return False
            return status in (200, 404)

        wait_for(f"{self.home.name} to serve", up)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(timeout=60)
        self.proc = None


@dataclass
class Federation:
    base: Path
    nodes: dict[str, NodeProc]

    def home(self, org: str) -> Path:
        return self.base / org

    def node(self, org: str) -> Node:
        return Node(self.home(org))

    def send(self, sender: str, to: str, kind: str, body: dict[str, Any]) -> str:
        return cli("node", "send", "--home", str(self.home(sender)), "--to", to, "--kind",
                   kind, "--body", json.dumps(body)).strip()

    def inbox(self, org: str) -> list[dict[str, Any]]:
        """What `node inbox --json` shows, read from the node's own database."""
        with sqlite3.connect(f"file:{self.home(org) / 'parcelguard.db'}?mode=ro",
                             uri=True, timeout=30) as db:
            rows = db.execute("SELECT message_id, sender_org, kind, deliveries, envelope "
                              "FROM node_inbox").fetchall()
        return [{"message_id": m, "sender_org": s, "kind": k, "deliveries": d,
                 "body": json.loads(e)["body"]} for m, s, k, d, e in rows]

    def outbox(self, org: str) -> tuple[list[dict[str, Any]], dict[str, int]]:
        lines = cli("node", "outbox", "--home", str(self.home(org)), "--json").splitlines()
        return [json.loads(x) for x in lines[:-1]], json.loads(lines[-1])

    def waiting(self, org: str, to: str) -> int:
        """Envelopes from ``org`` to ``to`` not delivered yet (`node outbox`)."""
        return sum(w["recipient_org"] == to for w in self.outbox(org)[0])


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    base = tmp_path_factory.mktemp("federation")
    ca = base / "ca"
    cli("node", "ca", "init", "--out", str(ca))
    urls = {org: f"https://127.0.0.1:{free_port()}" for org in ("sup", "e1", "e2", "x1", "a1")}
    cli("node", "init", "--home", str(base / "sup"), "--role", "supervision", "--org", "sup",
        "--url", urls["sup"], "--ca", str(ca))
    sup_key = json.loads((base / "sup" / "node-card.json").read_text())["node_key"]
    for org in ("e1", "e2", "x1"):
        cli("node", "init", "--home", str(base / org), "--role", "enterprise", "--org", org,
            "--url", urls[org], "--ca", str(ca), "--supervision-key", sup_key,
            "--supervision-url", urls["sup"])
    cli("node", "init", "--home", str(base / "a1"), "--role", "auditor", "--org", "a1",
        "--url", urls["a1"], "--ca", str(ca), "--supervision-key", sup_key,
        "--supervision-url", urls["sup"])
    # e1 re-fetches the directory every second (node.json; 30 s by default)
    config = json.loads((base / "e1" / "node.json").read_text())
    (base / "e1" / "node.json").write_text(json.dumps(
        config | {"directory_refresh_seconds": 1.0}))
    # x1 and a1 have CA certificates but are not in the directory (yet)
    for org in ("e1", "e2"):
        cli("node", "directory", "add", "--home", str(base / "sup"), "--card",
            str(base / org / "node-card.json"))
    procs = {org: NodeProc(base / org, urls[org]) for org in ("sup", "e1", "e2")}
    f = Federation(base, procs)
    procs["sup"].start(f.node("e1"))
    for org in ("e1", "e2", "x1"):
        cli("node", "directory", "fetch", "--home", str(base / org))
    procs["e1"].start(f.node("sup"))
    procs["e2"].start(f.node("sup"))
    try:
        yield f
    finally:
        for p in procs.values():
            if p.proc is not None:
                p.stop(signal.SIGKILL)


def test_a_report_goes_up_an_intervention_comes_down_and_is_acknowledged(
        fed: Federation) -> None:
    report = fed.send("e1", "sup", "incident_report", {"incident": "inc_rt", "records": 12})
    wait_for("the report on the supervision node",
             lambda: report in {m["message_id"] for m in fed.inbox("sup")})
    got = next(m for m in fed.inbox("sup") if m["message_id"] == report)
    assert (got["sender_org"], got["kind"], got["body"]) == (
        "e1", "incident_report", {"incident": "inc_rt", "records": 12})

    order = fed.send("sup", "e1", "intervention", {"ref": "inc_rt", "order": "suspend_exports"})

    def acked() -> bool:
        return any(m["kind"] == "intervention_ack" and m["body"]["intervention"] == order
                   for m in fed.inbox("sup"))

    wait_for("the acknowledgement on the supervision node", acked)
    assert order in {m["message_id"] for m in fed.inbox("e1") if m["kind"] == "intervention"}
    wait_for("e1's outbox to drain", lambda: fed.outbox("e1")[1]["sent_pending"] == 0)
    # the supervision node holds no vault: no PI table exists in its database
    with sqlite3.connect(f"file:{fed.home('sup') / 'parcelguard.db'}?mode=ro", uri=True) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "node_inbox" in tables
    assert not {"parcels", "vault_subject_keys", "vault_keks", "channel_reports"} & tables
    assert not (fed.home("sup") / "keys" / "master.key").exists()


def _post(via: Node, url: str, doc: dict[str, Any]) -> tuple[int, str]:
    status, body = request(via, url, "POST", "/node/v1/inbox", pin=None, doc=doc)
    return status, json.loads(body).get("detail", "")


def test_outsiders_wrong_keys_and_borrowed_certificates_are_refused(fed: Federation) -> None:
    sup_url = fed.nodes["sup"].url
    e1, e2, x1 = fed.node("e1"), fed.node("e2"), fed.node("x1")

    def envelope(sender: Node, key: ed25519.Ed25519PrivateKey, key_id: str,
                 mid: str) -> dict[str, Any]:
        return Envelope(message_id=mid, sender_org=sender.config.org, sender_key_id=key_id,
                        recipient_org="sup", kind="incident_report", body={"incident": mid},
                        created_at="2026-12-07T02:00:00.000+00:00").sign(key).to_json()

    # a node the CA certified but the directory does not list
    status, why = _post(x1, sup_url, envelope(x1, x1.signing_key, x1.key_id, "env_outsider"))
    assert (status, "not in the directory" in why) == (403, True), why
    # e1's certificate and key id, but signed with another key
    forged = ed25519.Ed25519PrivateKey.generate()
    status, why = _post(e1, sup_url, envelope(e1, forged, e1.key_id, "env_forged"))
    assert (status, "does not verify" in why) == (403, True), why
    status, why = _post(e1, sup_url, envelope(e1, forged, pki.key_id(forged.public_key()),
                                              "env_forged2"))
    assert (status, "registered node key" in why) == (403, True), why
    # an envelope genuinely signed by e1, carried over e2's TLS certificate
    status, why = _post(e2, sup_url, envelope(e1, e1.signing_key, e1.key_id, "env_borrowed"))
    assert (status, "not the node certificate of e1" in why) == (403, True), why
    # the control: the same envelope over e1's own connection is taken
    status, _ = _post(e1, sup_url, envelope(e1, e1.signing_key, e1.key_id, "env_control"))
    assert status == 200

    # no client certificate at all, or one from another CA: no TLS session
    bare = ssl.create_default_context(cafile=str(e1.paths.ca_cert))
    other_ca = pki.init_ca(fed.base / "other-ca")
    pki.write_private(fed.base / "rogue.crt", pki.issue_cert(
        other_ca, org="e1", node_key_id=e1.key_id,
        tls_public=pki.new_tls_key(fed.base / "rogue.key").public_key(),
        hosts=["127.0.0.1"]).public_bytes(__import__(
            "cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]).Encoding.PEM))
    rogue = ssl.create_default_context(cafile=str(e1.paths.ca_cert))
    rogue.load_cert_chain(str(fed.base / "rogue.crt"), str(fed.base / "rogue.key"))
    for ctx in (bare, rogue):
        e1.client_context = lambda ctx=ctx: ctx  # type: ignore[method-assign]
        with pytest.raises(DeliveryError):
            request(e1, sup_url, "POST", "/node/v1/inbox", pin=None,
                    doc=envelope(e1, e1.signing_key, e1.key_id, "env_no_tls"))

    taken = {m["message_id"] for m in fed.inbox("sup")}
    assert "env_control" in taken
    assert not {"env_outsider", "env_forged", "env_forged2", "env_borrowed",
                "env_no_tls"} & taken


def test_a_node_the_supervision_operator_adds_is_heard_without_a_restart(
        fed: Federation) -> None:
    a1 = fed.node("a1")
    e1_url = fed.nodes["e1"].url

    def ask(mid: str) -> tuple[int, str]:
        return _post(a1, e1_url, Envelope(
            message_id=mid, sender_org="a1", sender_key_id=a1.key_id, recipient_org="e1",
            kind="data_request", body={"engagement": "eng_1"},
            created_at="2026-12-07T02:00:00.000+00:00").sign(a1.signing_key).to_json())

    status, why = ask("env_early")
    assert (status, "not in the directory" in why) == (403, True), why
    cli("node", "directory", "add", "--home", str(fed.home("sup")), "--card",
        str(fed.home("a1") / "node-card.json"))
    wait_for("e1 to take a1's request", lambda: ask("env_joined")[0] == 200)
    assert {"env_joined"} == {m["message_id"] for m in fed.inbox("e1")
                              if m["sender_org"] == "a1"}
    # e1 answers with its figures (node/effects.py); a1 is not running here, so the
    # answer waits in e1's outbox
    answer = [w for w in fed.outbox("e1")[0] if w["recipient_org"] == "a1"]
    assert [w["kind"] for w in answer] == ["data_answer"]


def test_a_stopped_supervision_node_loses_nothing(fed: Federation) -> None:
    fed.nodes["sup"].stop()
    sent = [fed.send("e1", "sup", "incident_report", {"incident": f"inc_p{i}"})
            for i in range(6)]
    waiting, counts = fed.outbox("e1")
    assert {w["message_id"] for w in waiting} >= set(sent)
    assert counts["sent_pending"] >= len(sent)
    assert all(w["last_error"] for w in waiting if w["message_id"] in sent)  # tried, refused
    fed.nodes["sup"].start(fed.node("e1"))
    wait_for("the backlog to drain", lambda: fed.waiting("e1", "sup") == 0)
    got = [m for m in fed.inbox("sup") if m["message_id"] in sent]
    assert sorted(m["message_id"] for m in got) == sorted(sent)


def test_kill_9_mid_delivery_loses_nothing_and_applies_nothing_twice(fed: Federation) -> None:
    rng = random.Random(18)
    fed.nodes["e1"].stop(signal.SIGKILL)
    fed.nodes["sup"].stop(signal.SIGKILL)
    orders = [fed.send("sup", "e1", "intervention", {"ref": f"inc_k{i}", "order": "retrain"})
              for i in range(10)]
    reports = [fed.send("e1", "sup", "incident_report", {"incident": f"inc_k{i}"})
               for i in range(10)]
    def up(org: str) -> None:
        if fed.nodes[org].proc is None:
            fed.nodes[org].start(fed.node("sup" if org == "e1" else "e1"))

    # both come back and die at random points of their draining, twice each
    for victim in ("e1", "sup", "e1", "sup"):
        up("sup" if victim == "e1" else "e1")
        up(victim)
        time.sleep(rng.uniform(0.05, 1.0))
        fed.nodes[victim].stop(signal.SIGKILL)
    up("e1")
    up("sup")

    def settled() -> bool:
        return fed.waiting("e1", "sup") == 0 and fed.waiting("sup", "e1") == 0

    wait_for("both backlogs to drain", settled)
    e1_orders = [m for m in fed.inbox("e1") if m["message_id"] in orders]
    assert sorted(m["message_id"] for m in e1_orders) == sorted(orders)
    acks = [m["body"]["intervention"] for m in fed.inbox("sup")
            if m["kind"] == "intervention_ack" and m["body"]["intervention"] in orders]
    assert sorted(acks) == sorted(orders)  # each order acknowledged exactly once
    got = [m["message_id"] for m in fed.inbox("sup") if m["message_id"] in reports]
    assert sorted(got) == sorted(reports)
