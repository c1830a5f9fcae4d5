"""The FastAPI application factory (HTTP API under /api/v1)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from parcelguard.core.errors import DomainError, InvalidInput, Unauthenticated
from parcelguard.core.runtime import Runtime
from parcelguard.identity import service as identity
from parcelguard.identity.permissions import Principal
from parcelguard.ledger.ingest import EventLog

API = "/api/v1"


def _runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def session_dep(request: Request) -> Iterator[Session]:
    """One transaction per request: commit on success, roll back on error."""
    with _runtime(request).db.unit_of_work() as uow:
        yield uow.session
        uow.commit()


SessionDep = Annotated[Session, Depends(session_dep)]


def principal_dep(request: Request, session: SessionDep) -> Principal:
    """The caller, from a bearer API key or log-in session token."""
    rt = _runtime(request)
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("send 'Authorization: Bearer <API key or session token>'")
    if token.startswith(identity.API_KEY_PREFIX):
        return identity.authenticate_api_key(session, secret=token, clock=rt.clock)
    return identity.resolve_session(session, token=token, clock=rt.clock)


PrincipalDep = Annotated[Principal, Depends(principal_dep)]
router = APIRouter(prefix=API)


class LoginIn(BaseModel):
    username: str
    password: str


@router.get("/health")
def health(session: SessionDep) -> dict[str, str]:
    """Liveness: the process answers and the database is reachable."""
    session.connection()
    return {"status": "ok"}


@router.post("/sessions")
def login(body: LoginIn, request: Request, session: SessionDep) -> dict[str, str]:
    """Log in with username and password; returns a bearer session token."""
    rt = _runtime(request)
    acc = identity.authenticate(session, username=body.username, password=body.password,
                                clock=rt.clock)
    issued = identity.start_session(session, account=acc, clock=rt.clock,
                                    lifetime=timedelta(hours=rt.settings.api.session_hours))
    return {"token": issued.secret, "org_id": acc.org_id, "role": acc.role}


@router.post("/events")
async def post_events(request: Request, principal: PrincipalDep,
                      session: SessionDep) -> JSONResponse:
    """Append a batch of events (a JSON array, or NDJSON with
    ``Content-Type: application/x-ndjson``) to the caller's enterprise log.

    Same rules as ``parcelguard ingest``: each bad event is reported by its 1-based
    position with a reason; good ones are stored; a re-sent event is a no-op.
    200 when all were accepted, 422 when any was rejected."""
    rt = _runtime(request)
    principal.require("events:write")
    body = await request.body()
    lines = _split_body(body, request.headers.get("content-type", ""),
                        rt.settings.api.max_batch_events)

    def accept(enterprise_id: str) -> str | None:
        if enterprise_id != principal.org_id:
            return "enterprise_id is not the caller's organisation"
        return None

    log = EventLog(clock_now=rt.clock.now, accept_enterprise=accept)
    result = log.append_raw(session, lines, max_line_bytes=rt.settings.ingest.max_line_bytes)
    payload = {"stored": result.stored, "duplicates": result.duplicates,
               "rejected": [{"index": r.line_no, "reason": r.reason} for r in result.rejected]}
    return JSONResponse(payload, status_code=422 if result.rejected else 200)


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return JSONResponse({"error": exc.code, "detail": exc.message}, status_code=exc.status_code)


def create_app(rt: Runtime) -> FastAPI:
    app = FastAPI(title="parcelguard", version="0.1.0",
                  description="Protection and pluralistic supervision of personal "
                  "information in parcel logistics.")
    app.state.runtime = rt
    app.add_exception_handler(DomainError, _domain_error)
    app.include_router(router)
    return app


def _split_body(body: bytes, content_type: str, limit: int) -> list[tuple[int, bytes | None]]:
    if "ndjson" in content_type or "jsonl" in content_type:
        lines = [ln.strip() for ln in body.split(b"\n")]
        items = [(i, ln) for i, ln in enumerate(lines, start=1) if ln]
    else:
        try:
            docs = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise InvalidInput("body is not JSON; send an array of events or NDJSON") from None
        if not isinstance(docs, list):
            raise InvalidInput("body must be a JSON array of events")
        items = [(i, orjson.dumps(d)) for i, d in enumerate(docs, start=1)]
    if len(items) > limit:
        raise InvalidInput(f"at most {limit} events per request; split the batch")
    return items  # type: ignore[return-value]
