"""The transactional outbox: the one path domain events take to their reactions.

A service that changes something others react to calls ``emit(session, event)``:
the event is written to ``outbox_messages`` in the same transaction as the change,
so it exists exactly when the change does (a crash before the commit loses both, a
crash after it loses neither). The dispatcher then delivers each message to the
handlers registered for its type (each package's plugin, core/plugin.py), at least once:

- each (message, handler) delivery is claimed in the handler's own transaction, by
  marking its ``outbox_deliveries`` row done before the handler's effect; the effect
  and the mark commit together, so a redelivery (a crash, two dispatchers) is a
  no-op and every effect happens exactly once;
- a failing handler is rolled back and retried with exponential back-off; after
  ``max_attempts`` its delivery is dead-lettered with the reason; other handlers of
  the same message are not held up;
- events a handler emits join its transaction, so chains (alert -> incident ->
  police referral) are as safe as the first step.

Who dispatches: the unit of work that committed, at once and in the same process
(``Database.unit_of_work``), for prompt reactions; whatever is left (a crash between
commit and dispatch, a failure waiting for its retry) by ``parcelguard events
dispatch``, the serve process's background loop and ``monitor run``.

A message is self-contained (id, type, version, source organisation, creation
time, payload) so it can later be carried to another node as it is. Outbox times
are wall-clock times (delivery is operational), unlike domain times.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from parcelguard.core import messages
from parcelguard.core.db import EMITTED, Base, Database, UTCDateTime
from parcelguard.core.ids import new_id

log = logging.getLogger(__name__)

# session.info key: ids of messages emitted in the session's current transaction, so
# whoever commits it can dispatch them at once.
STATUSES: Final = ("pending", "failed", "dead", "done")
REASON_CHARS: Final = 500


class OutboxMessage(Base):
    """One domain event waiting for (or past) its reactions. ``status`` summarises
    the handlers' deliveries: pending (not yet tried), failed (a handler waits for
    its retry at ``next_attempt_at``), dead (a handler gave up), done."""

    __tablename__ = "outbox_messages"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)
    source_org: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(REASON_CHARS))

    __table_args__ = (Index("ix_outbox_messages_due", "status", "next_attempt_at"),)


class OutboxDelivery(Base):
    """One handler's delivery of one message: the idempotency key of its effect."""

    __tablename__ = "outbox_deliveries"

    message_id: Mapped[str] = mapped_column(ForeignKey("outbox_messages.id"),
                                            primary_key=True)
    handler: Mapped[str] = mapped_column(String(80), primary_key=True)
    status: Mapped[str] = mapped_column(String(8))  # done | failed | dead
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(REASON_CHARS))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


def wall_now() -> datetime:
    return datetime.now(UTC)


def emit(session: Session, *events: object, ids: Sequence[str] | None = None) -> list[str]:
    """Write ``events`` to the outbox in ``session``'s transaction (one bulk insert);
    returns their message ids. The source organisation is the event's
    ``enterprise_id`` when it has one. ``ids``: message ids chosen by the caller (one
    per event) when the same message must never be written twice: a second insert
    of an id fails the transaction."""
    if not events:
        return []
    if ids is not None and len(ids) != len(events):
        raise ValueError("one id per event")
    now = wall_now()
    rows = []
    for i, ev in enumerate(events):
        name, version = messages.name_of(ev)
        rows.append({"id": ids[i] if ids is not None else new_id("msg"), "type": name,
                     "version": version,
                     "source_org": getattr(ev, "enterprise_id", None), "created_at": now,
                     "payload": messages.encode(ev), "status": "pending", "attempts": 0,
                     "next_attempt_at": now})
    session.execute(insert(OutboxMessage), rows)
    ids = [str(r["id"]) for r in rows]
    session.info.setdefault(EMITTED, []).extend(ids)
    return ids


HandlerFn = Callable[[Session, Any], None]


@dataclass(frozen=True)
class Reaction:
    """``event`` -> ``handler`` (a stable name: deliveries are keyed by it, so renaming
    one would deliver every old message again). ``run(session, event)`` makes the
    effect in the delivery's transaction and never commits."""

    event: type
    handler: str
    run: HandlerFn
    effect: str = ""
    # An effect outside this database (an envelope to another node, node/transport.py)
    # runs before the claim with no transaction open: no lock is held across the
    # network (two SQLite nodes sending to each other would otherwise each hold their
    # writer lock while waiting for the other's). A crash between the effect and the
    # claim repeats the effect, which the receiver's idempotency absorbs. Such a
    # reaction waits out a peer that is down or cut off for as long as that lasts:
    # its own attempts and back-off cap.
    external: Callable[[Any], None] | None = None
    max_attempts: int | None = None
    backoff_max_seconds: float | None = None


@dataclass
class DispatchReport:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    skipped: int = 0
    messages: int = 0
    reasons: list[str] = field(default_factory=list)

    def add(self, other: DispatchReport) -> None:
        self.delivered += other.delivered
        self.failed += other.failed
        self.dead += other.dead
        self.skipped += other.skipped
        self.messages += other.messages
        self.reasons += other.reasons

    def as_dict(self) -> dict[str, int]:
        return {"messages": self.messages, "delivered": self.delivered,
                "failed": self.failed, "dead": self.dead, "skipped": self.skipped}


def backoff(attempts: int, *, base: float, cap: float) -> timedelta:
    """Wait before retry number ``attempts`` + 1: base, 2 base, 4 base ... capped."""
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def _reason(exc: BaseException) -> str:
    # The class and message only: domain errors never carry PI (CONVENTIONS.md).
    return f"{type(exc).__name__}: {exc}"[:REASON_CHARS]


class Dispatcher:
    """Delivers outbox messages to the registered reactions (module docstring)."""

    def __init__(self, sessions: sessionmaker[Session], reactions: Sequence[Reaction], *,
                 max_attempts: int = 8, backoff_seconds: float = 2.0,
                 backoff_max_seconds: float = 3600.0, batch: int = 200,
                 now: Callable[[], datetime] = wall_now) -> None:
        self._sessions = sessions
        self._by_type: dict[str, list[Reaction]] = {}
        for r in reactions:
            name, _ = messages.name_of_class(r.event)
            self._by_type.setdefault(name, []).append(r)
        names = [r.handler for r in reactions]
        if len(set(names)) != len(names):
            raise ValueError("handler names must be unique")
        self.reactions = tuple(reactions)
        self.max_attempts = max_attempts
        self._base, self._cap, self._batch, self._now = (backoff_seconds, backoff_max_seconds,
                                                         batch, now)

    # -- entry points -------------------------------------------------------------

    def deliver(self, ids: Iterable[str]) -> DispatchReport:
        """Deliver these just-committed messages, then what their handlers emitted,
        and so on (the after-commit path)."""
        report = DispatchReport()
        todo = list(ids)
        while todo:
            with self._sessions() as s:
                rows = list(s.scalars(select(OutboxMessage).where(
                    OutboxMessage.id.in_(todo[:self._batch]),
                    OutboxMessage.status.in_(("pending", "failed")))
                    .order_by(OutboxMessage.seq)))
            todo = todo[self._batch:]
            todo += self._deliver_rows(rows, report)
        return report

    def drain(self) -> DispatchReport:
        """Deliver every message that is due (pending, or failed and past its back-off),
        oldest first, chains included."""
        report = DispatchReport()
        after = 0
        while True:
            now = self._now()
            with self._sessions() as s:
                rows = list(s.scalars(select(OutboxMessage).where(
                    OutboxMessage.status.in_(("pending", "failed")),
                    OutboxMessage.next_attempt_at <= now, OutboxMessage.seq > after)
                    .order_by(OutboxMessage.seq).limit(self._batch)))
            if not rows:
                break
            after = rows[-1].seq
            report.add(self.deliver(self._deliver_rows(rows, report)))
        return report

    def follow(self, *, poll_seconds: float, should_stop: Callable[[], bool]) -> DispatchReport:
        """``drain`` every ``poll_seconds`` until ``should_stop``."""
        total = DispatchReport()
        while not should_stop():
            total.add(self.drain())
            time.sleep(poll_seconds)
        return total

    # -- one message ---------------------------------------------------------------

    def _deliver_rows(self, rows: Sequence[OutboxMessage],
                      report: DispatchReport) -> list[str]:
        """Deliver each row; returns the ids of the messages the handlers emitted."""
        emitted: list[str] = []
        if not rows:
            return emitted
        with self._sessions() as s:
            state: dict[tuple[str, str], OutboxDelivery] = {
                (d.message_id, d.handler): d for d in s.scalars(select(OutboxDelivery).where(
                    OutboxDelivery.message_id.in_([r.id for r in rows])))}
            s.expunge_all()
        idle = []
        for m in rows:
            report.messages += 1
            reactions = self._by_type.get(m.type)
            if reactions is None:
                try:
                    messages.class_of(m.type)
                except messages.UnknownMessage as exc:
                    self._settle(m.id, status="dead", attempts=1, next_at=self._now(),
                                 reason=str(exc))
                    report.dead += 1
                    continue
                idle.append(m.id)  # a known type nobody reacts to (yet)
                continue
            emitted += self._deliver_one(m, reactions, state, report)
        if idle:
            with self._sessions() as s:
                s.execute(update(OutboxMessage).where(OutboxMessage.id.in_(idle))
                          .values(status="done"))
                s.commit()
        return emitted

    def _deliver_one(self, m: OutboxMessage, reactions: Sequence[Reaction],
                     state: dict[tuple[str, str], OutboxDelivery],
                     report: DispatchReport) -> list[str]:
        try:
            event = messages.decode(m.type, m.version, m.payload)
        except (messages.UnknownMessage, ValueError) as exc:  # a payload it cannot read
            self._settle(m.id, status="dead", attempts=1, next_at=self._now(),
                         reason=str(exc) if isinstance(exc, messages.UnknownMessage)
                         else _reason(exc))
            report.dead += 1
            return []
        now = self._now()
        emitted: list[str] = []
        outcome: dict[str, OutboxDelivery | None] = {}
        settled = False
        for r in reactions:
            d = state.get((m.id, r.handler))
            if d is not None and (d.status in ("done", "dead")
                                  or (d.next_attempt_at is not None and d.next_attempt_at > now)):
                outcome[r.handler] = d
                continue
            others_done = all(
                (o := outcome.get(x.handler, state.get((m.id, x.handler)))) is not None
                and o.status == "done" for x in reactions if x.handler != r.handler)
            got = self._run(m, r, event, prior=d.attempts if d else 0,
                            last=others_done, report=report)
            if isinstance(got, list):
                emitted += got
                settled = settled or others_done
                outcome[r.handler] = OutboxDelivery(status="done")
            else:
                outcome[r.handler] = got
        if any(o is None for o in outcome.values()):
            # Another dispatcher delivered some handlers (its claim committed before ours
            # returned), each of us possibly thinking the other's work unfinished: their
            # rows now say whether the message is done, so neither leaves it pending.
            with self._sessions() as s:
                fresh = {d.handler: d for d in s.scalars(select(OutboxDelivery).where(
                    OutboxDelivery.message_id == m.id))}
                s.expunge_all()
            outcome = {h: fresh.get(h) if o is None else o for h, o in outcome.items()}
        done = [o for o in outcome.values() if o is not None and o.status == "done"]
        if len(done) < len(reactions):
            self._settle_from(m.id, [o for o in outcome.values()
                                     if o is not None and o.status != "done"])
        elif not settled:  # all delivered, the last of them by another dispatcher
            with self._sessions() as s:
                s.execute(update(OutboxMessage).where(OutboxMessage.id == m.id)
                          .values(status="done", last_error=None))
                s.commit()
        return emitted

    def _run(self, m: OutboxMessage, r: Reaction, event: object, *, prior: int, last: bool,
             report: DispatchReport) -> list[str] | OutboxDelivery | None:
        """One delivery: claim, effect, commit together. Returns the ids its handler
        emitted on success, the failure's delivery row, or None when another
        dispatcher had already delivered it."""
        now = self._now()
        if r.external is not None:
            try:
                r.external(event)
            except Exception as exc:  # the peer is down or refused: retried, never lost
                return self._failed(m, r, prior + 1, exc, report)
        with self._sessions() as s:
            # The claim is the transaction's first statement, one upsert: a concurrent
            # dispatcher waits on it (row lock / SQLite's writer lock), then finds the
            # delivery done and claims nothing.
            if not self._claim(s, m.id, r.handler, now):
                s.rollback()
                report.skipped += 1
                return None
            try:
                r.run(s, event)
                if last:  # every other handler is done: so is the message, atomically
                    s.connection().execute(update(OutboxMessage).where(OutboxMessage.id == m.id)
                              .values(status="done", last_error=None))
                s.flush()
                emitted = s.info.pop(EMITTED, [])
                s.commit()
            except Exception as exc:  # any failure of a handler is retried, never lost
                s.rollback()
                s.info.pop(EMITTED, None)
                return self._failed(m, r, prior + 1, exc, report)
        report.delivered += 1
        return emitted

    @staticmethod
    def _claim(s: Session, message_id: str, handler: str, now: datetime) -> bool:
        dialect = s.get_bind().dialect.name
        upsert = (sqlite_insert if dialect == "sqlite" else pg_insert)(OutboxDelivery).values(
            message_id=message_id, handler=handler, status="done", attempts=1,
            next_attempt_at=None, last_error=None, updated_at=now)
        stmt = upsert.on_conflict_do_update(
            index_elements=["message_id", "handler"],
            set_={"status": "done", "attempts": OutboxDelivery.attempts + 1,
                  "next_attempt_at": None, "last_error": None, "updated_at": now},
            where=OutboxDelivery.status != "done").returning(OutboxDelivery.handler)
        # RETURNING says whether a row was claimed (an upsert's rowcount is not
        # reliable across drivers: psycopg reported 1 for a conflict the WHERE skipped)
        return s.connection().execute(stmt).first() is not None  # Core: no ORM bulk path

    def _failed(self, m: OutboxMessage, r: Reaction, attempts: int, exc: Exception,
                report: DispatchReport) -> OutboxDelivery:
        dead = attempts >= (r.max_attempts or self.max_attempts)
        now = self._now()
        cap = self._cap if r.backoff_max_seconds is None else min(self._cap,
                                                                   r.backoff_max_seconds)
        d = OutboxDelivery(message_id=m.id, handler=r.handler,
                           status="dead" if dead else "failed", attempts=attempts,
                           next_attempt_at=None if dead else
                           now + backoff(attempts, base=self._base, cap=cap),
                           last_error=_reason(exc), updated_at=now)
        log.warning("outbox: %s of %s (%s) failed, attempt %d%s: %s", r.handler, m.id, m.type,
                    attempts, ", dead-lettered" if dead else "", type(exc).__name__)
        with self._sessions() as s:
            s.merge(d)
            s.commit()
        if dead:
            report.dead += 1
        else:
            report.failed += 1
        report.reasons.append(f"{m.id} {r.handler}: {d.last_error}")
        return d

    def _settle_from(self, message_id: str, pending: Sequence[OutboxDelivery]) -> None:
        """The message's status from its handlers that are not done: failed while one
        waits for a retry (due at the earliest), dead once all such gave up."""
        waiting = [d for d in pending if d.status == "failed"]
        dead = [d for d in pending if d.status == "dead"]
        if not waiting and not dead:
            return  # skipped: another dispatcher owns the outcome
        worst = waiting or dead
        self._settle(message_id, status="failed" if waiting else "dead",
                     attempts=max(d.attempts for d in pending),
                     next_at=min((d.next_attempt_at for d in waiting
                                  if d.next_attempt_at is not None), default=self._now()),
                     reason="; ".join(f"{d.handler}: {d.last_error}" for d in worst
                                      )[:REASON_CHARS])

    def _settle(self, message_id: str, *, status: str, attempts: int, next_at: datetime,
                reason: str) -> None:
        with self._sessions() as s:
            s.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(
                status=status, attempts=attempts, next_attempt_at=next_at,
                last_error=reason[:REASON_CHARS]))
            s.commit()


class DispatchLoop:
    """A background thread draining the outbox every ``poll_seconds``, and at once
    when woken (the serve process: a request's commit wakes it rather than delivering
    before its response; retries and a crash's leftovers need nobody to ask)."""

    def __init__(self, drain: Callable[[], object], *, poll_seconds: float) -> None:
        import threading

        self._drain, self._poll = drain, poll_seconds
        self._stop, self._wake = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-dispatch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():  # at once first: a crashed predecessor's leftovers
            self._wake.clear()
            try:
                self._drain()
            except Exception:  # the database away for a moment: try again next round
                log.exception("outbox: background dispatch failed")
            self._wake.wait(self._poll)


@asynccontextmanager
async def dispatching(db: Database, *, poll_seconds: float) -> AsyncIterator[None]:
    """An app's lifespan: a DispatchLoop delivers retries and what a crash left while
    the app serves (each request delivers its own events after its commit)."""
    loop = DispatchLoop(db.dispatch_due, poll_seconds=poll_seconds)
    db.background = loop
    loop.start()
    try:
        yield
    finally:
        db.background = None
        loop.stop()
