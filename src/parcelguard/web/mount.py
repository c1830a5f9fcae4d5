"""Wiring the portals into the FastAPI app: routers, static files, security headers
and an error handler that answers browsers with a page (the JSON API under /api/v1
keeps its JSON errors)."""

from __future__ import annotations

import inspect
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from parcelguard.core.errors import DomainError
from parcelguard.core.http import API
from parcelguard.web import auth, docs, overview
from parcelguard.web.consumer_proof import ConsumerProof, Limits, signing_key
from parcelguard.web.i18n import gettext_for, localised
from parcelguard.web.portals import (
    auditor,
    cac,
    consumer,
    consumer_channel,
    courier,
    enterprise,
    enterprise_staff,
    police,
    supervisor,
)
from parcelguard.web.render import locale_of, page, page_url, redirect
from parcelguard.web.security import headers_middleware
from parcelguard.web.settings import WebSettings

HTTP_MESSAGES = {
    400: "This request could not be understood.",
    401: "Please log in first.",
    403: "You are not allowed to open this page.",
    404: "There is no page at this address.",
    405: "This address only takes a form sent from its page; go back to the page.",
    413: "What was sent is too large.",
    422: "Something in the address or the form is not valid.",
    429: "Too many attempts. Wait a few minutes, then try again.",
    500: "Something went wrong on our side. Go back and try again; if it happens again, "
         "tell the operator.",
}


def portal_path(path: str) -> bool:
    """A URL a browser shows as a page (not the JSON API, its schema or static files)."""
    return not (path.startswith(("/api/", "/static/")) or path == "/openapi.json")


def mount(app: FastAPI) -> None:
    """Add the portals to ``app`` (whose ``state`` already holds runtime and vault)."""
    # Consumers' one-time-code proof: its signing key lives in the home, shared by
    # every worker; codes go out through the SMS notifier chosen by the app factory.
    rt = app.state.runtime
    app.state.consumer_proof = ConsumerProof(
        signing_key(rt.settings.home), Limits.of(rt.settings.section(WebSettings)),
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
                    message=localised(exc, _), back=page_url(request))

    app.add_exception_handler(DomainError, domain_error)

    # Portal error pages: an HTML page in the visitor's language for every error on
    # a portal URL (unknown page, wrong method, bad parameters, a crash); the API keeps
    # its JSON.
    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if not portal_path(request.url.path):
            return await http_exception_handler(request, exc)
        _ = gettext_for(locale_of(request))
        message = _(HTTP_MESSAGES.get(exc.status_code, "This request could not be handled."))
        response = page(request, "error.html", status_code=exc.status_code, title="Error",
                        message=message, back=page_url(request))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    async def invalid_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if not portal_path(request.url.path):
            return await request_validation_exception_handler(request, exc)
        _ = gettext_for(locale_of(request))
        return page(request, "error.html", status_code=422, title="Error",
                    message=_(HTTP_MESSAGES[422]), back=page_url(request))

    async def crash(request: Request, exc: Exception) -> Response:
        # The exception is still logged by the server; the visitor gets a page.
        if not portal_path(request.url.path):
            return PlainTextResponse("Internal Server Error", status_code=500)
        _ = gettext_for(locale_of(request))
        return page(request, "error.html", status_code=500, title="Error",
                    message=_(HTTP_MESSAGES[500]), back=page_url(request))

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(Exception, crash)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request) -> HTMLResponse:
        return page(request, "home.html", title="parcelguard portals")

    app.include_router(auth.router)
    app.include_router(auth.api_router)  # POST /api/v1/sessions: the same log-in flow
    docs.mount(app)  # /docs without a CDN
    for module in (consumer, consumer_channel, courier, enterprise, enterprise_staff,
                   supervisor, police, auditor, cac):
        app.include_router(module.router)
    app.include_router(overview.router)  # /assets/plotly.{min.js,css}: overview charts
