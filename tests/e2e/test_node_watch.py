"""The nodes watch each other's logs, as separate `parcelguard node serve` processes.

An enterprise node publishes its ledger as C2SP tlog-tiles over mutual TLS and has
its checkpoints cosigned by the supervision and auditor witnesses; the supervision
node mirrors the log from the tiles. What a user notices: the mirror holds exactly
the enterprise's entries and root; the independent verifier
(tests/e2e/tlog_verifier.py) checks the served log and each witness's cosignature; a
supervision node stopped while the enterprise works (and killed -9 as it catches up)
catches up to the same state; an address answering with another node's certificate
is not mirrored; a log rewritten in the enterprise's database is refused by the next
mirror pass with the proof kept as a tamper finding; and the supervision node's
database and files hold no PI.
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import delete, update

from parcelguard.core.runtime import Runtime
from parcelguard.ledger.ingest import EventLog
from parcelguard.ledger.merkle import append_leaves
from parcelguard.ledger.models import LedgerEvent, LedgerHead, LedgerTile
from parcelguard.ledger.store import SqlTileStore
from parcelguard.ledger.tiles import InMemoryTileStore
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.intake import ParcelIn, register_parcels
from parcelguard.node.home import Node, node_settings
from parcelguard.vault.provider import vault_service
from tests.e2e import tlog_verifier
from tests.e2e.served import free_port
from tests.e2e.test_no_plaintext_at_rest import PEOPLE, assert_clean
from tests.e2e.test_node_federation import NodeProc, cli, wait_for

pytestmark = pytest.mark.slow
ENT = "e1"
T0 = datetime(2026, 12, 7, 9, tzinfo=UTC)


@dataclass
class Watch:
    base: Path
    sup: NodeProc
    ent: NodeProc
    auditor: NodeProc

    def node(self, org: str) -> Node:
        return Node(self.base / org)

    @property
    def log_url(self) -> str:
        return f"{self.ent.url}/tlog/{ENT}"

    @property
    def log_key(self) -> str:
        entry = self.node("sup").directory().entry(ENT)  # type: ignore[union-attr]
        assert entry is not None
        assert entry.log_key
        return entry.log_key

    def witness_key(self, org: str) -> str:
        entry = self.node("sup").directory().entry(org)  # type: ignore[union-attr]
        assert entry is not None
        assert entry.witness_key
        return entry.witness_key

    def served(self, *witnesses: str) -> tlog_verifier.Checked:
        """The enterprise's log as the independent verifier sees it over mTLS, with
        the cosignatures of these witnesses' orgs checked."""
        return tlog_verifier.verify_log(self.log_url, self.log_key,
                                        tuple(self.witness_key(w) for w in witnesses),
                                        tls=self.node("sup").client_context())

    def leaves(self) -> list[bytes]:
        """The enterprise's log as its own database holds it."""
        with _ro(self.base / ENT) as db:
            return [bytes(r[0]) for r in db.execute(
                "SELECT leaf FROM ledger_events WHERE enterprise_id = ? ORDER BY seq", (ENT,))]

    def findings(self, org: str) -> list[tuple[str, dict[str, Any]]]:
        """The ledger_tamper findings (summary, evidence) in a watching node's store."""
        with _ro(self.base / org) as db:
            return [(s, json.loads(e)) for s, e in db.execute(
                "SELECT summary, evidence FROM supervision_findings WHERE enterprise_id = ? "
                "AND kind = 'ledger_tamper' ORDER BY id", (ENT,))]

    def mirror(self) -> tuple[int, bytes, list[bytes]]:
        """The supervision node's mirror of the log: size, root, entries."""
        with _ro(self.base / "sup") as db:
            row = db.execute("SELECT size, root, origin FROM mirror_logs WHERE "
                             "enterprise_id = ?", (ENT,)).fetchone()
            if row is None:
                return 0, b"", []
            entries = [bytes(r[0]) for r in db.execute(
                "SELECT leaf FROM mirror_entries WHERE origin = ? ORDER BY seq", (row[2],))]
        return int(row[0]), bytes(row[1]), entries

    def checkpoint_size(self, *witnesses: str) -> int:
        """The size of the served checkpoint (cosigned by these witnesses); -1 when
        there is none (yet)."""
        try:
            return self.served(*witnesses).size
        except AssertionError:
            return -1


def _ro(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{home / 'parcelguard.db'}?mode=ro", uri=True, timeout=30)


def _runtime(home: Path) -> Runtime:
    return Runtime(settings=node_settings(home))


def _ingest(home: Path, first: int, count: int) -> None:
    rt = _runtime(home)
    lines = [(i, msgspec.json.encode({"event_id": f"w{n}", "kind": "parcel",
                                      "occurred_at": "2026-12-07T08:00:00+08:00",
                                      "enterprise_id": ENT, "waybill_no": f"SF{n:013d}",
                                      "step": "created"}))
             for i, n in enumerate(range(first, first + count), start=1)]
    try:
        with rt.db.unit_of_work() as uow:
            assert not EventLog(clock_now=rt.clock.now).append_raw(uow.session, lines).rejected
            uow.commit()
    finally:
        rt.close()


def _rewrite(home: Path, leaves: list[bytes]) -> None:
    """An insider with database access rewrites the log and its tiles consistently."""
    rt = _runtime(home)
    try:
        with rt.db.unit_of_work() as uow:
            s = uow.session
            s.execute(delete(LedgerEvent).where(LedgerEvent.enterprise_id == ENT,
                                                LedgerEvent.seq >= len(leaves)))
            for seq, leaf in enumerate(leaves):
                s.execute(update(LedgerEvent).where(LedgerEvent.enterprise_id == ENT,
                                                    LedgerEvent.seq == seq).values(leaf=leaf))
            s.execute(delete(LedgerTile).where(LedgerTile.enterprise_id == ENT))
            scratch = InMemoryTileStore()
            append_leaves(scratch, 0, leaves)
            SqlTileStore(s.connection(), ENT).write_tiles(scratch.tiles)
            s.execute(update(LedgerHead).where(LedgerHead.enterprise_id == ENT)
                      .values(size=len(leaves)))
            uow.commit()
    finally:
        rt.close()


def _set(home: Path, **values: float) -> None:
    path = home / "node.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | values))


@pytest.fixture(scope="module")
def watch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Watch]:
    base = tmp_path_factory.mktemp("watch")
    ca = base / "ca"
    cli("node", "ca", "init", "--out", str(ca))
    urls = {org: f"https://127.0.0.1:{free_port()}" for org in ("sup", ENT, "a1")}
    cli("node", "init", "--home", str(base / "sup"), "--role", "supervision", "--org", "sup",
        "--url", urls["sup"], "--ca", str(ca))
    sup_key = json.loads((base / "sup" / "node-card.json").read_text())["node_key"]
    cli("node", "init", "--home", str(base / ENT), "--role", "enterprise", "--org", ENT,
        "--url", urls[ENT], "--ca", str(ca), "--supervision-key", sup_key,
        "--supervision-url", urls["sup"])
    cli("node", "init", "--home", str(base / "a1"), "--role", "auditor", "--org", "a1",
        "--url", urls["a1"], "--ca", str(ca), "--supervision-key", sup_key,
        "--supervision-url", urls["sup"])
    for org in (ENT, "a1"):
        cli("node", "directory", "add", "--home", str(base / "sup"), "--card",
            str(base / org / "node-card.json"))
    # passes every second (60 s by default) so the test waits seconds
    _set(base / "sup", mirror_seconds=1.0)
    _set(base / ENT, checkpoint_seconds=1.0, directory_refresh_seconds=1.0)
    w = Watch(base, NodeProc(base / "sup", urls["sup"]), NodeProc(base / ENT, urls[ENT]),
              NodeProc(base / "a1", urls["a1"]))
    w.sup.start(w.node(ENT))
    for org in (ENT, "a1"):
        cli("node", "directory", "fetch", "--home", str(base / org))
    w.ent.start(w.node("sup"))
    w.auditor.start(w.node("sup"))
    # Parcels with names, phones, addresses and ID numbers go through the enterprise's
    # intake: their events are in its log, their PI only in its vault.
    rt = _runtime(base / ENT)
    try:
        with rt.db.unit_of_work() as uow:
            register_parcels(uow.session, vault_service(rt.settings), enterprise_id=ENT,
                             parcels=[ParcelIn(waybill_no=make_waybill_no("SF", i),
                                               sender=PEOPLE[i % 3],
                                               recipient=PEOPLE[(i + 1) % 3], created_at=T0,
                                               destination_region="310115")
                                      for i in range(30)])
            uow.commit()
    finally:
        rt.close()
    _ingest(base / ENT, 0, 600)
    try:
        yield w
    finally:
        for p in (w.sup, w.ent, w.auditor):
            if p.proc is not None:
                p.stop(signal.SIGKILL)


def _caught_up(w: Watch) -> bool:
    leaves = w.leaves()
    size, _, _ = w.mirror()
    return size == len(leaves) and w.checkpoint_size() == len(leaves)


def test_the_supervision_node_mirrors_and_cosigns_the_enterprise_log(watch: Watch) -> None:
    wait_for("the mirror to hold the whole log", lambda: _caught_up(watch))
    wait_for("the witnesses' cosignatures on the newest checkpoint",
             lambda: watch.checkpoint_size("sup", "a1") == len(watch.leaves()))
    checked = watch.served("sup", "a1")
    assert checked.size == 630
    assert sorted(checked.cosigned_by) == ["parcelguard.example/witness/a1",
                                           "parcelguard.example/witness/sup"]
    size, root, entries = watch.mirror()
    assert (size, root) == (checked.size, checked.root)
    assert entries == checked.entries == watch.leaves()
    # by hand: one more pass finds nothing new
    lines = cli("node", "mirror", "--home", str(watch.base / "sup"), "--json").splitlines()
    assert [json.loads(x)["status"] for x in lines] == ["up_to_date"]
    assert json.loads(lines[0])["size"] == 630


def test_a_supervision_node_away_catches_up_to_the_same_state(watch: Watch) -> None:
    wait_for("the mirror to hold the whole log", lambda: _caught_up(watch))
    watch.sup.stop()
    _ingest(watch.base / ENT, 1000, 9000)  # three mirror chunks of 4,096
    # the enterprise keeps signing its log and the auditor cosigning it; the
    # supervision witness's cosignature waits for it
    wait_for("the auditor's cosignature on the grown log",
             lambda: watch.checkpoint_size("a1") == 9630)
    with pytest.raises(AssertionError, match=r"no cosignature by parcelguard\.example/witness/sup"):
        watch.served("sup")
    assert watch.mirror()[0] == 630
    # back, and killed -9 at a random point of its catching up, then back again
    watch.sup.start(watch.node(ENT))
    time.sleep(random.Random(18).uniform(0.0, 1.5))
    watch.sup.stop(signal.SIGKILL)
    assert watch.mirror()[0] in range(630, 9631)
    watch.sup.start(watch.node(ENT))
    wait_for("the mirror to catch up", lambda: _caught_up(watch))
    wait_for("the supervision cosignature at the new size",
             lambda: watch.checkpoint_size("sup", "a1") == 9630)
    checked = watch.served("sup")
    size, root, entries = watch.mirror()
    assert (size, root) == (checked.size, checked.root)
    assert entries == checked.entries == watch.leaves()


def test_a_node_presenting_another_nodes_certificate_is_not_mirrored(watch: Watch) -> None:
    wait_for("the mirror to hold the whole log", lambda: _caught_up(watch))
    held = watch.mirror()
    tls, saved = watch.base / ENT / "tls", watch.base / "e1-tls"
    shutil.copytree(tls, saved)
    watch.ent.stop()
    # e1's address now answers with the auditor's certificate: the CA signed it, but
    # the directory pins another one for e1
    for name in ("node.crt", "node.key"):
        shutil.copy(watch.base / "a1" / "tls" / name, tls / name)
    watch.ent.start(watch.node("sup"))
    try:
        _ingest(watch.base / ENT, 5000, 10)
        got = [json.loads(x) for x in cli("node", "mirror", "--home", str(watch.base / "sup"),
                                          "--json").splitlines()]
        assert [(g["status"], g["size"]) for g in got] == [("unavailable", held[0])]
        assert "PinMismatch" in got[0]["reason"]
        assert watch.mirror() == held
    finally:
        watch.ent.stop()
        for name in ("node.crt", "node.key"):
            shutil.copy(saved / name, tls / name)
        watch.ent.start(watch.node("sup"))
    wait_for("the mirror to catch up with its own certificate back",
             lambda: _caught_up(watch))


def test_a_log_rewritten_in_the_enterprise_database_is_refused_with_the_proof(
        watch: Watch) -> None:
    wait_for("the mirror to hold the whole log", lambda: _caught_up(watch))
    before = watch.served("sup", "a1")
    leaves = list(before.entries)
    at = next(i for i, leaf in enumerate(leaves) if b'"step":"created"' in leaf)
    leaves[at] = leaves[at].replace(b'"step":"created"', b'"step":"closed"')
    _rewrite(watch.base / ENT, leaves)
    # the enterprise node signs the rewritten log as it now stands
    def resigned() -> bool:
        try:
            return watch.served().root != before.root
        except AssertionError:  # the log being rewritten while it was read
            return False

    wait_for("a checkpoint over the rewritten log", resigned)
    got = [json.loads(x) for x in cli("node", "mirror", "--home", str(watch.base / "sup"),
                                      "--json").splitlines()]
    assert [g["status"] for g in got] == ["refused"]
    findings = watch.findings("sup")
    mirror_found = [(s, e) for s, e in findings if e["observed_by"] == "mirror"]
    assert mirror_found, findings
    summary, evidence = mirror_found[0]
    # Rewritten at the same size: the log signed two roots for one size. Both signed
    # checkpoints are the evidence, each verifying with the log's key.
    assert summary == f"fork: the log signed two roots for size {before.size}"
    assert evidence["proof"]["verified"] is False
    accepted, presented = evidence["accepted_checkpoint"], evidence["presented_checkpoint"]
    for note in (accepted, presented):
        body, sigs = tlog_verifier.split_note(note)
        tlog_verifier.check_log_signature(body, sigs, watch.log_key)
    assert accepted.split("\n")[:2] == presented.split("\n")[:2] == [before.origin,
                                                                      str(before.size)]
    assert accepted.split("\n")[2] != presented.split("\n")[2]
    # the supervision node's monitor raises it as an alert, in its own store
    def alerted() -> bool:
        with _ro(watch.base / "sup") as db:
            return db.execute("SELECT count(*) FROM monitor_alerts WHERE enterprise_id = ? "
                              "AND detector = 'ledger_tamper'", (ENT,)).fetchone()[0] > 0

    wait_for("the tamper alert on the supervision node", alerted)
    # nothing of the rewritten log was mirrored; the mirror still holds the log it saw
    size, root, entries = watch.mirror()
    assert (size, root, entries) == (before.size, before.root, before.entries)
    # and no witness cosigns the rewritten log: the auditor's witness, asked by the
    # enterprise, kept its own evidence of the fork
    for w in ("sup", "a1"):
        with pytest.raises(AssertionError, match="no cosignature"):
            watch.served(w)
    wait_for("the auditor's finding", lambda: any(
        s.startswith("fork") for s, _ in watch.findings("a1")))
    time.sleep(3)  # three more rounds of the enterprise asking: still one finding
    forks = [(s, e) for s, e in watch.findings("a1") if s.startswith("fork")]
    assert len(forks) == 1, [s for s, _ in forks]
    _, seen = forks[0]
    assert seen["observed_by"] == "witness parcelguard.example/witness/a1"
    assert seen["presented_note"].split("\n")[2] == presented.split("\n")[2]


def test_the_supervision_node_holds_no_pi(watch: Watch) -> None:
    watch.sup.stop()  # its WAL checkpointed into the file, its log flushed
    files = [p for p in (watch.base / "sup").rglob("*") if p.is_file()] + [watch.sup.log]
    blob = b"".join(p.read_bytes() for p in files)
    assert watch.mirror()[2][0] in blob  # the mirrored entries are there...
    assert_clean(blob, "the supervision node's home")  # ...and no name, phone or address
