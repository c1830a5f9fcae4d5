"""Form actions shared by every portal: run one, then redirect to the page the form
was on (post/redirect/get) or show the page again with the domain's reason; and the
confirmation box irreversible acts need."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from parcelguard.core.errors import DomainError, InvalidInput
from parcelguard.web.i18n import gettext_for, localised
from parcelguard.web.render import flash, form_page, locale_of, redirect
from parcelguard.web.sections import Input
from parcelguard.web.security import checked_form


class ShownOnce(str):
    """A done-message carrying a secret shown once (a new API key): rendered in the
    answer to the post itself, never put in a cookie to survive a redirect."""


Done = str | tuple[str, dict[str, str]]

CONFIRM = Input("confirm", "I have read this; it cannot be undone", "checkbox", required=True)


def confirmed(v: dict[str, str]) -> None:
    """Irreversible acts need the confirmation box ticked (checked here as well as in
    the browser: a form posted without it is refused, nothing is done)."""
    if v.get("confirm") != "yes":
        raise InvalidInput("Tick the confirmation box: this cannot be undone.")


async def act(request: Request, fn: Callable[[dict[str, str]], Done],
              then: Callable[..., HTMLResponse]) -> Response:
    """Run a form action. Done: redirect (303) to the page the form was on, its
    message carried by a one-use cookie, so a reload or a language switch never
    repeats the action. Refused: the page again with the domain's reason."""
    form = await checked_form(request)
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    _ = gettext_for(locale_of(request))
    try:
        done = fn(values)
    except DomainError as exc:
        return then(errors=[localised(exc, _)], status_code=exc.status_code)
    if isinstance(done, ShownOnce):
        return then(messages=[done])
    message, args = done if isinstance(done, tuple) else (done, {})
    response = redirect(request, form_page(request, values.get("_page")))
    flash(request, response, message, args)
    return response
