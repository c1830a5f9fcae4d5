"""National analytics on the supervision node, with the nodes as separate processes.

Two enterprise nodes (`parcelguard node serve`, mutual TLS) hold a simulated carrier
world's events in their ledgers, and one of them also the parcels of three known
people (their PI in its vault). The supervision node mirrors both logs in two passes
(a day, then the rest). What a user notices: the supervision node's Parquet
partitions (enterprise, day) hold exactly the mirrored entries, each in the partition
of its day; `parcelguard monitor spark` over them raises exactly the alerts the
embedded runner raises on the mirrored entries; and nothing the supervision node
wrote, Parquet included, holds a name, phone, address or ID number.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import msgspec
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from parcelguard.core.runtime import Runtime
from parcelguard.ledger.ingest import EventLog
from parcelguard.ledger.tlog import publish_checkpoint
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.intake import ParcelIn, register_parcels
from parcelguard.monitor.replay import run_pipeline, write_alerts
from parcelguard.monitor.settings import MonitorSettings
from parcelguard.monitor.source import decode_lines, time_ordered
from parcelguard.node.home import node_settings
from parcelguard.simulation.model import WorldConfig
from parcelguard.simulation.world import build_world
from parcelguard.vault.provider import vault_service
from tests.e2e.served import free_port
from tests.e2e.test_no_plaintext_at_rest import PEOPLE, assert_clean
from tests.e2e.test_node_federation import SRC, NodeProc, cli

pytestmark = pytest.mark.slow
CST = timezone(timedelta(hours=8))  # the monitor's day (MonitorSettings.day_offset_hours)
spark_needed = [
    pytest.mark.skipif(importlib.util.find_spec("pyspark") is None,
                       reason="pyspark is not installed (the `spark` extra)"),
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java runtime"),
]


@dataclass
class Nation:
    base: Path
    enterprises: list[str]

    @property
    def sup(self) -> Path:
        return self.base / "sup"

    @property
    def national(self) -> Path:
        return self.sup / "national"

    def leaves(self, ent: str) -> list[bytes]:
        """The enterprise's log as its own database holds it."""
        with _ro(self.base / ent) as db:
            return [bytes(r[0]) for r in db.execute(
                "SELECT leaf FROM ledger_events WHERE enterprise_id = ? ORDER BY seq", (ent,))]

    def mirrored(self, ent: str) -> list[bytes]:
        """The supervision node's mirror of the log (its database)."""
        with _ro(self.sup) as db:
            return [bytes(r[0]) for r in db.execute(
                "SELECT e.leaf FROM mirror_entries e JOIN mirror_logs m ON m.origin = e.origin "
                "WHERE m.enterprise_id = ? ORDER BY e.seq", (ent,))]


def _ro(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{home / 'parcelguard.db'}?mode=ro", uri=True, timeout=30)


def _append(home: Path, ent: str, lines: list[bytes]) -> None:
    """Events into the enterprise node's ledger, and its log signed as it stands."""
    rt = Runtime(settings=node_settings(home))
    try:
        with rt.db.unit_of_work() as uow:
            got = EventLog(clock_now=rt.clock.now).append_raw(
                uow.session, list(enumerate(lines, start=1)))
            assert not got.rejected, got.rejected[:3]
            publish_checkpoint(uow.session, ent, kms=vault_service(rt.settings).vault.kms,
                               clock=rt.clock)
            uow.commit()
    finally:
        rt.close()


def _register_people(home: Path, ent: str) -> None:
    """Parcels of the known people through the enterprise's intake: their events go
    into its log, their PI only into its vault."""
    rt = Runtime(settings=node_settings(home))
    try:
        with rt.db.unit_of_work() as uow:
            register_parcels(uow.session, vault_service(rt.settings), enterprise_id=ent,
                             parcels=[ParcelIn(waybill_no=make_waybill_no("SF", 500 + i),
                                               sender=PEOPLE[i % 3],
                                               recipient=PEOPLE[(i + 1) % 3],
                                               created_at=datetime(2026, 11, 10, 2, tzinfo=CST),
                                               destination_region="310115")
                                      for i in range(30)])
            uow.commit()
    finally:
        rt.close()


def _mirror_pass(sup: Path) -> list[dict[str, object]]:
    out = cli("node", "mirror", "--home", str(sup), "--json")
    return [json.loads(x) for x in out.splitlines()]


@pytest.fixture(scope="module")
def nation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nation]:
    base = tmp_path_factory.mktemp("nation")
    world = build_world(WorldConfig(seed=7, enterprises=2, parcels=1200))
    ents = sorted({ev["enterprise_id"] for ev in world.events})
    ca = base / "ca"
    cli("node", "ca", "init", "--out", str(ca))
    urls = {org: f"https://127.0.0.1:{free_port()}" for org in ("sup", *ents)}
    cli("node", "init", "--home", str(base / "sup"), "--role", "supervision", "--org", "sup",
        "--url", urls["sup"], "--ca", str(ca))
    sup_key = json.loads((base / "sup" / "node-card.json").read_text())["node_key"]
    for ent in ents:
        cli("node", "init", "--home", str(base / ent), "--role", "enterprise", "--org", ent,
            "--url", urls[ent], "--ca", str(ca), "--supervision-key", sup_key,
            "--supervision-url", urls["sup"])
        cli("node", "directory", "add", "--home", str(base / "sup"), "--card",
            str(base / ent / "node-card.json"))
    # the mirror passes of this test are the ones it runs by hand (`node mirror`)
    config = base / "sup" / "node.json"
    config.write_text(json.dumps(json.loads(config.read_text()) | {"mirror_seconds": 3600.0}))
    procs = [NodeProc(base / org, urls[org]) for org in ("sup", *ents)]
    nation = Nation(base, ents)
    from parcelguard.node.home import Node

    try:
        procs[0].start(Node(base / ents[0]))
        for ent in ents:
            cli("node", "directory", "fetch", "--home", str(base / ent))
        for p in procs[1:]:
            p.start(Node(base / "sup"))
        by_ent: dict[str, list[bytes]] = {ent: [] for ent in ents}
        for ev in world.events:
            by_ent[ev["enterprise_id"]].append(msgspec.json.encode(ev))
        first_day = min(ev["occurred_at"][:10] for ev in world.events)
        # pass 1: each carrier's first day (and the known people's parcels)
        _register_people(base / ents[0], ents[0])
        for ent in ents:
            _append(base / ent, ent, [x for x in by_ent[ent]
                                      if msgspec.json.decode(x)["occurred_at"][:10] == first_day])
        passed = _mirror_pass(nation.sup)
        assert {r["status"] for r in passed} == {"mirrored"}, passed  # with the reasons
        # pass 2: the rest of the world
        for ent in ents:
            _append(base / ent, ent, [x for x in by_ent[ent]
                                      if msgspec.json.decode(x)["occurred_at"][:10] != first_day])
        passed = _mirror_pass(nation.sup)
        assert {r["status"] for r in passed} == {"mirrored"}, passed  # with the reasons
        yield nation
    finally:
        for p in procs:
            if p.proc is not None:
                p.stop()


def test_the_parquet_partitions_hold_exactly_the_mirrored_entries(nation: Nation) -> None:
    for ent in nation.enterprises:
        leaves = nation.leaves(ent)
        assert len(leaves) > 1000
        assert nation.mirrored(ent) == leaves
        # read as any Parquet reader would: a hive-partitioned dataset
        table = ds.dataset(nation.national / f"enterprise={ent}", format="parquet",
                           partitioning="hive").to_table().sort_by("seq")
        assert table.column_names == ["seq", "t_us", "entry", "day"]
        assert table.column("seq").to_pylist() == list(range(len(leaves)))
        assert [e.encode() for e in table.column("entry").to_pylist()] == leaves
        # each entry in the partition of its local day
        for entry, day in zip(table.column("entry").to_pylist(),
                              table.column("day").to_pylist(), strict=True):
            at = datetime.fromisoformat(msgspec.json.decode(entry)["occurred_at"])
            assert str(day) == at.astimezone(CST).date().isoformat()
        days = sorted(p.name for p in (nation.national / f"enterprise={ent}").iterdir())
        assert len(days) >= 3  # the world's days, written over two mirror passes
    # the files hold those three columns and nothing else
    for path in nation.national.rglob("*.parquet"):
        assert pq.read_schema(path).names == ["seq", "t_us", "entry"]


def test_the_supervision_nodes_parquet_holds_no_pi(nation: Nation) -> None:
    # decoded, since the files are compressed: every value of every row, as text
    decoded = b"\n".join(
        b"\n".join(str(v).encode() for row in pq.read_table(p).to_pylist()
                   for v in row.values())
        for p in sorted(nation.national.rglob("*.parquet")))
    assert make_waybill_no("SF", 507).encode() in decoded  # the people's parcels are there
    assert_clean(decoded, "the supervision node's Parquet")
    # and the node's files as they lie (database, marks, Parquet bytes)
    files = [p for p in nation.sup.rglob("*") if p.is_file()]
    raw = b"".join(p.read_bytes() for p in files)
    assert make_waybill_no("SF", 507).encode() in raw
    assert_clean(raw, "the supervision node's home")


@spark_needed[0]
@spark_needed[1]
def test_monitor_spark_on_the_partitions_gives_the_embedded_alerts(
        nation: Nation, tmp_path: Path) -> None:
    settings = MonitorSettings()
    # the embedded runner on the mirrored entries, read from the supervision node's
    # database (not from the Parquet)
    mirrored = [e for ent in nation.enterprises for e in nation.mirrored(ent)]
    events, ts = time_ordered(decode_lines(mirrored))
    alerts, _pipe = run_pipeline(events, ts, settings)
    write_alerts(alerts, tmp_path / "embedded.jsonl", settings.day_offset_hours)
    embedded = (tmp_path / "embedded.jsonl").read_bytes().splitlines()
    assert len(embedded) > 10
    # Spark as an operator runs it: the CLI, in its own process
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARCELGUARD_")}
    env |= {"PYTHONPATH": SRC + os.pathsep + env.get("PYTHONPATH", ""),
            "PYSPARK_PYTHON": sys.executable, "PARCELGUARD_HOME": str(tmp_path / "home")}
    run = subprocess.run(
        [sys.executable, "-m", "parcelguard", "monitor", "spark", "--events",
         str(nation.national), "--alerts-out", str(tmp_path / "spark"), "--master", "local[2]"],
        env=env, capture_output=True, timeout=1200, check=False)
    assert run.returncode == 0, run.stderr.decode(errors="replace")[-3000:]
    assert (tmp_path / "spark" / "alerts.jsonl").read_bytes().splitlines() == embedded
    # and the embedded runner reading the same partitions agrees too
    replay = subprocess.run(
        [sys.executable, "-m", "parcelguard", "monitor", "replay", str(nation.national),
         "--alerts-out", str(tmp_path / "replay.jsonl")],
        env=env, capture_output=True, timeout=600, check=False)
    assert replay.returncode == 0, replay.stderr.decode(errors="replace")[-3000:]
    assert (tmp_path / "replay.jsonl").read_bytes().splitlines() == embedded
