"""Languages of the portals: zh-CN and English, from Babel message catalogs.

The catalogs are the ``.po`` files under ``locale/`` (English msgids, Chinese
translations). They are compiled in memory at first use, so a fresh checkout or
``pip install -e .`` needs no build step and there is no ``.mo`` to forget to
regenerate. The language comes from ``?lang=``, then the ``pg_lang`` cookie, then
``Accept-Language``, then the configured default.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Final

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from parcelguard.core.errors import DomainError

LOCALES: Final = ("zh-CN", "en")
LANG_COOKIE: Final = "pg_lang"
_DIR = Path(__file__).parent / "locale"


def babel_name(locale: str) -> str:
    """zh-CN -> zh_CN (Babel's and gettext's spelling)."""
    return locale.replace("-", "_")


@cache
def translations(locale: str) -> gettext.NullTranslations:
    """The compiled catalog of ``locale``; English falls back to the msgids."""
    po = _DIR / babel_name(locale) / "LC_MESSAGES" / "messages.po"
    if not po.is_file():
        return gettext.NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=babel_name(locale))
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


@cache
def known_msgids() -> frozenset[str]:
    """Every msgid of the catalogs (both list the same ones)."""
    po = _DIR / "en" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as f:
        return frozenset(str(m.id) for m in read_po(f, locale="en") if m.id)


def gettext_for(locale: str) -> Callable[..., str]:
    """``_("text", name=value)``: translate, then fill ``%(name)s`` placeholders."""
    tr = translations(locale)

    def _(message: str, **values: object) -> str:
        text = tr.gettext(message)
        return text % values if values else text

    return _


def localised(exc: DomainError, _: Callable[..., str]) -> str:
    """A domain error's message in the page's language: its fixed text translated and
    its values filled in (``DomainError.of``), or the whole message as a msgid."""
    if exc.template is not None:
        return _(exc.template, **exc.values)
    return _(exc.message)


def supported(value: str | None) -> str | None:
    """The supported locale a tag names (zh, zh-CN, zh_Hans_CN -> zh-CN; en-GB -> en)."""
    if not value:
        return None
    tag = value.strip().replace("_", "-").lower()
    if tag.startswith("zh"):
        return "zh-CN"
    if tag.startswith("en"):
        return "en"
    return None


def negotiate(query: str | None, cookie: str | None, accept: str | None,
              default: str) -> str:
    for candidate in (query, cookie):
        found = supported(candidate)
        if found:
            return found
    if accept:
        # q-values are rarely anything but descending; first supported wins.
        for part in accept.split(","):
            found = supported(part.split(";")[0])
            if found:
                return found
    return default


@cache
def babel_locale(locale: str) -> Locale:
    return Locale.parse(babel_name(locale))
