"""The CJK font a printed label embeds.

A label is printed on machines we do not control (station PCs, thermal-printer
drivers, a partner's viewer). reportlab's built-in STSong-Light is a *CID font
reference*: the PDF names the font and relies on the viewer having it, and viewers
without Adobe's Asian font packs draw the Chinese text blank or as boxes. So labels
embed a subset of a real TrueType CJK font (only the glyphs used, a few KB).

Where the font comes from, first hit wins:

1. an explicit path (``PARCELGUARD_WAYBILL__LABEL_FONT_PATH``);
2. WenQuanYi Micro Hei vendored in ``font_data/`` (Apache-2.0, see ``COPYRIGHT`` and
   ``LICENSE-Apache-2.0`` there): the file of Debian's ``fonts-wqy-microhei``
   0.2.0-beta-3.1, pinned by its SHA-256 below, so a fresh ``pip install`` is enough
   and nobody has to trust a third party's repackaging. A file that does not match
   the pin is not used;
3. system TrueType CJK fonts (Debian/Ubuntu paths).

Only TrueType outlines work: reportlab cannot embed CFF-based OpenType such as
Noto Sans CJK ``.otf``; those are skipped. When nothing is found the label falls
back to STSong-Light and ``LabelFont.embedded`` says so, so callers can warn.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont

CID_FALLBACK: Final = "STSong-Light"  # ships with reportlab; not embedded
_VENDORED: Final = Path(__file__).with_name("font_data") / "wqy-microhei.ttc"
# sha256 of wqy-microhei.ttc in Debian bookworm's fonts-wqy-microhei_0.2.0-beta-3.1_all.deb
_VENDORED_SHA256: Final = "2420e8078af796b19a3f6ef13de527a1a91c1e7171eea115926c614ced1009b3"
_SYSTEM: Final = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
    Path("/usr/share/fonts/truetype/arphic/uming.ttc"),
)


@dataclass(frozen=True, slots=True)
class LabelFont:
    """The font Chinese text on a label is set in."""

    name: str  # the reportlab font name
    embedded: bool  # False: the STSong-Light fallback, blank on viewers without it
    source: str  # the font file, or the fallback's name


def _packaged() -> list[Path]:
    """The vendored font, if present and exactly the pinned file."""
    try:
        digest = hashlib.sha256(_VENDORED.read_bytes()).hexdigest()
    except OSError:
        return []
    return [_VENDORED] if digest == _VENDORED_SHA256 else []


def _register(path: Path) -> LabelFont | None:
    if not path.is_file():
        return None
    # One registry name per file: reportlab's font registry is process-global.
    name = "PGCJK-" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]
    if name not in pdfmetrics.getRegisteredFontNames():
        try:
            # subfontIndex 0: in a .ttc collection the proportional face comes first.
            pdfmetrics.registerFont(TTFont(name, str(path), subfontIndex=0))
        except (TTFError, OSError):
            return None  # CFF outlines, a broken file: try the next candidate
    return LabelFont(name=name, embedded=True, source=str(path))


@lru_cache(maxsize=8)
def cjk_font(path: Path | None = None) -> LabelFont:
    """The CJK font for labels: ``path`` if given (ValueError if unusable), else the
    packaged or a system TrueType font, else the non-embedded STSong-Light fallback."""
    if path is not None:
        chosen = _register(path)
        if chosen is None:
            # A configured font that cannot be used is a setup error, not a reason to
            # print with another font silently.
            raise ValueError(f"label font {path} is missing or not a TrueType font "
                             "reportlab can embed (CFF/.otf fonts are not supported)")
        return chosen
    for candidate in _packaged() + list(_SYSTEM):
        font = _register(candidate)
        if font is not None:
            return font
    if CID_FALLBACK not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CID_FALLBACK))
    return LabelFont(name=CID_FALLBACK, embedded=False, source=CID_FALLBACK)


def fontconfig_file(directory: Path) -> Path:
    """A fontconfig file (written into ``directory``) that adds the vendored CJK font's
    folder to the system's fonts, for a headless browser rendering Chinese pages on a
    machine without CJK fonts: launch it with ``FONTCONFIG_FILE`` set to this path and
    screenshots show Chinese, not boxes. The font cache goes into ``directory`` too."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "fonts.conf"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
        "<fontconfig>\n"
        '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n'
        f"  <dir>{_VENDORED.parent.resolve()}</dir>\n"
        f"  <cachedir>{(directory / 'cache').resolve()}</cachedir>\n"
        "</fontconfig>\n", encoding="utf-8")
    return path
