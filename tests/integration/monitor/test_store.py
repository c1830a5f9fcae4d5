"""Alert storage and state persistence on real SQLite and PostgreSQL: one open alert
per (enterprise, detector, subject) with evidence accumulating, acknowledgement,
closing, tenant-scoped reads, ledger_tamper from the witness, state round trips."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.core.clock import ManualClock
from parcelguard.core.db import Database
from parcelguard.core.errors import Conflict, NotFound, PermissionDenied
from parcelguard.core.outbox import OutboxMessage
from parcelguard.core.settings import Settings
from parcelguard.identity.permissions import Principal
from parcelguard.monitor import service
from parcelguard.monitor.alerts import AlertBook
from parcelguard.monitor.engine import Pipeline
from parcelguard.monitor.model import AlertUpdate
from parcelguard.monitor.models import MonitorState
from parcelguard.monitor.settings import MonitorSettings
from parcelguard.monitor.store import (
    apply_updates,
    load_pipeline,
    load_waybills,
    save_state,
)
from parcelguard.ops.store import init_store
from parcelguard.supervision.events import LedgerTamperDetected
from tests.unit.monitor.builders import DAY0, Stream

CLOCK = ManualClock(datetime(2026, 11, 11, 12, tzinfo=UTC))
OFFICER_A = Principal(org_id="ent-a", org_kind="enterprise", role="security_officer",
                      account_id="acc-a")
OFFICER_B = Principal(org_id="ent-b", org_kind="enterprise", role="security_officer",
                      account_id="acc-b")
ANALYST = Principal(org_id="supervision", org_kind="supervisor", role="supervisor_analyst")
COURIER = Principal(org_id="ent-a", org_kind="enterprise", role="courier")


def _update(ent: str, subject: str, t: int, eid: str, *, fire: bool = True,
            score: float = 0.5) -> AlertUpdate:
    return AlertUpdate(enterprise_id=ent, detector="unassigned_access",
                       subject_type="employee", subject_id=subject, fire=fire, t_us=t,
                       first_us=t, event_ids=[eid], score=score, summary=f"{subject} did it")


T0 = 1_794_000_000_000_000


def test_one_open_alert_per_subject_and_detector(session: Session) -> None:
    raised = apply_updates(session, [_update("ent-a", "emp-1", T0, "e1"),
                                     _update("ent-a", "emp-1", T0 + 5, "e2", fire=False,
                                             score=0.7)], cap=500)
    assert len(raised) == 1
    raised += apply_updates(session, [_update("ent-a", "emp-1", T0 + 9, "e3")], cap=500)
    assert len(raised) == 1  # a new episode joins the open alert
    [alert] = service.list_alerts(session, OFFICER_A, service.AlertFilter())
    assert (alert.event_ids, alert.record_count, alert.severity) == (
        ["e1", "e2", "e3"], 3, "high")


def test_acknowledged_alerts_keep_collecting_closed_ones_do_not(session: Session) -> None:
    [r] = apply_updates(session, [_update("ent-a", "emp-1", T0, "e1")], cap=500)
    service.acknowledge(session, OFFICER_A, r.alert_id, clock=CLOCK)
    assert apply_updates(session, [_update("ent-a", "emp-1", T0 + 1, "e2")], cap=500) == []
    row = service.close(session, OFFICER_A, r.alert_id, clock=CLOCK)
    assert row.status == "closed"
    assert row.event_ids == ["e1", "e2"]
    with pytest.raises(Conflict):
        service.acknowledge(session, OFFICER_A, r.alert_id, clock=CLOCK)
    [again] = apply_updates(session, [_update("ent-a", "emp-1", T0 + 2, "e3")], cap=500)
    assert again.alert_id != r.alert_id


def test_reads_are_tenant_scoped(session: Session) -> None:
    [a] = apply_updates(session, [_update("ent-a", "emp-1", T0, "e1")], cap=500)
    apply_updates(session, [_update("ent-b", "emp-9", T0, "e9")], cap=500)
    assert {x.enterprise_id for x in service.list_alerts(
        session, OFFICER_A, service.AlertFilter())} == {"ent-a"}
    assert {x.enterprise_id for x in service.list_alerts(
        session, ANALYST, service.AlertFilter())} == {"ent-a", "ent-b"}
    with pytest.raises(NotFound):
        service.get_alert(session, OFFICER_B, a.alert_id)
    with pytest.raises(NotFound):
        service.acknowledge(session, OFFICER_B, a.alert_id, clock=CLOCK)
    with pytest.raises(PermissionDenied):
        service.list_alerts(session, COURIER, service.AlertFilter())
    with pytest.raises(PermissionDenied):  # supervision reads, the enterprise handles
        service.acknowledge(session, ANALYST, a.alert_id, clock=CLOCK)


@dataclass(frozen=True)
class _Finding:
    enterprise_id: str
    finding_id: int
    reason: str
    detected_at: datetime


def test_ledger_tamper_from_the_witness(session: Session) -> None:
    f = _Finding("ent-a", 7, "fork: size 10 is not a prefix", CLOCK.now())
    [raised] = service.raise_ledger_tamper(session, f)
    assert (raised.detector, raised.subject_type, raised.severity) == (
        "ledger_tamper", "ledger", "critical")
    assert service.raise_ledger_tamper(session, _Finding("ent-a", 8, "again",
                                                         CLOCK.now())) == []
    [row] = service.list_alerts(session, ANALYST, service.AlertFilter(detector="ledger_tamper"))
    assert row.event_ids == ["supervision-finding:7", "supervision-finding:8"]


def test_state_survives_a_round_trip(session: Session) -> None:
    settings = MonitorSettings()
    s = Stream("ent-a")
    s.hire(DAY0, "emp-1")
    s.parcel(DAY0, "WB1", "arrived")
    s.assign(DAY0, "WB1", "emp-1")
    s.access(DAY0, "emp-1", "print_label", wb="WB1")
    evs, ts = s.events()
    pipe = load_pipeline(session, settings)
    pipe.feed(evs, ts)
    waybills = copy.deepcopy(pipe.index.states)
    save_state(session, pipe, None)
    assert pipe.index.states == {}  # saved, and let go
    pipe.feed(evs, ts)
    save_state(session, pipe, None)  # an upsert, twice
    again = load_pipeline(session, settings)
    assert again.engine.subjects == pipe.engine.subjects
    assert again.index.states == {}  # waybills are read per batch
    load_waybills(session, again, evs)
    assert again.index.states == waybills


def _contract_alerts(updates: list[AlertUpdate]) -> list[tuple[str, str, list[str]]]:
    book = AlertBook(500)
    book.apply(updates)
    return [(a.detector, a.subject_id, a.event_ids) for a in book.sorted()]


def test_a_batch_reads_every_waybill_fact_the_detectors_use(session: Session) -> None:
    """The runner keeps waybills in the database between batches. A later batch must
    see each thing the waybill stage remembers: the assignment (the courier's read is
    covered), the stations the parcel passed (a sorter's read there is honoured; a
    stranger's read elsewhere is out of station, not merely unassigned) and the prints
    of the day (a third print is a repeated reprint). Losing any of them changes the
    alerts; the split run must equal one pass in memory."""
    settings = MonitorSettings()
    s = Stream("ent-a")
    s.hire(DAY0, "emp-1")
    s.hire(DAY0, "emp-2", role="sorter", station="st-2")
    s.hire(DAY0, "emp-3", station="st-9")
    t = DAY0 + timedelta(hours=10)
    s.parcel(t, "WB1", "arrived")
    s.assign(t, "WB1", "emp-1")
    s.parcel(t, "WB2", "arrived", station="st-2")
    for i in range(2):
        s.access(t + timedelta(minutes=i), "emp-1", "print_label", wb="WB1")
    first = len(s.docs)
    later = t + timedelta(hours=2)
    s.access(later, "emp-1", "reveal", wb="WB1")
    s.access(later, "emp-2", "reveal", wb="WB2", station="st-2", purpose="sorting")
    s.access(later, "emp-3", "reveal", wb="WB1", station="st-9")
    for i in range(3):
        s.access(later + timedelta(minutes=i), "emp-1", "print_label", wb="WB1")
    evs, ts = s.events()

    in_memory = Pipeline(settings)
    expected = _contract_alerts(in_memory.feed(evs, ts))
    assert sorted((d, who) for d, who, _ in expected) == [
        ("label_reprint_burst", "emp-1"), ("out_of_station_access", "emp-3")]

    pipe = load_pipeline(session, settings)
    updates = pipe.feed(evs[:first], ts[:first])
    save_state(session, pipe, None)
    pipe = load_pipeline(session, settings)  # as after a restart
    load_waybills(session, pipe, evs[first:])
    updates += pipe.feed(evs[first:], ts[first:])
    assert _contract_alerts(updates) == expected


def test_silent_waybills_leave_the_database(session: Session) -> None:
    settings = MonitorSettings(assignment_lookback_hours=24)
    s = Stream("ent-a")
    s.parcel(DAY0, "WB-OLD", "arrived")
    s.parcel(DAY0 + timedelta(hours=20), "WB-NEW", "arrived")
    evs, ts = s.events()
    pipe = load_pipeline(session, settings)
    pipe.feed(evs, ts)
    save_state(session, pipe, None)
    expired = pipe.maintain(enterprise_id="ent-a", now_us=ts[0] + 30 * 3600 * 10**6)
    assert expired is not None
    save_state(session, pipe, expired)
    saved = session.scalars(select(MonitorState.key).where(MonitorState.kind == "w"))
    assert list(saved) == ["WB-NEW"]


def test_a_witness_finding_becomes_an_alert_emitted_in_its_transaction(
        session: Session) -> None:
    finding = LedgerTamperDetected(enterprise_id="ent-a", finding_id=3, accepted_size=10,
                                   presented_size=8,
                                   reason="rollback: the log shrank from 10 to 8",
                                   detected_at=CLOCK.now())
    raised = service.raise_ledger_tamper(session, finding)
    assert [(r.detector, r.enterprise_id, r.severity) for r in raised] == [
        ("ledger_tamper", "ent-a", "critical")]
    [row] = service.list_alerts(session, ANALYST, service.AlertFilter())
    assert "rollback" in row.summary
    assert [(m.type, m.status) for m in session.scalars(select(OutboxMessage))] == [
        ("monitor.alert_raised", "pending")]


def test_the_runner_emits_new_alerts_with_their_batch(settings: Settings) -> None:
    from parcelguard.ledger.ingest import record_events
    from parcelguard.monitor.runner import run

    init_store(settings)
    db = Database(settings)
    try:
        s = Stream("ent-a")
        s.hire(DAY0, "emp-1")
        s.left(DAY0 + timedelta(hours=20), "emp-1")
        s.access(DAY0 + timedelta(hours=30), "emp-1", "login")
        with db.unit_of_work() as uow:
            record_events(uow.session, s.docs, clock_now=CLOCK.now)
            uow.commit()
        report = run(db, MonitorSettings(), CLOCK)
        assert (report.events, report.alerts_raised) == (4, 1)
        assert run(db, MonitorSettings(), CLOCK).events == 0  # nothing new, nothing again
        with db.unit_of_work() as uow:
            msgs = list(uow.session.scalars(select(OutboxMessage)))
            [alert] = service.list_alerts(uow.session, ANALYST, service.AlertFilter())
        # no dispatcher on this bare database: the message waits, it is not lost
        assert [(m.type, m.status, m.source_org) for m in msgs] == [
            ("monitor.alert_raised", "pending", "ent-a")]
        assert alert.id in msgs[0].payload
        assert alert.detector == "after_leaving"
    finally:
        db.dispose()


def test_the_runner_survives_a_log_that_is_not_in_time_order(settings: Settings) -> None:
    """Logs are in arrival order; late events (a gate stage, a replayed batch) can be
    older than the ones before them. Their negative gaps once overflowed the timing
    state and stopped the runner."""
    from parcelguard.ledger.ingest import record_events
    from parcelguard.monitor.runner import run

    init_store(settings)
    db = Database(settings)
    try:
        s = Stream("ent-a")
        s.hire(DAY0, "emp-1")
        # a device's accesses, the later ones first, days apart
        for hours in (80, 79, 78, 10, 9, 8, 50, 1):
            s.access(DAY0 + timedelta(hours=hours), "emp-1", "login")
        with db.unit_of_work() as uow:
            record_events(uow.session, s.docs, clock_now=CLOCK.now)
            uow.commit()
        report = run(db, MonitorSettings(), CLOCK)
        assert report.events == len(s.docs)
        assert run(db, MonitorSettings(), CLOCK).events == 0
    finally:
        db.dispose()
