"""Full recomputation of a log from its leaf bytes: the auditor behind ``ledger verify``.

Proofs trust the stored tiles; an audit trusts nothing but the leaves. It rebuilds
every hash the tiles should hold, compares each with the stored one as soon as it is
complete, and names the first leaf index where the two disagree, together with the
root the leaves really produce (to compare with the last signed checkpoint).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice

from parcelguard.ledger.merkle import EMPTY_ROOT, fold_roots, pair_up
from parcelguard.ledger.tiles import (
    DEFAULT_HEIGHT,
    HASH_SIZE,
    TileKey,
    TileStore,
    check_height,
)

# Leaves are read and tiles fetched in blocks of this many bottom tiles (16,384 leaves at
# height 8): one read_tiles round trip per block, memory bounded by one block.
AUDIT_BLOCK_TILES = 64


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A stored hash that disagrees with the one recomputed from the leaves."""

    level: int  # tree level of the hash: 0 is the leaf hash
    index: int  # its index on that level
    reason: str

    @property
    def first_leaf(self) -> int:
        """The first leaf under the disagreeing hash: the index an auditor reports."""
        return self.index << self.level


@dataclass(frozen=True, slots=True)
class AuditReport:
    """What a full recomputation of a log found."""

    leaves: int  # leaves read (less than the expected size if some were missing)
    root: bytes  # MTH recomputed from the leaves read
    first_bad: Mismatch | None
    # Stored hashes that disagree (a changed leaf also counts for its stored ancestors),
    # plus missing leaves and one for any surplus.
    mismatches: int

    @property
    def ok(self) -> bool:
        return self.first_bad is None

    @property
    def first_bad_index(self) -> int | None:
        return None if self.first_bad is None else self.first_bad.first_leaf


class _Findings:
    """Counts mismatches and keeps the first one found, which names the first bad index.

    Hashes are checked in leaf order: each leaf hash as its leaf is read, each stored
    subtree hash as soon as its last leaf is read. A finding on a subtree over leaves
    [s, e) therefore comes after every finding on leaves below e. An earlier finding
    inside [s, e) explains it (a changed leaf changes every recomputed ancestor); an
    earlier one before s is smaller anyway; with none, s is the first bad index (a
    corrupted stored hash over intact leaves). So the first finding is the answer.
    """

    def __init__(self) -> None:
        self.first: Mismatch | None = None
        self.count = 0

    def add(self, level: int, index: int, reason: str) -> None:
        self.count += 1
        if self.first is None:
            self.first = Mismatch(level, index, reason)

    def compare(
        self, level: int, first_index: int, stored: bytes | None, row: list[bytes], mask: int
    ) -> None:
        """Compare computed hashes ``first_index``.. of ``level`` with their stored tile."""
        start = (first_index & mask) * HASH_SIZE
        want = b"".join(row)
        have = (stored or b"")[start : start + len(want)]
        if have == want:
            return
        for i, computed in enumerate(row):
            got = have[i * HASH_SIZE : (i + 1) * HASH_SIZE]
            if got != computed:
                reason = "stored hash missing" if len(got) < HASH_SIZE else "stored hash differs"
                self.add(level, first_index + i, reason)


def _audit_tile_keys(start: int, end: int, height: int) -> list[TileKey]:
    """Tiles holding the hashes that become complete as leaves [start, end) are added."""
    keys: list[TileKey] = []
    level = 0
    while (hi := end >> (level * height)) > (lo := start >> (level * height)):
        keys.extend(TileKey(level, n) for n in range(lo >> height, ((hi - 1) >> height) + 1))
        level += 1
    return keys


def audit(
    store: TileStore,
    size: int,
    leaves: Iterable[bytes],
    *,
    height: int = DEFAULT_HEIGHT,
) -> AuditReport:
    """Recompute a log of ``size`` leaves from its leaf bytes and check every stored hash.

    Streams: memory holds one block of leaves and one open tile row per tile level.
    Reports the root recomputed from the leaves (compare it with the signed checkpoint)
    and the first bad leaf index: the smallest leaf index whose stored leaf hash
    disagrees, or the first leaf under a stored subtree hash that disagrees although
    its leaves agree, whichever comes first. Missing leaves are reported at the first
    missing index, surplus ones at ``size``.
    """
    check_height(height)
    width = 1 << height
    mask = width - 1
    sha = hashlib.sha256
    findings = _Findings()
    rows: list[list[bytes]] = [[]]  # rows[L]: hashes of the open tile at tile level L
    it = iter(leaves)
    done = 0
    while done < size:
        block = list(islice(it, min(size - done, AUDIT_BLOCK_TILES * width)))
        if not block:
            findings.add(0, done, "leaf missing")
            findings.count += size - done - 1
            break
        tiles = store.read_tiles(_audit_tile_keys(done, done + len(block), height))
        for offset in range(0, len(block), width):
            start = done + offset
            row = [sha(b"\x00" + data).digest() for data in block[offset : offset + width]]
            findings.compare(0, start, tiles.get(TileKey(0, start >> height)), row, mask)
            rows[0] = row
            end = start + len(row)
            level = 0
            while len(rows[level]) == width:  # a tile is complete: its root goes up a level
                node = rows[level]
                for _ in range(height):
                    node = pair_up(node)
                rows[level] = []
                level += 1
                if level == len(rows):
                    rows.append([])
                index = (end >> (level * height)) - 1
                stored = tiles.get(TileKey(level, index >> height))
                findings.compare(level * height, index, stored, node, mask)
                rows[level].append(node[0])
        done += len(block)
    else:
        if next(it, None) is not None:
            findings.add(0, size, "leaf beyond the log size")

    frontier = []
    for open_row in rows:
        row = open_row
        for _ in range(height):
            if len(row) & 1:
                frontier.append(row[-1])
            row = pair_up(row)
    return AuditReport(
        leaves=done,
        root=fold_roots(frontier[::-1]) if frontier else EMPTY_ROOT,
        first_bad=findings.first,
        mismatches=findings.count,
    )
