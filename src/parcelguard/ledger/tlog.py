"""An enterprise's ledger published as a C2SP tlog-tiles log.

https://c2sp.org/tlog-tiles serves a Merkle log as static files any HTTP cache can
hold::

    <prefix>/checkpoint                   the signed checkpoint (c2sp.org/tlog-checkpoint),
                                          with the witnesses' cosignature lines
    <prefix>/tile/<L>/<N>[.p/<W>]         256 hashes of tree level 8*L (W if partial)
    <prefix>/tile/entries/<N>[.p/<W>]     the leaves under level-0 tile N, each
                                          preceded by its length (big-endian uint16)

The stored tiles (ledger/tiles.py, height 8) already are these tiles byte for byte, so
serving one is one primary-key read; a partial tile of width W is the first W hashes of
the stored tile (stored tiles only grow, so every older width stays servable). The
entries are the ledger's leaves as stored: the canonical JSON of a contract event,
which holds ids and never PI (ledger/contract.py refuses phone and ID numbers as ids).

A full tile or bundle never changes and is served ``immutable``; a partial one and the
checkpoint may be superseded and are cached for seconds. Leaves archived by retention
are pruned in the tlog-tiles sense: their bundles answer 404, their tiles stay.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterable, Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.core.clock import Clock
from parcelguard.core.errors import NotFound
from parcelguard.core.http import SessionDep
from parcelguard.ledger.cosign import parse_line
from parcelguard.ledger.models import LedgerCheckpoint, LedgerCosignature, LedgerEvent
from parcelguard.ledger.signing import KeyWrapper, SignedCheckpoint, checkpoint, log_size
from parcelguard.ledger.store import SqlTileStore
from parcelguard.ledger.tiles import DEFAULT_HEIGHT, HASH_SIZE, TileKey, tile_width

WIDTH = 1 << DEFAULT_HEIGHT  # 256: tlog-tiles fixes the tile height at 8
MAX_ENTRY = 0xFFFF  # an entry's length is a uint16
MAX_LEVEL = 63

IMMUTABLE = "public, max-age=31536000, immutable"
# A partial tile is replaced by a wider one within a checkpoint period; the checkpoint
# itself must not be cached "beyond a few seconds" (tlog-tiles).
SHORT = "public, max-age=5"
CHECKPOINT_CACHE = "no-cache"

_LEVEL = re.compile(r"0|[1-9][0-9]?")
_WIDTH = re.compile(r"[1-9][0-9]{0,2}")
_ELEM = re.compile(r"[0-9]{3}")


class Pruned(NotFound):
    """The entries asked for were archived (retention): pruned from the published log."""

    code = "pruned"


# --- paths -----------------------------------------------------------------------------


def encode_index(index: int) -> str:
    """N as zero-padded 3-digit path elements, all but the last prefixed with ``x``."""
    if index < 0:
        raise ValueError("tile index must not be negative")
    elems = []
    while True:
        index, rest = divmod(index, 1000)
        elems.append(f"{rest:03d}")
        if not index:
            break
    elems.reverse()
    return "/".join([f"x{e}" for e in elems[:-1]] + elems[-1:])


def tile_path(level: int | None, index: int, width: int | None = None) -> str:
    """The path below the prefix of a tile (``level`` None: an entry bundle)."""
    head = "tile/entries" if level is None else f"tile/{level}"
    tail = "" if width is None or width == WIDTH else f".p/{width}"
    return f"{head}/{encode_index(index)}{tail}"


def parse_tile_path(path: str) -> tuple[int | None, int, int | None]:
    """(level or None for entries, index, width or None for full) of ``<L>/<N>[.p/<W>]``
    (the part after ``tile/``). Only the canonical spelling is accepted: one resource,
    one URL, which is what makes the responses cacheable. ValueError otherwise."""
    parts = path.split("/")
    width: int | None = None
    if len(parts) >= 3 and parts[-2].endswith(".p"):
        if not _WIDTH.fullmatch(parts[-1]) or int(parts[-1]) >= WIDTH:
            raise ValueError("bad partial width")
        width = int(parts[-1])
        parts = [*parts[:-2], parts[-2][:-2]]
    if len(parts) < 2:
        raise ValueError("bad tile path")
    level_text, elems = parts[0], parts[1:]
    if level_text == "entries":
        level = None
    elif _LEVEL.fullmatch(level_text) and int(level_text) <= MAX_LEVEL:
        level = int(level_text)
    else:
        raise ValueError("bad tile level")
    if not all(e.startswith("x") and _ELEM.fullmatch(e[1:]) for e in elems[:-1]) \
            or not _ELEM.fullmatch(elems[-1]):
        raise ValueError("bad tile index")
    index = int("".join(e.lstrip("x") for e in elems))
    if encode_index(index) != "/".join(elems):  # leading zero elements (x000/001)
        raise ValueError("non-canonical tile index")
    return level, index, width


# --- entry bundles ---------------------------------------------------------------------


def bundle(entries: Iterable[bytes]) -> bytes:
    """An entry bundle: each entry preceded by its length as a big-endian uint16."""
    out = bytearray()
    for entry in entries:
        if len(entry) > MAX_ENTRY:
            raise ValueError(f"an entry of {len(entry)} bytes does not fit a bundle")
        out += struct.pack(">H", len(entry))
        out += entry
    return bytes(out)


def unbundle(data: bytes) -> list[bytes]:
    """The entries of a bundle; ValueError if it is truncated."""
    entries = []
    pos, end = 0, len(data)
    while pos < end:
        if pos + 2 > end:
            raise ValueError("truncated entry bundle")
        (n,) = struct.unpack_from(">H", data, pos)
        pos += 2
        if pos + n > end:
            raise ValueError("truncated entry bundle")
        entries.append(data[pos:pos + n])
        pos += n
    return entries


# --- reading what is served ------------------------------------------------------------


def _width(size: int, level: int, index: int, width: int | None) -> int:
    """The number of hashes (or entries) to serve, NotFound if the log has not got them.

    A full tile exists once the log covers it; a partial one for any width the log has
    passed through (tlog-tiles: at least the widths of checkpointed sizes)."""
    have = tile_width(TileKey(level, index), size, DEFAULT_HEIGHT)
    want = WIDTH if width is None else width
    if want > have:
        raise NotFound("no such tile in this log")
    return want


def read_tile(session: Session, enterprise_id: str, level: int, index: int,
              width: int | None) -> bytes:
    """The bytes of hash tile ``<level>/<index>[.p/<width>]`` of an enterprise's log."""
    want = _width(log_size(session, enterprise_id), level, index, width)
    key = TileKey(level, index)
    data = SqlTileStore(session.connection(), enterprise_id).read_tiles([key]).get(key, b"")
    if len(data) < want * HASH_SIZE:
        raise NotFound("tile missing from storage")  # `ledger verify` says why
    return data[:want * HASH_SIZE]


def read_bundle(session: Session, enterprise_id: str, index: int, width: int | None) -> bytes:
    """The entry bundle ``entries/<index>[.p/<width>]`` of an enterprise's log."""
    want = _width(log_size(session, enterprise_id), 0, index, width)
    start = index * WIDTH
    leaves = session.scalars(
        select(LedgerEvent.leaf)
        .where(LedgerEvent.enterprise_id == enterprise_id, LedgerEvent.seq >= start,
               LedgerEvent.seq < start + want)
        .order_by(LedgerEvent.seq)).all()
    if len(leaves) != want:
        raise Pruned("these entries were archived: the log is pruned below them")
    return bundle(bytes(leaf) for leaf in leaves)


def published_checkpoint(session: Session, enterprise_id: str) -> str:
    """The newest signed checkpoint with every cosignature collected for it."""
    row = session.scalars(select(LedgerCheckpoint)
                          .where(LedgerCheckpoint.enterprise_id == enterprise_id)
                          .order_by(LedgerCheckpoint.id.desc()).limit(1)).first()
    if row is None:
        raise NotFound(f"enterprise {enterprise_id} has published no checkpoint")
    lines = session.scalars(select(LedgerCosignature.line)
                            .where(LedgerCosignature.checkpoint_id == row.id)
                            .order_by(LedgerCosignature.witness)).all()
    return row.note + "".join(lines)


def publish_checkpoint(session: Session, enterprise_id: str, *, kms: KeyWrapper,
                       clock: Clock) -> tuple[int, SignedCheckpoint]:
    """Sign the log as it stands (recorded once per size and root) and return the id of
    its ``ledger_checkpoints`` row with it: the row cosignatures attach to."""
    signed = checkpoint(session, enterprise_id, kms=kms, clock=clock)
    row_id = session.scalar(select(LedgerCheckpoint.id)
                            .where(LedgerCheckpoint.enterprise_id == enterprise_id,
                                   LedgerCheckpoint.size == signed.size,
                                   LedgerCheckpoint.root == signed.root)
                            .order_by(LedgerCheckpoint.id.desc()).limit(1))
    assert row_id is not None  # checkpoint() records every new (size, root)
    return int(row_id), signed


def add_cosignatures(session: Session, checkpoint_id: int, lines: Sequence[str]) -> int:
    """Attach checked cosignature lines to a checkpoint (one per witness; a newer line
    from the same witness replaces the older). Returns how many were stored."""
    stored = 0
    for line in lines:
        parsed = parse_line(line)
        if parsed is None:
            raise ValueError("not a cosignature/v1 line")
        name, _, timestamp, _ = parsed
        row = session.get(LedgerCosignature, (checkpoint_id, name))
        text = line if line.endswith("\n") else line + "\n"
        if row is None:
            session.add(LedgerCosignature(checkpoint_id=checkpoint_id, witness=name,
                                          line=text, signed_at=timestamp))
        elif timestamp >= row.signed_at:
            row.line, row.signed_at = text, timestamp
        stored += 1
    session.flush()
    return stored


# --- HTTP ------------------------------------------------------------------------------

EnterpriseResolver = Callable[[Request], str]


def enterprise_from_path(request: Request) -> str:
    """The default resolver: the ``{enterprise_id}`` of the prefix."""
    return str(request.path_params["enterprise_id"])


def _enterprise_in_path(enterprise_id: Annotated[str, Path(max_length=64)]) -> None:
    """Only declares ``{enterprise_id}`` of the prefix (a log is public: no check)."""


def tiles_router(prefix: str = "/tlog/{enterprise_id}",
                 enterprise: EnterpriseResolver = enterprise_from_path) -> APIRouter:
    """The tlog-tiles GETs of the logs this app publishes, under ``prefix``.

    ``enterprise`` says whose log a request is for: by default the ``{enterprise_id}``
    of the prefix; a node that publishes one log passes a fixed prefix (``/tlog``) and
    ``lambda _request: its_enterprise_id``. No authentication: the log is public
    (its entries hold no PI) and the responses are meant for caches.
    """
    # a path parameter of the prefix is declared, so the OpenAPI schema names it
    declared = [Depends(_enterprise_in_path)] if "{enterprise_id}" in prefix else []
    router = APIRouter(prefix=prefix, tags=["tlog"], dependencies=declared)

    @router.get("/checkpoint", response_class=Response,
                responses={200: {"content": {"text/plain": {}}}})
    def get_checkpoint(request: Request, session: SessionDep) -> Response:
        """The signed checkpoint (C2SP tlog-checkpoint) with its witness cosignatures."""
        note = published_checkpoint(session, enterprise(request))
        return Response(note, media_type="text/plain; charset=utf-8",
                        headers={"Cache-Control": CHECKPOINT_CACHE})

    @router.get("/tile/{path:path}", response_class=Response,
                responses={200: {"content": {"application/octet-stream": {}}}})
    def get_tile(path: str, request: Request, session: SessionDep) -> Response:
        """A Merkle tile ``<L>/<N>[.p/<W>]`` or entry bundle ``entries/<N>[.p/<W>]``."""
        try:
            level, index, width = parse_tile_path(path)
        except ValueError:
            raise NotFound("no such tile") from None
        ent = enterprise(request)
        data = read_bundle(session, ent, index, width) if level is None \
            else read_tile(session, ent, level, index, width)
        return Response(data, media_type="application/octet-stream",
                        headers={"Cache-Control": IMMUTABLE if width is None else SHORT})

    return router

