"""HTTP plumbing shared by every router: the runtime, one transaction per request,
the clock, the caller. Routers live in their domain packages and import these; the app
factory (app.py) puts the runtime on ``app.state``.

The caller is a port: :class:`Caller` is what a router may ask of whoever made the
request, and ``CallerDep`` resolves it through the authenticator the ``identity``
plugin installs on the app (``install_authenticator``, from its ``api`` hook). So a
package of identity's own row (the ledger's events API) checks permissions without
importing identity; the checks are identity's own (``identity.permissions.Principal``
is the object returned), so they are exactly as strict as through ``PrincipalDep``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Protocol

import anyio
from fastapi import Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
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


# At most this many requests hold a transaction at once on PostgreSQL: the engine's
# pool (SQLAlchemy's default, 5 + 10 overflow), so none waits for a connection in a
# worker thread. SQLite has a single writer and every transaction there is one
# (BEGIN IMMEDIATE, core/db.py): one at a time, the others queued in order here
# rather than polling the file lock, which starves some of them.
MAX_TRANSACTIONS = 15


def _transactions(request: Request) -> anyio.Semaphore:
    state = request.app.state
    if getattr(state, "transactions", None) is None:
        sqlite = runtime_dep(request).settings.database_url.startswith("sqlite")
        state.transactions = anyio.Semaphore(1 if sqlite else MAX_TRANSACTIONS)
    sem: anyio.Semaphore = state.transactions
    return sem


async def session_dep(request: Request) -> AsyncIterator[Session]:
    """One transaction per request: commit on success, roll back on error. The
    domain events the request emitted to the outbox are delivered after the commit.

    Used with ``scope="function"`` (``SessionDep``): the commit runs when the path
    operation returns and *before* the response is sent, so a failed commit is a 500
    and nothing is acknowledged that is not stored. (FastAPI's default scope for
    yield dependencies, "request", commits after the response has gone out.)

    The transaction begins and ends in worker threads: on SQLite beginning waits
    for the write lock, which the event loop, where async routes run their
    statements, must never do."""
    async with _transactions(request):
        uow = runtime_dep(request).db.unit_of_work()
        try:
            await run_in_threadpool(uow.session.connection)
            yield uow.session
            await run_in_threadpool(uow.commit)
        except BaseException as exc:
            await run_in_threadpool(uow.__exit__, type(exc), exc, exc.__traceback__)
            raise
        await run_in_threadpool(uow.__exit__, None, None, None)


def clock_dep(request: Request) -> Clock:
    return runtime_dep(request).clock


RuntimeDep = Annotated[Runtime, Depends(runtime_dep)]
SessionDep = Annotated[Session, Depends(session_dep, scope="function")]
ClockDep = Annotated[Clock, Depends(clock_dep)]



class Caller(Protocol):
    """Who is calling: an account or an API key, always inside one organisation
    (implemented by ``identity.permissions.Principal``)."""

    @property
    def org_id(self) -> str: ...

    @property
    def org_kind(self) -> str: ...

    def can(self, permission: str) -> bool: ...

    def require(self, permission: str) -> None:
        """Refuse (``PermissionDenied``, 403) unless the caller holds ``permission``."""

    def may_read_org(self, org_id: str, read_all_permission: str) -> bool:
        """Own organisation always; others only with the read_all permission."""


# The request and its transaction (the session of ``SessionDep``, which the
# authenticator marks with the caller's enterprise for the tenant guard) -> the caller,
# or Unauthenticated (401).
Authenticator = Callable[[Request, Session], Caller]


def install_authenticator(app: FastAPI, authenticate: Authenticator) -> None:
    """Called once by the identity plugin's ``api`` hook."""
    app.state.authenticate = authenticate


def caller_dep(request: Request, session: SessionDep) -> Caller:
    """The caller of the request, from the installed authenticator. An app without
    one refuses every authenticated route (500) rather than serve it unchecked."""
    authenticate: Authenticator | None = getattr(request.app.state, "authenticate", None)
    if authenticate is None:
        raise RuntimeError("no authenticator installed (the identity plugin's api hook)")
    return authenticate(request, session)


CallerDep = Annotated[Caller, Depends(caller_dep)]
