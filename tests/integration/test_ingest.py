"""Event ingest on real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.core.canonical import canonical_json
from parcelguard.ledger.ingest import EventLog
from parcelguard.ledger.models import LedgerEvent, LedgerHead


def _now() -> datetime:
    return datetime(2026, 11, 11, tzinfo=UTC)


def access(event_id: str, enterprise: str = "ent-a", **over: object) -> dict[str, object]:
    ev: dict[str, object] = {
        "event_id": event_id, "kind": "access", "occurred_at": "2026-11-11T08:31:00+08:00",
        "enterprise_id": enterprise, "actor_type": "employee", "actor_id": "emp-1",
        "action": "reveal", "fields": ["recipient_phone"], "waybill_no": "SF1234567890128",
        "record_count": 1, "purpose": "delivery", "outcome": "allowed", "channel": "pda"}
    ev.update(over)
    return ev


def lines(*docs: object) -> list[tuple[int, bytes | str]]:
    return [(i, d if isinstance(d, bytes) else msgspec.json.encode(d))
            for i, d in enumerate(docs, start=1)]


def stored(session: Session, enterprise: str = "ent-a") -> list[LedgerEvent]:
    return list(session.scalars(select(LedgerEvent).where(LedgerEvent.enterprise_id == enterprise)
                                .order_by(LedgerEvent.seq)))


def test_good_lines_are_stored_and_bad_ones_named(session: Session) -> None:
    log = EventLog(clock_now=_now)
    result = log.append_raw(session, lines(
        access("e1"),
        access("e2", action="steal"),
        b"{not json",
        access("e3", occurred_at="2026-11-11T08:31:00"),  # no offset
        {"event_id": "e4", "kind": "parcel", "occurred_at": "2026-11-11T09:00:00+08:00",
         "enterprise_id": "ent-a"},  # no waybill_no / step
        access("e5"),
    ))
    assert result.stored == 2
    assert [r.line_no for r in result.rejected] == [2, 3, 4, 5]
    reasons = {r.line_no: r.reason for r in result.rejected}
    assert "$.action" in reasons[2]
    assert "steal" not in reasons[2]
    assert "not valid JSON" in reasons[3]
    assert "RFC 3339 date-time with an offset" in reasons[4]
    assert "waybill_no" in reasons[5] or "step" in reasons[5]
    assert [e.event_id for e in stored(session)] == ["e1", "e5"]


def test_reingest_stores_nothing_and_positions_stay_gap_free(session: Session) -> None:
    docs = [access(f"e{i}") for i in range(10)]
    first = EventLog(clock_now=_now).append_raw(session, lines(*docs))
    again = EventLog(clock_now=_now).append_raw(session, lines(*docs, access("e10")))
    assert (first.stored, again.stored, again.duplicates) == (10, 1, 10)
    rows = stored(session)
    assert [r.seq for r in rows] == list(range(11))
    head = session.get(LedgerHead, "ent-a")
    assert head is not None
    assert head.size == 11


def test_same_id_with_different_content_is_rejected(session: Session) -> None:
    log = EventLog(clock_now=_now)
    log.append_raw(session, lines(access("e1")))
    result = log.append_raw(session, lines(access("e1", record_count=500),
                                           access("e2"), access("e2", action="export")))
    assert result.stored == 1
    assert [(r.line_no, r.reason) for r in result.rejected] == [
        (1, "event_id already stored with different content"),
        (3, "event_id repeats line 2 with different content")]


def test_leaf_is_the_canonical_json_of_the_event(session: Session) -> None:
    ev = access("e1", station_id=None, fields=["recipient_phone", "recipient_address"])
    EventLog(clock_now=_now).append_raw(session, lines(msgspec.json.encode(ev)))
    (row,) = stored(session)
    assert row.leaf == canonical_json(ev)
    assert row.occurred_at_us == int(datetime(2026, 11, 11, 0, 31, tzinfo=UTC).timestamp()) * 10**6


def test_logs_are_per_enterprise(session: Session) -> None:
    EventLog(clock_now=_now).append_raw(session, lines(
        access("x", "ent-a"), access("x", "ent-b"), access("y", "ent-b")))
    assert [r.seq for r in stored(session, "ent-a")] == [0]
    assert [r.seq for r in stored(session, "ent-b")] == [0, 1]


def test_tenancy_refusal_keeps_other_enterprises_out(session: Session) -> None:
    log = EventLog(clock_now=_now, accept_enterprise=lambda e: None if e == "ent-a"
                   else "enterprise_id is not the caller's organisation")
    result = log.append_raw(session, lines(access("a1", "ent-a"), access("b1", "ent-b")))
    assert result.stored == 1
    assert result.rejected[0].line_no == 2
    assert stored(session, "ent-b") == []


def test_new_enterprises_go_through_the_registration_hook(session: Session) -> None:
    seen: list[set[str]] = []

    def refuse_new(_s: Session, ids: set[str]) -> dict[str, str]:
        seen.append(ids)
        return {e: "unknown enterprise_id" for e in ids if e == "ent-new"}

    result = EventLog(clock_now=_now, on_new_enterprises=refuse_new).append_raw(
        session, lines(access("a1", "ent-new"), access("a2", "ent-ok"), access("a3", "ent-new")))
    assert seen == [{"ent-new", "ent-ok"}]
    assert result.stored == 1
    assert [(r.line_no, r.reason) for r in result.rejected] == [
        (1, "unknown enterprise_id"), (3, "unknown enterprise_id")]
    assert stored(session, "ent-new") == []
