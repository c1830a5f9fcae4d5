"""How the ledger uses its tile store: layout, batching, round trips, stale writers."""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Mapping, Sequence

import pytest

from parcelguard.ledger.merkle import (
    MerkleLog,
    append,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root,
    verify_consistency,
    verify_inclusion,
)
from parcelguard.ledger.tiles import (
    HASH_SIZE,
    InMemoryTileStore,
    TileConflictError,
    TileKey,
    TileMissingError,
    edge_tiles,
    tile_width,
    tiles_for_size,
)


class CountingStore:
    """Wraps a store and records every call, tile and byte that crosses it."""

    def __init__(self, inner: InMemoryTileStore) -> None:
        self.inner = inner
        self.reads: list[list[TileKey]] = []
        self.writes: list[list[TileKey]] = []
        self.bytes_read = 0

    def read_tiles(self, keys: Sequence[TileKey]) -> dict[TileKey, bytes]:
        self.reads.append(list(keys))
        got = self.inner.read_tiles(keys)
        self.bytes_read += sum(map(len, got.values()))
        return got

    def write_tiles(self, tiles: Mapping[TileKey, bytes]) -> None:
        self.writes.append(list(tiles))
        self.inner.write_tiles(tiles)

    def reset(self) -> None:
        self.reads.clear()
        self.writes.clear()
        self.bytes_read = 0


def _hashes(n: int, start: int = 0) -> list[bytes]:
    # Cheap distinct leaf hashes: the tree does not care where they came from.
    return [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(start, start + n)]


def _build(hashes: list[bytes], splits: list[int], height: int) -> InMemoryTileStore:
    store = InMemoryTileStore()
    size = 0
    for lo, hi in zip([0, *splits], [*splits, len(hashes)], strict=True):
        size, _ = append(store, size, hashes[lo:hi], height=height)
    assert size == len(hashes)
    return store


@pytest.mark.parametrize("height", [1, 3, 8])
def test_batch_splits_give_identical_tiles_and_roots(height: int) -> None:
    hashes = _hashes(2100)
    whole = _build(hashes, [], height)
    one_by_one = _build(hashes, list(range(1, 2100)), height)
    rng = random.Random(height)
    random_splits = _build(hashes, sorted(rng.sample(range(1, 2100), 40)), height)
    assert whole.tiles == one_by_one.tiles == random_splits.tiles
    assert root(whole, 2100, height=height) == root(one_by_one, 2100, height=height)


def test_tiles_follow_the_tlog_layout() -> None:
    # 2**8 + 2**8 + 5 leaves at height 8: two full bottom tiles, a partial one of 5,
    # and a level-1 tile holding the two complete 256-leaf subtree roots.
    hashes = _hashes(517)
    store = _build(hashes, [100, 300], 8)
    assert sorted(store.tiles) == [TileKey(0, 0), TileKey(0, 1), TileKey(0, 2), TileKey(1, 0)]
    assert store.tiles[TileKey(0, 2)] == b"".join(hashes[512:517])
    assert len(store.tiles[TileKey(1, 0)]) == 2 * HASH_SIZE
    assert store.tiles[TileKey(1, 0)][:HASH_SIZE] == root(store, 256)
    assert store.tiles[TileKey(1, 0)][HASH_SIZE:] == _subtree_root(hashes[256:512])
    assert {k: len(v) // HASH_SIZE for k, v in store.tiles.items()} == dict(tiles_for_size(517))
    assert edge_tiles(517) == [TileKey(0, 2), TileKey(1, 0)]
    assert tile_width(TileKey(0, 2), 517) == 5
    assert tile_width(TileKey(0, 3), 517) == 0


def _subtree_root(hashes: list[bytes]) -> bytes:
    row = hashes
    while len(row) > 1:
        row = [
            hashlib.sha256(b"\x01" + a + b).digest()
            for a, b in zip(row[::2], row[1::2], strict=True)
        ]
    return row[0]


def test_partial_tiles_only_grow_so_old_versions_are_prefixes() -> None:
    store = InMemoryTileStore()
    size, seen = 0, dict[TileKey, bytes]()
    for step in [3, 1, 250, 2, 300]:
        size, _ = append(store, size, _hashes(step, start=size), height=8)
        for key, data in store.tiles.items():
            assert data.startswith(seen.get(key, b""))
            seen[key] = data


def test_append_is_one_read_and_one_write_of_edge_tiles_only() -> None:
    height = 4
    counting = CountingStore(InMemoryTileStore())
    size, _ = append(counting, 0, _hashes(100_003), height=height)
    counting.reset()
    size, _ = append(counting, size, _hashes(5000, start=size), height=height)
    assert len(counting.reads) == 1
    assert len(counting.writes) == 1
    levels = math.ceil(math.log2(size) / height)
    assert len(counting.reads[0]) <= levels
    # every partial edge tile is read; nothing else is
    assert set(edge_tiles(100_003, height)) <= set(counting.reads[0])
    assert counting.bytes_read <= levels * (1 << height) * HASH_SIZE


@pytest.mark.parametrize("size", [1000, 150_001])
def test_proofs_read_logarithmically_many_tiles_in_one_call(size: int) -> None:
    height = 4
    counting = CountingStore(InMemoryTileStore())
    size, tree_root = append(counting, 0, _hashes(size), height=height)
    tile_levels = math.ceil(math.log2(size) / height)
    # a proof needs at most the tile along the leaf's path and the right-edge tile
    # on each tile level
    bound_tiles = 2 * tile_levels
    bound_bytes = bound_tiles * (1 << height) * HASH_SIZE
    rng = random.Random(size)
    for _ in range(20):
        index, old = rng.randrange(size), rng.randint(1, size)
        counting.reset()
        proof = inclusion_proof(counting, index, size, height=height)
        assert len(counting.reads) == 1
        assert len(counting.reads[0]) <= bound_tiles
        assert counting.bytes_read <= bound_bytes
        assert verify_inclusion(_hashes(1, start=index)[0], index, size, proof, tree_root)

        counting.reset()
        old_root = root(counting, old, height=height)
        assert len(counting.reads) == 1
        assert len(counting.reads[0]) <= bound_tiles

        counting.reset()
        proof = consistency_proof(counting, old, size, height=height)
        assert len(counting.reads) <= 1
        assert len(counting.reads[0] if counting.reads else []) <= 2 * bound_tiles
        assert verify_consistency(old, size, old_root, tree_root, proof)


def test_append_with_a_stale_size_refuses_to_overwrite() -> None:
    store = InMemoryTileStore()
    size, _ = append(store, 0, _hashes(300))
    before = dict(store.tiles)
    # Another writer appended; we still believe the log has 300 leaves, or 256 (where
    # the edge tile the stale writer would start does exist already).
    append(store, size, _hashes(10, start=300))
    with pytest.raises(TileConflictError):
        append(store, 300, _hashes(1, start=999))
    with pytest.raises(TileConflictError):
        append(store, 256, _hashes(1, start=999))
    assert all(store.tiles[k].startswith(v) for k, v in before.items())


def test_a_size_larger_than_the_store_is_refused() -> None:
    store = InMemoryTileStore()
    append(store, 0, _hashes(300))
    with pytest.raises(TileMissingError):
        root(store, 600)
    with pytest.raises(TileMissingError):
        inclusion_proof(store, 0, 600)
    with pytest.raises(TileMissingError):
        append(store, 310, _hashes(1))


def test_append_rejects_malformed_hashes_and_writes_nothing() -> None:
    store = InMemoryTileStore()
    with pytest.raises(ValueError, match="32 bytes"):
        append(store, 0, [b"\x00" * 32, b"\x00" * 31])
    assert store.tiles == {}


def test_empty_append_returns_the_current_root() -> None:
    log = MerkleLog(InMemoryTileStore(), height=2)
    first = log.append_leaves([b"a", b"b", b"c"])
    assert log.append([]) == first
    assert log.size == 3
    assert log.root() == first
    with pytest.raises(ValueError, match="outside"):
        log.root(4)
    assert log.inclusion_proof(2) == [
        hashlib.sha256(b"\x01" + leaf_hash(b"a") + leaf_hash(b"b")).digest()
    ]
