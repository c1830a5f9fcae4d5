"""Wiring the portals into the FastAPI app: routers, static files, security headers
and an error handler that answers browsers with a page (the JSON API under /api/v1
keeps its JSON errors)."""

from __future__ import annotations

import inspect
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from parcelguard.core.errors import DomainError
from parcelguard.core.http import API
from parcelguard.web import auth, docs
from parcelguard.web.consumer_proof import ConsumerProof, Limits, signing_key
from parcelguard.web.i18n import gettext_for
from parcelguard.web.portals import (
    auditor,
    consumer,
    consumer_channel,
    courier,
    enterprise,
    enterprise_staff,
    police,
    supervisor,
)
from parcelguard.web.render import locale_of, page, redirect
from parcelguard.web.security import headers_middleware


def mount(app: FastAPI) -> None:
    """Add the portals to ``app`` (whose ``state`` already holds runtime and vault)."""
    # Consumers' one-time-code proof: its signing key lives in the home, shared by
    # every worker; codes go out through the SMS notifier chosen by the app factory.
    rt = app.state.runtime
    app.state.consumer_proof = ConsumerProof(
        signing_key(rt.settings.home), Limits.of(rt.settings.web),
        notifier=app.state.notifiers["sms"], vault=app.state.vault)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"),
              name="static")
    app.middleware("http")(headers_middleware)
    json_handler = app.exception_handlers.get(DomainError)

    async def domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        if request.url.path.startswith(API) and json_handler is not None:
            response = json_handler(request, exc)
            return await response if inspect.isawaitable(response) else response
        if isinstance(exc, auth.LoginRequired):
            return redirect(request, f"/login?next={quote(request.url.path)}")
        _ = gettext_for(locale_of(request))
        return page(request, "error.html", status_code=exc.status_code, title="Error",
                    message=_(exc.message))

    app.add_exception_handler(DomainError, domain_error)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request) -> HTMLResponse:
        return page(request, "home.html", title="parcelguard portals")

    app.include_router(auth.router)
    app.include_router(auth.api_router)  # POST /api/v1/sessions: the same log-in flow
    docs.mount(app)  # /docs without a CDN
    for module in (consumer, consumer_channel, courier, enterprise, enterprise_staff,
                   supervisor, police, auditor):
        app.include_router(module.router)
