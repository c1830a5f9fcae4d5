"""The monitor's per-event cost as the log grows: `monitor run`'s database runner over
one long synthetic log, CPU microseconds per event up to 0.1 M, 1 M and 3 M events,
in one run.

    .venv/bin/python bench/bench_monitor_growth.py [--events 3000000] [--marks 100000,...]

Measured per stretch: the log grows to 0.1 M, the runner catches up; to 1 M, it
catches up again (the same pipeline, as under --follow); then to 3 M. The log is a
steady state (the same couriers, warehouse clerks, stations and parcel flow every
hour; see `synthetic`), so anything that makes later events dearer than earlier ones
is state or reads growing with the log, not more work. Target (issue 13): flat
within 20 % (the cost at 1 M and at 3 M at most 1.2 x the cost at 0.1 M). Per-event
figures are CPU time of the process (a shared machine's wall time would charge it for
other processes). Writes bench/out/monitor_growth.json.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
from sqlalchemy import func, select

from parcelguard.core.clock import SystemClock
from parcelguard.core.db import Database
from parcelguard.core.settings import Settings
from parcelguard.identity import service as identity
from parcelguard.ledger.ingest import EventLog
from parcelguard.ledger.service import ingest_file
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.monitor.engine import Pipeline
from parcelguard.monitor.models import MonitorState
from parcelguard.monitor.runner import run_once
from parcelguard.monitor.settings import MonitorSettings
from parcelguard.monitor.state import state_encoder
from parcelguard.ops.store import init_store

OUT = Path(__file__).parent / "out"
ENTERPRISES = ("ent-a", "ent-b", "ent-c")
STATIONS, COURIERS, WAREHOUSE = 10, 300, 40
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def synthetic() -> Iterator[bytes]:
    """The log, in time order: per enterprise a parcel every 2 s (5 events: created,
    sorted, assigned, revealed once by its courier, delivered) and a warehouse
    account's lookup (32,400 events an hour in all). Each of the 40 warehouse accounts
    of an enterprise looks up a parcel every 80 s all day and logs in twice a day, so
    wide_scope_query's 24 h windows hold ~1,000 searches per account without
    alerting: a detector whose per-event work follows its window shows here. One
    lookup in four returns a record (270 a day): with every one returning a record
    (1,080 a day, 7,560 a week) every clerk crossed cumulative_access's weekly
    2,500 searched records after 55 hours, and the log stopped being a steady state
    (120 new alerts gathering evidence on every search between 1 M and 3 M)."""
    for ent in ENTERPRISES:
        for w in range(WAREHOUSE):
            yield msgspec.json.encode({"event_id": f"{ent}-hire-{w}", "kind": "employee",
                                       "occurred_at": T0.isoformat(), "enterprise_id": ent,
                                       "employee_id": f"wh-{w:02d}", "change": "hired",
                                       "role": "warehouse", "station_id": f"st-{w % STATIONS}",
                                       "background_check": "passed"})
    for parcel in itertools.count():
        t = T0 + timedelta(seconds=parcel * 2)
        for e_i, ent in enumerate(ENTERPRISES):
            wb = make_waybill_no("SF", parcel * len(ENTERPRISES) + e_i)
            station = f"st-{parcel % STATIONS}"
            courier = f"emp-{parcel % COURIERS:04d}"

            def at(seconds: int, t: datetime = t) -> str:
                return (t + timedelta(seconds=seconds)).isoformat()

            base = {"enterprise_id": ent, "waybill_no": wb}
            clerk = f"wh-{parcel % WAREHOUSE:02d}"
            login = (parcel // WAREHOUSE) % 540 == 0  # every 540 * 80 s = 12 h
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


def _memory(pipe: Pipeline, db: Database, gc_us: float) -> dict[str, float]:
    """What the runner holds after a stretch: subjects, waybills (a week of parcels is
    the waybill stage's lookback; saved, and in memory), window entries, objects the
    cyclic collector tracks, and the collector's share of the stretch's CPU per event."""
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=3_000_000)
    ap.add_argument("--marks", default="100000,1000000,3000000",
                    help="log sizes to measure at (comma-separated), up to --events")
    args = ap.parse_args()
    marks = [m for m in sorted(int(x) for x in args.marks.split(",")) if m <= args.events]
    figures: dict[int, float] = {}
    memory: dict[int, dict[str, float]] = {}
    gc_s = [0.0, 0.0]  # seconds in the cyclic collector, start of the running pass

    def on_gc(phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            gc_s[1] = time.process_time()
        else:
            gc_s[0] += time.process_time() - gc_s[1]

    gc.callbacks.append(on_gc)
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        settings = Settings(home=tmp / "home")
        init_store(settings)
        db = Database(settings)
        clock = SystemClock()

        def register(session: object, ids: set[str]) -> dict[str, str]:
            return identity.ensure_enterprises(session, ids, clock)  # type: ignore[arg-type]

        pipe = None
        done = 0
        log = synthetic()
        for mark in marks:
            # grow the log to the mark, then let the runner (kept alive, as under
            # --follow) catch up: its CPU per event over this stretch of the log
            src = tmp / f"events-{mark}.jsonl"
            with src.open("wb") as fh:
                fh.writelines(line + b"\n" for line in itertools.islice(log, mark - done))
            print(f"log at {mark:,} events ...", file=sys.stderr)
            ingest_file(db, src, log=EventLog(clock_now=clock.now, on_new_enterprises=register),
                        batch_size=50_000, max_line_bytes=65536)
            src.unlink()
            cpu, gc_s[0] = time.process_time(), 0.0
            pipe, report = run_once(db, settings.section(MonitorSettings), clock, pipe=pipe)
            assert report.events == mark - done, report.as_dict()
            figures[mark] = (time.process_time() - cpu) / report.events * 1e6
            memory[mark] = _memory(pipe, db, gc_s[0] / report.events * 1e6)
            print(f"  {memory[mark]}", file=sys.stderr)
            done = mark
        db.dispose()
    gc.callbacks.remove(on_gc)
    first = figures[marks[0]]
    for mark in marks:
        print(f"monitor run, log growing to {mark:>9,} events: {figures[mark]:6.1f} us/event "
              f"({figures[mark] / first:.2f} x the first stretch; target <= 1.2)")
    OUT.mkdir(exist_ok=True)
    (OUT / "monitor_growth.json").write_text(json.dumps(
        {"events": args.events, "us_per_event": figures, "memory": memory,
         "worst_ratio": round(max(figures.values()) / first, 3)}, indent=1))


if __name__ == "__main__":
    main()
