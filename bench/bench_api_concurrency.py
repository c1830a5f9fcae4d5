"""API concurrency: `parcelguard serve` (a real process on loopback) taking event
batches from 1, 4 and 8 clients at once, on SQLite and on PostgreSQL.

    .venv/bin/python bench/bench_api_concurrency.py [--batches 20] [--events 200]

Each client is a carrier of its own (an enterprise with its own ingest key and log)
posting ``--batches`` batches of ``--events`` events in turn, and times each request.
(Batches into one enterprise's log are stored one after the other by design: its
positions are gap-free, so each batch takes the log head's lock; `--one-log` measures
that case.) The baseline is the same server with one client, in the same run: with
batches really in flight at once, p50 at k clients stays well under k times the
one-client p50 (on a machine with cores to spare) and the throughput grows; a server
that stores one batch at a time shows p50 growing like k and flat throughput.
SQLite has one writer by design: its figures show waiting, never errors.
PostgreSQL comes from PARCELGUARD_TEST_POSTGRES_URL (default: the local server); a
fresh database is created and dropped. Prints a table and writes
bench/out/api_concurrency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import msgspec
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity import service as identity
from parcelguard.identity.permissions import system_principal
from parcelguard.ops.store import init_store

OUT = Path(__file__).parent / "out"
ENTS = tuple(f"bench-ent-{n}" for n in range(16))
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres_database() -> Iterator[str]:
    base = os.environ.get("PARCELGUARD_TEST_POSTGRES_URL", DEFAULT_PG)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"parcelguard_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def served(home: Path, database_url: str) -> Iterator[tuple[str, list[str]]]:
    """A store made by `init` with enterprises and an ingest key for each, served by
    `parcelguard serve`; yields (base URL, keys in ENTS order)."""
    settings = Settings(home=home, database_url=database_url)
    init_store(settings)  # a store is made only by init; nothing migrates on open
    rt = Runtime(settings=settings)
    with rt.db.unit_of_work() as uow:
        identity.initialise(uow.session, clock=rt.clock)
        keys = []
        for ent in ENTS:
            identity.create_organization(uow.session, org_id=ent, kind="enterprise",
                                         name=ent, clock=rt.clock)
            keys.append(identity.issue_api_key(
                uow.session, system_principal(identity.SUPERVISOR_ORG_ID), name="bench",
                role="ingest_client", clock=rt.clock, org_id=ent).secret)
        uow.commit()
    rt.close()
    port = free_port()
    env = {**os.environ, "PARCELGUARD_HOME": str(home),
           "PARCELGUARD_DATABASE_URL": database_url}
    proc = subprocess.Popen([sys.executable, "-m", "parcelguard", "serve", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # a loaded machine imports slowly
        while True:
            try:
                # up and answering; /health says 503 while a log is not checkpointed
                if httpx2.get(f"{url}/api/v1/health").status_code in (200, 503):
                    break
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("parcelguard serve did not start")
            time.sleep(0.1)
        yield url, keys
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def client(url: str, key: str, ent: str, prefix: str, batches: int,
           events: int) -> tuple[list[float], int]:
    """Post the batches in turn; returns each request's latency in seconds and the
    number of requests not answered 200 (each a failure: a reset connection counts)."""
    times = []
    errors = 0
    with httpx2.Client(base_url=url, timeout=300,
                       headers={"Authorization": f"Bearer {key}"}) as c:
        for b in range(batches):
            body = msgspec.json.encode([{
                "event_id": f"{prefix}-{b}-{i}", "kind": "parcel",
                "occurred_at": "2026-11-11T08:00:00+08:00", "enterprise_id": ent,
                "waybill_no": "SF1234567890128", "step": "created"} for i in range(events)])
            t = time.perf_counter()
            try:
                ok = c.post("/api/v1/events", content=body).status_code == 200
            except httpx2.TransportError:
                ok = False
            times.append(time.perf_counter() - t)
            errors += not ok
    return times, errors


def measure(url: str, keys: list[str], backend: str, clients: int, batches: int,
            events: int, one_log: bool) -> dict[str, Any]:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        runs = list(pool.map(lambda n: client(
            url, keys[0 if one_log else n], ENTS[0 if one_log else n],
            f"{backend}-{clients}-{n}", batches, events), range(clients)))
    wall = time.perf_counter() - started
    lat = sorted(t for run, _ in runs for t in run)
    return {"backend": backend, "clients": clients,
            "p50_ms": round(statistics.median(lat) * 1000, 1),
            "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 1),
            "events_per_s": round(clients * batches * events / wall),
            "errors": sum(e for _, e in runs)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=20, help="batches per client")
    ap.add_argument("--events", type=int, default=200, help="events per batch")
    ap.add_argument("--clients", default="1,4,8")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--one-log", action="store_true",
                    help="every client posts into one enterprise's log")
    args = ap.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    if max(counts) > len(ENTS):
        ap.error(f"at most {len(ENTS)} clients")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp_s:
        for backend in args.backends.split(","):
            home = Path(tmp_s) / backend
            with (postgres_database() if backend == "postgresql"
                  else _sqlite(home)) as database_url, served(home, database_url) as (url, keys):
                for n in range(max(counts)):  # each log started, the server warm
                    client(url, keys[n], ENTS[n], f"{backend}-warmup-{n}", 1, args.events)
                base: dict[str, Any] | None = None
                for n in counts:
                    row = measure(url, keys, backend, n, args.batches, args.events,
                                  args.one_log)
                    base = base or row
                    row["p50_vs_1_client"] = round(row["p50_ms"] / base["p50_ms"], 2)
                    row["throughput_vs_1_client"] = round(
                        row["events_per_s"] / base["events_per_s"], 2)
                    rows.append(row)
                    print(f"{backend:10} {n:2} clients: p50 {row['p50_ms']:7.1f} ms  "
                          f"p99 {row['p99_ms']:7.1f} ms  {row['events_per_s']:8,} ev/s  "
                          f"p50 x{row['p50_vs_1_client']:<5} throughput "
                          f"x{row['throughput_vs_1_client']}  errors {row['errors']}",
                          flush=True)
    OUT.mkdir(exist_ok=True)
    (OUT / "api_concurrency.json").write_text(json.dumps(
        {"batches_per_client": args.batches, "events_per_batch": args.events,
         "one_log": args.one_log,
         "cpus": os.cpu_count(), "rows": rows}, indent=2))


@contextmanager
def _sqlite(home: Path) -> Iterator[str]:
    yield f"sqlite:///{home / 'parcelguard.db'}"


if __name__ == "__main__":
    main()
