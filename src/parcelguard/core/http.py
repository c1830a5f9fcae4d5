"""HTTP plumbing shared by every router: the runtime, one transaction per request,
the clock. Routers live in their domain packages and import these; the app factory
(wiring) puts the runtime on ``app.state``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from parcelguard.core.clock import Clock
from parcelguard.core.runtime import Runtime

API = "/api/v1"


def runtime_dep(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def session_dep(request: Request) -> Iterator[Session]:
    """One transaction per request: commit on success, roll back on error. Domain
    events a handler leaves in ``request.state.pending_events`` are published after
    the commit.

    Used with ``scope="function"`` (``SessionDep``): the commit runs when the path
    operation returns and *before* the response is sent, so a failed commit is a 500
    and nothing is acknowledged that is not stored. FastAPI's default scope for yield
    dependencies ("request") would commit after the response has gone out."""
    with runtime_dep(request).db.unit_of_work() as uow:
        # Begin here, in a worker thread: on SQLite this takes the write lock, waiting
        # for it if another request holds it. Async routes run their statements on the
        # event loop, which must never be the one waiting (it would stall every
        # request, the lock holder's included, until the busy timeout).
        uow.session.connection()
        yield uow.session
        uow.pending_events.extend(getattr(request.state, "pending_events", ()))
        uow.commit()


def clock_dep(request: Request) -> Clock:
    return runtime_dep(request).clock


RuntimeDep = Annotated[Runtime, Depends(runtime_dep)]
# As many requests hold a transaction at once as the engine's pool has connections
# (SQLAlchemy's default: 5 + 10 overflow); the others wait for their turn without
# taking a worker thread, so the threads the transactions' holders need stay free.
MAX_TRANSACTIONS = 15
SessionDep = Annotated[Session, Depends(session_dep, scope="function",
                                        max_concurrency=MAX_TRANSACTIONS)]
ClockDep = Annotated[Clock, Depends(clock_dep)]
