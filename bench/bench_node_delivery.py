"""Node delivery: envelopes carried by the outbox (`node.deliver`) against bare
mutual-TLS posts of the same kind of envelope, to the same supervision node (a real
`node serve` process on loopback), in one run.

    .venv/bin/python bench/bench_node_delivery.py [--messages 200]

Baseline: sign each envelope and post it (one TLS connection each, as a delivery
does) with nothing else. Outbox: the same number queued by `node send`'s service in
one transaction, then drained by the dispatcher (load the message, sign, post, claim
and settle it). The ratio outbox/bare is what the outbox's durability costs per
message. Prints the figures and writes bench/out/node_delivery.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from typer.testing import CliRunner

from parcelguard.cli import app
from parcelguard.core.plugin import register_handlers
from parcelguard.core.runtime import Runtime
from parcelguard.node import service
from parcelguard.node.envelope import Envelope
from parcelguard.node.home import Node, node_settings
from parcelguard.node.transport import DeliveryError, request


def _cli(*args: str) -> None:
    result = CliRunner().invoke(app, list(args))
    if result.exit_code != 0:
        raise SystemExit(result.output)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200)
    args = parser.parse_args()
    n = args.messages
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        _cli("node", "ca", "init", "--out", str(base / "ca"))
        _cli("node", "init", "--home", str(base / "sup"), "--role", "supervision", "--org",
             "sup", "--url", f"https://127.0.0.1:{port}", "--ca", str(base / "ca"))
        key = json.loads((base / "sup" / "node-card.json").read_text())["node_key"]
        _cli("node", "init", "--home", str(base / "e1"), "--role", "enterprise", "--org", "e1",
             "--url", "https://127.0.0.1:9", "--ca", str(base / "ca"), "--supervision-key",
             key, "--supervision-url", f"https://127.0.0.1:{port}")
        _cli("node", "directory", "add", "--home", str(base / "sup"), "--card",
             str(base / "e1" / "node-card.json"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("PARCELGUARD_")}
        proc = subprocess.Popen([sys.executable, "-m", "parcelguard", "node", "serve", "--home",
                                 str(base / "sup")], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            e1 = Node(base / "e1")
            deadline = time.monotonic() + 120
            while True:
                try:
                    if request(e1, f"https://127.0.0.1:{port}", "GET", "/node/v1/directory",
                               pin=None)[0] == 200:
                        break
                except DeliveryError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.3)
            _cli("node", "directory", "fetch", "--home", str(base / "e1"))
            peer = e1.directory().entry("sup")  # type: ignore[union-attr]
            assert peer is not None

            t0 = time.perf_counter()
            for i in range(n):
                doc = Envelope(message_id=f"env_bare_{i}", sender_org="e1",
                               sender_key_id=e1.key_id, recipient_org="sup",
                               kind="incident_report", body={"incident": f"inc_{i}"},
                               created_at="2026-12-07T02:00:00.000+00:00"
                               ).sign(e1.signing_key).to_json()
                status, _ = request(e1, peer.url, "POST", "/node/v1/inbox",
                                    pin=peer.tls_fingerprint, doc=doc)
                assert status == 200
            bare = time.perf_counter() - t0

            rt = Runtime(settings=node_settings(base / "e1"))
            me = service.Me(org="e1", role="enterprise", key_id=e1.key_id)
            with rt.db.unit_of_work() as uow:
                for i in range(n):
                    service.send(uow.session, me=me, directory=e1.directory(), to_org="sup",
                                 kind="incident_report", body={"incident": f"inc_{i}"})
                uow.commit()  # no dispatcher yet: they wait in the outbox
            register_handlers(rt)
            t0 = time.perf_counter()
            rt.db.dispatch_due()
            outboxed = time.perf_counter() - t0
            with rt.db.unit_of_work() as uow:
                counts = service.counts(uow.session)
            rt.close()
            assert counts["sent_delivered"] == n, counts
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    result = {"messages": n, "bare_per_s": round(n / bare, 1),
              "outbox_per_s": round(n / outboxed, 1),
              "ratio_outbox_to_bare": round(bare / outboxed, 3)}
    print(json.dumps(result))
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "node_delivery.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
