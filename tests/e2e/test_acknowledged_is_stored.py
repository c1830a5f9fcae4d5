"""Acknowledged means stored: `parcelguard serve` killed with SIGKILL at random points
while clients post batches, and a serve process whose disk fills up. Every batch the
server answered 200 to is in the database afterwards; what it could not store it
answered with a 5xx."""

from __future__ import annotations

import random
import resource
import signal
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2
import msgspec
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from parcelguard.core.db import create_db_engine
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.ops.store import init_store
from tests.e2e.served import parcel_event, small_world, start_serve

ENT = "ent-a"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of the test's own (the served process commits for real)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'home' / 'parcelguard.db'}"
        return
    server: str = request.getfixturevalue("pg_url")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"parcelguard_kill_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(server).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def provision(home: Path, database_url: str) -> str:
    rt = Runtime(settings=Settings(home=home, database_url=database_url))
    init_store(rt.settings)  # a store is made only by init
    key = small_world(rt, (ENT,))[ENT]
    rt.close()
    return key


def feed(url: str, key: str, prefix: str, acked: list[str], statuses: list[int],
         on_ack: Callable[[], None], size: int) -> None:
    """Post batches until the server is gone, recording what was acknowledged."""
    with httpx2.Client(base_url=url, timeout=60,
                       headers={"Authorization": f"Bearer {key}"}) as c:
        for batch in range(50):
            ids = [f"{prefix}-{batch}-{i}" for i in range(size)]
            try:
                r = c.post("/api/v1/events",
                           content=msgspec.json.encode([parcel_event(i, ENT) for i in ids]))
            except httpx2.TransportError:
                return
            statuses.append(r.status_code)
            if r.status_code == 200:
                assert r.json()["stored"] == size
                acked.extend(ids)
                on_ack()


class KillAt:
    """Kills the server with SIGKILL the instant its ``n``-th acknowledgment arrives."""

    def __init__(self, proc: subprocess.Popen[bytes], n: int) -> None:
        self.proc, self.n, self.acks = proc, n, 0
        self.lock = threading.Lock()

    def __call__(self) -> None:
        with self.lock:
            self.acks += 1
            if self.acks == self.n:
                self.proc.send_signal(signal.SIGKILL)


def stored_ids(database_url: str, prefix: str) -> set[str]:
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(text(
                "SELECT event_id FROM ledger_events WHERE event_id LIKE :p"),
                {"p": f"{prefix}%"}).scalars())
    finally:
        engine.dispose()


@pytest.mark.slow
def test_kill_9_of_serve_never_loses_an_acknowledged_batch(database_url: str,
                                                           tmp_path: Path) -> None:
    home = tmp_path / "home"
    key = provision(home, database_url)
    rnd = random.Random(12)
    for trial in range(2):
        proc, url = start_serve(home, database_url)
        acked: list[str] = []
        statuses: list[int] = []
        # The most hostile moment: the instant an answer arrives, before the server
        # has had any time to finish what it acknowledged. Which answer is random.
        on_ack = KillAt(proc, rnd.randint(1, 4))
        clients = [threading.Thread(target=feed, args=(
            url, key, f"k{trial}{n}", acked, statuses, on_ack, 2000)) for n in range(2)]
        for t in clients:
            t.start()
        for t in clients:
            t.join(timeout=120)
        proc.kill()  # if it is still alive, the test has failed already
        proc.wait(timeout=30)
        assert acked, "no batch was acknowledged before the kill"
        assert set(statuses) == {200}
        missing = set(acked) - stored_ids(database_url, f"k{trial}")
        assert not missing, f"trial {trial}: {len(missing)} acknowledged events lost"


@pytest.mark.slow
def test_a_full_disk_is_answered_with_5xx_never_with_stored(tmp_path: Path) -> None:
    home = tmp_path / "home"
    database_url = f"sqlite:///{home / 'parcelguard.db'}"
    key = provision(home, database_url)
    limit = (home / "parcelguard.db").stat().st_size + 2_000_000

    def small_disk() -> None:
        # Every file the server writes stops growing at ``limit`` bytes: the WAL
        # fills up as a disk does, and the failing write is the commit's.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc, url = start_serve(home, database_url, preexec=small_disk)
    acked: list[str] = []
    statuses: list[int] = []
    try:
        with httpx2.Client(base_url=url, timeout=60,
                           headers={"Authorization": f"Bearer {key}"}) as c:
            for batch in range(40):
                ids = [f"full-{batch}-{i}" for i in range(500)]
                try:
                    r = c.post("/api/v1/events",
                               content=msgspec.json.encode([parcel_event(i, ENT) for i in ids]))
                except httpx2.TransportError:  # a 500 may close the connection
                    statuses.append(0)
                    continue
                statuses.append(r.status_code)
                if r.status_code == 200:
                    acked.extend(ids)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert 200 in statuses, "the disk was full from the start"
    assert statuses[-1] != 200, "the disk never filled up"
    assert all(s == 200 or s >= 500 or s == 0 for s in statuses)
    stored = stored_ids(database_url, "full-")
    assert set(acked) <= stored
    assert stored <= set(acked)  # nothing half-stored behind a 5xx either
