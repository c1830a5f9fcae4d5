"""`ingest_file` over many batches, on SQLite and PostgreSQL. The next batch is
decoded in a child process while this one stores the last: what a user sees must
not change with that (each batch committed in order, rejected lines named, the
parcel projection folded), and a failure mid-file (a damaged file, a database
error, the decoding process killed) must stop at the failed batch with the batches
before it stored and no decoding process left running."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import create_engine, text

from parcelguard.core.errors import InvalidInput
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.ledger.ingest import EventLog
from parcelguard.ledger.service import IngestReport, ingest_file
from parcelguard.ops.store import init_store
from tests.decoders import decoders

BATCH = 500


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    url = "" if request.param == "sqlite" else request.getfixturevalue("fresh_pg_url")
    settings = Settings(home=tmp_path / "home", database_url=url)
    init_store(settings)
    rt = Runtime(settings=settings)
    yield rt
    rt.close()


def _event(i: int) -> dict[str, object]:
    """Parcel i's steps come 1,000 lines apart, so each parcel's state is folded
    across batches: created, then picked_up, then delivered."""
    parcel, step = i % 1000, ("created", "picked_up", "delivered")[i // 1000 % 3]
    return {"event_id": f"e{i}", "kind": "parcel",
            "occurred_at": f"2026-11-11T{8 + i // 1000:02d}:00:00+08:00",
            "enterprise_id": ("ent-a", "ent-b")[parcel % 2],
            "waybill_no": f"SF{parcel:013d}", "step": step}


def _ingest(rt: Runtime, path: Path,
            progress: Callable[[int, int], None] | None = None) -> IngestReport:
    return ingest_file(rt.db, path, log=EventLog(clock_now=rt.clock.now), batch_size=BATCH,
                       max_line_bytes=65536, progress=progress)


def _query(rt: Runtime, sql: str) -> list[tuple[object, ...]]:
    with rt.db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def test_many_batches_store_in_order_name_bad_lines_and_fold_states(
        runtime: Runtime, tmp_path: Path) -> None:
    lines = [msgspec.json.encode(_event(i)) for i in range(3000)]
    bad = {7, 1234, 2999}  # 1-based line numbers, in three different batches
    for n in bad:
        lines[n - 1] = b'{"event_id": "x%d", "kind": "parcel"}' % n
    src = tmp_path / "events.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    seen: list[int] = []

    report = _ingest(runtime, src, progress=lambda done, _b: seen.append(done))

    assert report.stored == 3000 - len(bad)
    assert [r.line_no for r in report.rejected] == sorted(bad)
    assert seen == list(range(BATCH, 3001, BATCH))  # after each committed batch, in order
    for ent in ("ent-a", "ent-b"):  # positions gap-free, in file order
        rows = _query(runtime, f"SELECT seq, event_id FROM ledger_events "
                               f"WHERE enterprise_id = '{ent}' ORDER BY seq")
        assert [s for s, _ in rows] == list(range(len(rows)))
        ids = [int(str(e)[1:]) for _, e in rows]
        assert ids == sorted(ids)
    states = {str(status): n for status, n in _query(
        runtime, "SELECT status, count(*) FROM parcel_states GROUP BY status")}
    # every parcel reached "delivered" in the third thousand, except the one whose
    # delivery was line 2999's bad event: it stays picked up
    assert states == {"delivered": 999, "picked_up": 1}


def test_a_file_damaged_mid_way_stops_there_with_the_batches_before_stored(
        runtime: Runtime, tmp_path: Path) -> None:
    src = tmp_path / "events.parquet"
    pq.write_table(pa.Table.from_pylist([_event(i) for i in range(3 * BATCH)]), src,
                   row_group_size=BATCH, compression="snappy")
    column = pq.ParquetFile(src).metadata.row_group(1).column(0)
    data = bytearray(src.read_bytes())  # the second row group's first column, overwritten
    start = column.data_page_offset
    data[start:start + column.total_compressed_size] = b"\xff" * column.total_compressed_size
    src.write_bytes(bytes(data))

    with pytest.raises(InvalidInput, match=f"unreadable after row {BATCH}"):
        _ingest(runtime, src)

    assert _query(runtime, "SELECT count(*) FROM ledger_events") == [(BATCH,)]
    assert decoders(src) == []


def test_a_database_error_mid_file_stops_there_with_the_batches_before_stored(
        runtime: Runtime, tmp_path: Path) -> None:
    src = tmp_path / "events.jsonl"
    src.write_bytes(b"\n".join(msgspec.json.encode(_event(i)) for i in range(3000)) + b"\n")
    url = runtime.db.engine.url

    def break_the_projection(done: int, _bytes: int) -> None:
        if done == BATCH:  # after the first commit, another client renames the table
            other = create_engine(url)
            with other.begin() as conn:
                conn.execute(text("ALTER TABLE parcel_states RENAME TO parcel_states_gone"))
            other.dispose()

    with pytest.raises(Exception, match="parcel_states"):
        _ingest(runtime, src, progress=break_the_projection)

    assert _query(runtime, "SELECT count(*) FROM ledger_events") == [(BATCH,)]
    assert _query(runtime, "SELECT count(*) FROM parcel_states_gone") == [(BATCH // 2 * 2,)]
    assert decoders(src) == []


def test_a_killed_decoding_process_stops_the_ingest_and_a_rerun_stores_the_rest(
        runtime: Runtime, tmp_path: Path) -> None:
    """Its batches are ~75 KB: the pipe lets the child run only a batch or two ahead,
    so killing it after the first commit leaves most of the file undecoded."""
    src = tmp_path / "events.jsonl"
    src.write_bytes(b"\n".join(msgspec.json.encode(_event(i)) for i in range(6000)) + b"\n")

    def kill_the_decoder(done: int, _bytes: int) -> None:
        if done == BATCH:
            (pid,) = decoders(src)
            os.kill(pid, signal.SIGKILL)

    with pytest.raises(RuntimeError, match="decoding process ended before the end"):
        _ingest(runtime, src, progress=kill_the_decoder)

    (stored,) = _query(runtime, "SELECT count(*) FROM ledger_events")[0]
    assert stored in {BATCH, 2 * BATCH, 3 * BATCH}  # whole batches, in order, no more
    assert decoders(src) == []
    report = _ingest(runtime, src)
    assert (report.stored, report.duplicates) == (6000 - stored, stored)
    assert _query(runtime, "SELECT count(*), count(DISTINCT event_id) FROM ledger_events"
                  ) == [(6000, 6000)]
