"""Rendering a portal page: the Jinja2 environment, the visitor's language, the CSRF
token, and the cookies a page sets (language choice, CSRF)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.routing import Match

from parcelguard.core.runtime import Runtime
from parcelguard.web.i18n import (
    LANG_COOKIE,
    LOCALES,
    babel_locale,
    gettext_for,
    known_msgids,
    negotiate,
)
from parcelguard.web.sections import Cell, tabulate
from parcelguard.web.security import CSRF_FIELD, csrf_token, ensure_csrf_cookie, set_cookie
from parcelguard.web.settings import WebSettings

_TEMPLATES = Path(__file__).parent / "templates"
# Times are shown on the China Standard Time clock the users live by.
DISPLAY_TZ = ZoneInfo("Asia/Shanghai")


@cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(_TEMPLATES),
                      autoescape=select_autoescape(["html"]), trim_blocks=True,
                      lstrip_blocks=True)
    env.tests["datetime"] = lambda value: isinstance(value, datetime)
    env.tests["cell"] = lambda value: isinstance(value, Cell)
    return env


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def locale_of(request: Request) -> str:
    cached: str | None = getattr(request.state, "locale", None)
    if cached:
        return cached
    rt = runtime(request)
    loc = negotiate(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE),
                    request.headers.get("accept-language"),
                    rt.settings.section(WebSettings).default_locale)
    request.state.locale = loc
    return loc


@dataclass(frozen=True)
class Nav:
    href: str
    label: str


def _formatters(locale: str) -> dict[str, Any]:
    bl = babel_locale(locale)

    def dt(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
        if value is None:
            return "—"
        return format_datetime(value.astimezone(DISPLAY_TZ), fmt, locale=bl)

    def num(value: float | int | None) -> str:
        return "—" if value is None else format_decimal(value, locale=bl)

    return {"dt": dt, "num": num}


def _has_get(request: Request, path: str) -> bool:
    scope = {**request.scope, "method": "GET", "path": path}
    return any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes)


def page_url(request: Request) -> str:
    """The page the visitor is on: this URL for a GET; for a form's action URL, the
    page the form was on (the nearest ancestor path a GET answers), so switching
    language or coming back never re-runs the action or asks for a page that
    only takes a POST."""
    path = request.url.path
    while True:
        if _has_get(request, path):
            return path
        if path in ("", "/"):
            return "/"
        path = path.rstrip("/").rpartition("/")[0] or "/"


def form_page(request: Request, claimed: str | None) -> str:
    """Where a form's action sends the visitor back to: the page the form was on, as
    the form says (action.html writes it), when that is a page of the same portal;
    else ``page_url``. Walking up from the action URL alone can land on a page with
    a path parameter (``/plans/submit`` read as the plan "submit")."""
    if (claimed and claimed.startswith("/") and not claimed.startswith("//")
            and claimed.split("/")[:2] == request.url.path.split("/")[:2]
            and _has_get(request, claimed)):
        return claimed
    return page_url(request)


def lang_links(request: Request) -> list[tuple[str, str, str]]:
    """(locale, label, href) for the language switch: this page in each language."""
    if request.method in ("GET", "HEAD"):
        params = {k: v for k, v in request.query_params.items() if k != "lang"}
        path = request.url.path
    else:
        # the page this answer stands for (a form's own page, when the handler says)
        params, path = {}, getattr(request.state, "page_path", None) or page_url(request)
    out = []
    for loc, label in zip(LOCALES, ("中文", "English"), strict=True):
        out.append((loc, label, f"{path}?{urlencode({**params, 'lang': loc})}"))
    return out


FLASH_COOKIE = "pg_flash"


def flash(request: Request, response: Response, message: str,
          values: dict[str, str] | None = None) -> None:
    """Carry a done-message across the redirect after a form post (one use, one
    minute). Only catalog msgids are shown from it, so a planted cookie can say
    nothing the portal would not say itself."""
    mode = runtime(request).settings.section(WebSettings).cookie_secure
    set_cookie(response, request, mode, FLASH_COOKIE,
               quote(json.dumps([message, values or {}], ensure_ascii=True)), max_age=60)


def _flashed(request: Request, locale: str) -> str | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw or len(raw) > 2000:
        return None
    try:
        message, values = json.loads(unquote(raw))
    except (ValueError, TypeError):
        return None
    if not isinstance(message, str) or not isinstance(values, dict) \
            or message not in known_msgids():
        return None
    try:
        return gettext_for(locale)(message, **{str(k): str(v)[:200] for k, v in values.items()})
    except (KeyError, ValueError, TypeError):
        return None


def page(request: Request, template: str, *, status_code: int = 200,
         title: str = "", nav: list[Nav] | None = None, **context: Any) -> HTMLResponse:
    """Render ``template`` in the visitor's language with the common context."""
    locale = locale_of(request)
    done = _flashed(request, locale) if request.method == "GET" else None
    if done is not None:
        context["messages"] = [done, *context.get("messages", [])]
    if context.get("sections"):
        params = dict(request.query_params)
        context["tables"] = [
            tabulate(sec, params, gettext_for(locale), sec.html_id or f"s{i}")
            if sec.columns else None for i, sec in enumerate(context["sections"], 1)]

    def qurl(**updates: str | None) -> str:
        """This page with some query parameters changed (None: removed)."""
        params = {k: v for k, v in request.query_params.items() if k not in updates}
        params |= {k: v for k, v in updates.items() if v is not None}
        return f"{request.url.path}?{urlencode(params)}" if params else request.url.path

    ctx = {
        "request": request, "locale": locale, "_": gettext_for(locale), "qurl": qurl,
        "csrf_field": CSRF_FIELD, "csrf_token": csrf_token(request),
        "lang_links": lang_links(request), "title": title, "nav": nav or [],
        "user": getattr(request.state, "staff", None), **_formatters(locale), **context,
    }
    html = environment().get_template(template).render(ctx)
    response = HTMLResponse(html, status_code=status_code)
    finish(request, response)
    if FLASH_COOKIE in request.cookies and request.method == "GET":
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def finish(request: Request, response: HTMLResponse | RedirectResponse) -> None:
    """The cookies every portal response may set: a chosen language, a CSRF token."""
    mode = runtime(request).settings.section(WebSettings).cookie_secure
    chosen = request.query_params.get("lang")
    if chosen and chosen in LOCALES and request.cookies.get(LANG_COOKIE) != chosen:
        set_cookie(response, request, mode, LANG_COOKIE, chosen, max_age=365 * 86400)
    ensure_csrf_cookie(request, response, mode)


def redirect(request: Request, url: str) -> RedirectResponse:
    """303 See Other: the POST-redirect-GET that keeps reloads from re-posting."""
    response = RedirectResponse(url, status_code=303)
    finish(request, response)
    return response
