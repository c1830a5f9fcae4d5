"""HTTP plumbing shared by every router: the runtime, one transaction per request,
the clock. Routers live in their domain packages and import these; the app factory
(wiring) puts the runtime on ``app.state``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session

from parcelguard.core.clock import Clock
from parcelguard.core.runtime import Runtime

API = "/api/v1"
# Databases store 64-bit integers: a larger number in a query or path is a 422 here,
# not an overflow (500) in the driver.
MAX_INT64 = 2**63 - 1
Offset = Annotated[int, Query(ge=0, le=MAX_INT64, description="Rows to skip.")]


def runtime_dep(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def session_dep(request: Request) -> Iterator[Session]:
    """One transaction per request: commit on success, roll back on error. Domain
    events a handler leaves in ``request.state.pending_events`` are published after
    the commit."""
    with runtime_dep(request).db.unit_of_work() as uow:
        yield uow.session
        uow.pending_events.extend(getattr(request.state, "pending_events", ()))
        uow.commit()


def clock_dep(request: Request) -> Clock:
    return runtime_dep(request).clock


RuntimeDep = Annotated[Runtime, Depends(runtime_dep)]
SessionDep = Annotated[Session, Depends(session_dep)]
ClockDep = Annotated[Clock, Depends(clock_dep)]

