"""The events API: enterprises push their event batches into their own log
(``POST /api/v1/events``, the same ingest as ``parcelguard ingest``), and anyone reads
the event contract they are checked against. The caller comes through core's caller
port (``core.http.CallerDep``, resolved by the identity plugin's authenticator): the
ledger shares identity's row and does not import it."""

from __future__ import annotations

import re
from typing import Annotated

import msgspec
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from parcelguard.core.errors import InvalidInput, PayloadTooLarge
from parcelguard.core.http import API, CallerDep, SessionDep, runtime_dep
from parcelguard.ledger.contract import event_schema_bytes
from parcelguard.ledger.files import Lines
from parcelguard.ledger.ingest import EventLog
from parcelguard.ledger.settings import IngestSettings

router = APIRouter(prefix=API, tags=["events"])


async def _raw_body(request: Request) -> bytes:
    """The request body, read on the event loop before the transaction begins (the
    first dependency solved), so a slow upload never holds the database; refused
    (413) as soon as it is known to exceed ``api.max_batch_bytes``: by its declared
    length before reading anything, else while streaming it."""
    limit = runtime_dep(request).settings.api.max_batch_bytes
    too_large = PayloadTooLarge(f"body larger than {limit} bytes; split the batch")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/events")
def post_events(body: Annotated[bytes, Depends(_raw_body)], request: Request,
                caller: CallerDep, session: SessionDep) -> JSONResponse:
    """Append a batch of events (a JSON array, or NDJSON with
    ``Content-Type: application/x-ndjson``) to the caller's enterprise log.

    Same rules as ``parcelguard ingest`` (contract v2, the published
    ``/api/v1/contract/event.schema.json``): each bad event is reported by its 1-based
    position (NDJSON: line number) with a reason, good ones are stored, a re-sent
    event is a no-op. 200 when all were accepted, 422 when any was rejected (the
    others are stored), 413 for a body over ``api.max_batch_bytes`` (refused before
    it is read in full), 422 for a body that is not a JSON array or NDJSON.

    A plain ``def``: FastAPI runs it in its thread pool, so several batches are
    stored at once (on PostgreSQL) instead of one at a time on the event loop."""
    rt = runtime_dep(request)
    caller.require("events:write")
    lines = _split_body(body, request.headers.get("content-type", ""),
                        rt.settings.api.max_batch_events)

    def accept(enterprise_id: str) -> str | None:
        if enterprise_id != caller.org_id:
            return "enterprise_id is not the caller's organisation"
        return None

    log = EventLog(clock_now=rt.clock.now, accept_enterprise=accept)
    result = log.append_raw(session, lines,
                            max_line_bytes=rt.settings.section(IngestSettings).max_line_bytes)
    payload = {"stored": result.stored, "duplicates": result.duplicates,
               "rejected": [{"index": r.line_no, "reason": r.reason} for r in result.rejected]}
    return JSONResponse(payload, status_code=422 if result.rejected else 200)


@router.get("/contract/event.schema.json")
def event_contract() -> Response:
    """The event contract (JSON Schema, draft 2020-12) that every ingest path
    enforces, byte for byte as shipped in the package. Public: senders validate
    their streams against it before they send."""
    return Response(event_schema_bytes(), media_type="application/schema+json")


def _split_body(body: bytes, content_type: str, limit: int) -> Lines:
    if "ndjson" in content_type or "jsonl" in content_type:
        lines = [ln.strip() for ln in body.split(b"\n")]
        items: Lines = [(i, ln) for i, ln in enumerate(lines, start=1) if ln]
    else:
        items = list(enumerate(_array_elements(body), start=1))
    if len(items) > limit:
        raise InvalidInput(f"at most {limit} events per request; split the batch")
    return items


_ARRAY = msgspec.json.Decoder(list[msgspec.Raw])


def _array_elements(body: bytes) -> list[bytes]:
    """The raw bytes of each element of a JSON array, unparsed: each is then decoded
    on its own, exactly like a line of a file, so one hostile element is one
    rejected event and its size is held to the same line limit."""
    try:
        return [bytes(raw) for raw in _ARRAY.decode(body)]
    except msgspec.DecodeError:  # malformed, or not an array (its ValidationError)
        raise InvalidInput(_NOT_AN_ARRAY) from None
    except RecursionError:  # an element nested deeper than the parser goes
        return _split_deep_array(body)


_NOT_AN_ARRAY = ("body is not JSON of the right shape: send a JSON array of events, or "
                 "NDJSON with Content-Type: application/x-ndjson")


# Strings (whose brackets and commas do not count), runs of openers, runs of closers,
# commas: enough to find the top-level commas of an array without parsing it.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{]+|[\]}]+|,')


def _split_deep_array(body: bytes) -> list[bytes]:
    text = body.strip()
    if text[:1] != b"[" or text[-1:] != b"]":
        raise InvalidInput(_NOT_AN_ARRAY)
    elements: list[bytes] = []
    depth, start = 0, 1
    for m in _TOKENS.finditer(text, 1, len(text) - 1):
        first = m.group()[0]
        if first == 0x2C:  # a comma
            if depth == 0:
                elements.append(text[start:m.start()].strip())
                start = m.end()
        elif first in b"[{":
            depth += m.end() - m.start()
        elif first in b"]}":
            depth -= m.end() - m.start()
    last = text[start:-1].strip()
    if last or elements:
        elements.append(last)
    return elements
