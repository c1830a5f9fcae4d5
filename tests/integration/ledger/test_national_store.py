"""The mirror into a supervision store on SQLite, with the national Parquet store as its
sink: what the analytics read equals what was mirrored, whatever failed in between,
and the mirror never holds the store's writer lock while it waits on the network."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx2
import msgspec

from parcelguard.core.clock import ManualClock
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.ledger import signing
from parcelguard.ledger.ingest import EventLog
from parcelguard.monitor.national import NationalStore
from parcelguard.ops.store import init_store
from parcelguard.supervision.mirror import MirrorResult, MirrorSource, mirror_log
from parcelguard.vault.provider import vault_service
from tests.e2e.served import serve, small_world
from tests.integration.ledger.conftest import parcel

DAYS = ("2026-11-10T23:30:00+08:00", "2026-11-11T00:10:00+08:00", "2026-11-11T16:30:00Z")


def _runtime(home: Path) -> Runtime:
    rt = Runtime(settings=Settings(home=home, database_url=f"sqlite:///{home / 'pg.db'}"))
    init_store(rt.settings)
    return rt


@contextmanager
def _enterprise(tmp_path: Path, clock: ManualClock, n: int) -> Iterator[tuple[str, str]]:
    """A served enterprise log of ``n`` entries over three local days; (url, vkey)."""
    rt = _runtime(tmp_path / "ent")
    small_world(rt, ("ent-a",))
    kms = vault_service(rt.settings).vault.kms
    with rt.db.unit_of_work() as uow:
        EventLog(clock_now=clock.now).append_raw(uow.session, [
            (i, msgspec.json.encode(parcel(i, occurred_at=DAYS[i * 3 // n]))) for i in range(n)])
        signing.checkpoint(uow.session, "ent-a", kms=kms, clock=clock)
        vkey = signing.verifier_key(uow.session, "ent-a", kms=kms, clock=clock)
        uow.commit()
    try:
        with serve(rt) as url:
            yield f"{url}/tlog/ent-a", vkey
    finally:
        rt.close()


def _mirror(rt: Runtime, url: str, vkey: str, sink: NationalStore | None,
            client: httpx2.Client, clock: ManualClock) -> MirrorResult:
    with rt.db.unit_of_work() as uow:
        return mirror_log(uow.session, MirrorSource("ent-a", url, vkey), client=client,
                          clock=clock, commit=uow.commit, chunk=256, sink=sink)


def _mirrored(home: Path) -> list[bytes]:
    with sqlite3.connect(home / "pg.db") as db:
        return [bytes(r[0]) for r in db.execute("SELECT leaf FROM mirror_entries ORDER BY seq")]


class Failing(NationalStore):
    """A national store whose disk fills up at the second chunk, leaving a half-written
    file behind (a file past the export mark, as a crash would)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.calls = 0

    def append(self, enterprise_id: str, start: int, entries: Sequence[bytes],
               read: Callable[[int, int], list[bytes]]) -> None:
        self.calls += 1
        if self.calls == 2:
            super()._write(enterprise_id, start, entries[:10])  # files, then no mark...
            self._set_mark(enterprise_id, start)  # ...the mark stays where it was
            raise OSError("No space left on device")
        if self.calls < 2:
            super().append(enterprise_id, start, entries, read)


def test_the_parquet_equals_the_mirror_after_a_failed_export(tmp_path: Path,
                                                             clock: ManualClock) -> None:
    sup = _runtime(tmp_path / "sup")
    root = tmp_path / "sup" / "national"
    with _enterprise(tmp_path, clock, 1000) as (url, vkey), httpx2.Client() as client:
        failing = Failing(root)
        result = _mirror(sup, url, vkey, failing, client, clock)
        # the export failing does not stop the mirror
        assert (result.status, result.entries) == ("mirrored", 1000)
        store = NationalStore(root)
        assert store.exported("ent-a") == 256
        assert len(store.entries("ent-a")) == 256
        # the next pass (nothing new to mirror) catches the export up
        again = _mirror(sup, url, vkey, store, client, clock)
        assert again.status == "up_to_date"
    sup.close()
    mirrored = _mirrored(tmp_path / "sup")
    assert len(mirrored) == 1000
    assert store.exported("ent-a") == 1000
    rows = store.rows("ent-a")
    assert [r["seq"] for r in rows] == list(range(1000))  # none missing, none twice
    assert [r["entry"].encode() for r in rows] == mirrored
    # every file holds only counted rows: the half-written one was replaced
    import pyarrow.dataset as ds

    table = ds.dataset(root / "enterprise=ent-a", format="parquet",
                       partitioning="hive").to_table()
    assert sorted(table.column("seq").to_pylist()) == list(range(1000))
    # the local days (+08:00): 23:30 on the 10th, 00:10 on the 11th, 16:30Z = 00:30 on the 12th
    assert sorted({str(d) for d in table.column("day").to_pylist()}) == [
        "2026-11-10", "2026-11-11", "2026-11-12"]


def test_no_write_lock_is_held_while_the_remote_is_asked(tmp_path: Path,
                                                         clock: ManualClock) -> None:
    """At every request the mirror sends, another writer of the supervision store gets
    in (SQLite, waiting at most 5 s for a transaction to end: the mirror's own are
    milliseconds): no transaction of the mirror waits on the network."""
    sup = _runtime(tmp_path / "sup")
    db = tmp_path / "sup" / "pg.db"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE probe (n INTEGER)")
    blocked: list[str] = []

    def other_writer(request: httpx2.Request) -> None:
        if blocked:
            return  # one is enough (each waits its 5 s)
        conn = sqlite3.connect(db, timeout=5, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO probe VALUES (1)")
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            blocked.append(f"{request.url.path}: {exc}")
        finally:
            conn.close()

    with _enterprise(tmp_path, clock, 1000) as (url, vkey), \
            httpx2.Client(event_hooks={"request": [other_writer]}) as client:
        result = _mirror(sup, url, vkey, NationalStore(tmp_path / "sup" / "national"),
                         client, clock)
    sup.close()
    assert (result.status, result.entries) == ("mirrored", 1000)
    with sqlite3.connect(db) as c:
        asked = c.execute("SELECT count(*) FROM probe").fetchone()[0]
    assert not blocked, blocked[:3]
    assert asked >= 5  # the checkpoint, four bundles, proof tiles: each let a write in

