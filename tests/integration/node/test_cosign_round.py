"""An enterprise node's cosignature round (node/federation.py ``cosign_pass``) with a
witness that never answers: the enterprise's own writes go on meanwhile (no writer
lock held across the network), and the round reports the witness unavailable."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import msgspec
from typer.testing import CliRunner

from parcelguard.cli import app
from parcelguard.core.runtime import Runtime
from parcelguard.ledger.cosign import Cosigner
from parcelguard.ledger.ingest import EventLog
from parcelguard.ledger.witnessing import CosignOutcome
from parcelguard.node import federation
from parcelguard.node.home import Node, node_settings

runner = CliRunner()


def cli(*args: str) -> None:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output


def _ingest(home: Path, first: int, count: int) -> None:
    rt = Runtime(settings=node_settings(home))
    lines = [(i, msgspec.json.encode({"event_id": f"c{n}", "kind": "parcel",
                                      "occurred_at": "2026-12-07T08:00:00+08:00",
                                      "enterprise_id": "e1", "waybill_no": f"SF{n:013d}",
                                      "step": "created"}))
             for i, n in enumerate(range(first, first + count), start=1)]
    try:
        with rt.db.unit_of_work() as uow:
            assert not EventLog(clock_now=rt.clock.now).append_raw(uow.session, lines).rejected
            uow.commit()
    finally:
        rt.close()


def test_a_silent_witness_does_not_hold_up_the_enterprise(tmp_path: Path) -> None:
    # a witness address that takes connections and never answers (a cut-off link)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    silent.settimeout(60)
    port = silent.getsockname()[1]
    cli("node", "ca", "init", "--out", str(tmp_path / "ca"))
    cli("node", "init", "--home", str(tmp_path / "sup"), "--role", "supervision", "--org",
        "sup", "--url", "https://127.0.0.1:9", "--ca", str(tmp_path / "ca"))
    sup_key = json.loads((tmp_path / "sup" / "node-card.json").read_text())["node_key"]
    cli("node", "init", "--home", str(tmp_path / "e1"), "--role", "enterprise", "--org", "e1",
        "--url", "https://127.0.0.1:9", "--ca", str(tmp_path / "ca"), "--supervision-key",
        sup_key, "--supervision-url", "https://127.0.0.1:9")
    card = json.loads((tmp_path / "sup" / "node-card.json").read_text()) | {
        "org": "w1", "role": "auditor", "url": f"https://127.0.0.1:{port}",
        "witness_key": Cosigner.generate("w1").verifier().key_string()}
    (tmp_path / "w1.json").write_text(json.dumps(card))
    for c in (tmp_path / "e1" / "node-card.json", tmp_path / "w1.json"):
        cli("node", "directory", "add", "--home", str(tmp_path / "sup"), "--card", str(c))
    e1 = Node(tmp_path / "e1")
    e1.store_directory(json.loads((tmp_path / "sup" / "directory.json").read_text()))
    _ingest(e1.home, 0, 10)

    rt = Runtime(settings=node_settings(e1.home))
    outcomes: list[CosignOutcome] = []
    try:
        rounds = threading.Thread(target=lambda: outcomes.extend(federation.cosign_pass(e1, rt)))
        rounds.start()
        conn, _ = silent.accept()  # the round is now waiting on the witness
        _ingest(e1.home, 10, 5)  # ...and the enterprise's writes go on meanwhile
        assert rounds.is_alive(), "the write waited for the witness's timeout"
        rounds.join(timeout=60)
        conn.close()
    finally:
        rt.close()
        silent.close()
    # the supervision node's witness is away too (nothing listens at its URL)
    assert [(o.witness, o.size, o.status) for o in outcomes] == [
        ("parcelguard.example/witness/sup", 10, "unavailable"), ("w1", 10, "unavailable")]
