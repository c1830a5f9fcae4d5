"""The SQL tile store on real SQLite and PostgreSQL, checked by an independent RFC 9162
implementation (tests/integration/ledger/independent.py)."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from parcelguard.ledger.merkle import consistency_proof, inclusion_proof, leaf_hashes, root
from parcelguard.ledger.models import LedgerTile
from parcelguard.ledger.store import LedgerStorageError, SqlTileStore, append_leaf_batch
from parcelguard.ledger.tiles import TileConflictError, TileKey
from tests.integration.ledger import independent as ref


def _leaves(n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [b'{"event_id":"e%d","pad":"%s"}' % (i, rng.randbytes(rng.randrange(0, 9)).hex()
                                                 .encode()) for i in range(n)]


def _build(session: Session, enterprise: str, leaves: list[bytes], height: int,
           seed: int) -> None:
    """Append in random batch sizes so batch and tile boundaries land everywhere."""
    rng = random.Random(seed)
    conn = session.connection()
    i = 0
    while i < len(leaves):
        step = rng.choice([1, 1, 2, 3, 5, 17])
        append_leaf_batch(conn, enterprise, i, leaf_hashes(leaves[i:i + step]), height=height)
        i += step


@pytest.mark.parametrize("height", [2, 8])
def test_every_size_index_and_old_size_up_to_70_verify_independently(
        session: Session, height: int) -> None:
    leaves = _leaves(70, seed=height)
    _build(session, "ent-a", leaves, height, seed=height)
    store = SqlTileStore(session.connection(), "ent-a")
    tree = ref.Tree(leaves)
    for n in range(1, 71):
        n_root = root(store, n, height=height)
        assert n_root == tree.root(n), n
        for m in range(n):
            proof = inclusion_proof(store, m, n, height=height)
            assert proof == tree.path(m, n), (m, n)
            assert ref.verify_inclusion(leaves[m], m, n, proof, n_root), (m, n)
        for old in range(1, n + 1):
            proof = consistency_proof(store, old, n, height=height)
            assert proof == tree.proof(old, n), (old, n)
            assert ref.verify_consistency(old, n, tree.root(old), n_root, proof), (old, n)


def test_the_independent_verifier_refuses_wrong_proofs() -> None:
    leaves = _leaves(37, seed=1)
    tree = ref.Tree(leaves)
    proof = tree.path(5, 37)
    assert ref.verify_inclusion(leaves[5], 5, 37, proof, tree.root(37))
    assert not ref.verify_inclusion(leaves[6], 5, 37, proof, tree.root(37))
    assert not ref.verify_inclusion(leaves[5], 5, 37, proof[:-1], tree.root(37))
    assert not ref.verify_inclusion(leaves[5], 5, 37, proof, tree.root(36))
    cproof = tree.proof(13, 37)
    assert ref.verify_consistency(13, 37, tree.root(13), tree.root(37), cproof)
    assert not ref.verify_consistency(13, 37, tree.root(12), tree.root(37), cproof)
    assert not ref.verify_consistency(13, 37, tree.root(13), tree.root(37), cproof[1:])


def test_logs_of_enterprises_are_separate(session: Session) -> None:
    a, b = _leaves(300, seed=2), _leaves(40, seed=3)
    conn = session.connection()
    append_leaf_batch(conn, "ent-a", 0, leaf_hashes(a))
    append_leaf_batch(conn, "ent-b", 0, leaf_hashes(b))
    assert root(SqlTileStore(conn, "ent-a"), 300) == ref.Tree(a).root(300)
    assert root(SqlTileStore(conn, "ent-b"), 40) == ref.Tree(b).root(40)


def test_absent_tiles_are_left_out_of_a_read(session: Session) -> None:
    conn = session.connection()
    append_leaf_batch(conn, "ent-a", 0, leaf_hashes(_leaves(10, seed=4)), height=2)
    got = SqlTileStore(conn, "ent-a").read_tiles([TileKey(0, 0), TileKey(0, 9), TileKey(5, 0)])
    assert list(got) == [TileKey(0, 0)]
    assert len(got[TileKey(0, 0)]) == 4 * 32


def test_a_write_that_changes_stored_hashes_is_refused(session: Session) -> None:
    conn = session.connection()
    append_leaf_batch(conn, "ent-a", 0, leaf_hashes(_leaves(3, seed=5)))
    store = SqlTileStore(conn, "ent-a")
    stored = store.read_tiles([TileKey(0, 0)])[TileKey(0, 0)]
    store.write_tiles({TileKey(0, 0): stored + b"\x07" * 32})  # growing is fine
    with pytest.raises(TileConflictError, match="level 0, index 0"):
        store.write_tiles({TileKey(0, 0): b"\x00" * 32 + stored[32:]})
    with pytest.raises(TileConflictError):
        store.write_tiles({TileKey(0, 0): stored[:64]})  # shrinking neither


def test_a_stale_size_cannot_overwrite_the_log(session: Session) -> None:
    conn = session.connection()
    append_leaf_batch(conn, "ent-a", 0, leaf_hashes(_leaves(5, seed=6)))
    with pytest.raises(LedgerStorageError, match="does not match its size 3"):
        append_leaf_batch(conn, "ent-a", 3, leaf_hashes(_leaves(2, seed=7)))
    tile = session.scalar(select(LedgerTile.data).where(LedgerTile.enterprise_id == "ent-a"))
    assert tile is not None
    assert len(tile) == 5 * 32


def test_a_proof_from_a_corrupted_tile_fails_independent_verification(session: Session) -> None:
    leaves = _leaves(600, seed=8)
    conn = session.connection()
    append_leaf_batch(conn, "ent-a", 0, leaf_hashes(leaves))
    signed = ref.Tree(leaves).root(600)
    store = SqlTileStore(conn, "ent-a")
    assert ref.verify_inclusion(leaves[3], 3, 600, inclusion_proof(store, 3, 600), signed)
    data = store.read_tiles([TileKey(0, 2)])[TileKey(0, 2)]
    conn.execute(update(LedgerTile).where(LedgerTile.enterprise_id == "ent-a",
                                          LedgerTile.level == 0, LedgerTile.idx == 2)
                 .values(data=bytes([data[0] ^ 1]) + data[1:]))
    assert not ref.verify_inclusion(leaves[3], 3, 600, inclusion_proof(store, 3, 600), signed)
