"""The supervision witness catches rolled-back and forked logs, with evidence."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from parcelguard.core.clock import ManualClock
from parcelguard.ledger import signing
from parcelguard.ledger.checkpoint import generate_key
from parcelguard.ledger.merkle import append_leaves
from parcelguard.ledger.models import LedgerEvent, LedgerHead, LedgerSigningKey, LedgerTile
from parcelguard.ledger.store import SqlTileStore
from parcelguard.ledger.tiles import InMemoryTileStore
from parcelguard.supervision.events import LedgerTamperDetected
from parcelguard.supervision.models import SupervisionFinding, WitnessedCheckpoint
from parcelguard.supervision.witness import (
    CheckpointRejected,
    witness_enterprise,
    witness_note,
    witnessed_enterprises,
)
from parcelguard.vault.kms import InMemoryKms
from tests.integration.ledger import independent as ref
from tests.integration.ledger.conftest import ingest, parcel, stored_leaves


@pytest.fixture
def witnessed(session: Session, clock: ManualClock, kms: InMemoryKms) -> str:
    """ent-a with 300 events whose checkpoint the witness accepted; returns its note."""
    ingest(session, [parcel(i) for i in range(300)], clock)
    outcome = witness_enterprise(session, "ent-a", kms=kms, clock=clock)
    assert outcome.status == "first"
    accepted = session.get(WitnessedCheckpoint, "ent-a")
    assert accepted is not None
    return accepted.note


def _rewrite(session: Session, leaves: list[bytes]) -> None:
    """What an insider with database access does: replace the leaves, rebuild the
    tiles to match and set the head, so the log is self-consistent again."""
    session.execute(delete(LedgerEvent).where(LedgerEvent.enterprise_id == "ent-a",
                                              LedgerEvent.seq >= len(leaves)))
    for seq, leaf in enumerate(leaves):
        session.execute(update(LedgerEvent).where(LedgerEvent.enterprise_id == "ent-a",
                                                  LedgerEvent.seq == seq).values(leaf=leaf))
    session.execute(delete(LedgerTile).where(LedgerTile.enterprise_id == "ent-a"))
    scratch = InMemoryTileStore()
    append_leaves(scratch, 0, leaves)
    SqlTileStore(session.connection(), "ent-a").write_tiles(scratch.tiles)
    session.execute(update(LedgerHead).where(LedgerHead.enterprise_id == "ent-a")
                    .values(size=len(leaves)))


def _finding(session: Session, finding_id: int | None) -> SupervisionFinding:
    assert finding_id is not None
    finding = session.get(SupervisionFinding, finding_id)
    assert finding is not None
    assert finding.kind == "ledger_tamper"
    return finding


def test_a_growing_log_is_accepted(session: Session, clock: ManualClock, kms: InMemoryKms,
                                   witnessed: str) -> None:
    ingest(session, [parcel(i) for i in range(300, 777)], clock)
    outcome = witness_enterprise(session, "ent-a", kms=kms, clock=clock)
    assert (outcome.status, outcome.accepted_size, outcome.size) == ("accepted", 300, 777)
    assert witness_enterprise(session, "ent-a", kms=kms, clock=clock).status == "unchanged"
    accepted = session.get(WitnessedCheckpoint, "ent-a")
    assert accepted is not None
    assert accepted.size == 777


def test_a_rollback_is_caught_with_both_checkpoints_as_evidence(
        session: Session, clock: ManualClock, kms: InMemoryKms, witnessed: str) -> None:
    _rewrite(session, stored_leaves(session)[:250])  # truncate leaves, tiles and head
    outcome = witness_enterprise(session, "ent-a", kms=kms, clock=clock)
    assert outcome.status == "tamper"
    assert "rollback" in (outcome.reason or "")
    (event,) = outcome.events
    assert isinstance(event, LedgerTamperDetected)
    assert (event.accepted_size, event.presented_size) == (300, 250)
    evidence = _finding(session, outcome.finding_id).evidence
    assert evidence["accepted_checkpoint"]["note"] == witnessed
    assert evidence["presented_checkpoint"]["size"] == 250
    assert evidence["proof"]["type"] == "consistency"
    # the accepted checkpoint stays the reference
    accepted = session.get(WitnessedCheckpoint, "ent-a")
    assert accepted is not None
    assert accepted.size == 300


def test_a_fork_at_the_same_size_is_caught(session: Session, clock: ManualClock,
                                           kms: InMemoryKms, witnessed: str) -> None:
    leaves = stored_leaves(session)
    leaves[7] = leaves[7].replace(b"p7", b"p8")
    _rewrite(session, leaves)
    outcome = witness_enterprise(session, "ent-a", kms=kms, clock=clock)
    assert outcome.status == "tamper"
    assert "fork" in (outcome.reason or "")
    evidence = _finding(session, outcome.finding_id).evidence
    assert evidence["presented_checkpoint"]["root"] != evidence["accepted_checkpoint"]["root"]


def test_a_rewritten_and_grown_history_fails_its_consistency_proof(
        session: Session, clock: ManualClock, kms: InMemoryKms, witnessed: str) -> None:
    leaves = stored_leaves(session)
    _rewrite(session, [*leaves[:100], *leaves[101:]])  # one event removed...
    ingest(session, [parcel(i) for i in range(300, 400)], clock)  # ...and the log grows on
    outcome = witness_enterprise(session, "ent-a", kms=kms, clock=clock)
    assert outcome.status == "tamper"
    proof = _finding(session, outcome.finding_id).evidence["proof"]
    assert (proof["old_size"], proof["new_size"], proof["verified"]) == (300, 399, False)
    accepted = session.get(WitnessedCheckpoint, "ent-a")
    assert accepted is not None
    # the evidence is checkable by anyone: the proof fails an independent verifier too
    hashes = [base64.b64decode(h) for h in proof["hashes"]]
    new_root = base64.b64decode(
        _finding(session, outcome.finding_id).evidence["presented_checkpoint"]["root"])
    assert not ref.verify_consistency(300, 399, bytes(accepted.root), new_root, hashes)


def test_a_stale_push_is_harmless_and_garbage_is_rejected(
        session: Session, clock: ManualClock, kms: InMemoryKms, witnessed: str) -> None:
    ingest(session, [parcel(i) for i in range(300, 320)], clock)
    assert witness_enterprise(session, "ent-a", kms=kms, clock=clock).status == "accepted"
    assert witness_note(session, "ent-a", witnessed, clock=clock).status == "stale"
    forged = witnessed.replace("\n300\n", "\n301\n")
    with pytest.raises(CheckpointRejected):
        witness_note(session, "ent-a", forged, clock=clock)
    with pytest.raises(CheckpointRejected):
        witness_note(session, "ent-b", witnessed, clock=clock)
    assert session.scalar(select(func.count()).select_from(SupervisionFinding)) == 0


def test_a_swapped_signing_key_does_not_sign_for_the_log(
        session: Session, clock: ManualClock, kms: InMemoryKms, witnessed: str) -> None:
    key = session.get(LedgerSigningKey, "ent-a")
    assert key is not None
    signer, verifier = generate_key(key.origin)
    key.verifier_key = verifier
    key.wrapped_signer_key = kms.wrap(signer.encode(), b"parcelguard/ledger-checkpoint-key/v1"
                                      b"\x00ent-a")
    session.flush()
    outcome = witness_enterprise(session, "ent-a", kms=kms, clock=clock)
    assert outcome.status == "tamper"
    assert "pinned key" in (outcome.reason or "")


def test_a_vanished_log_is_caught(session: Session, clock: ManualClock, kms: InMemoryKms,
                                  witnessed: str) -> None:
    session.execute(delete(LedgerEvent).where(LedgerEvent.enterprise_id == "ent-a"))
    session.execute(delete(LedgerTile).where(LedgerTile.enterprise_id == "ent-a"))
    session.execute(delete(LedgerHead).where(LedgerHead.enterprise_id == "ent-a"))
    assert "ent-a" in witnessed_enterprises(session)
    outcome = witness_enterprise(session, "ent-a", kms=kms, clock=clock)
    assert outcome.status == "tamper"
    assert _finding(session, outcome.finding_id).evidence["accepted_checkpoint"]["size"] == 300


def test_signing_key_registered_before_the_first_witness(session: Session, clock: ManualClock,
                                                         kms: InMemoryKms) -> None:
    ingest(session, [parcel(i) for i in range(5)], clock)
    note = signing.checkpoint(session, "ent-a", kms=kms, clock=clock).note
    assert witness_note(session, "ent-a", note, clock=clock).status == "first"
