"""Concurrent writers on one SQLite home wait for each other instead of failing:
16 API clients at once, staff log-ins among them, and the CLI's ingest and key
rotation next to a serving API. Every acknowledged event is stored exactly once and
nothing anywhere says "database is locked". On PostgreSQL, batches of different
carriers are stored at once."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx2
import msgspec
import pytest
from sqlalchemy import text

from parcelguard.core.db import create_db_engine
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity import service as identity
from parcelguard.ops.store import init_store
from parcelguard.vault.provider import vault_service
from tests.e2e.served import parcel_event, serve, small_world, start_serve

ENTS = ("ent-a", "ent-b", "ent-c", "ent-d")


@dataclass
class Home:
    rt: Runtime
    home: Path
    url: str
    keys: dict[str, str]
    officer_password: str

    def count(self, sql: str, *args: object) -> int:
        with sqlite3.connect(self.home / "parcelguard.db") as conn:
            return int(conn.execute(sql, args).fetchone()[0])


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    path = tmp_path_factory.mktemp("concurrency-home")
    rt = Runtime(settings=Settings(home=path))
    init_store(rt.settings)  # a store is made only by init
    keys = small_world(rt, ENTS)
    with rt.db.unit_of_work() as uow:
        _, password = identity.create_account(uow.session, org_id="ent-a", username="officer.a",
                                              role="security_officer", clock=rt.clock)
        # Data subjects with keys, so `keys rotate` has batches to write.
        vs = vault_service(rt.settings)
        vs.subject_keys(uow.session, vs.keyset(uow.session, "ent-d"),
                        [f"subj-{i}" for i in range(600)], create=True)
        uow.commit()
    with serve(rt) as url:
        yield Home(rt, path, url, keys, password)
    rt.close()


def post_batches(url: str, key: str, ent: str, prefix: str, batches: int,
                 size: int) -> tuple[list[str], list[str]]:
    """One client posting ``batches`` batches in turn; returns the ids the server
    acknowledged and the errors it answered (status and body)."""
    acked: list[str] = []
    errors: list[str] = []
    with httpx2.Client(base_url=url, timeout=120,
                       headers={"Authorization": f"Bearer {key}"}) as c:
        for b in range(batches):
            ids = [f"{prefix}-{b}-{i}" for i in range(size)]
            try:
                r = c.post("/api/v1/events",
                           content=msgspec.json.encode([parcel_event(i, ent) for i in ids]))
            except httpx2.TransportError as exc:  # the server dropped the connection
                errors.append(type(exc).__name__)
                continue
            if r.status_code == 200 and r.json()["stored"] == size:
                acked.extend(ids)
            else:
                errors.append(f"{r.status_code} {r.text[:200]}")
    return acked, errors


def failed_log_ins(url: str, attempts: int) -> list[int]:
    """Wrong passwords for a known enterprise account; returns the statuses."""
    statuses = []
    with httpx2.Client(base_url=url, timeout=120) as c:
        for _ in range(attempts):
            page = c.get("/login").text
            m = re.search(r'name="csrf_token" value="([^"]+)"', page)
            assert m is not None
            r = c.post("/login", data={"csrf_token": m.group(1), "username": "officer.a",
                                       "password": "not-the-password", "code": ""})
            statuses.append(r.status_code)
    return statuses


@pytest.mark.slow
def test_16_concurrent_clients_all_succeed_and_store_each_event_once(home: Home) -> None:
    before = home.count("SELECT count(*) FROM ledger_events WHERE instr(leaf, ?) > 0",
                        b'"action":"login_failed"')
    with ThreadPoolExecutor(max_workers=17) as pool:
        clients = [pool.submit(post_batches, home.url, home.keys[ENTS[n % 4]], ENTS[n % 4],
                               f"c{n}", 10, 50) for n in range(16)]
        logins = pool.submit(failed_log_ins, home.url, 5)
        results = [f.result() for f in clients]
    errors = [e for _, errs in results for e in errs]
    assert errors == []
    acked = [i for ids, _ in results for i in ids]
    assert len(acked) == 16 * 10 * 50
    stored = home.count("SELECT count(*) FROM ledger_events WHERE event_id LIKE 'c%'")
    distinct = home.count("SELECT count(DISTINCT enterprise_id || event_id) FROM ledger_events "
                          "WHERE event_id LIKE 'c%'")
    assert stored == distinct == len(acked)
    # Each failed log-in was answered as one and left its event for the monitor.
    assert logins.result() == [401] * 5
    after = home.count("SELECT count(*) FROM ledger_events WHERE instr(leaf, ?) > 0",
                       b'"action":"login_failed"')
    assert after - before == 5


def cli(home: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PARCELGUARD_HOME": str(home)}
    return subprocess.Popen([sys.executable, "-m", "parcelguard", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_cli_ingest_and_key_rotation_run_beside_a_serving_api(home: Home,
                                                               tmp_path: Path) -> None:
    # the API as `parcelguard serve` runs it: a process of its own, whose log is read
    log = tmp_path / "serve.log"
    server, url = start_serve(home.home, "", log=log)
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(msgspec.json.encode(parcel_event(f"file-{i}", "ent-c"))
                                  for i in range(12_000)) + b"\n")
    results: list[tuple[list[str], list[str]]] = []

    def api_load() -> None:
        with ThreadPoolExecutor(max_workers=4) as pool:
            results.extend(pool.map(lambda n: post_batches(
                url, home.keys["ent-b"], "ent-b", f"side{n}", 15, 200), range(4)))

    load = threading.Thread(target=api_load)
    load.start()
    ingest = cli(home.home, "ingest", str(events), "--batch-size", "500", "--json")
    rotate = cli(home.home, "keys", "rotate", "--enterprise", "ent-d", "--batch", "50")
    outputs = {name: (*p.communicate(timeout=300), p.returncode)
               for name, p in (("ingest", ingest), ("rotate", rotate))}
    load.join(timeout=300)
    server.terminate()
    server.wait(timeout=60)
    served = log.read_text()
    assert "locked" not in served
    assert "Traceback" not in served
    for name, (out, err, code) in outputs.items():
        assert "locked" not in out + err, name
        assert code == 0, f"{name}: {err[-500:]}"
    assert msgspec.json.decode(outputs["ingest"][0])["stored"] == 12_000
    assert "rotation of ent-d finished" in outputs["rotate"][0]
    assert [e for _, errs in results for e in errs] == []
    acked = sum(len(ids) for ids, _ in results)
    assert acked == 4 * 15 * 200
    like = "SELECT count(*) FROM ledger_events WHERE event_id LIKE ?"
    assert home.count(like, "side%") == acked
    assert home.count(like, "file-%") == 12_000


@pytest.mark.slow
@pytest.mark.postgres
def test_postgresql_stores_two_carriers_batches_at_once(fresh_pg_url: str,
                                                       tmp_path: Path) -> None:
    """One `parcelguard serve` on PostgreSQL: while a batch of ent-a's is held up
    inside its transaction (its log's head is locked by someone else), a batch of
    ent-b's is stored and answered. A server storing one batch at a time makes it
    wait behind the first (issue 12)."""
    home = tmp_path / "home"
    rt = Runtime(settings=Settings(home=home, database_url=fresh_pg_url))
    init_store(rt.settings)  # a store is made only by init
    keys = small_world(rt, ("ent-a", "ent-b"))
    rt.close()
    server, url = start_serve(home, fresh_pg_url)
    engine = create_db_engine(fresh_pg_url)
    try:
        for ent in ("ent-a", "ent-b"):  # each log begun
            assert post_batches(url, keys[ent], ent, f"{ent}-first", 1, 10) == (
                [f"{ent}-first-0-{i}" for i in range(10)], [])
        with engine.connect() as holder:
            holder.execute(text("SELECT size FROM ledger_heads WHERE enterprise_id = 'ent-a' "
                                "FOR UPDATE"))
            held: list[tuple[list[str], list[str]]] = []
            first = threading.Thread(target=lambda: held.append(
                post_batches(url, keys["ent-a"], "ent-a", "held", 1, 50)))
            first.start()
            with engine.connect() as conn:  # ent-a's batch is in flight, waiting for the lock
                deadline = time.monotonic() + 60
                while not conn.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted "
                                            "AND locktype = 'transactionid'")).scalar_one():
                    conn.rollback()
                    assert time.monotonic() < deadline, "the first batch never reached the lock"
                    time.sleep(0.05)
            acked, errors = post_batches(url, keys["ent-b"], "ent-b", "beside", 1, 50)
            assert (len(acked), errors) == (50, [])
            assert first.is_alive()  # still held up: the two were in flight at once
            holder.rollback()
        first.join(timeout=60)
        assert [(len(a), e) for a, e in held] == [(50, [])]
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM ledger_events WHERE "
                                       "event_id LIKE 'held-%' OR event_id LIKE 'beside-%'"))
            assert stored.scalar_one() == 100
    finally:
        engine.dispose()
        server.terminate()
        server.wait(timeout=60)
