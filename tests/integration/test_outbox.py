"""The transactional outbox on real SQLite and PostgreSQL databases that commit:
an event exists exactly when its change does, each handler's effect happens once
however often (and by however many dispatchers) a message is delivered, failures
are retried with back-off and dead-lettered with their reason, and requeued."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from parcelguard.core.db import Database
from parcelguard.core.messages import message
from parcelguard.core.outbox import (
    Dispatcher,
    OutboxDelivery,
    OutboxMessage,
    Reaction,
    emit,
)
from parcelguard.core.outbox_admin import list_messages, requeue
from parcelguard.core.settings import Settings
from parcelguard.ops.store import init_store


@message("test.ping", version=1)
@dataclass(frozen=True)
class Ping:
    enterprise_id: str
    n: int
    at: datetime


@message("test.pong", version=1)
@dataclass(frozen=True)
class Pong:
    n: int


def _answer(session: Session, ev: Ping) -> None:
    """The effect under test: one Pong per Ping, in the delivery's transaction."""
    emit(session, Pong(ev.n))


def _note(_session: Session, _ev: Ping) -> None:
    """A second reaction to the same event, which never fails."""


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database of the test's own (committed work must not leak into others)."""
    url = ""
    admin = None
    if request.param == "postgresql":
        base = request.getfixturevalue("pg_url")
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        name = f"outbox_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
    settings = Settings(home=tmp_path / "home", database_url=url)
    init_store(settings)  # a store is made only by init
    database = Database(settings)
    try:
        yield database
    finally:
        database.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def _count(db: Database, type_: str) -> int:
    with db.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(OutboxMessage)
                            .where(OutboxMessage.type == type_)) or 0)


def _ping(db: Database, *ns: int) -> list[str]:
    with db.unit_of_work() as uow:
        ids = emit(uow.session, *(Ping("ent-a", n, datetime(2026, 11, 11, tzinfo=UTC))
                                  for n in ns))
        uow.commit()
    return ids


def test_an_event_is_stored_exactly_when_its_transaction_commits(db: Database) -> None:
    with db.unit_of_work() as uow:
        emit(uow.session, Ping("ent-a", 1, datetime(2026, 11, 11, tzinfo=UTC)))
        uow.session.rollback()
    assert _count(db, "test.ping") == 0
    [mid] = _ping(db, 2)  # no dispatcher on this database: it waits
    with db.sessions() as s:
        m = s.scalars(select(OutboxMessage)).one()
    assert (m.id, m.type, m.version, m.source_org, m.status) == (mid, "test.ping", 1,
                                                                 "ent-a", "pending")
    assert m.payload == '{"enterprise_id":"ent-a","n":2,"at":"2026-11-11T00:00:00Z"}'


def test_each_effect_happens_once_however_often_a_message_is_delivered(
        db: Database) -> None:
    db.dispatcher = Dispatcher(db.sessions, [Reaction(Ping, "test.answer", _answer),
                                             Reaction(Ping, "test.note", _note)])
    [mid] = _ping(db, 1)  # the committing unit of work delivers at once
    assert _count(db, "test.pong") == 1
    # A crash after the first handler's commit leaves the message pending; it is
    # delivered again, and the first handler's effect is not repeated.
    with db.sessions() as s:
        s.execute(update(OutboxMessage).where(OutboxMessage.id == mid)
                  .values(status="pending"))
        s.commit()
    report = db.dispatcher.drain()
    assert _count(db, "test.pong") == 1
    assert (report.messages, report.delivered) == (1, 0)
    with db.sessions() as s:
        assert {(d.handler, d.status, d.attempts) for d in s.scalars(
            select(OutboxDelivery).where(OutboxDelivery.message_id == mid))} == {
            ("test.answer", "done", 1), ("test.note", "done", 1)}
        assert set(s.scalars(select(OutboxMessage.status))) == {"done"}


def test_two_dispatchers_at_once_deliver_each_effect_once(db: Database) -> None:
    reactions = [Reaction(Ping, "test.answer", _answer)]
    _ping(db, *range(40))  # unwired: all wait
    dispatchers = [Dispatcher(db.sessions, reactions, batch=7) for _ in range(2)]
    errors: list[BaseException] = []

    def run(d: Dispatcher) -> None:
        try:
            d.drain()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(d,)) for d in dispatchers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert _count(db, "test.pong") == 40
    with db.sessions() as s:
        assert set(s.scalars(select(OutboxDelivery.attempts))) == {1}


def test_two_dispatchers_crossing_on_two_handlers_leave_no_message_pending(
        db: Database) -> None:
    """Each dispatcher delivers one handler while the other delivers the second, each
    from a snapshot where the other's was not done: the message is still done when
    both return (an incident's alert was once left pending until the next poll)."""
    _ping(db, *range(60))  # unwired: all wait
    dispatchers = [Dispatcher(db.sessions, [Reaction(Ping, "test.answer", _answer),
                                            Reaction(Ping, "test.note", _note)][::step],
                              batch=3) for step in (1, -1)]
    threads = [threading.Thread(target=d.drain) for d in dispatchers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert _count(db, "test.pong") == 60
    with db.sessions() as s:
        left = s.execute(select(OutboxMessage.status, func.count()).where(
            OutboxMessage.type == "test.ping").group_by(OutboxMessage.status)).all()
    assert [tuple(r) for r in left] == [("done", 60)]


def test_a_failing_handler_is_retried_with_back_off_then_dead_lettered(
        db: Database) -> None:
    now = [datetime(2026, 11, 11, 8, tzinfo=UTC)]
    broken = {"on": True}

    def flaky(session: Session, ev: Ping) -> None:
        if broken["on"]:
            raise RuntimeError("the channel's store is away")
        _answer(session, ev)

    db.dispatcher = Dispatcher(db.sessions, [Reaction(Ping, "test.flaky", flaky),
                                             Reaction(Ping, "test.note", _note)],
                               max_attempts=3, backoff_seconds=2, now=lambda: now[0])
    with db.sessions() as s:  # due at the fake clock's time
        mid = emit(s, Ping("ent-a", 1, now[0]))[0]
        s.execute(update(OutboxMessage).values(next_attempt_at=now[0]))
        s.commit()

    def state() -> tuple[str, int, str | None]:
        with db.sessions() as s:
            d = s.get(OutboxDelivery, (mid, "test.flaky"))
            assert d is not None
            return d.status, d.attempts, d.last_error

    assert db.dispatcher.drain().failed == 1
    assert state() == ("failed", 1, "RuntimeError: the channel's store is away")
    assert db.dispatcher.drain().messages == 0  # not due before its back-off
    now[0] += timedelta(seconds=2)
    db.dispatcher.drain()
    assert state()[:2] == ("failed", 2)
    now[0] += timedelta(seconds=3)  # the second wait is 4 s
    assert db.dispatcher.drain().messages == 0
    now[0] += timedelta(seconds=1)
    assert db.dispatcher.drain().dead == 1
    assert state()[:2] == ("dead", 3)
    with db.sessions() as s:
        [view] = list_messages(s, status="dead")
    assert view.last_error == "test.flaky: RuntimeError: the channel's store is away"
    assert {d["handler"]: d["status"] for d in view.deliveries} == {
        "test.flaky": "dead", "test.note": "done"}  # the other reaction was not held up
    assert "payload" not in view.as_dict()
    assert _count(db, "test.pong") == 0

    broken["on"] = False
    with db.unit_of_work() as uow:
        assert requeue(uow.session, dead=True, now=now[0]) == [mid]
        uow.commit()  # delivers the requeued message at once
    assert state()[:2] == ("done", 1)
    assert _count(db, "test.pong") == 1
    with db.sessions() as s:
        assert s.scalar(select(OutboxMessage.status).where(OutboxMessage.id == mid)) == "done"


def test_a_message_this_code_cannot_read_is_dead_lettered_with_the_reason(
        db: Database) -> None:
    db.dispatcher = Dispatcher(db.sessions, [Reaction(Ping, "test.answer", _answer)])
    [mid] = _ping(db, 1)
    with db.sessions() as s:
        s.execute(update(OutboxMessage).where(OutboxMessage.id == mid)
                  .values(status="pending", version=2))
        s.execute(update(OutboxMessage).where(OutboxMessage.type == "test.pong")
                  .values(status="pending", type="test.gone"))
        s.commit()
    assert db.dispatcher.drain().dead == 2
    with db.sessions() as s:
        reasons = {v.type: v.last_error for v in list_messages(s, status="dead")}
    assert reasons == {"test.ping": "test.ping version 2 (this code reads 1)",
                       "test.gone": "unknown message type 'test.gone'"}
