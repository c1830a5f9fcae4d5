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
    """One transaction per request: commit on success, roll back on error. The
    domain events the request emitted to the outbox are delivered after the commit."""
    with runtime_dep(request).db.unit_of_work() as uow:
        yield uow.session
        uow.commit()


def clock_dep(request: Request) -> Clock:
    return runtime_dep(request).clock


RuntimeDep = Annotated[Runtime, Depends(runtime_dep)]
SessionDep = Annotated[Session, Depends(session_dep)]
ClockDep = Annotated[Clock, Depends(clock_dep)]
