"""Helpers for the ledger integration tests: synthetic events (no PI), a manual clock
and an in-memory KMS."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.core.clock import ManualClock
from parcelguard.ledger.ingest import EventLog
from parcelguard.ledger.models import LedgerEvent
from parcelguard.vault.kms import InMemoryKms

START = datetime(2026, 11, 11, tzinfo=UTC)


def parcel(i: int, enterprise: str = "ent-a", occurred_at: str = "2026-11-11T08:00:00+08:00",
           **over: object) -> dict[str, object]:
    ev: dict[str, object] = {"event_id": f"p{i}", "kind": "parcel", "occurred_at": occurred_at,
                             "enterprise_id": enterprise, "waybill_no": f"SF{i:013d}",
                             "step": "created"}
    ev.update(over)
    return ev


def ingest(session: Session, docs: list[dict[str, object]], clock: ManualClock) -> None:
    result = EventLog(clock_now=clock.now).append_raw(
        session, [(i, msgspec.json.encode(d)) for i, d in enumerate(docs, start=1)])
    assert not result.rejected


def stored_leaves(session: Session, enterprise: str = "ent-a") -> list[bytes]:
    return [bytes(b) for b in session.scalars(
        select(LedgerEvent.leaf).where(LedgerEvent.enterprise_id == enterprise)
        .order_by(LedgerEvent.seq))]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def kms() -> InMemoryKms:
    return InMemoryKms()
