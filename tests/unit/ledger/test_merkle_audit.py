"""Full recomputation of a log: tampering with leaves or tiles is found and located."""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence

import pytest

from parcelguard.ledger import recompute
from parcelguard.ledger.merkle import (
    MerkleLog,
    inclusion_proof,
    leaf_hash,
    verify_inclusion,
)
from parcelguard.ledger.recompute import audit
from parcelguard.ledger.tiles import HASH_SIZE, InMemoryTileStore, TileKey


def _audit(mlog: MerkleLog, leaves: Iterable[bytes]) -> recompute.AuditReport:
    return audit(mlog.store, mlog.size, leaves, height=mlog.height)

HEIGHT = 3  # 8-hash tiles: a 3000-leaf log has four tile levels to corrupt


def _leaves(n: int) -> list[bytes]:
    rng = random.Random(n)
    return [b'{"event":%d,"pad":"%s"}' % (i, rng.randbytes(6).hex().encode()) for i in range(n)]


@pytest.fixture
def log() -> tuple[list[bytes], MerkleLog, bytes]:
    leaves = _leaves(3000)
    log = MerkleLog(InMemoryTileStore(), height=HEIGHT)
    for i in range(0, 3000, 700):
        signed_root = log.append_leaves(leaves[i : i + 700])
    return leaves, log, signed_root


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x40]) + data[at + 1 :]


def _flip_tile_hash(store: InMemoryTileStore, tile_level: int, index: int) -> None:
    """Corrupt the stored hash ``index`` of tree level ``tile_level * HEIGHT``."""
    key = TileKey(tile_level, index >> HEIGHT)
    offset = (index & ((1 << HEIGHT) - 1)) * HASH_SIZE
    store.tiles[key] = _flip(store.tiles[key], offset + 7)


def _store(log: MerkleLog) -> InMemoryTileStore:
    assert isinstance(log.store, InMemoryTileStore)
    return log.store


def test_an_intact_log_recomputes_to_its_signed_root(
    log: tuple[list[bytes], MerkleLog, bytes],
) -> None:
    leaves, mlog, signed_root = log
    report = _audit(mlog, iter(leaves))
    assert report.ok
    assert report.first_bad_index is None
    assert report.root == signed_root
    assert report.leaves == 3000
    assert report.mismatches == 0


@pytest.mark.parametrize("bad", [0, 7, 8, 1234, 2999])
def test_a_changed_leaf_is_named(log: tuple[list[bytes], MerkleLog, bytes], bad: int) -> None:
    leaves, mlog, signed_root = log
    leaves[bad] = _flip(leaves[bad], 3)
    report = _audit(mlog, leaves)
    assert report.first_bad_index == bad
    assert report.first_bad is not None
    assert report.first_bad.level == 0
    assert report.root != signed_root
    # the leaf hash plus the stored ancestors on every tile level disagree
    assert report.mismatches >= 2


def test_the_first_of_several_changed_leaves_is_named(
    log: tuple[list[bytes], MerkleLog, bytes],
) -> None:
    leaves, mlog, _ = log
    for bad in (2500, 1717, 1716):
        leaves[bad] = _flip(leaves[bad], 0)
    assert _audit(mlog, leaves).first_bad_index == 1716


@pytest.mark.parametrize("bad", [0, 100, 2999])
def test_a_corrupted_stored_leaf_hash_is_named(
    log: tuple[list[bytes], MerkleLog, bytes], bad: int
) -> None:
    leaves, mlog, signed_root = log
    _flip_tile_hash(_store(mlog), 0, bad)
    report = _audit(mlog, leaves)
    assert report.first_bad_index == bad
    assert report.mismatches == 1
    # the leaves are intact, so the recomputed root still matches the checkpoint
    assert report.root == signed_root


@pytest.mark.parametrize(("tile_level", "index"), [(1, 0), (1, 200), (2, 5), (3, 4)])
def test_a_corrupted_upper_tile_hash_names_its_first_leaf(
    log: tuple[list[bytes], MerkleLog, bytes], tile_level: int, index: int
) -> None:
    leaves, mlog, _ = log
    _flip_tile_hash(_store(mlog), tile_level, index)
    report = _audit(mlog, leaves)
    assert report.first_bad is not None
    assert report.first_bad.level == tile_level * HEIGHT
    assert report.first_bad.index == index
    assert report.first_bad_index == index << (tile_level * HEIGHT)


def test_a_changed_leaf_is_not_hidden_by_its_disagreeing_ancestors(
    log: tuple[list[bytes], MerkleLog, bytes],
) -> None:
    # Leaf 1000 changed: the recomputed level-9 ancestor over leaves 512..1023 differs
    # from the stored one too. The auditor must name 1000, not 512.
    leaves, mlog, _ = log
    leaves[1000] = _flip(leaves[1000], 1)
    assert _audit(mlog, leaves).first_bad_index == 1000


def test_a_corrupted_tile_before_a_changed_leaf_is_named_first(
    log: tuple[list[bytes], MerkleLog, bytes],
) -> None:
    leaves, mlog, _ = log
    leaves[1000] = _flip(leaves[1000], 1)
    _flip_tile_hash(_store(mlog), 1, 20)  # covers leaves 160..167
    assert _audit(mlog, leaves).first_bad_index == 160


def test_missing_and_surplus_leaves_are_named(log: tuple[list[bytes], MerkleLog, bytes]) -> None:
    leaves, mlog, _ = log
    short = _audit(mlog, leaves[:2500])
    assert short.first_bad_index == 2500
    assert short.leaves == 2500
    assert short.root == mlog.root(2500)
    assert _audit(mlog, [*leaves, b"extra"]).first_bad_index == 3000


def test_a_truncated_tile_is_named_at_its_first_lost_hash(
    log: tuple[list[bytes], MerkleLog, bytes],
) -> None:
    leaves, mlog, _ = log
    store = _store(mlog)
    key = TileKey(0, 1000 >> HEIGHT)
    store.tiles[key] = store.tiles[key][: 2 * HASH_SIZE]
    report = _audit(mlog, leaves)
    assert report.first_bad_index == (1000 >> HEIGHT << HEIGHT) + 2
    assert report.first_bad is not None
    assert "missing" in report.first_bad.reason


def test_a_proof_served_from_a_corrupted_tile_fails_against_the_signed_root(
    log: tuple[list[bytes], MerkleLog, bytes],
) -> None:
    leaves, mlog, signed_root = log
    assert verify_inclusion(leaf_hash(leaves[5]), 5, 3000, mlog.inclusion_proof(5), signed_root)
    _flip_tile_hash(_store(mlog), 2, 1)  # a sibling on leaf 5's path
    proof = inclusion_proof(mlog.store, 5, 3000, height=HEIGHT)
    assert not verify_inclusion(leaf_hash(leaves[5]), 5, 3000, proof, signed_root)


def test_audit_streams_in_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    # With blocks of 2 tiles (16 leaves) the audit must read leaves and tiles in step:
    # when it asks for tiles it has consumed at most one block beyond the last ask.
    monkeypatch.setattr(recompute, "AUDIT_BLOCK_TILES", 2)
    leaves = _leaves(1000)
    log = MerkleLog(InMemoryTileStore(), height=HEIGHT)
    signed_root = log.append_leaves(leaves)
    consumed = 0
    consumed_at_reads: list[int] = []

    class Watching(InMemoryTileStore):
        def read_tiles(self, keys: Sequence[TileKey]) -> dict[TileKey, bytes]:
            consumed_at_reads.append(consumed)
            return super().read_tiles(keys)

    store = Watching()
    store.tiles = _store(log).tiles

    def stream() -> Iterator[bytes]:
        nonlocal consumed
        for leaf in leaves:
            consumed += 1
            yield leaf

    report = audit(store, 1000, stream(), height=HEIGHT)
    assert report.ok
    assert report.root == signed_root
    assert consumed_at_reads == [min(16 * (i + 1), 1000) for i in range(63)]
