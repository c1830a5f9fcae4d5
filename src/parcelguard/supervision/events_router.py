"""HTTP API of the supervision node: enterprise nodes push their event batches
(the events land in the enterprise's log; the supervision department reads them)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from parcelguard.core.errors import InvalidInput
from parcelguard.core.http import API, SessionDep, runtime_dep
from parcelguard.identity.http import PrincipalDep
from parcelguard.ledger.ingest import EventLog

router = APIRouter(prefix=API, tags=["events"])


async def _raw_body(request: Request) -> bytes:
    """The request body, read on the event loop before the transaction begins (the
    first dependency solved), so a slow upload never holds the database."""
    return await request.body()


@router.post("/events")
def post_events(body: Annotated[bytes, Depends(_raw_body)], request: Request,
                principal: PrincipalDep, session: SessionDep) -> JSONResponse:
    """Append a batch of events (a JSON array, or NDJSON with
    ``Content-Type: application/x-ndjson``) to the caller's enterprise log.

    Same rules as ``parcelguard ingest``: each bad event is reported by its 1-based
    position with a reason; good ones are stored; a re-sent event is a no-op.
    200 when all were accepted, 422 when any was rejected.

    A plain ``def``: FastAPI runs it in its thread pool, so several batches are
    stored at once (on PostgreSQL) instead of one at a time on the event loop."""
    rt = runtime_dep(request)
    principal.require("events:write")
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
