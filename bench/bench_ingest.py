"""Ingest throughput: `parcelguard ingest` on 1 million simulated events against a
bare bulk insert of the very same rows into an identical table, in one run.

    .venv/bin/python bench/bench_ingest.py [--events 1000000] [--repeat N] [--batch N]
                                           [--postgres URL | --no-postgres]

SQLite: ingest against a bare `executemany`, target at least 0.4 of the bare rate
(issue 2). PostgreSQL (a scratch database created next to URL's, default the local
test server; the row is left out if none answers): ingest against a bare `COPY`,
target at least 0.5 (issue 12). Ingest includes everything its transaction does
(validation, the log positions, the Merkle tiles, the parcel projection); the bare
insert carries the same table and indexes, nothing else. Prints a table and writes
bench/out/ingest.json.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text

from parcelguard.core.db import SQLITE_PRAGMAS
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.ledger.ingest import COLUMNS, EventLog
from parcelguard.ledger.service import ingest_file
from parcelguard.ledger.settings import IngestSettings
from parcelguard.ops.store import init_store
from parcelguard.simulation.io import write_events_jsonl
from parcelguard.simulation.model import WorldConfig
from parcelguard.simulation.world import build_world

OUT = Path(__file__).parent / "out"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def simulated_events(n: int) -> list[dict[str, object]]:
    parcels = max(10_000, int(n / 9))
    while True:
        world = build_world(WorldConfig(seed=101, parcels=parcels, days=3))
        if len(world.events) >= n:
            return world.events[:n]
        parcels = int(parcels * n / len(world.events) * 1.05) + 1


def ingest_rate(settings: Settings, src: Path, batch: int, events: int) -> tuple[Runtime, float]:
    init_store(settings)  # a store is made only by init, and migrated before timing
    rt = Runtime(settings=settings)
    t = time.perf_counter()
    report = ingest_file(rt.db, src, log=EventLog(clock_now=rt.clock.now), batch_size=batch,
                         max_line_bytes=65536)
    seconds = time.perf_counter() - t
    assert report.stored == events, report.as_dict()
    return rt, seconds


def bare_sqlite(db_path: Path, bare_path: Path, batch: int) -> float:
    """The same rows, already decoded, straight into an identical table."""
    rows = sqlite3.connect(db_path).execute(
        f"SELECT {', '.join(COLUMNS)} FROM ledger_events ORDER BY enterprise_id, seq"
    ).fetchall()
    bare = sqlite3.connect(bare_path, isolation_level=None)
    for pragma in SQLITE_PRAGMAS:  # the store's own settings: WAL, commits on disk, ...
        bare.execute(pragma)
    ddl = sqlite3.connect(db_path).execute(
        "SELECT sql FROM sqlite_master WHERE tbl_name='ledger_events' AND sql IS NOT NULL"
    ).fetchall()
    for (stmt,) in ddl:
        bare.execute(stmt)
    marks = ", ".join("?" for _ in COLUMNS)
    t = time.perf_counter()
    for i in range(0, len(rows), batch):
        bare.execute("BEGIN")
        bare.executemany(f"INSERT INTO ledger_events ({', '.join(COLUMNS)}) VALUES ({marks})",
                         rows[i:i + batch])
        bare.execute("COMMIT")
    return time.perf_counter() - t


def bare_copy(rt: Runtime, batch: int) -> float:
    """The same rows COPYed into a table LIKE ledger_events (its indexes included),
    one transaction per batch."""
    cols = ", ".join(COLUMNS)
    with rt.db.engine.connect() as conn:
        rows = conn.execute(text(f"SELECT {cols} FROM ledger_events "
                                 "ORDER BY enterprise_id, seq")).all()
        conn.execute(text("DROP TABLE IF EXISTS bare_events"))
        conn.execute(text("CREATE TABLE bare_events (LIKE ledger_events INCLUDING ALL)"))
        conn.commit()
        dbapi: Any = conn.connection.dbapi_connection
        t = time.perf_counter()
        for i in range(0, len(rows), batch):
            with dbapi.cursor() as cur, cur.copy(f"COPY bare_events ({cols}) FROM STDIN") as cp:
                for row in rows[i:i + batch]:
                    cp.write_row(row)
            dbapi.commit()
        return time.perf_counter() - t


def postgres_run(url: str, src: Path, home: Path, batch: int, events: int
                 ) -> tuple[float, float]:
    """(ingest seconds, bare COPY seconds) in a scratch database."""
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"parcelguard_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        db_url = make_url(url).set(database=name).render_as_string(hide_password=False)
        rt, ingest_s = ingest_rate(Settings(home=home, database_url=db_url), src, batch, events)
        try:
            return ingest_s, bare_copy(rt, batch)
        finally:
            rt.close()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_row(url: str, src: Path, home: Path, batch: int, events: int,
                 repeat: int) -> dict[str, Any]:
    runs = [postgres_run(url, src, home / str(i), batch, events) for i in range(repeat)]
    ingest_s, bare_s = min(r[0] for r in runs), min(r[1] for r in runs)
    return {"ingest_events_per_s": round(events / ingest_s),
            "bare_copy_rows_per_s": round(events / bare_s),
            "ratio": round(bare_s / ingest_s, 3), "target_ratio": 0.5}


def postgres_reachable(url: str) -> bool:
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return True
    except Exception:  # any failure to connect means: no PostgreSQL row
        return False
    finally:
        engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=IngestSettings().batch_size,
                    help="events per transaction (default: the ingest setting's)")
    ap.add_argument("--postgres", default=DEFAULT_PG, help="server for the PostgreSQL row")
    ap.add_argument("--no-postgres", action="store_true", help="SQLite only")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs of each side, interleaved; the fastest counts (a shared "
                    "machine's interference only ever slows a run down)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        print(f"building {args.events:,} simulated events ...", file=sys.stderr)
        events = simulated_events(args.events)
        src = tmp / "events.jsonl"
        write_events_jsonl(events, src)
        del events

        ingest_runs, bare_runs = [], []
        for i in range(args.repeat):
            home = tmp / f"home{i}"
            rt, seconds = ingest_rate(Settings(home=home), src, args.batch, args.events)
            rt.close()
            ingest_runs.append(seconds)
            bare_runs.append(bare_sqlite(home / "parcelguard.db", tmp / f"bare{i}.db",
                                         args.batch))
        ingest_s, bare_s = min(ingest_runs), min(bare_runs)
        pg = None
        if not args.no_postgres and postgres_reachable(args.postgres):
            pg = postgres_row(args.postgres, src, tmp / "pg-home", args.batch, args.events,
                              args.repeat)

    result: dict[str, Any] = {
        "events": args.events,
        "ingest_events_per_s": round(args.events / ingest_s),
        "bare_executemany_rows_per_s": round(args.events / bare_s),
        "ratio": round(bare_s / ingest_s, 3),
        "target_ratio": 0.4,
        "postgresql": pg,
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "ingest.json").write_text(json.dumps(result, indent=2))
    print(f"SQLite     ingest          : {result['ingest_events_per_s']:>10,} events/s")
    print(f"SQLite     bare executemany: {result['bare_executemany_rows_per_s']:>10,} rows/s")
    print(f"SQLite     ratio           : {result['ratio']:.3f} (target >= 0.4)")
    if pg is None:
        print("PostgreSQL: no server answered; row left out")
        return
    print(f"PostgreSQL ingest          : {pg['ingest_events_per_s']:>10,} events/s")
    print(f"PostgreSQL bare COPY       : {pg['bare_copy_rows_per_s']:>10,} rows/s")
    print(f"PostgreSQL ratio           : {pg['ratio']:.3f} (target >= 0.5)")


if __name__ == "__main__":
    main()
