"""Browser-facing protections: security headers on every response, CSRF tokens on
every form, and cookie flags.

CSRF is a double-submit token: a random value in a SameSite=Strict, HttpOnly cookie
and the same value in a hidden field of every form, compared in constant time on
every POST, plus an Origin check when the browser sends one. Consumers have no
session to bind a token to, so one scheme serves both kinds of visitor.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Final

from fastapi import Request, Response
from starlette.datastructures import FormData

from parcelguard.core.errors import DomainError

CSRF_COOKIE: Final = "pg_csrf"
CSRF_FIELD: Final = "csrf_token"
_LOCAL_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})

# Nothing is ever fetched from another host: scripts, styles, images, fonts and form
# targets are this origin's own. Inline scripts and styles are refused too.
CSP: Final = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
              "font-src 'self'; connect-src 'self'; form-action 'self'; "
              "frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
HEADERS: Final = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # One-time evaluation links and receipt pages must not leak through Referer.
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class CsrfError(DomainError):
    status_code = 403
    code = "csrf"


def is_local(request: Request) -> bool:
    return (request.url.hostname or "") in _LOCAL_HOSTS


def secure_cookies(request: Request, mode: str) -> bool:
    """Secure unless told never, or auto on plain-HTTP localhost (the local demo)."""
    if mode == "always":
        return True
    if mode == "never":
        return False
    return request.url.scheme == "https" or not is_local(request)


def set_cookie(response: Response, request: Request, mode: str, name: str, value: str, *,
               max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True,
                        samesite="strict", secure=secure_cookies(request, mode))


def csrf_token(request: Request) -> str:
    """This visitor's token (a new one if the cookie is missing; the page that
    renders it sets the cookie, see ``ensure_csrf_cookie``)."""
    token = request.cookies.get(CSRF_COOKIE)
    if not token or len(token) > 100:
        token = getattr(request.state, "new_csrf", None) or secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return token


def ensure_csrf_cookie(request: Request, response: Response, mode: str) -> None:
    token = getattr(request.state, "new_csrf", None)
    if token:
        set_cookie(response, request, mode, CSRF_COOKIE, token)


async def checked_form(request: Request) -> FormData:
    """The POSTed form after the CSRF check; raises CsrfError (403) otherwise."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        expected = f"{request.url.scheme}://{request.url.netloc}"
        if origin != expected:
            raise CsrfError("form posted from another site")
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    cookie = request.cookies.get(CSRF_COOKIE)
    if not isinstance(sent, str) or not cookie or not hmac.compare_digest(sent, cookie):
        raise CsrfError("the form expired or came from elsewhere; reload the page and retry")
    return form


async def headers_middleware(request: Request,
                             call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    response.headers.setdefault("Content-Security-Policy", CSP)
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if not request.url.path.startswith("/static/"):
        # Portal pages show case data; no shared cache or back-button copy should keep it.
        response.headers.setdefault("Cache-Control", "no-store")
    return response
