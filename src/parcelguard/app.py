"""The FastAPI application factory: the runtime, the vault, the error handlers and
the outbox's dispatch loop; each package adds its own routers from its ``plugin.py``
(core/plugin.py). Shared dependencies live in ``core/http.py``, ``identity/http.py``
and ``vault/http.py``."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from parcelguard.core import plugin
from parcelguard.core.errors import DomainError, StoreError
from parcelguard.core.outbox import dispatching
from parcelguard.core.runtime import Runtime
from parcelguard.core.storage import as_storage_fault
from parcelguard.vault.provider import vault_service


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return JSONResponse({"error": exc.code, "detail": exc.message}, status_code=exc.status_code)


async def _store_error(_request: Request, exc: Exception) -> JSONResponse:
    """Refusals and storage faults: 503 with what the operator must do."""
    assert isinstance(exc, StoreError)
    return JSONResponse({"error": exc.code, "detail": exc.message}, status_code=503)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    fault = as_storage_fault(exc, request.app.state.runtime.settings)
    if fault is None:
        raise exc  # a bug: the server's 500 (and its log) is the right answer
    return await _store_error(request, fault)


def create_app(rt: Runtime) -> FastAPI:
    # /docs is the self-hosted page of web/docs.py (FastAPI's loads Swagger from a CDN);
    # a body over the limit is a 413 before anything reads it (Content-Length) or as
    # soon as a streamed one passes it.
    app = FastAPI(title="parcelguard", version="0.1.0", docs_url=None, redoc_url=None,
                  max_body_size=rt.settings.http.max_body_bytes,
                  description="Protection and pluralistic supervision of personal "
                  "information in parcel logistics.", lifespan=lambda _app: dispatching(
                      rt.db, poll_seconds=rt.settings.outbox.poll_seconds))
    app.state.runtime = rt
    app.state.vault = vault_service(rt.settings)
    plugin.register_handlers(rt)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(StoreError, _store_error)
    app.add_exception_handler(DBAPIError, _database_error)

    plugin.mount_all(app)  # each package's routers (core/plugin.py)
    return app
