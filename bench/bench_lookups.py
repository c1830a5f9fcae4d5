"""Look-ups on `ledger_events` with and without the waybill index, and what the
index costs ingest, in one run on SQLite.

    .venv/bin/python bench/bench_lookups.py [--events 300000] [--lookups 300]

The look-ups are the ones the readers make: a parcel's history by waybill
(`ledger.parcels`: tracking, `parcels show`, the gate), every access to a waybill
(triangulation: `channel.history.accesses_to`), every access by an actor (evidence:
`accesses_by`, left without an index of its own: it is rare, and an index for it
cost ingest as much again). Each is timed with `ix_ledger_events_waybill`, then
with it dropped; ingest is timed into a database with it and into one without.
Prints a table and writes bench/out/lookups.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench_ingest import simulated_events
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.ledger.ingest import EventLog
from parcelguard.ledger.service import ingest_file
from parcelguard.simulation.io import write_events_jsonl

OUT = Path(__file__).parent / "out"
INDEXES = ("ix_ledger_events_waybill",)
QUERIES = {
    "history (steps of one waybill)":
        "SELECT event_id, occurred_at_us, leaf FROM ledger_events WHERE enterprise_id = ? "
        "AND waybill_no = ? AND kind = 'parcel'",
    "triangulation (accesses to one waybill)":
        "SELECT seq, leaf FROM ledger_events WHERE enterprise_id = ? AND kind = 'access' "
        "AND waybill_no IN (?)",
    "evidence (accesses by one actor)":
        "SELECT seq, leaf FROM ledger_events WHERE enterprise_id = ? AND kind = 'access' "
        "AND subject_id IN (?)",
}


def ingest(home: Path, src: Path, *, drop_indexes: bool) -> float:
    rt = Runtime(settings=Settings(home=home))
    if drop_indexes:
        with rt.db.engine.begin() as conn:
            for name in INDEXES:
                conn.execute(text(f"DROP INDEX {name}"))
    t = time.perf_counter()
    ingest_file(rt.db, src, log=EventLog(clock_now=rt.clock.now), batch_size=20_000,
                max_line_bytes=65536)
    seconds = time.perf_counter() - t
    rt.close()
    return seconds


def time_queries(db: sqlite3.Connection,
                 keys: dict[str, list[tuple[str, str]]]) -> dict[str, float]:
    out = {}
    for label, sql in QUERIES.items():
        t = time.perf_counter()
        for key in keys[label]:
            db.execute(sql, key).fetchall()
        out[label] = (time.perf_counter() - t) / len(keys[label]) * 1000
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=300_000)
    ap.add_argument("--lookups", type=int, default=300)
    args = ap.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        print(f"building {args.events:,} simulated events ...", file=sys.stderr)
        events = simulated_events(args.events)
        src = tmp / "events.jsonl"
        write_events_jsonl(events, src)
        waybills = sorted({(str(e["enterprise_id"]), str(e["waybill_no"])) for e in events
                           if e.get("waybill_no")})
        actors = sorted({(str(e["enterprise_id"]), str(e["actor_id"])) for e in events
                         if e["kind"] == "access"})
        del events
        with_s = ingest(tmp / "with", src, drop_indexes=False)
        without_s = ingest(tmp / "without", src, drop_indexes=True)
        keys = {label: rng.sample(actors if "actor" in label else waybills,
                                  min(args.lookups, len(actors if "actor" in label
                                                        else waybills)))
                for label in QUERIES}
        db = sqlite3.connect(tmp / "with" / "parcelguard.db")
        indexed = time_queries(db, keys)
        for name in INDEXES:
            db.execute(f"DROP INDEX {name}")
        scanned = time_queries(db, keys)
        db.close()

    result: dict[str, Any] = {
        "events": args.events,
        "lookup_ms": {label: {"indexed": round(indexed[label], 3),
                              "full_scan": round(scanned[label], 3),
                              "speedup": round(scanned[label] / indexed[label], 1)}
                      for label in QUERIES},
        "ingest_events_per_s": {"with_index": round(args.events / with_s),
                                "without_index": round(args.events / without_s)},
        "ingest_cost_of_index": round(with_s / without_s - 1, 3),
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "lookups.json").write_text(json.dumps(result, indent=2))
    for label, r in result["lookup_ms"].items():
        print(f"{label:<42}: {r['indexed']:>8.3f} ms indexed, {r['full_scan']:>8.3f} ms "
              f"scanned ({r['speedup']}x)")
    rates = result["ingest_events_per_s"]
    print(f"ingest with the index      : {rates['with_index']:>10,} events/s")
    print(f"ingest without it          : {rates['without_index']:>10,} events/s "
          f"(the index costs {result['ingest_cost_of_index']:.1%})")


if __name__ == "__main__":
    main()
