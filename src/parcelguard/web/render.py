"""Rendering a portal page: the Jinja2 environment, the visitor's language, the CSRF
token, and the cookies a page sets (language choice, CSRF)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from parcelguard.core.runtime import Runtime
from parcelguard.web.i18n import LANG_COOKIE, LOCALES, babel_locale, gettext_for, negotiate
from parcelguard.web.sections import Cell
from parcelguard.web.security import CSRF_FIELD, csrf_token, ensure_csrf_cookie, set_cookie

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
                    request.headers.get("accept-language"), rt.settings.web.default_locale)
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


def lang_links(request: Request) -> list[tuple[str, str, str]]:
    """(locale, label, href) for the language switch: this page in each language."""
    params = {k: v for k, v in request.query_params.items() if k != "lang"}
    out = []
    for loc, label in zip(LOCALES, ("中文", "English"), strict=True):
        out.append((loc, label, f"{request.url.path}?{urlencode({**params, 'lang': loc})}"))
    return out


def page(request: Request, template: str, *, status_code: int = 200,
         title: str = "", nav: list[Nav] | None = None, **context: Any) -> HTMLResponse:
    """Render ``template`` in the visitor's language with the common context."""
    locale = locale_of(request)
    ctx = {
        "request": request, "locale": locale, "_": gettext_for(locale),
        "csrf_field": CSRF_FIELD, "csrf_token": csrf_token(request),
        "lang_links": lang_links(request), "title": title, "nav": nav or [],
        "user": getattr(request.state, "staff", None), **_formatters(locale), **context,
    }
    html = environment().get_template(template).render(ctx)
    response = HTMLResponse(html, status_code=status_code)
    finish(request, response)
    return response


def finish(request: Request, response: HTMLResponse | RedirectResponse) -> None:
    """The cookies every portal response may set: a chosen language, a CSRF token."""
    mode = runtime(request).settings.web.cookie_secure
    chosen = request.query_params.get("lang")
    if chosen and chosen in LOCALES and request.cookies.get(LANG_COOKIE) != chosen:
        set_cookie(response, request, mode, LANG_COOKIE, chosen, max_age=365 * 86400)
    ensure_csrf_cookie(request, response, mode)


def redirect(request: Request, url: str) -> RedirectResponse:
    """303 See Other: the POST-redirect-GET that keeps reloads from re-posting."""
    response = RedirectResponse(url, status_code=303)
    finish(request, response)
    return response
