"""The monitor's per-event cost as the log grows: `monitor run`'s database runner over
one long synthetic log, CPU microseconds per event at 0.1 M, 1 M and 3 M events, in
one run.

    .venv/bin/python bench/bench_monitor_growth.py [--events 3000000] [--marks 100000,...]
        [--window 40000] [--tries 3] [--repeat 1]

The cost at a mark is the runner's CPU per event over the last ``--window`` events
before it: the log grows to the mark minus the window and the runner (kept alive, as
under --follow) catches up untimed; the log grows to the mark, the store is copied
(SQLite's backup API) and the runner's catch-up over the window is timed ``--tries``
times, each from that copy and the same live pipeline. Noise on a shared machine only
ever adds time, so the least of the tries is the figure; a fixed reference workload
run in a new process around the tries shows how fast the machine was meanwhile.

The log is a steady state from its second day on (the same couriers, warehouse
clerks, stations and parcel flow every hour; see `synthetic`), and every timed window
lies past that (the first, 60,000 to 100,000 events, is hours 28 to 46), so anything
that makes later events dearer than earlier ones is state or reads growing with the
log, not more work. Target (issue 13): flat within 20 % (the cost at 1 M and at 3 M
at most 1.2 x the cost at 0.1 M). Per-event figures are CPU time of the process (a
shared machine's wall time would charge it for other processes). Writes
bench/out/monitor_growth.json.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import gc
import itertools
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
from sqlalchemy import func, select

from parcelguard.core.clock import SystemClock
from parcelguard.core.db import Database, sqlite_path
from parcelguard.core.settings import Settings
from parcelguard.identity import service as identity
from parcelguard.ledger.ingest import EventLog
from parcelguard.ledger.service import ingest_file
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.monitor.engine import Pipeline
from parcelguard.monitor.model import decoder
from parcelguard.monitor.models import MonitorState
from parcelguard.monitor.runner import run_once
from parcelguard.monitor.settings import MonitorSettings
from parcelguard.monitor.state import state_encoder
from parcelguard.ops.store import init_store

OUT = Path(__file__).parent / "out"
ENTERPRISES = ("ent-a", "ent-b", "ent-c")
STATIONS, COURIERS, WAREHOUSE = 10, 40, 3
PARCEL_EVERY_S = 30  # per enterprise
LOGIN_EVERY = 12 * 3600 // (PARCEL_EVERY_S * WAREHOUSE)  # a clerk's lookups between logins
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def synthetic() -> Iterator[bytes]:
    """The log, in time order: per enterprise a parcel every 30 s (5 events: created,
    sorted, assigned, revealed once by its courier, delivered) and a warehouse
    account's lookup (2,160 events an hour in all, 51,840 a day: 3 M events are 58
    days). Each of the 3 warehouse accounts of an enterprise looks up a parcel every
    90 s all day and logs in twice a day, so wide_scope_query's 24 h windows hold
    ~960 searches per account without alerting: a detector whose per-event work
    follows its window shows here. One lookup in four returns a record (240 a day,
    1,680 a week, 7,200 in 30 days: under cumulative_access's 2,500 and 10,000). The
    day-long windows are full after 24 h (about 52,000 events) and volume_spike's peer
    baselines start on the second local day, so the log is a steady state before the
    first timed window. (An earlier form of this log, 32,400 events an hour, reached
    0.1 M events after 3 hours: its first stretch was mostly the detectors' first day,
    windows an eighth full and no baselines yet, and read as growth.)"""
    for ent in ENTERPRISES:
        for w in range(WAREHOUSE):
            yield msgspec.json.encode({"event_id": f"{ent}-hire-{w}", "kind": "employee",
                                       "occurred_at": T0.isoformat(), "enterprise_id": ent,
                                       "employee_id": f"wh-{w:02d}", "change": "hired",
                                       "role": "warehouse", "station_id": f"st-{w % STATIONS}",
                                       "background_check": "passed"})
    for parcel in itertools.count():
        t = T0 + timedelta(seconds=parcel * PARCEL_EVERY_S)
        for e_i, ent in enumerate(ENTERPRISES):
            wb = make_waybill_no("SF", parcel * len(ENTERPRISES) + e_i)
            station = f"st-{parcel % STATIONS}"
            courier = f"emp-{parcel % COURIERS:04d}"

            def at(seconds: int, t: datetime = t) -> str:
                return (t + timedelta(seconds=seconds)).isoformat()

            base = {"enterprise_id": ent, "waybill_no": wb}
            clerk = f"wh-{parcel % WAREHOUSE:02d}"
            login = (parcel // WAREHOUSE) % LOGIN_EVERY == 0  # every 12 h
            yield from (msgspec.json.encode(e) for e in (
                {**base, "event_id": f"{ent}-{parcel}-c", "kind": "parcel", "step": "created",
                 "occurred_at": at(0), "station_id": None},
                {"enterprise_id": ent, "event_id": f"{ent}-{parcel}-w", "kind": "access",
                 "occurred_at": at(1), "actor_type": "employee", "actor_id": clerk,
                 "station_id": f"st-{parcel % WAREHOUSE % STATIONS}",
                 "action": "login" if login else "search", "fields": [],
                 "record_count": 0 if login or parcel % 4 else 1, "purpose": "security",
                 "outcome": "allowed", "device_id": f"pc-{clerk}", "ip": "10.0.1.1",
                 "channel": "web"},
                {**base, "event_id": f"{ent}-{parcel}-a", "kind": "parcel", "step": "arrived",
                 "occurred_at": at(60), "station_id": station},
                {**base, "event_id": f"{ent}-{parcel}-s", "kind": "parcel", "step": "assigned",
                 "occurred_at": at(120), "station_id": station, "assignee_id": courier,
                 "assignment_purpose": "delivery", "assignment_until": at(6 * 3600)},
                {**base, "event_id": f"{ent}-{parcel}-r", "kind": "access",
                 "occurred_at": at(180), "actor_type": "employee", "actor_id": courier,
                 "station_id": station, "action": "reveal", "fields": ["recipient_phone"],
                 "record_count": 1, "purpose": "delivery", "outcome": "allowed",
                 "device_id": f"pda-{courier}", "ip": "10.0.0.1", "channel": "pda"},
                {**base, "event_id": f"{ent}-{parcel}-d", "kind": "parcel", "step": "delivered",
                 "occurred_at": at(240), "station_id": station},
            ))


def _reference_run(settings: MonitorSettings) -> float:
    """CPU seconds per event of a fixed piece of work: decoding a day of this log
    (from its second day) and running the detectors over it in a fresh pipeline."""
    lines = list(itertools.islice(synthetic(), 60_000, 100_000))
    cpu = time.process_time()
    evs = [decoder.decode(line) for line in lines]
    Pipeline(settings).feed(evs)
    return (time.process_time() - cpu) / len(lines)


def _reference() -> float:
    """``_reference_run`` in a new process: its cost changes only with the machine's
    speed, which on a shared machine moves by a quarter within seconds."""
    out = subprocess.run([sys.executable, __file__, "--reference"], check=True,
                         capture_output=True, text=True).stdout
    return float(out)


def _memory(pipe: Pipeline, db: Database, gc_us: float) -> dict[str, float]:
    """What the runner holds after a timed window: subjects, waybills (a week of parcels is
    the waybill stage's lookback; saved, and in memory), window entries, objects the
    cyclic collector tracks, and the collector's share of the window's CPU per event
    (the most of the tries)."""
    subjects = [st for by in pipe.engine.subjects.values() for st in by.values()]
    with db.unit_of_work() as uow:
        saved = uow.session.scalar(select(func.count()).select_from(MonitorState)
                                   .where(MonitorState.kind == "w"))
    return {"subjects": len(subjects), "waybills": saved or 0,
            "waybills_in_memory": pipe.index.size(),
            "window_entries": sum(len(w) for st in subjects for w in st.wins.values()),
            "subject_state_bytes": sum(len(state_encoder.encode(st)) for st in subjects),
            "gc_tracked_objects": len(gc.get_objects()),
            "gc_us_per_event": round(gc_us, 2)}


class _Run:
    """One run: a new home, the log grown mark by mark, the runner timed at each."""

    def __init__(self, marks: list[int], window: int, tries: int) -> None:
        self.marks, self.window, self.tries = marks, window, tries
        self.tries_us: dict[int, list[float]] = {}  # runner CPU us per event, each try
        self.ref_us: dict[int, float] = {}  # the reference's, median around the tries
        self.memory: dict[int, dict[str, float]] = {}
        self.gc_s = [0.0, 0.0]  # seconds in the cyclic collector, start of the running pass

    def us(self, mark: int) -> float:
        """The runner's cost at the mark: noise only ever adds time, so the least of
        the tries."""
        return min(self.tries_us[mark])

    def growth(self, mark: int) -> float:
        return self.us(mark) / self.us(self.marks[0])

    def on_gc(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self.gc_s[1] = time.process_time()
        else:
            self.gc_s[0] += time.process_time() - self.gc_s[1]

    def measure(self) -> None:
        gc.callbacks.append(self.on_gc)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                self._measure(Path(tmp))
        finally:
            gc.callbacks.remove(self.on_gc)

    def _measure(self, tmp: Path) -> None:
        settings = Settings(home=tmp / "home")
        init_store(settings)
        db_file = sqlite_path(settings.database_url)
        assert db_file is not None
        db = Database(settings)
        clock = SystemClock()
        monitor = settings.section(MonitorSettings)

        def register(session: object, ids: set[str]) -> dict[str, str]:
            return identity.ensure_enterprises(session, ids, clock)  # type: ignore[arg-type]

        done = 0
        log = synthetic()

        def grow(to: int) -> None:
            nonlocal done
            src = tmp / "events.jsonl"
            with src.open("wb") as fh:
                fh.writelines(line + b"\n" for line in itertools.islice(log, to - done))
            ingest_file(db, src, log=EventLog(clock_now=clock.now, on_new_enterprises=register),
                        batch_size=50_000, max_line_bytes=65536)
            src.unlink()
            done = to

        def catch_up(pipe: Pipeline | None) -> tuple[Pipeline, float, int, float]:
            """The runner's catch-up: its pipeline after, CPU seconds, events read and
            seconds in the cyclic collector."""
            self.gc_s[0], cpu = 0.0, time.process_time()
            pipe, report = run_once(db, monitor, clock, pipe=pipe)
            return pipe, time.process_time() - cpu, report.events, self.gc_s[0]

        pipe, *_ = catch_up(None)
        for mark in self.marks:
            print(f"log at {mark:,} events ...", file=sys.stderr)
            start = max(done, mark - self.window)
            if start > done:
                grow(start)
                pipe, *_ = catch_up(pipe)  # untimed
            grow(mark)
            # each try starts from the same store and the same live pipeline
            _copy_sqlite(db_file, tmp / "snapshot.db")
            frozen = copy.deepcopy(pipe)
            tries, refs, gc_us = [], [_reference()], 0.0
            for i in range(self.tries):
                if i:
                    db.dispose()
                    _copy_sqlite(tmp / "snapshot.db", db_file)
                    db = Database(settings)
                pipe, cpu, events, gc_s = catch_up(copy.deepcopy(frozen))
                assert events == mark - start, (events, mark, start)
                tries.append(cpu / events * 1e6)
                refs.append(_reference())
                gc_us = max(gc_us, gc_s / events * 1e6)
            self.tries_us[mark] = tries
            self.ref_us[mark] = statistics.median(refs) * 1e6
            self.memory[mark] = _memory(pipe, db, gc_us)
            print(f"  us/event over the last {events:,} events, each try: "
                  f"{', '.join(f'{t:.2f}' for t in tries)} (reference "
                  f"{self.ref_us[mark]:.2f}); {self.memory[mark]}", file=sys.stderr)
        db.dispose()


def _copy_sqlite(src: Path, dst: Path) -> None:
    """A consistent copy of a SQLite database (its backup API: WAL included)."""
    with contextlib.closing(sqlite3.connect(src)) as a, \
            contextlib.closing(sqlite3.connect(dst)) as b:
        a.backup(b)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=3_000_000)
    ap.add_argument("--marks", default="100000,1000000,3000000",
                    help="log sizes to measure at (comma-separated), up to --events")
    ap.add_argument("--window", type=int, default=40_000,
                    help="events timed before each mark")
    ap.add_argument("--tries", type=int, default=3,
                    help="times each mark's window is timed, from the same snapshot")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs, each from an empty home; the median growth is the figure")
    ap.add_argument("--reference", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.reference:
        print(_reference_run(MonitorSettings()))
        return
    marks = [m for m in sorted(int(x) for x in args.marks.split(",")) if m <= args.events]
    runs = []
    for i in range(args.repeat):
        print(f"run {i + 1} of {args.repeat}", file=sys.stderr)
        run = _Run(marks, args.window, args.tries)
        run.measure()
        runs.append(run)
    for i, run in enumerate(runs, 1):
        print(f"run {i}: " + "; ".join(
            f"{m:,}: {run.us(m):.2f} us/event ({run.growth(m):.2f} x the first mark; "
            f"reference {run.ref_us[m]:.2f})" for m in marks))
    median = {m: statistics.median(run.growth(m) for run in runs) for m in marks}
    for mark in marks:
        print(f"monitor run at {mark:>9,} events: {median[mark]:.2f} x the first mark, "
              f"median of {len(runs)} run{'s' if len(runs) > 1 else ''} (target <= 1.2)")
    OUT.mkdir(exist_ok=True)
    (OUT / "monitor_growth.json").write_text(json.dumps(
        {"events": args.events, "window": args.window, "tries": args.tries,
         "runs": [{"us_per_event": {m: round(run.us(m), 3) for m in marks},
                   "tries_us_per_event": run.tries_us,
                   "reference_us_per_event": run.ref_us,
                   "growth": {m: round(run.growth(m), 3) for m in marks},
                   "memory": run.memory} for run in runs],
         "median_growth": {m: round(v, 3) for m, v in median.items()},
         "worst_median_growth": round(max(median.values()), 3)}, indent=1))

if __name__ == "__main__":
    main()
