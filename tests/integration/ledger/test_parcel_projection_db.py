"""The parcel projection on real SQLite and PostgreSQL, through the one ingest path:
the same state whatever order the steps arrive in, across batches and enterprises,
with re-sends, and assignments kept apart from the lifecycle status."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy.orm import Session

from parcelguard.ledger import parcels as projection
from parcelguard.ledger.ingest import EventLog

T0 = datetime(2026, 11, 11, 8, 0, tzinfo=UTC)


def step(waybill: str, name: str, minutes: int, ent: str = "ent-a",
         **extra: Any) -> dict[str, Any]:
    return {"event_id": f"{waybill}-{name}-{minutes}", "kind": "parcel", "enterprise_id": ent,
            "occurred_at": (T0 + timedelta(minutes=minutes)).isoformat(),
            "waybill_no": waybill, "step": name, **extra}


def ingest(session: Session, *docs: dict[str, Any]) -> None:
    result = EventLog(clock_now=lambda: T0).append_raw(
        session, [(i, msgspec.json.encode(d)) for i, d in enumerate(docs, 1)])
    assert not result.rejected


JOURNEY = [step("SF1", "picked_up", 0, station_id="st-1"),
           step("SF1", "arrived", 60, station_id="st-2"),
           step("SF1", "assigned", 70, assignee_id="emp-c", assignment_purpose="delivery",
                assignment_until=(T0 + timedelta(hours=9)).isoformat()),
           step("SF1", "delivered", 120, station_id="st-2")]


def test_every_arrival_order_gives_the_same_state(session: Session) -> None:
    views = set()
    for n, order in enumerate(itertools.permutations(JOURNEY)):
        ent = f"ent-{n}"
        for doc in order:  # one batch per event, so order is arrival order
            ingest(session, {**doc, "enterprise_id": ent})
        ingest(session, *({**doc, "enterprise_id": ent} for doc in order))  # all re-sent
        view = projection.view(session, ent, "SF1")
        assert view is not None
        views.add(repr({**view.as_dict(), "enterprise_id": None}))
    assert len(views) == 1  # 24 arrival orders, one state
    view = projection.view(session, "ent-0", "SF1")
    assert view is not None
    assert (view.status, view.step, view.station_id) == ("delivered", "delivered", "st-2")
    assert view.status_at == T0 + timedelta(minutes=120)
    assert (view.assignee_id, view.assignment_purpose) == ("emp-c", "delivery")
    assert view.assignment_until == T0 + timedelta(hours=9)
    assert [s.step for s in view.history] == ["picked_up", "arrived", "assigned", "delivered"]


def test_one_batch_folds_many_parcels_and_enterprises(session: Session) -> None:
    ingest(session, step("SF2", "delivered", 30), step("SF3", "picked_up", 5),
           step("SF2", "picked_up", 0), step("SF2", "delivered", 30, ent="ent-b"),
           step("SF3", "created", 0))
    assert projection.statuses(session, "ent-a", ["SF2", "SF3", "SF9"]) == {
        "SF2": "delivered", "SF3": "picked_up"}
    assert projection.statuses(session, "ent-b", ["SF2", "SF3"]) == {"SF2": "delivered"}
    # a later return reopens it; as of before the return it was delivered
    ingest(session, step("SF2", "returned", 90))
    assert projection.status_of(session, "ent-a", "SF2") == "returned"
    at = int((T0 + timedelta(minutes=60) - datetime(1970, 1, 1, tzinfo=UTC))
             / timedelta(microseconds=1))
    assert projection.status_as_of(session, "ent-a", "SF2", at) == "delivered"
