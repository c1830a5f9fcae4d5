"""HTTP plumbing shared by every router: the runtime, one transaction per request,
the clock. Routers live in their domain packages and import these; the app factory
(wiring) puts the runtime on ``app.state``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import orjson
from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class BodyLimit:
    """ASGI middleware refusing request bodies over ``max_bytes`` with 413 before any
    handler parses them: at once from the Content-Length header (the body is never
    read), or as soon as a streamed (chunked) body passes the limit, in which case
    whatever the app was about to answer is replaced by the 413."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, send: Send) -> None:
        body = orjson.dumps({"error": "too_large", "detail":
                             f"request body over {self.max_bytes} bytes"})
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self._refuse(send)
            return
        seen = 0
        too_large = False
        started = False

        async def limited_receive() -> Message:
            nonlocal seen, too_large
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    too_large = True
                    # stop the reader: the app sees a disconnect, never the rest
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large:
                if not started:
                    started = True
                    await self._refuse(send)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not too_large:
                raise
        if too_large and not started:
            await self._refuse(send)
