"""The tlog witness state and the mirror's tables on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx2
import msgspec
import pytest
from sqlalchemy.orm import Session

from parcelguard.core.clock import ManualClock
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.ledger import signing
from parcelguard.ledger.cosign import Cosigner
from parcelguard.ledger.ingest import EventLog
from parcelguard.ledger.merkle import consistency_proof
from parcelguard.ledger.store import SqlTileStore
from parcelguard.ops.store import init_store
from parcelguard.supervision.mirror import MirrorSource, mirror_log, mirrored_entries
from parcelguard.supervision.models import MirrorLog, TlogWitnessLog
from parcelguard.supervision.tlog_witness import WitnessRefusal, add_checkpoint
from parcelguard.vault.kms import InMemoryKms
from parcelguard.vault.provider import vault_service
from tests.e2e.served import serve, small_world
from tests.integration.ledger.conftest import ingest, parcel, stored_leaves


def _body(session: Session, old: int, new: int, note: str) -> bytes:
    proof = consistency_proof(SqlTileStore(session.connection(), "ent-a"), old, new)
    lines = "".join(base64.b64encode(h).decode() + "\n" for h in proof)
    return f"old {old}\n{lines}\n{note}".encode()


def test_the_witness_moves_only_from_the_size_it_holds(session: Session, clock: ManualClock,
                                                      kms: InMemoryKms) -> None:
    w = Cosigner.generate("supervision.example/witness")
    ingest(session, [parcel(i) for i in range(300)], clock)
    first = signing.checkpoint(session, "ent-a", kms=kms, clock=clock)
    line = add_checkpoint(session, w, _body(session, 0, 300, first.note), clock=clock)
    assert w.verifier().verify_line(first.note[:first.note.rindex("\n\n") + 1], line)
    ingest(session, [parcel(i) for i in range(300, 520)], clock)
    grown = signing.checkpoint(session, "ent-a", kms=kms, clock=clock)
    with pytest.raises(WitnessRefusal) as stale:  # a client that thinks it holds 0
        add_checkpoint(session, w, _body(session, 0, 520, grown.note), clock=clock)
    assert (stale.value.status, stale.value.size) == (409, 300)
    add_checkpoint(session, w, _body(session, 300, 520, grown.note), clock=clock)
    state = session.get(TlogWitnessLog, (w.name, first.origin))
    assert state is not None
    assert (state.size, bytes(state.root)) == (520, grown.root)
    # an old checkpoint cannot move it back
    with pytest.raises(WitnessRefusal) as back:
        add_checkpoint(session, w, _body(session, 300, 300, first.note), clock=clock)
    assert back.value.status == 409


def test_mirror_tables_hold_the_verified_log(session: Session, clock: ManualClock,
                                             tmp_path: Path) -> None:
    home = tmp_path / "ent"
    rt = Runtime(settings=Settings(home=home, database_url=f"sqlite:///{home / 'pg.db'}"))
    init_store(rt.settings)
    small_world(rt, ("ent-a",))
    kms = vault_service(rt.settings).vault.kms
    with rt.db.unit_of_work() as uow:
        EventLog(clock_now=clock.now).append_raw(
            uow.session, [(i, msgspec.json.encode(parcel(i))) for i in range(700)])
        signing.checkpoint(uow.session, "ent-a", kms=kms, clock=clock)
        vkey = signing.verifier_key(uow.session, "ent-a", kms=kms, clock=clock)
        uow.commit()
    with rt.db.unit_of_work() as uow:
        leaves = stored_leaves(uow.session)
    with serve(rt) as url, httpx2.Client() as client:
        result = mirror_log(session, MirrorSource("ent-a", f"{url}/tlog/ent-a", vkey),
                            client=client, clock=clock, chunk=256)
    rt.close()
    assert (result.status, result.entries) == ("mirrored", 700)
    assert mirrored_entries(session, result.origin) == leaves
    state = session.get(MirrorLog, result.origin)
    assert state is not None
    assert state.size == state.checkpoint_size == 700
