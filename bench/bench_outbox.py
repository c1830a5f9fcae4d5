"""Outbox benchmark: what the one event path costs per reaction, in one run.

    .venv/bin/python bench/bench_outbox.py [--messages 2000]

Baseline: the work a reaction must do anyway, one transaction per event that writes
one row (what the old in-process bus did: a unit of work per handler). Outbox: the
same events emitted in one bulk insert with their change, then delivered by the
dispatcher (claim + effect + settle in one transaction per delivery). Reports
reactions per second of both and their ratio: what exactly-once costs over the bare
effect (two more statements in the effect's own transaction, no extra commit).
SQLite file in a temporary home. Writes bench/out/outbox.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from parcelguard.core.db import Database
from parcelguard.core.messages import message
from parcelguard.core.outbox import Dispatcher, OutboxMessage, Reaction, emit
from parcelguard.core.settings import Settings
from parcelguard.identity.models import Organization

OUT = Path(__file__).parent / "out"


@message("bench.touched", version=1)
@dataclass(frozen=True)
class Touched:
    enterprise_id: str
    n: int


def _effect(session: Session, n: int) -> None:
    """A reaction's own write: one row (an organisation is the simplest table)."""
    session.execute(insert(Organization).values(
        id=f"org-{n}", kind="enterprise", name=f"bench {n}",
        created_at=datetime.now(UTC)))


def baseline(db: Database, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        with db.sessions() as s:
            _effect(s, i)
            s.commit()
    return time.perf_counter() - start


def outbox(db: Database, n: int) -> float:
    dispatcher = Dispatcher(db.sessions, [Reaction(
        Touched, "bench.effect", lambda s, ev: _effect(s, 1_000_000 + ev.n))])
    start = time.perf_counter()
    with db.sessions() as s:
        emit(s, *(Touched("ent-a", i) for i in range(n)))
        s.commit()
    report = dispatcher.drain()
    elapsed = time.perf_counter() - start
    assert report.delivered == n, report.as_dict()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=2000)
    n = ap.parse_args().messages
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Settings(home=Path(tmp) / "home"))
        try:
            bare = baseline(db, n)
            ours = outbox(db, n)
            with db.sessions() as s:
                assert s.scalar(select(func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.status == "done")) == n
        finally:
            db.dispose()
    result = {"messages": n, "baseline_per_s": round(n / bare), "outbox_per_s": round(n / ours),
              "ratio": round(bare / ours, 3)}
    OUT.mkdir(exist_ok=True)
    (OUT / "outbox.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
