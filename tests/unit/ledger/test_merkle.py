"""The ledger's Merkle tree against an independent RFC 9162 reference and pymerkle.

The reference below is written from the RFC 9162 §2.1 text (MTH, PATH, PROOF and
SUBPROOF, recursively) and shares no code with parcelguard.ledger: if the tiled
implementation drifts from the RFC in any corner (right-edge subtrees, tile
boundaries, power-of-two sizes), a proof or root here stops matching.
"""

from __future__ import annotations

import hashlib
import random
from functools import cache

import pymerkle
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parcelguard.ledger.merkle import (
    EMPTY_ROOT,
    MerkleLog,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root,
    verify_consistency,
    verify_inclusion,
)
from parcelguard.ledger.tiles import InMemoryTileStore


class Rfc9162:
    """RFC 9162 §2.1 over D[0:n], with D[lo:hi] written as the range (lo, hi)."""

    def __init__(self, leaves: list[bytes]) -> None:
        self.d = leaves

    @staticmethod
    def _k(n: int) -> int:
        # "k be the largest power of two smaller than n (i.e., k < n <= 2k)"
        k = 1
        while k * 2 < n:
            k *= 2
        return k

    @cache  # noqa: B019 - instances live for one test; the cache makes n^2 proofs cheap
    def mth(self, lo: int, hi: int) -> bytes:
        n = hi - lo
        if n == 0:
            return hashlib.sha256(b"").digest()
        if n == 1:
            return hashlib.sha256(b"\x00" + self.d[lo]).digest()
        k = self._k(n)
        return hashlib.sha256(b"\x01" + self.mth(lo, lo + k) + self.mth(lo + k, hi)).digest()

    def path(self, m: int, lo: int, hi: int) -> list[bytes]:
        n = hi - lo
        if n == 1:
            return []
        k = self._k(n)
        if m < k:
            return [*self.path(m, lo, lo + k), self.mth(lo + k, hi)]
        return [*self.path(m - k, lo + k, hi), self.mth(lo, lo + k)]

    def proof(self, m: int, n: int) -> list[bytes]:
        return self.subproof(m, 0, n, True)

    def subproof(self, m: int, lo: int, hi: int, b: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if b else [self.mth(lo, hi)]
        k = self._k(n)
        if m <= k:
            return [*self.subproof(m, lo, lo + k, b), self.mth(lo + k, hi)]
        return [*self.subproof(m - k, lo + k, hi, False), self.mth(lo, lo + k)]


def _leaves(n: int, seed: int = 0) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(rng.randrange(0, 40)) for _ in range(n)]


def _log(leaves: list[bytes], height: int, seed: int = 0) -> MerkleLog:
    """A log built in random batch sizes, so batch boundaries land everywhere."""
    rng = random.Random(seed)
    log = MerkleLog(InMemoryTileStore(), height=height)
    i = 0
    while i < len(leaves):
        step = rng.choice([1, 2, 3, 7, 64, 300])
        log.append_leaves(leaves[i : i + step])
        i += step
    return log


def test_empty_tree_root_is_hash_of_empty_string() -> None:
    assert root(InMemoryTileStore(), 0) == hashlib.sha256(b"").digest() == EMPTY_ROOT
    assert pymerkle.InmemoryTree().get_root() == EMPTY_ROOT


def test_leaf_hash_has_domain_separation() -> None:
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()


# Height 1 stores every level, 2 makes many partial tiles at 70 leaves, 8 is the default
# where every node under 256 leaves is rebuilt from the bottom tile.
@pytest.mark.parametrize("height", [1, 2, 8])
def test_every_size_index_and_old_size_up_to_70_match_the_rfc(height: int) -> None:
    leaves = _leaves(70, seed=height)
    ref = Rfc9162(leaves)
    log = _log(leaves, height, seed=height)
    for n in range(1, 71):
        tree_root = log.root(n)
        assert tree_root == ref.mth(0, n), n
        for m in range(n):
            proof = log.inclusion_proof(m, n)
            assert proof == ref.path(m, 0, n), (m, n)
            assert verify_inclusion(leaf_hash(leaves[m]), m, n, proof, tree_root)
        for old in range(1, n):
            proof = log.consistency_proof(old, n)
            assert proof == ref.proof(old, n), (old, n)
            assert verify_consistency(old, n, ref.mth(0, old), tree_root, proof)
        assert log.consistency_proof(n, n) == []
        assert verify_consistency(n, n, tree_root, tree_root, [])
        assert verify_consistency(0, n, EMPTY_ROOT, tree_root, log.consistency_proof(0, n))


def test_roots_match_pymerkle_for_every_small_size() -> None:
    leaves = _leaves(70, seed=7)
    tree = pymerkle.InmemoryTree()
    log = MerkleLog(InMemoryTileStore(), height=2)
    for n, leaf in enumerate(leaves, start=1):
        tree.append_entry(leaf)
        assert log.append_leaves([leaf]) == tree.get_root() == log.root(n)


@settings(max_examples=12, deadline=None)
@given(
    size=st.integers(1, 5000),
    height=st.sampled_from([1, 3, 8]),
    seed=st.integers(0, 2**32),
)
def test_large_random_trees_match_the_rfc_and_pymerkle(size: int, height: int, seed: int) -> None:
    leaves = _leaves(size, seed)
    ref = Rfc9162(leaves)
    log = _log(leaves, height, seed)
    assert (
        log.root() == ref.mth(0, size) == pymerkle.InmemoryTree.init_from_entries(leaves).get_root()
    )
    rng = random.Random(seed)
    for _ in range(8):
        n = rng.randint(1, size)
        m = rng.randrange(n)
        old = rng.randint(1, n)
        n_root = log.root(n)
        assert n_root == ref.mth(0, n)
        proof = log.inclusion_proof(m, n)
        assert proof == ref.path(m, 0, n)
        assert verify_inclusion(leaf_hash(leaves[m]), m, n, proof, n_root)
        cproof = log.consistency_proof(old, n)
        assert cproof == (ref.proof(old, n) if old < n else [])
        assert verify_consistency(old, n, ref.mth(0, old), n_root, cproof)


def test_proofs_for_old_sizes_still_verify_after_the_log_grows() -> None:
    leaves = _leaves(1000, seed=3)
    log = MerkleLog(InMemoryTileStore(), height=3)
    log.append_leaves(leaves[:333])
    old_root, old_proof = log.root(), log.inclusion_proof(100)
    log.append_leaves(leaves[333:])
    assert log.root(333) == old_root
    assert log.inclusion_proof(100, 333) == old_proof
    assert verify_consistency(333, 1000, old_root, log.root(), log.consistency_proof(333))


# --- verification refuses what it must -------------------------------------------------


@pytest.fixture
def small_log() -> tuple[list[bytes], MerkleLog]:
    leaves = _leaves(37, seed=11)
    return leaves, _log(leaves, 2)


def test_inclusion_proof_against_a_wrong_root_fails(
    small_log: tuple[list[bytes], MerkleLog],
) -> None:
    leaves, log = small_log
    proof = log.inclusion_proof(5)
    assert verify_inclusion(leaf_hash(leaves[5]), 5, 37, proof, log.root())
    assert not verify_inclusion(leaf_hash(leaves[5]), 5, 37, proof, log.root(36))
    assert not verify_inclusion(leaf_hash(leaves[6]), 5, 37, proof, log.root())
    assert not verify_inclusion(leaf_hash(leaves[5]), 4, 37, proof, log.root())
    # (the size is bound by the root, not the path: 36 would pass with 37's root and
    # path, as in every RFC 9162 verifier, while a size with another shape must fail)
    assert not verify_inclusion(leaf_hash(leaves[5]), 5, 32, proof, log.root())
    assert not verify_inclusion(leaf_hash(leaves[5]), 37, 37, proof, log.root())
    # a path that stops early reaches an inner node, not the root of this size
    assert not verify_inclusion(leaf_hash(leaves[5]), 5, 37, proof[:-1], log.root(32))


def test_inclusion_proof_with_an_altered_extra_or_missing_hash_fails(
    small_log: tuple[list[bytes], MerkleLog],
) -> None:
    leaves, log = small_log
    good = log.inclusion_proof(20)
    leaf, tree_root = leaf_hash(leaves[20]), log.root()
    for i in range(len(good)):
        bad = list(good)
        bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
        assert not verify_inclusion(leaf, 20, 37, bad, tree_root)
    assert not verify_inclusion(leaf, 20, 37, good[:-1], tree_root)
    assert not verify_inclusion(leaf, 20, 37, [*good, good[0]], tree_root)
    assert not verify_inclusion(leaf, 20, 37, [*good[:-1], good[-1][:31]], tree_root)


def test_consistency_proof_against_wrong_roots_fails(
    small_log: tuple[list[bytes], MerkleLog],
) -> None:
    _, log = small_log
    for old in (1, 8, 13, 32, 36):
        proof = log.consistency_proof(old)
        assert verify_consistency(old, 37, log.root(old), log.root(), proof)
        assert not verify_consistency(old, 37, log.root(old - 1), log.root(), proof)
        assert not verify_consistency(old, 37, log.root(old), log.root(36), proof)
        assert not verify_consistency(old, 37, log.root(old), log.root(), proof[:-1])
        assert not verify_consistency(old, 37, log.root(old), log.root(), [*proof, proof[0]])
        assert not verify_consistency(old + 1, 37, log.root(old), log.root(), proof)


def test_consistency_edge_sizes(small_log: tuple[list[bytes], MerkleLog]) -> None:
    _, log = small_log
    r = log.root()
    assert verify_consistency(0, 37, EMPTY_ROOT, r, [])
    assert not verify_consistency(0, 37, r, r, [])
    assert not verify_consistency(0, 37, EMPTY_ROOT, r, [r])
    assert not verify_consistency(37, 37, r, log.root(36), [])
    assert not verify_consistency(37, 36, r, log.root(36), [])
    assert not verify_consistency(5, 37, log.root(5), r, [])
    with pytest.raises(ValueError, match="old <= new"):
        consistency_proof(log.store, 10, 5)
    with pytest.raises(ValueError, match="outside"):
        inclusion_proof(log.store, 37, 37)
