"""The FastAPI application factory: wiring only. Each domain owns its router;
shared dependencies live in ``core/http.py``, ``identity/http.py`` and
``vault/http.py``."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from parcelguard.consent.router import router as consent_router
from parcelguard.core.errors import DomainError, StoreError
from parcelguard.core.http import API
from parcelguard.core.outbox import dispatching
from parcelguard.core.runtime import Runtime
from parcelguard.core.storage import as_storage_fault
from parcelguard.supervision.events_router import router as events_router
from parcelguard.supervision.router import router as checkpoint_router
from parcelguard.wiring import register_handlers, vault_service


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
    register_handlers(rt)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(StoreError, _store_error)  # ops
    app.add_exception_handler(DBAPIError, _database_error)  # ops

    # -- ops: health as a list of named checks (ops/health.py); add entries here --
    from parcelguard.ops import health as ops_health

    app.state.health_checks = list(ops_health.CHECKS)

    @app.get(f"{API}/health", tags=["health"])
    def health() -> JSONResponse:
        """Readiness: database writable, disk space above the floor, master key
        readable, every log recently checkpointed (and whatever else is listed). 503
        with the failing checks named when any fails."""
        result = ops_health.run_checks(rt, app.state.health_checks)
        return JSONResponse(result, status_code=200 if result["status"] == "ok" else 503)
    # -- end ops --

    for router in (events_router, checkpoint_router, consent_router):
        app.include_router(router)
    # -- waybill: masking, counts, tokens, bindings (no PI) --
    from parcelguard.waybill.router import router as waybill_router
    from parcelguard.wiring import telephony

    app.state.telephony = telephony(rt.settings)
    app.include_router(waybill_router)
    # -- end waybill --
    # -- parcels: state and history from the parcel projection --
    from parcelguard.logistics.router import router as parcels_router

    app.include_router(parcels_router)
    # -- end parcels --
    # -- access: the PI gate (/api/v1/pi); labels, virtual numbers, shares under
    # /api/v1/waybill; fulfilling data-subject requests under /api/v1/dsr --
    from parcelguard.access.dsr_router import router as dsr_router
    from parcelguard.access.router import router as access_router
    from parcelguard.access.waybill_router import router as access_waybill_router

    for gate_router in (access_router, access_waybill_router, dsr_router):
        app.include_router(gate_router)
    # -- end access --
    # -- monitor: alerts (/api/v1/alerts) --
    from parcelguard.monitor.router import router as monitor_router

    app.include_router(monitor_router)
    # -- end monitor --
    # -- channel and conduct: /api/v1/channel, /api/v1/referrals, /api/v1/conduct --
    from parcelguard.channel.router import referrals_router
    from parcelguard.channel.router import router as channel_router
    from parcelguard.conduct.router import router as conduct_router

    for r in (channel_router, referrals_router, conduct_router):
        app.include_router(r)
    # -- end channel and conduct --
    # -- incidents: plans, incidents, reports, inbox, notices, interventions --
    from parcelguard.incidents.notify import local_notifiers, sms_spool
    from parcelguard.incidents.router import router as incidents_router

    # The local notifiers record what they would send (masked); a deployment with an
    # SMS gateway chooses its own here (or in wiring, once it offers a notifier factory).
    app.state.notifiers = local_notifiers(app.state.vault, spool=sms_spool(rt.settings.home))
    app.include_router(incidents_router)
    # -- end incidents --
    # -- web: portals for every role (docs/web.md) --
    from parcelguard.web.mount import mount as mount_web

    mount_web(app)
    # -- end web --
    # -- audit: engagements, scorecards (/api/v1/audit), transparency (/api/v1/transparency) --
    from parcelguard.audit.router import router as audit_router

    app.include_router(audit_router)
    # -- end audit --
    # -- tiles: each enterprise's ledger as a C2SP tlog-tiles log (public, no PI) --
    from parcelguard.ledger.tlog import tiles_router

    app.include_router(tiles_router("/tlog/{enterprise_id}"))
    # -- end tiles --
    return app
