"""The printed privacy waybill: a 100 x 150 mm PDF label (GB/T 41833-2022).

The label carries the waybill number (Code 128 and text), the carrier, origin and
destination station codes, masked sender and recipient name/phone/address, the
virtual number the courier calls, and a QR code holding only an opaque token that
authorised devices resolve. Callers mask before rendering; ``render_label`` checks
again and refuses anything that still looks like full PI, because a label, once
printed, cannot be taken back (labels photographed in bulk are a known leak path).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, Final

from reportlab.graphics.barcode import code128, qrencoder
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas

from parcelguard.waybill.fonts import cjk_font
from parcelguard.waybill.masking import MASK_CHAR, MIN_HIDDEN_DIGITS, mask_address

# The common 100 x 150 mm thermal label stock of Chinese express carriers.
PAGE_SIZE: Final = (100 * mm, 150 * mm)
_MARGIN: Final = 4 * mm
_LATIN_FONT: Final = "Helvetica"
_LATIN_BOLD: Final = "Helvetica-Bold"
# Thermal printers at 203 dpi resolve 0.125 mm dots; bars wider than 0.5 mm waste
# label width without helping scanners.
_MAX_BAR_WIDTH: Final = 0.5 * mm
# A mainland number has at most 12 digits (4-digit area code + 8), so a masked one
# shows at most 12 - 6 digits.
_MAX_VISIBLE_PHONE_DIGITS: Final = 12 - MIN_HIDDEN_DIGITS
# The QR code carries a lookup token, never PI: only URL-safe token characters and
# at least one letter, so a name, an address or a bare phone/ID number cannot slip in.
_TOKEN_RE: Final = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9_~.-]{8,256}")
_CODE128_RE: Final = re.compile(r"[\x20-\x7e]{1,48}")
# ISO/IEC 18004 asks for a 4-module light margin around the symbol.
_QR_QUIET_MODULES: Final = 4


@dataclass(frozen=True, slots=True)
class LabelData:
    """What one privacy waybill shows. Name, phone and address fields are masked."""

    waybill_no: str
    carrier: str
    sender_name: str
    sender_phone: str
    sender_address: str
    recipient_name: str
    recipient_phone: str
    recipient_address: str
    virtual_number: str
    qr_token: str
    origin: str
    destination: str
    printed_at: date


def _refuse(field: str, reason: str) -> ValueError:
    # The message names the field, never its value: the value may be PI.
    return ValueError(f"refusing to print {field}: {reason}")


def _check(data: LabelData) -> None:
    """Refuse a label that would print unmasked PI or an unusable code."""
    for f in fields(data):
        if f.name != "printed_at" and not getattr(data, f.name).strip():
            raise _refuse(f.name, "it is empty")
    for field in ("sender_name", "recipient_name"):
        if MASK_CHAR not in getattr(data, field):
            raise _refuse(field, "no character is masked")
    for field in ("sender_phone", "recipient_phone"):
        value = getattr(data, field)
        visible = sum(ch.isdecimal() for ch in value)
        if value.count(MASK_CHAR) < MIN_HIDDEN_DIGITS or visible > _MAX_VISIBLE_PHONE_DIGITS:
            raise _refuse(field, f"fewer than {MIN_HIDDEN_DIGITS} digits are masked")
    for field in ("sender_address", "recipient_address"):
        value = getattr(data, field)
        # Masking is idempotent, so a masked address comes back unchanged; any
        # difference means a building, unit or room number is still visible.
        if mask_address(value) != " ".join(unicodedata.normalize("NFKC", value).split()):
            raise _refuse(field, "the building, unit or room number is not masked")
    if not _TOKEN_RE.fullmatch(data.qr_token):
        raise _refuse("qr_token", "it must be an opaque URL-safe token (8-256 chars, a letter)")
    if not _CODE128_RE.fullmatch(data.waybill_no):
        raise _refuse("waybill_no", "Code 128 needs 1-48 printable ASCII characters")


@dataclass(frozen=True, slots=True)
class _Pen:
    """The canvas and the CJK font this label is set in."""

    c: Any
    cjk: str

    def font_for(self, text: str, *, bold: bool = False) -> str:
        # Helvetica only encodes Latin-1; anything else goes through the CJK font.
        if text.isascii():
            return _LATIN_BOLD if bold else _LATIN_FONT
        return self.cjk


def _text(
    pen: _Pen,
    x: float,
    y: float,
    text: str,
    size: float,
    *,
    bold: bool = False,
    max_width: float | None = None,
) -> None:
    """Draw one line, shrinking the font so it never runs past ``max_width``."""
    font = pen.font_for(text, bold=bold)
    room = PAGE_SIZE[0] - _MARGIN - x if max_width is None else max_width
    natural = pdfmetrics.stringWidth(text, font, size)
    pen.c.setFont(font, size * min(1.0, room / natural) if natural else size)
    pen.c.drawString(x, y, text)


def _wrap(text: str, font: str, size: float, width: float, max_lines: int) -> list[str]:
    """Greedy wrap: at a space when the line has one (Latin), else at any character
    (Chinese has no spaces); an ellipsis marks text cut off after ``max_lines``."""
    lines: list[str] = []
    line = ""
    for ch in text:
        if line and pdfmetrics.stringWidth(line + ch, font, size) > width:
            head, space, tail = line.rpartition(" ")
            if space and head:
                lines.append(head)
                line = tail
            else:
                lines.append(line)
                line = ""
        line += ch
    if line:
        lines.append(line)
    lines = [part.strip() for part in lines]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        # "…" would switch an ASCII line to the CJK font; "..." keeps it in Helvetica.
        lines[-1] = lines[-1][:-1] + ("..." if font in (_LATIN_FONT, _LATIN_BOLD) else "…")
    return lines


def _rule(c: Any, y: float) -> None:
    c.line(_MARGIN / 2, y, PAGE_SIZE[0] - _MARGIN / 2, y)


_PARTY_TAGS: Final = {"recipient": "收", "sender": "寄"}


def _party(pen: _Pen, data: LabelData, party: str, *, top: float, size: float) -> None:
    """One recipient/sender block: a boxed tag, then name + phone, then the address."""
    name, phone, address = (getattr(data, f"{party}_{f}") for f in ("name", "phone", "address"))
    left = _MARGIN
    pen.c.rect(left, top - 9 * mm, 8 * mm, 8 * mm)
    _text(pen, left + 1.6 * mm, top - 7 * mm, _PARTY_TAGS[party], 14)
    x = left + 10 * mm
    _text(pen, x, top - 4.5 * mm, f"{name}  {phone}", size + 1)
    width = PAGE_SIZE[0] - x - _MARGIN
    font = pen.font_for(address)
    y = top - 4.5 * mm - (size + 3)
    for line in _wrap(address, font, size, width, max_lines=3):
        _text(pen, x, y, line, size)
        y -= size + 2


def _barcode(c: Any, value: str, *, y: float, height: float) -> None:
    # Fit the symbol to the label width: measure its module count at bar width 1.
    modules = code128.Code128(value, barWidth=1, quiet=False).width
    available = PAGE_SIZE[0] - 2 * _MARGIN - 8 * mm  # keep quiet zones either side
    bar_width = min(available / modules, _MAX_BAR_WIDTH)
    symbol = code128.Code128(
        value, barWidth=bar_width, barHeight=height, quiet=False, humanReadable=False
    )
    symbol.drawOn(c, (PAGE_SIZE[0] - symbol.width) / 2, y)


def _qr(c: Any, token: str, *, x: float, y: float, size: float) -> None:
    # Modules are drawn straight onto the canvas, one rectangle per dark run of a
    # row: the graphics-widget route builds a validated shape object per module and
    # took most of a label's rendering time.
    code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    code.addData(token)
    code.make()
    n = code.getModuleCount()
    module = size / (n + 2 * _QR_QUIET_MODULES)
    c.saveState()
    c.setFillColorRGB(0, 0, 0)
    for row in range(n):
        top = y + size - (_QR_QUIET_MODULES + row + 1) * module
        col = 0
        while col < n:
            if not code.isDark(row, col):
                col += 1
                continue
            start = col
            while col < n and code.isDark(row, col):
                col += 1
            c.rect(x + (_QR_QUIET_MODULES + start) * module, top, (col - start) * module,
                   module, stroke=0, fill=1)
    c.restoreState()


def render_label(data: LabelData, out: Path | BinaryIO, *, font_path: Path | None = None) -> None:
    """Render one 100 x 150 mm privacy waybill as PDF to a path or a binary stream.

    Chinese text is set in an embedded TrueType subset (``fonts.cjk_font``; pass
    ``font_path`` to choose the file). Raises ValueError, naming the field but not
    its value, when a name has no masked character, a phone has fewer than 6 masked
    digits, an address still shows its building/unit/room number, or the QR token
    or waybill number is unusable.
    """
    _check(data)
    cjk = cjk_font(font_path).name
    width, height = PAGE_SIZE
    # invariant=1: no timestamp or random id in the file, so a reprint is
    # byte-identical and one hash identifies a label in the access ledger.
    c = canvas.Canvas(str(out) if isinstance(out, Path) else out, pagesize=PAGE_SIZE, invariant=1)
    # Document metadata travels with the file: keep it free of PI.
    c.setTitle("privacy waybill")
    c.setCreator("parcelguard")
    c.setLineWidth(0.8)
    c.rect(_MARGIN / 2, _MARGIN / 2, width - _MARGIN, height - _MARGIN)
    pen = _Pen(c, cjk)

    # Header: carrier, privacy-waybill mark, printed date.
    top = height - _MARGIN
    _text(pen, _MARGIN, top - 7 * mm, data.carrier, 16, bold=True, max_width=width - 40 * mm)
    _text(pen, width - _MARGIN - 28 * mm, top - 4 * mm, "隐私面单", 9)
    _text(pen, width - _MARGIN - 28 * mm, top - 8 * mm, data.printed_at.strftime("%Y-%m-%d"), 8)
    _rule(c, top - 10 * mm)

    # Waybill number: barcode for scanners, text for people.
    _barcode(c, data.waybill_no, y=top - 30 * mm, height=18 * mm)
    c.setFont(_LATIN_BOLD, 11)
    c.drawCentredString(width / 2, top - 35 * mm, data.waybill_no)
    _rule(c, top - 38 * mm)

    # Routing: origin and destination station codes, large for sorting.
    _text(pen, _MARGIN, top - 46 * mm, data.origin, 16, bold=True)
    _text(pen, width / 2 - 8 * mm, top - 46 * mm, "→", 16)
    _text(pen, width / 2, top - 46 * mm, data.destination, 20, bold=True)
    _rule(c, top - 50 * mm)

    _party(pen, data, "recipient", top=top - 51 * mm, size=10)
    _rule(c, top - 77 * mm)
    _party(pen, data, "sender", top=top - 78 * mm, size=8)
    _rule(c, top - 100 * mm)

    # Footer: the virtual number to call and the QR token for authorised devices.
    qr_size = 30 * mm
    _text(pen, _MARGIN, top - 107 * mm, "虚拟号", 9)
    _text(pen, _MARGIN, top - 113 * mm, data.virtual_number, 11, bold=True)
    _text(pen, _MARGIN, top - 120 * mm, "号码已隐私保护，请拨打虚拟号联系", 7)
    _text(pen, _MARGIN, top - 124 * mm, "GB/T 41833-2022", 7)
    _qr(c, data.qr_token, x=width - _MARGIN - qr_size, y=_MARGIN, size=qr_size)

    c.showPage()
    c.save()
