"""The federation's HTTP surface of every node (mutual TLS only: node serve)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from parcelguard.core.errors import DomainError
from parcelguard.node import service
from parcelguard.node.home import Node
from parcelguard.node.transport import PEER_CERT

router = APIRouter(prefix="/node/v1", tags=["node"])


def _node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


@router.post("/inbox")
async def inbox(request: Request) -> JSONResponse:
    """Receive one signed envelope from another node. 200 ``accepted`` (stored and
    applied) or ``duplicate`` (already had it: nothing changed); 403 with the reason
    when the sender, its key, its certificate or the kind is refused."""
    node = _node(request)
    raw = await request.body()
    try:
        doc: Any = json.loads(raw)
    except ValueError:
        return JSONResponse({"error": "envelope_refused", "detail": "not JSON"}, 400)
    me = service.Me(org=node.config.org, role=node.config.role, key_id=node.key_id)
    directory = node.directory()
    try:
        e = service.verify(doc, me=me, directory=directory,
                           peer_cert_der=getattr(request.state, PEER_CERT, None))
    except DomainError as exc:
        return JSONResponse({"error": exc.code, "detail": exc.message}, exc.status_code)
    assert directory is not None  # verify refuses every sender without one
    rt = request.app.state.runtime
    # sync DB work off the event loop, one transaction that commits before the answer
    from starlette.concurrency import run_in_threadpool

    def store() -> bool:
        with rt.db.unit_of_work() as uow:
            new = service.receive(uow.session, e, me=me, directory=directory)
            uow.commit()
        return new

    try:
        new = await run_in_threadpool(store)
    except DomainError as exc:  # not applicable yet (a reference overtaken): retried
        return JSONResponse({"error": exc.code, "detail": exc.message}, exc.status_code)
    return JSONResponse({"status": "accepted" if new else "duplicate",
                         "message_id": e.message_id})


@router.get("/directory")
def directory_document(request: Request) -> JSONResponse:
    """The signed directory this node holds (on the supervision node: the one it
    publishes). Verify it with the supervision node's key before trusting it."""
    d = _node(request).directory()
    if d is None:
        return JSONResponse({"error": "not_found", "detail": "no directory yet"}, 404)
    return JSONResponse(d.to_json())
