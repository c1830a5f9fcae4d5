"""Read the text a reportlab PDF draws, the way a viewer does.

reportlab compresses content streams (ASCII85 + Flate) and sets Chinese text in an
embedded TrueType subset whose codes mean nothing without the font's ToUnicode
map, so a byte search for PI in the file would pass vacuously. This decodes every
``Tj`` string through its font: ToUnicode maps for subsets, UTF-16BE for CID fonts,
Latin-1 for the standard fonts.
"""

from __future__ import annotations

import base64
import re
import zlib

_OBJ = re.compile(rb"(\d+) 0 obj(.*?)endobj", re.S)


def _decode_stream(head: bytes, body: bytes) -> bytes:
    if b"/ASCII85Decode" in head:
        body = base64.a85decode(body.strip().removesuffix(b"~>"))
    if b"/FlateDecode" in head:
        body = zlib.decompress(body)
    return body


def _objects(pdf: bytes) -> dict[int, tuple[bytes, bytes | None]]:
    out: dict[int, tuple[bytes, bytes | None]] = {}
    for m in _OBJ.finditer(pdf):
        body = m.group(2)
        s = re.search(rb"(<<.*?>>)\s*stream\r?\n(.*?)endstream", body, re.S)
        out[int(m.group(1))] = (s.group(1), _decode_stream(s.group(1), s.group(2))) if s \
            else (body, None)
    return out


def _unescape(literal: bytes) -> bytes:
    """Undo PDF string-literal escapes (\\n, \\(, \\ddd ...)."""
    simple = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}

    def one(m: re.Match[bytes]) -> bytes:
        esc = m.group(1)
        if esc[:1].isdigit():
            return bytes([int(esc, 8) & 0xFF])
        return simple.get(esc, esc)

    return re.sub(rb"\\([0-7]{1,3}|.)", one, literal, flags=re.S)


def _cmap(stream: bytes) -> dict[int, str]:
    table: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", stream, re.S):
        for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            table[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", stream, re.S):
        for lo, hi, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>",
                                      block):
            first = int(dst, 16)
            for i, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                table[code] = chr(first + i)
    return table


def page_text(pdf: bytes) -> list[str]:
    """Every string drawn on the page, decoded through its font."""
    objs = _objects(pdf)
    decoders: dict[str, object] = {}
    for head, _ in objs.values():
        name = re.search(rb"/Name /(\S+)", head)
        if name is None or b"/Type /Font" not in head:
            continue
        key = name.group(1).decode()
        to_unicode = re.search(rb"/ToUnicode (\d+) 0 R", head)
        if to_unicode is not None:
            stream = objs[int(to_unicode.group(1))][1] or b""
            decoders[key] = _cmap(stream)
        elif b"UCS2" in head:
            decoders[key] = "utf-16-be"
        else:
            decoders[key] = "latin-1"
    texts: list[str] = []
    for head, content in objs.values():
        if content is None or b"/Length1" in head or b"begincmap" in content:
            continue
        font = ""
        for m in re.finditer(rb"/(\S+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\) Tj", content, re.S):
            if m.group(1):
                font = m.group(1).decode()
                continue
            data = _unescape(m.group(2))
            dec = decoders.get(font, "latin-1")
            if isinstance(dec, dict):
                texts.append("".join(dec.get(b, "\ufffd") for b in data))
            else:
                texts.append(data.decode(str(dec)))
    return texts


def embedded_fonts(pdf: bytes) -> list[str]:
    """BaseFont names of fonts whose program is embedded in the file."""
    objs = _objects(pdf)
    names = []
    for head, _ in objs.values():
        if b"/FontFile2" in head or b"/FontFile3" in head or b"/FontFile " in head:
            m = re.search(rb"/FontName /(\S+)", head)
            if m:
                names.append(m.group(1).decode())
    return names
