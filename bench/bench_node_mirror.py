"""Mirror throughput across nodes: the supervision node's mirror pass
(`node/federation.py` `mirror_pass`, over mutual TLS) against a bare fetch-and-hash of
the same tiles from the same enterprise node (a real `node serve` process), in one run.

    .venv/bin/python bench/bench_node_mirror.py [--events 20000] [--rounds 2]

Baseline: GET the checkpoint and every entry bundle over one mutual-TLS connection,
split the bundles, SHA-256 every leaf. Mirror: a full pass into the supervision node's
emptied mirror tables (checkpoint signature, consistency proofs per chunk, the
mirror's own tiles, every entry stored and committed). Best round of each; the ratio
mirror/bare is what verifying and storing costs. Writes bench/out/node_mirror.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2
import msgspec
from sqlalchemy import delete
from typer.testing import CliRunner

from parcelguard.cli import app
from parcelguard.core.plugin import register_handlers
from parcelguard.core.runtime import Runtime
from parcelguard.ledger.ingest import EventLog
from parcelguard.ledger.tlog import publish_checkpoint, tile_path
from parcelguard.node import federation
from parcelguard.node.home import Node, node_settings
from parcelguard.supervision.models import MirrorEntry, MirrorLog, MirrorTile
from parcelguard.vault.provider import vault_service


def _cli(*args: str) -> None:
    result = CliRunner().invoke(app, list(args))
    if result.exit_code != 0:
        raise SystemExit(result.output)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ingest(home: Path, events: int) -> None:
    rt = Runtime(settings=node_settings(home))
    with rt.db.unit_of_work() as uow:
        lines = [(i, msgspec.json.encode({"event_id": f"b{i}", "kind": "parcel",
                                          "occurred_at": "2026-12-07T08:00:00+08:00",
                                          "enterprise_id": "e1", "waybill_no": f"SF{i:013d}",
                                          "step": "created"})) for i in range(1, events + 1)]
        assert not EventLog(clock_now=rt.clock.now).append_raw(uow.session, lines).rejected
        publish_checkpoint(uow.session, "e1", kms=vault_service(rt.settings).vault.kms,
                           clock=rt.clock)
        uow.commit()
    rt.close()


def _bare(node: Node, log_url: str) -> int:
    n = 0
    with federation.http_client(node) as c:
        size = int(c.get(f"{log_url}/checkpoint").text.split("\n")[1])
        for i in range((size + 255) // 256):
            data = c.get(f"{log_url}/{tile_path(None, i, min(256, size - i * 256))}").content
            pos = 0
            while pos < len(data):
                (length,) = struct.unpack_from(">H", data, pos)
                hashlib.sha256(b"\x00" + data[pos + 2:pos + 2 + length]).digest()
                pos += 2 + length
                n += 1
    return n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        urls = {org: f"https://127.0.0.1:{_port()}" for org in ("sup", "e1")}
        _cli("node", "ca", "init", "--out", str(base / "ca"))
        _cli("node", "init", "--home", str(base / "sup"), "--role", "supervision", "--org",
             "sup", "--url", urls["sup"], "--ca", str(base / "ca"))
        key = json.loads((base / "sup" / "node-card.json").read_text())["node_key"]
        _cli("node", "init", "--home", str(base / "e1"), "--role", "enterprise", "--org", "e1",
             "--url", urls["e1"], "--ca", str(base / "ca"), "--supervision-key", key,
             "--supervision-url", urls["sup"])
        _cli("node", "directory", "add", "--home", str(base / "sup"), "--card",
             str(base / "e1" / "node-card.json"))
        _ingest(base / "e1", args.events)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PARCELGUARD_")}
        proc = subprocess.Popen([sys.executable, "-m", "parcelguard", "node", "serve", "--home",
                                 str(base / "e1")], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        sup = Node(base / "sup")
        log_url = federation.log_url(urls["e1"], "e1")
        rt = Runtime(settings=node_settings(base / "sup"), on_open=register_handlers)
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    with federation.http_client(sup) as c:
                        if c.get(f"{log_url}/checkpoint").status_code == 200:
                            break
                except httpx2.HTTPError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.3)
            bare, mirror = [], []
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                assert _bare(sup, log_url) == args.events
                bare.append(args.events / (time.perf_counter() - t0))
                with rt.db.unit_of_work() as uow:
                    for model in (MirrorEntry, MirrorTile, MirrorLog):
                        uow.session.execute(delete(model))
                    uow.commit()
                t0 = time.perf_counter()
                (result,) = federation.mirror_pass(sup, rt)
                mirror.append(args.events / (time.perf_counter() - t0))
                assert (result.status, result.entries) == ("mirrored", args.events), result
        finally:
            rt.close()
            proc.terminate()
            proc.wait(timeout=60)
    out = {"events": args.events, "bare_per_s": round(max(bare)),
           "mirror_per_s": round(max(mirror)),
           "ratio_mirror_to_bare": round(max(mirror) / max(bare), 3)}
    print(json.dumps(out))
    (Path(__file__).parent / "out").mkdir(exist_ok=True)
    (Path(__file__).parent / "out" / "node_mirror.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
