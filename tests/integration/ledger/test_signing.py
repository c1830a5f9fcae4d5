"""Enterprise checkpoint keys and signed checkpoints, checked by an independent
signed-note verifier."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parcelguard.core.clock import ManualClock
from parcelguard.core.errors import NotFound
from parcelguard.ledger import signing
from parcelguard.ledger.models import LedgerCheckpoint, LedgerSigningKey
from parcelguard.vault.kms import InMemoryKms
from tests.integration.ledger import independent as ref
from tests.integration.ledger.conftest import ingest, parcel, stored_leaves


def test_checkpoint_verifies_with_the_published_key(session: Session, clock: ManualClock,
                                                    kms: InMemoryKms) -> None:
    ingest(session, [parcel(i) for i in range(37)], clock)
    signed = signing.checkpoint(session, "ent-a", kms=kms, clock=clock)
    vkey = signing.verifier_key(session, "ent-a", kms=kms, clock=clock)
    origin, size, root = ref.open_checkpoint(signed.note, vkey)
    assert origin == "parcelguard.example/ent-a"
    assert size == 37
    assert root == ref.Tree(stored_leaves(session)).root(37)


def test_the_private_key_is_stored_only_wrapped(session: Session, clock: ManualClock,
                                                kms: InMemoryKms) -> None:
    ingest(session, [parcel(1)], clock)
    signing.checkpoint(session, "ent-a", kms=kms, clock=clock)
    row = session.get(LedgerSigningKey, "ent-a")
    assert row is not None
    assert b"PRIVATE+KEY" not in row.wrapped_signer_key
    assert row.kms_key_id == kms.key_id
    with pytest.raises(signing.SigningKeyError, match="master key"):
        signing.checkpoint(session, "ent-a", kms=InMemoryKms(), clock=clock)


def test_a_repeated_checkpoint_is_recorded_once(session: Session, clock: ManualClock,
                                                kms: InMemoryKms) -> None:
    ingest(session, [parcel(i) for i in range(3)], clock)
    first = signing.checkpoint(session, "ent-a", kms=kms, clock=clock)
    again = signing.checkpoint(session, "ent-a", kms=kms, clock=clock)
    ingest(session, [parcel(9)], clock)
    grown = signing.checkpoint(session, "ent-a", kms=kms, clock=clock)
    assert first.note == again.note
    assert grown.size == 4
    count = session.scalar(select(func.count()).select_from(LedgerCheckpoint)
                           .where(LedgerCheckpoint.enterprise_id == "ent-a"))
    assert count == 2


def test_enterprises_without_a_log_get_no_key(session: Session, clock: ManualClock,
                                              kms: InMemoryKms) -> None:
    with pytest.raises(NotFound):
        signing.checkpoint(session, "ent-none", kms=kms, clock=clock)
    with pytest.raises(NotFound):
        signing.verifier_key(session, "ent-none", kms=kms, clock=clock)
    assert session.get(LedgerSigningKey, "ent-none") is None
