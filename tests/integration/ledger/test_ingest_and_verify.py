"""Ingest grows the Merkle log; `verify` names the first bad index of any alteration."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from parcelguard.core.clock import ManualClock
from parcelguard.ledger import logs, signing
from parcelguard.ledger.merkle import append_leaves
from parcelguard.ledger.models import LedgerEvent, LedgerHead, LedgerTile
from parcelguard.ledger.store import LedgerStorageError, SqlTileStore
from parcelguard.ledger.tiles import InMemoryTileStore
from parcelguard.vault.kms import InMemoryKms
from tests.integration.ledger import independent as ref
from tests.integration.ledger.conftest import ingest, parcel, stored_leaves

N = 700  # three bottom tiles of 256 and a level-1 tile: every storage level is exercised


@pytest.fixture
def log(session: Session, clock: ManualClock) -> list[bytes]:
    for lo in range(0, N, 300):  # several batches, boundaries off the tile grid
        ingest(session, [parcel(i) for i in range(lo, min(N, lo + 300))], clock)
    ingest(session, [parcel(i, "ent-b") for i in range(5)], clock)
    return stored_leaves(session)


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


def test_ingest_builds_the_rfc_tree_of_the_stored_leaves(session: Session,
                                                        log: list[bytes]) -> None:
    tree = ref.Tree(log)
    assert len(log) == N
    for size in (1, 255, 256, 300, 512, N):
        proof = logs.prove(session, "ent-a", size - 1, size)
        assert ref.verify_inclusion(base64.b64decode(proof["leaf"]), size - 1, size,
                                    [base64.b64decode(h) for h in proof["inclusion"]],
                                    tree.root(size))
    report = logs.verify(session, "ent-a")
    assert report.ok
    assert report.root == tree.root(N)


def test_reingest_and_duplicates_leave_the_tree_alone(session: Session, log: list[bytes],
                                                      clock: ManualClock) -> None:
    ingest(session, [parcel(i) for i in range(50)], clock)
    assert logs.verify(session, "ent-a").ok
    assert stored_leaves(session) == log


def _set_leaf(session: Session, seq: int, leaf: bytes) -> None:
    session.execute(update(LedgerEvent).where(LedgerEvent.enterprise_id == "ent-a",
                                              LedgerEvent.seq == seq).values(leaf=leaf))


@pytest.mark.parametrize("bad", [0, 255, 256, 699])
def test_a_changed_leaf_byte_is_named(session: Session, log: list[bytes], bad: int) -> None:
    _set_leaf(session, bad, _flip(log[bad], 20))
    report = logs.verify(session, "ent-a")
    assert (report.ok, report.first_bad_index) == (False, bad)


@pytest.mark.parametrize(("level", "idx", "hash_no", "first_leaf"),
                         [(0, 0, 3, 3), (0, 2, 100, 612), (1, 0, 1, 256)])
def test_a_changed_tile_hash_byte_is_named(session: Session, log: list[bytes], level: int,
                                           idx: int, hash_no: int, first_leaf: int) -> None:
    where = (LedgerTile.enterprise_id == "ent-a", LedgerTile.level == level,
             LedgerTile.idx == idx)
    data = session.scalar(select(LedgerTile.data).where(*where))
    assert data is not None
    session.execute(update(LedgerTile).where(*where).values(data=_flip(data, hash_no * 32 + 5)))
    report = logs.verify(session, "ent-a")
    assert (report.ok, report.first_bad_index) == (False, first_leaf)


@pytest.mark.parametrize("gone", [0, 417, 699])
def test_a_deleted_leaf_is_named(session: Session, log: list[bytes], gone: int) -> None:
    session.execute(delete(LedgerEvent).where(LedgerEvent.enterprise_id == "ent-a",
                                              LedgerEvent.seq == gone))
    report = logs.verify(session, "ent-a")
    assert (report.ok, report.first_bad_index) == (False, gone)
    assert "missing" in (report.reason or "")


def test_a_derived_column_that_disagrees_with_its_leaf_is_named(session: Session,
                                                                log: list[bytes]) -> None:
    # queries and the monitor read these columns, not the leaf
    session.execute(update(LedgerEvent).where(LedgerEvent.enterprise_id == "ent-a",
                                              LedgerEvent.seq == 321)
                    .values(waybill_no="SF0000000000000"))
    report = logs.verify(session, "ent-a")
    assert (report.ok, report.first_bad_index) == (False, 321)
    assert "waybill_no" in (report.reason or "")


def test_two_reordered_leaves_are_named_at_the_first(session: Session, log: list[bytes]) -> None:
    _set_leaf(session, 123, log[456])  # swap the bytes of positions 123 and 456
    session.execute(update(LedgerEvent).where(LedgerEvent.enterprise_id == "ent-a",
                                              LedgerEvent.seq == 456).values(leaf=log[123]))
    report = logs.verify(session, "ent-a")
    assert (report.ok, report.first_bad_index) == (False, 123)


def test_swapped_positions_are_named_too(session: Session, log: list[bytes]) -> None:
    def move(old: int, new: int) -> None:
        session.execute(update(LedgerEvent).where(LedgerEvent.enterprise_id == "ent-a",
                                                  LedgerEvent.seq == old).values(seq=new))
    move(10, -1)
    move(20, 10)
    move(-1, 20)
    assert logs.verify(session, "ent-a").first_bad_index == 10


def test_a_history_rewritten_with_its_tiles_fails_against_the_signed_checkpoint(
        session: Session, log: list[bytes], clock: ManualClock, kms: InMemoryKms) -> None:
    signing.checkpoint(session, "ent-a", kms=kms, clock=clock)
    forged = list(log)
    forged[42] = _flip(forged[42], 20)
    _set_leaf(session, 42, forged[42])
    session.execute(delete(LedgerTile).where(LedgerTile.enterprise_id == "ent-a"))
    scratch = InMemoryTileStore()
    append_leaves(scratch, 0, forged)
    SqlTileStore(session.connection(), "ent-a").write_tiles(scratch.tiles)
    report = logs.verify(session, "ent-a")
    assert not report.ok
    assert report.checkpoint_size == N
    assert "rewritten" in (report.reason or "")


def test_a_log_shorter_than_its_checkpoint_is_named(session: Session, log: list[bytes],
                                                    clock: ManualClock,
                                                    kms: InMemoryKms) -> None:
    signing.checkpoint(session, "ent-a", kms=kms, clock=clock)
    session.execute(delete(LedgerEvent).where(LedgerEvent.enterprise_id == "ent-a",
                                              LedgerEvent.seq >= 600))
    session.execute(update(LedgerHead).where(LedgerHead.enterprise_id == "ent-a")
                    .values(size=600))
    report = logs.verify(session, "ent-a")
    assert (report.ok, report.first_bad_index) == (False, 600)


def test_ingest_refuses_to_grow_a_log_whose_tiles_were_lost(session: Session, log: list[bytes],
                                                            clock: ManualClock) -> None:
    session.execute(delete(LedgerTile).where(LedgerTile.enterprise_id == "ent-a"))
    with pytest.raises(LedgerStorageError, match="ent-a"):
        ingest(session, [parcel(N + 1)], clock)
