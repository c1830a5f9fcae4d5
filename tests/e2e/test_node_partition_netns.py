"""A real cut link: the supervision node in its own network namespace, joined to
the host by a veth pair; the link is taken down while both sides keep working, then
brought back. Nothing sent across the cut is lost, nothing is applied twice.

Needs root (network namespaces); on a machine where this process is not root the
test is skipped with that reason (the separate-process drills in
test_node_federation.py run everywhere).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_node_federation import ENV, SRC, Federation, NodeProc, cli, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    os.geteuid() != 0, reason="network namespaces need root")]


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def cut_fed(tmp_path: Path) -> Iterator[tuple[Federation, str]]:
    tag = uuid.uuid4().hex[:6]
    ns, host_if, ns_if = f"pgn{tag}", f"pgh{tag}", f"pgv{tag}"
    net = f"10.231.{int(tag[:2], 16)}"
    ip("netns", "add", ns)
    try:
        ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        ip("link", "set", ns_if, "netns", ns)
        ip("addr", "add", f"{net}.1/30", "dev", host_if)
        ip("link", "set", host_if, "up")
        ip("netns", "exec", ns, "ip", "addr", "add", f"{net}.2/30", "dev", ns_if)
        ip("netns", "exec", ns, "ip", "link", "set", ns_if, "up")
        ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")
        ca = tmp_path / "ca"
        cli("node", "ca", "init", "--out", str(ca))
        urls = {"sup": f"https://{net}.2:9441", "e1": f"https://{net}.1:9442"}
        cli("node", "init", "--home", str(tmp_path / "sup"), "--role", "supervision",
            "--org", "sup", "--url", urls["sup"], "--ca", str(ca))
        sup_key = json.loads((tmp_path / "sup" / "node-card.json").read_text())["node_key"]
        cli("node", "init", "--home", str(tmp_path / "e1"), "--role", "enterprise", "--org",
            "e1", "--url", urls["e1"], "--ca", str(ca), "--supervision-key", sup_key,
            "--supervision-url", urls["sup"])
        cli("node", "directory", "add", "--home", str(tmp_path / "sup"), "--card",
            str(tmp_path / "e1" / "node-card.json"))
        procs = {"sup": NodeProc(tmp_path / "sup", urls["sup"], ("ip", "netns", "exec", ns)),
                 "e1": NodeProc(tmp_path / "e1", urls["e1"])}
        f = Federation(tmp_path, procs)
        procs["sup"].start(f.node("e1"))
        cli("node", "directory", "fetch", "--home", str(tmp_path / "e1"))
        procs["e1"].start(f.node("sup"))
        yield f, ns
    finally:
        for p in locals().get("procs", {}).values():
            if p.proc is not None:
                p.stop(9)
        subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)
        subprocess.run(["ip", "link", "del", host_if], check=False, capture_output=True)


def test_a_cut_link_queues_both_ways_and_drains_when_it_returns(
        cut_fed: tuple[Federation, str]) -> None:
    fed, ns = cut_fed
    host_if = f"pgh{ns[3:]}"
    first = fed.send("e1", "sup", "incident_report", {"incident": "inc_before"})
    wait_for("the link to work", lambda: first in {m["message_id"] for m in fed.inbox("sup")})

    ip("link", "set", host_if, "down")
    reports = [fed.send("e1", "sup", "incident_report", {"incident": f"inc_cut{i}"})
               for i in range(4)]
    # the supervision side sends from inside its namespace, across the same cut
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARCELGUARD_")} | ENV
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    order = subprocess.run(
        ["ip", "netns", "exec", ns, sys.executable, "-m", "parcelguard", "node", "send",
         "--home", str(fed.home("sup")), "--to", "e1", "--kind", "intervention", "--body",
         json.dumps({"ref": "inc_cut0", "order": "suspend_exports"})],
        env=env, check=True, capture_output=True, text=True).stdout.strip()
    waiting, _ = fed.outbox("e1")
    assert {w["message_id"] for w in waiting} >= set(reports)
    assert all(w["last_error"] for w in waiting if w["message_id"] in reports)  # tried
    assert order not in {m["message_id"] for m in fed.inbox("e1")}

    ip("link", "set", host_if, "up")

    def drained() -> bool:
        acks = [m for m in fed.inbox("sup") if m["kind"] == "intervention_ack"]
        return fed.outbox("e1")[1]["sent_pending"] == 0 and \
            fed.outbox("sup")[1]["sent_pending"] == 0 and len(acks) >= 1

    wait_for("both backlogs to drain across the restored link", drained)
    assert sorted(m["message_id"] for m in fed.inbox("sup") if m["message_id"] in reports) \
        == sorted(reports)
    acks = [m["body"]["intervention"] for m in fed.inbox("sup")
            if m["kind"] == "intervention_ack"]
    assert acks == [order]
