"""Ingest throughput: `parcelguard ingest` on 1 million simulated events against a
bare `executemany` of the very same rows into the same SQLite table, in one run.

    .venv/bin/python bench/bench_ingest.py [--events 1000000]

Target (issue 2): ingest at least 0.4 of the bare rate. Prints a table and writes
bench/out/ingest.json.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.ledger.ingest import COLUMNS, EventLog
from parcelguard.ledger.service import ingest_file
from parcelguard.ops.store import init_store
from parcelguard.simulation.io import write_events_jsonl
from parcelguard.simulation.model import WorldConfig
from parcelguard.simulation.world import build_world

OUT = Path(__file__).parent / "out"


def simulated_events(n: int) -> list[dict[str, object]]:
    parcels = max(10_000, int(n / 9))
    while True:
        world = build_world(WorldConfig(seed=101, parcels=parcels, days=3))
        if len(world.events) >= n:
            return world.events[:n]
        parcels = int(parcels * n / len(world.events) * 1.05) + 1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=20_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        print(f"building {args.events:,} simulated events ...", file=sys.stderr)
        events = simulated_events(args.events)
        src = tmp / "events.jsonl"
        write_events_jsonl(events, src)
        del events

        rt = Runtime(settings=Settings(home=tmp / "home"))
        init_store(rt.settings)  # migrate before timing
        t = time.perf_counter()
        report = ingest_file(rt.db, src, log=EventLog(clock_now=rt.clock.now),
                             batch_size=args.batch, max_line_bytes=65536)
        ingest_s = time.perf_counter() - t
        assert report.stored == args.events, report.as_dict()

        # The same rows, already decoded, straight into an identical table.
        db_path = tmp / "home" / "parcelguard.db"
        rows = sqlite3.connect(db_path).execute(
            f"SELECT {', '.join(COLUMNS)} FROM ledger_events ORDER BY enterprise_id, seq"
        ).fetchall()
        bare = sqlite3.connect(tmp / "bare.db", isolation_level=None)
        bare.execute("PRAGMA journal_mode=WAL")
        bare.execute("PRAGMA synchronous=NORMAL")
        ddl = sqlite3.connect(db_path).execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name='ledger_events' AND sql IS NOT NULL"
        ).fetchall()
        for (stmt,) in ddl:
            bare.execute(stmt)
        marks = ", ".join("?" for _ in COLUMNS)
        t = time.perf_counter()
        for i in range(0, len(rows), args.batch):
            bare.execute("BEGIN")
            bare.executemany(f"INSERT INTO ledger_events ({', '.join(COLUMNS)}) VALUES ({marks})",
                             rows[i:i + args.batch])
            bare.execute("COMMIT")
        bare_s = time.perf_counter() - t
        rt.close()

    result = {
        "events": args.events,
        "ingest_events_per_s": round(args.events / ingest_s),
        "bare_executemany_rows_per_s": round(args.events / bare_s),
        "ratio": round(bare_s / ingest_s, 3),
        "target_ratio": 0.4,
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "ingest.json").write_text(json.dumps(result, indent=2))
    print(f"parcelguard ingest : {result['ingest_events_per_s']:>10,} events/s")
    print(f"bare executemany   : {result['bare_executemany_rows_per_s']:>10,} rows/s")
    print(f"ratio              : {result['ratio']:.3f} (target >= 0.4)")


if __name__ == "__main__":
    main()
