"""Tile storage for the Merkle log: the layout, the storage protocol, an in-memory store.

The layout follows golang.org/x/mod/sumdb/tlog. Only hashes of *complete* subtrees are
stored, and only on every ``height``-th tree level: the tile at (level L, index N) holds
the hashes of tree level ``L * height`` with indices ``N * 2**height`` up to
``(N + 1) * 2**height - 1``, concatenated (32 bytes each). The levels in between are
recomputed from the level below when needed (at most ``2**height - 1`` hashes per node),
which keeps storage at about 32 bytes per leaf while any node can be rebuilt from one
tile.

A tile on the right edge is *partial* (fewer than ``2**height`` hashes) and is rewritten
as the log grows. Its existing bytes never change: a later version of a tile always
starts with every earlier version of it. That is why a proof for an old tree size can be
served from the current tiles, and why a store may refuse a write that changes a prefix.

This module does no hashing; merkle.py does the hashing over it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

HASH_SIZE = 32

# 2**8 = 256 hashes = 8 KiB per full tile: small enough that rebuilding a node is cheap
# (< 256 hash calls), large enough that a 10M-leaf log has only three tile levels, so a
# proof touches a handful of rows. The same default as golang.org/x/mod/sumdb.
DEFAULT_HEIGHT = 8

# A tile must fit in one database blob comfortably and 2**height hashes must be
# rebuilt in well under a millisecond; beyond 2**12 (128 KiB) neither holds.
MAX_HEIGHT = 12


@dataclass(frozen=True, slots=True, order=True)
class TileKey:
    """Address of a tile: ``level`` L holds tree level ``L * height``; ``index`` is N."""

    level: int
    index: int


class TileStore(Protocol):
    """Where a log's tiles live. One instance serves one log (one enterprise).

    Both methods are batch calls so that a database implementation makes one round trip
    each: the ledger computes every tile it needs first and asks once.
    """

    def read_tiles(self, keys: Sequence[TileKey]) -> dict[TileKey, bytes]:
        """Return the stored bytes of each requested tile; absent tiles are left out."""
        ...

    def write_tiles(self, tiles: Mapping[TileKey, bytes]) -> None:
        """Insert or replace each tile (an upsert: partial tiles are rewritten)."""
        ...


class InMemoryTileStore:
    """A dict-backed TileStore for tests, benchmarks and the audit's scratch work."""

    def __init__(self) -> None:
        self.tiles: dict[TileKey, bytes] = {}

    def read_tiles(self, keys: Sequence[TileKey]) -> dict[TileKey, bytes]:
        tiles = self.tiles
        return {key: tiles[key] for key in keys if key in tiles}

    def write_tiles(self, tiles: Mapping[TileKey, bytes]) -> None:
        self.tiles.update(tiles)


class TileMissingError(LookupError):
    """A tile the tree size says must exist is absent or shorter than it must be.

    Either the caller passed a size larger than the log, or the store lost or truncated
    data; both mean the log cannot answer and must not guess.
    """

    def __init__(self, key: TileKey, need: int, have: int | None) -> None:
        self.key = key
        self.need = need
        self.have = have
        found = "absent" if have is None else f"holds {have}"
        super().__init__(
            f"tile (level {key.level}, index {key.index}) {found}, needs {need} hashes"
        )


class TileConflictError(RuntimeError):
    """An edge tile already holds more hashes than the tree size the caller passed.

    The caller's size is stale: another writer appended, or the head row and the tiles
    disagree. Appending anyway would overwrite stored hashes, so the append stops.
    """


def check_height(height: int) -> None:
    """Refuse tile heights the layout does not support."""
    if not 1 <= height <= MAX_HEIGHT:
        raise ValueError(f"tile height must be between 1 and {MAX_HEIGHT}, got {height}")


def tile_width(key: TileKey, size: int, height: int = DEFAULT_HEIGHT) -> int:
    """How many hashes tile ``key`` holds in a tree of ``size`` leaves (0 if none)."""
    complete = size >> (key.level * height)
    return max(0, min(1 << height, complete - (key.index << height)))


def tiles_for_size(size: int, height: int = DEFAULT_HEIGHT) -> Iterator[tuple[TileKey, int]]:
    """Every tile of a tree of ``size`` leaves with its width, bottom level first.

    For exports, migrations and store consistency checks; proofs never need them all.
    """
    check_height(height)
    level = 0
    while complete := size >> (level * height):
        full, rest = divmod(complete, 1 << height)
        for index in range(full):
            yield TileKey(level, index), 1 << height
        if rest:
            yield TileKey(level, full), rest
        level += 1


def edge_tiles(size: int, height: int = DEFAULT_HEIGHT) -> list[TileKey]:
    """The partial tiles on the right edge of a tree of ``size`` leaves.

    They hold every hash an append needs from the existing tree (the roots of the
    perfect subtrees along the right edge are rebuilt from them), and they are the only
    existing tiles an append rewrites.
    """
    mask = (1 << height) - 1
    keys = []
    level = 0
    while complete := size >> (level * height):
        if complete & mask:
            keys.append(TileKey(level, complete >> height))
        level += 1
    return keys


def split_hashes(data: bytes, count: int) -> list[bytes]:
    """The first ``count`` 32-byte hashes of a tile's bytes."""
    return [data[i : i + HASH_SIZE] for i in range(0, count * HASH_SIZE, HASH_SIZE)]
