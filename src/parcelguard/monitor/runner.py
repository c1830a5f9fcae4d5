"""The embedded runner: ``parcelguard monitor run [--follow]``.

Reads each enterprise's log by position in micro-batches of
``MonitorSettings.batch_size`` and, per batch, commits in ONE transaction the
detectors' state, the cursor and the alert changes. A crash anywhere loses only the
uncommitted batch, which the restarted runner reads again from the committed
cursor with the committed state: no alert is lost or doubled, and the final alert
set equals an uninterrupted run's. New alerts are emitted as ``AlertRaised`` to the
outbox in that same transaction, so their reactions (incidents, conduct signals)
survive a crash too: the restarted runner first delivers what is due.

Events are processed in log order. Enterprises that push their events in time order
(as ingest of a time-ordered feed does) get the same alerts as ``monitor replay``.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from parcelguard.core.clock import Clock
from parcelguard.core.db import Database
from parcelguard.ledger import read as ledger_read
from parcelguard.monitor.engine import Pipeline
from parcelguard.monitor.model import Ev, decoder, epoch_us
from parcelguard.monitor.settings import MonitorSettings
from parcelguard.monitor.store import (
    apply_updates,
    load_cursors,
    load_pipeline,
    load_waybills,
    save_state,
    set_cursor,
)


@dataclass
class RunReport:
    events: int = 0
    batches: int = 0
    alerts_raised: int = 0
    by_enterprise: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"events": self.events, "batches": self.batches,
                "alerts_raised": self.alerts_raised, "by_enterprise": self.by_enterprise}


def _read(db: Database, pipe: Pipeline, enterprise_id: str, start: int,
          limit: int) -> list[Ev]:
    """The next batch of the log, and the saved state of the waybills it names."""
    with db.unit_of_work() as uow:
        events = [decoder.decode(leaf) for leaf in
                  ledger_read.leaves_from(uow.session, enterprise_id, start, limit)]
        load_waybills(uow.session, pipe, events)
        return events


# A full collection every this many batches (see _young_collections_only)
_FULL_GC_BATCHES = 50


@contextmanager
def _young_collections_only() -> Iterator[None]:
    """The runner keeps a thousand subjects' windows (a day of events) in memory, and
    every full pass of the cyclic collector visits them; with automatic collection
    its share of the runner's time grew with the state (bench/bench_monitor_growth.py,
    when the runner also held a week of waybills: 0.4 us an event at 0.1 M events,
    1.3 at 1 M). The pipeline makes no reference cycles; the database layer makes
    short-lived ones.
    So during a pass the collector runs on the young generations only, after each
    batch (cost: that batch's objects), and in full every ``_FULL_GC_BATCHES``
    batches, so nothing that outlives a batch in a cycle is kept for long."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _after_batch(report: RunReport) -> None:
    if report.batches % _FULL_GC_BATCHES == 0:
        gc.collect()
    else:
        gc.collect(1)


def run_once(db: Database, settings: MonitorSettings, clock: Clock, *,
             pipe: Pipeline | None = None,
             report: RunReport | None = None) -> tuple[Pipeline, RunReport]:
    """Catch up with every enterprise's log; returns the live pipeline to reuse.
    Reactions a crash or a failure left in the outbox are delivered first, and the
    pass ends with its own delivered (in a serving process, where commits only wake
    the background loop, too)."""
    report = report or RunReport()
    with _young_collections_only():
        pipe = _catch_up(db, settings, clock, pipe, report)
    return pipe, report


def _catch_up(db: Database, settings: MonitorSettings, clock: Clock, pipe: Pipeline | None,
              report: RunReport) -> Pipeline:
    db.dispatch_due()
    with db.unit_of_work() as uow:
        if pipe is None:
            pipe = load_pipeline(uow.session, settings)
        cursors = load_cursors(uow.session)
        heads = ledger_read.log_sizes(uow.session)
    for ent in sorted(heads):
        seq = cursors.get(ent, 0)
        while seq < heads[ent]:
            events = _read(db, pipe, ent, seq, settings.batch_size)
            if not events:
                break
            ts = [epoch_us(ev.occurred_at) for ev in events]
            updates = pipe.feed(events, ts)
            expired = pipe.maintain(enterprise_id=ent, now_us=max(ts))
            with db.unit_of_work() as uow:
                save_state(uow.session, pipe, expired)
                raised = apply_updates(uow.session, updates, cap=settings.evidence_cap)
                set_cursor(uow.session, ent, seq + len(events), clock.now())
                uow.commit()  # and delivers this batch's AlertRaised at once
            seq += len(events)
            report.events += len(events)
            report.batches += 1
            report.alerts_raised += len(raised)
            report.by_enterprise[ent] = report.by_enterprise.get(ent, 0) + len(events)
            _after_batch(report)
    db.dispatch_due()
    return pipe


def run(db: Database, settings: MonitorSettings, clock: Clock, *, follow: bool = False,
        should_stop: Callable[[], bool] | None = None,
        on_progress: Callable[[RunReport], None] | None = None) -> RunReport:
    """Catch up; with ``follow``, keep polling for new events until ``should_stop``."""
    pipe, report = run_once(db, settings, clock)
    if on_progress is not None:
        on_progress(report)
    while follow and not (should_stop is not None and should_stop()):
        time.sleep(settings.follow_poll_seconds)
        pipe, report = run_once(db, settings, clock, pipe=pipe, report=report)
        if on_progress is not None:
            on_progress(report)
    return report
