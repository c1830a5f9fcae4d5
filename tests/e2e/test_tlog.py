"""An enterprise's ledger served as a C2SP tlog-tiles log, witnessed and mirrored over
real HTTP by nodes with databases of their own.

The enterprise app (uvicorn on loopback) publishes ``/tlog/<ent>/``; two witnesses
(supervision, police: separate stores, the tlog-witness router) cosign its checkpoint;
an independent verifier (tests/e2e/tlog_verifier.py, no parcelguard.ledger) recomputes
the root from the served entries and checks every signature. The supervision store
mirrors the log, resumes an interrupted pass, and refuses a rewritten or rolled-back
log with the proof as evidence.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx2
import msgspec
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, select, update

from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.ledger import signing
from parcelguard.ledger.checkpoint import NoteSigner, generate_key, sign_checkpoint
from parcelguard.ledger.cosign import Cosigner
from parcelguard.ledger.ingest import EventLog
from parcelguard.ledger.merkle import append_leaves, consistency_proof
from parcelguard.ledger.models import LedgerEvent, LedgerHead, LedgerTile
from parcelguard.ledger.store import SqlTileStore
from parcelguard.ledger.tiles import InMemoryTileStore
from parcelguard.ledger.witnessing import WitnessEndpoint, request_cosignatures
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.intake import ParcelIn, register_parcels
from parcelguard.ops.store import init_store
from parcelguard.supervision.mirror import MirrorSource, mirror_log, mirrored_entries
from parcelguard.supervision.models import MirrorLog, SupervisionFinding, TlogWitnessLog
from parcelguard.supervision.tlog_witness import KnownLog, witness_router
from parcelguard.vault.provider import vault_service
from tests.e2e import tlog_verifier
from tests.e2e.served import serve, small_world
from tests.e2e.test_no_plaintext_at_rest import PEOPLE, needles

ENT = "ent-a"
T0 = datetime(2026, 11, 11, 9, tzinfo=UTC)


def _runtime(home: Path) -> Runtime:
    rt = Runtime(settings=Settings(home=home, database_url=f"sqlite:///{home / 'pg.db'}"))
    init_store(rt.settings)
    return rt


def _ingest(rt: Runtime, first: int, count: int) -> None:
    lines = [(i, msgspec.json.encode({"event_id": f"p{n}", "kind": "parcel",
                                      "occurred_at": "2026-11-11T08:00:00+08:00",
                                      "enterprise_id": ENT, "waybill_no": f"SF{n:013d}",
                                      "step": "created"}))
             for i, n in enumerate(range(first, first + count), start=1)]
    with rt.db.unit_of_work() as uow:
        assert not EventLog(clock_now=rt.clock.now).append_raw(uow.session, lines).rejected
        uow.commit()


@dataclass
class Witness:
    name: str
    rt: Runtime
    url: str
    cosigner: Cosigner

    @property
    def endpoint(self) -> WitnessEndpoint:
        return WitnessEndpoint(self.url + "/witness", self.cosigner.verifier().key_string())


@dataclass
class World:
    ent: Runtime
    url: str  # the enterprise app
    vkey: str  # the log's verifier key
    witnesses: list[Witness]

    @property
    def log_url(self) -> str:
        return f"{self.url}/tlog/{ENT}"

    def cosign(self) -> list[str]:
        with self.ent.db.unit_of_work() as uow, httpx2.Client(timeout=30) as client:
            outcomes = request_cosignatures(
                uow.session, ENT, [w.endpoint for w in self.witnesses],
                kms=vault_service(self.ent.settings).vault.kms, clock=self.ent.clock,
                client=client)
            uow.commit()
        return [o.status for o in outcomes]


def _witness_app(rt: Runtime, cosigner: Cosigner, vkey: str) -> FastAPI:
    """A witness node: its own store, the tlog-witness router, one log it knows."""
    origin = vkey.partition("+")[0]
    app = FastAPI()
    app.state.runtime = rt
    app.include_router(witness_router(
        cosigner, lambda _s, o: KnownLog(ENT, (vkey,)) if o == origin else None))
    return app


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    ent = _runtime(tmp_path_factory.mktemp("enterprise"))
    small_world(ent, (ENT,))
    with ent.db.unit_of_work() as uow:
        # Parcels with names, phones, addresses and ID numbers go through intake: the
        # ledger gets their events; the published entries must show none of the PI.
        register_parcels(uow.session, vault_service(ent.settings), enterprise_id=ENT,
                         parcels=[ParcelIn(waybill_no=make_waybill_no("SF", i),
                                           sender=PEOPLE[i % 3], recipient=PEOPLE[(i + 1) % 3],
                                           created_at=T0, destination_region="310115")
                                  for i in range(30)])
        vkey = signing.verifier_key(uow.session, ENT, kms=vault_service(ent.settings).vault.kms,
                                    clock=ent.clock)
        uow.commit()
    _ingest(ent, 0, 600)
    witnesses = []
    with serve(ent) as url, \
            _witness("supervision", tmp_path_factory, vkey) as sup, \
            _witness("police", tmp_path_factory, vkey) as police:
        witnesses = [sup, police]
        yield World(ent, url, vkey, witnesses)
    for w in witnesses:
        w.rt.close()
    ent.close()



@contextmanager
def _witness(name: str, tmp: pytest.TempPathFactory, vkey: str) -> Iterator[Witness]:
    rt = _runtime(tmp.mktemp(name))
    cosigner = Cosigner.generate(f"{name}.parcelguard.example/witness")
    with serve(_witness_app(rt, cosigner, vkey)) as url:
        yield Witness(name, rt, url, cosigner)


def test_an_independent_verifier_recomputes_the_root_and_checks_every_cosignature(
        world: World) -> None:
    assert world.cosign() == ["cosigned", "cosigned"]
    wkeys = tuple(w.cosigner.verifier().key_string() for w in world.witnesses)
    checked = tlog_verifier.verify_log(world.log_url, world.vkey, wkeys)
    with world.ent.db.unit_of_work() as uow:
        size = uow.session.scalar(select(LedgerHead.size).where(
            LedgerHead.enterprise_id == ENT)) or 0
    assert checked.size == size
    assert size > 600
    assert set(checked.cosigned_by) == {w.cosigner.name for w in world.witnesses}
    assert all(ts > 1_700_000_000 for ts in checked.cosigned_by.values())
    # The published entries hold no PI of the parcels that went through intake.
    blob = b"\n".join(checked.entries)
    assert b"SF" in blob  # waybill numbers: ids, published
    assert not [n for n in needles() if n in blob], "PI in the published log"
    # The log grows; a second round is cosigned from the witnesses' recorded size.
    _ingest(world.ent, 600, 300)
    assert world.cosign() == ["cosigned", "cosigned"]
    again = tlog_verifier.verify_log(world.log_url, world.vkey, wkeys)
    assert again.size == size + 300
    assert again.entries[:size] == checked.entries
    for w in world.witnesses:
        with w.rt.db.unit_of_work() as uow:
            state = uow.session.get(TlogWitnessLog, (w.cosigner.name, checked.origin))
            assert state is not None
            assert state.size == again.size


def test_a_forged_cosignature_or_log_signature_fails_the_verifier(world: World) -> None:
    world.cosign()
    other = Cosigner.generate(world.witnesses[0].cosigner.name)  # same name, other key
    with pytest.raises(AssertionError, match="no cosignature"):
        tlog_verifier.verify_log(world.log_url, world.vkey, (other.verifier().key_string(),))
    _, stranger = generate_key(world.vkey.partition("+")[0])
    with pytest.raises(AssertionError, match="no signature by the log"):
        tlog_verifier.verify_log(world.log_url, stranger)


def test_tiles_are_static_cacheable_and_strictly_addressed(world: World) -> None:
    world.cosign()
    with httpx2.Client(base_url=world.log_url + "/") as c:
        cp = c.get("checkpoint")
        assert cp.headers["cache-control"] == "no-cache"
        full = c.get("tile/0/000")
        assert full.status_code == 200
        assert len(full.content) == 256 * 32
        assert "immutable" in full.headers["cache-control"]
        assert full.headers["content-type"] == "application/octet-stream"
        part = c.get("tile/0/000.p/7")  # any width the log went through
        assert part.content == full.content[:7 * 32]
        assert "immutable" not in part.headers["cache-control"]
        entries = c.get("tile/entries/001")
        assert entries.status_code == 200
        assert "immutable" in entries.headers["cache-control"]
        for bad in ("tile/0/0", "tile/00/000", "tile/0/x000/001", "tile/0/000.p/256",
                    "tile/0/000.p/0", "tile/64/000", "tile/0/x999/999", "tile/entries/999"):
            assert c.get(bad).status_code == 404, bad
        assert httpx2.get(f"{world.url}/tlog/nobody/checkpoint").status_code == 404


def _post(witness: Witness, body: str) -> httpx2.Response:
    return httpx2.post(f"{witness.url}/witness/add-checkpoint", content=body.encode())


def _note(world: World) -> tuple[str, int]:
    with world.ent.db.unit_of_work() as uow:
        signed = signing.checkpoint(uow.session, ENT,
                                    kms=vault_service(world.ent.settings).vault.kms,
                                    clock=world.ent.clock)
        uow.commit()
    return signed.note, signed.size


def test_the_witness_answers_as_tlog_witness_says(world: World) -> None:
    world.cosign()
    w = world.witnesses[1]
    note, size = _note(world)
    # 409 with the size it holds when the old size is not it
    r = _post(w, f"old 3\n\n{note}")
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("text/x.tlog.size")
    assert r.text == f"{size}\n"
    # 400: malformed, or old size above the checkpoint's
    assert _post(w, f"old 01\n\n{note}").status_code == 400
    assert _post(w, f"old {size + 1}\n\n{note}").status_code == 400
    # 404: an origin it does not witness; 403: no signature by the trusted key
    skey, _ = generate_key("parcelguard.example/unknown")
    unknown = sign_checkpoint(NoteSigner.from_key(skey), "parcelguard.example/unknown", 1,
                              bytes(32))
    assert _post(w, f"old 0\n\n{unknown}").status_code == 404
    origin = world.vkey.partition("+")[0]
    forger, _ = generate_key(origin)
    forged = sign_checkpoint(NoteSigner.from_key(forger), origin, size + 5, bytes(32))
    assert _post(w, f"old {size}\n\n{forged}").status_code == 403
    # same size again: cosigned again (same root); a cosignature line comes back
    r = _post(w, f"old {size}\n\n{note}")
    assert r.status_code == 200
    assert r.text.startswith(f"\u2014 {w.cosigner.name} ")


def test_a_signed_fork_or_a_failing_proof_is_refused_and_kept_as_evidence(
        world: World, tmp_path: Path) -> None:
    world.cosign()
    w = world.witnesses[0]
    _, size = _note(world)
    with world.ent.db.unit_of_work() as uow:
        key = uow.session.get(signing.LedgerSigningKey, ENT)
        assert key is not None
        signer = signing._signer(key, vault_service(world.ent.settings).vault.kms)
        proof = consistency_proof(SqlTileStore(uow.session.connection(), ENT), size - 10, size)
    origin = world.vkey.partition("+")[0]
    # The log's own key signs another root for the size the witness holds: a fork.
    fork = sign_checkpoint(signer, origin, size, bytes(32))
    r = _post(w, f"old {size}\n\n{fork}")
    assert r.status_code == 409
    assert r.text == f"{size}\n"
    # A larger checkpoint with a proof that does not verify: 422.
    bigger = sign_checkpoint(signer, origin, size + 1, bytes(32))
    lines = "".join(base64.b64encode(h).decode() + "\n" for h in proof)
    r = _post(w, f"old {size}\n{lines}\n{bigger}")
    assert r.status_code == 422
    with w.rt.db.unit_of_work() as uow:
        found = uow.session.scalars(select(SupervisionFinding)
                                    .where(SupervisionFinding.enterprise_id == ENT)
                                    .order_by(SupervisionFinding.id)).all()
        state = uow.session.get(TlogWitnessLog, (w.cosigner.name, origin))
    assert [f.kind for f in found[-2:]] == ["ledger_tamper", "ledger_tamper"]
    assert "fork" in found[-2].summary
    assert found[-2].evidence["presented_note"] == fork
    assert found[-1].evidence["proof"]["hashes"] == [base64.b64encode(h).decode()
                                                      for h in proof]
    assert state is not None
    assert state.size == size


class _CutAfter(httpx2.BaseTransport):
    """A link that goes down after ``n`` requests (the node cut off mid-pass)."""

    def __init__(self, n: int) -> None:
        self.inner = httpx2.HTTPTransport()
        self.left = n

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        self.left -= 1
        if self.left < 0:
            raise httpx2.ConnectError("link down", request=request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def _rewrite(rt: Runtime, leaves: list[bytes]) -> None:
    """An insider with database access rewrites the log and its tiles consistently."""
    with rt.db.unit_of_work() as uow:
        s = uow.session
        s.execute(delete(LedgerEvent).where(LedgerEvent.enterprise_id == ENT,
                                            LedgerEvent.seq >= len(leaves)))
        for seq, leaf in enumerate(leaves):
            s.execute(update(LedgerEvent).where(LedgerEvent.enterprise_id == ENT,
                                                LedgerEvent.seq == seq).values(leaf=leaf))
        s.execute(delete(LedgerTile).where(LedgerTile.enterprise_id == ENT))
        scratch = InMemoryTileStore()
        append_leaves(scratch, 0, leaves)
        SqlTileStore(s.connection(), ENT).write_tiles(scratch.tiles)
        s.execute(update(LedgerHead).where(LedgerHead.enterprise_id == ENT)
                  .values(size=len(leaves)))
        uow.commit()


def test_the_mirror_verifies_resumes_and_refuses_a_rewritten_log(world: World,
                                                                tmp_path: Path) -> None:
    # Three chunks at least, so six requests cannot carry the whole log whichever of
    # this module's tests ran before (alone, the log held two chunks and six sufficed).
    with world.ent.db.unit_of_work() as uow:
        size = uow.session.scalar(select(LedgerHead.size).where(
            LedgerHead.enterprise_id == ENT)) or 0
    if size < 3 * 512:
        _ingest(world.ent, 20_000, 3 * 512 - size)
    world.cosign()
    sup = _runtime(tmp_path / "mirror")
    source = MirrorSource(ENT, world.log_url, world.vkey)
    served = tlog_verifier.verify_log(world.log_url, world.vkey)
    # Cut off after a few requests: what was verified so far is kept...
    with sup.db.unit_of_work() as uow, httpx2.Client(transport=_CutAfter(6)) as cut:
        first = mirror_log(uow.session, source, client=cut, clock=sup.clock, chunk=512)
    assert first.status == "unavailable"
    assert 0 < first.size < served.size
    assert first.size % 512 == 0
    # ...and the next pass resumes there and finishes.
    with sup.db.unit_of_work() as uow, httpx2.Client() as client:
        second = mirror_log(uow.session, source, client=client, clock=sup.clock, chunk=512)
        assert (second.status, second.from_size, second.size) == \
            ("mirrored", first.size, served.size)
        assert mirrored_entries(uow.session, second.origin) == served.entries
        third = mirror_log(uow.session, source, client=client, clock=sup.clock)
        assert third.status == "up_to_date"

    # An insider rewrites one old event and re-signs: the log is self-consistent
    # again, with a checkpoint signed by its own key, but it does not extend the one
    # mirrored, and the mirror says so with the proof.
    leaves = list(served.entries)
    leaves[5] = leaves[5].replace(b'"step":"created"', b'"step":"closed"')
    assert leaves[5] != served.entries[5]
    _ingest(world.ent, 10_000, 3)
    with world.ent.db.unit_of_work() as uow:
        grown = [bytes(b) for b in uow.session.scalars(
            select(LedgerEvent.leaf).where(LedgerEvent.enterprise_id == ENT)
            .order_by(LedgerEvent.seq))]
    _rewrite(world.ent, leaves + grown[len(leaves):])
    world.cosign()
    with sup.db.unit_of_work() as uow, httpx2.Client() as client:
        refused = mirror_log(uow.session, source, client=client, clock=sup.clock)
        assert refused.status == "refused"
        assert "rewritten" in (refused.reason or "")
        finding = uow.session.get(SupervisionFinding, refused.finding_id)
        assert finding is not None
        assert finding.kind == "ledger_tamper"
        assert finding.evidence["proof"]["verified"] is False
        assert finding.evidence["proof"]["hashes"]  # the remote's own proof, failing
        assert finding.evidence["accepted_checkpoint"].startswith(served.origin)
        # nothing of the rewritten log was stored, and the log stays refused
        assert mirrored_entries(uow.session, refused.origin) == served.entries
        again = mirror_log(uow.session, source, client=client, clock=sup.clock)
        assert again.status == "refused"
        state = uow.session.get(MirrorLog, refused.origin)
        assert state is not None
        assert state.refused
        assert state.size == served.size
    _rewrite(world.ent, served.entries)  # leave the log as the other tests expect it
    sup.close()
    # The supervision store holds the mirrored log of parcels that went through
    # intake with their PI: none of it is in its database file.
    blob = b"".join(p.read_bytes() for p in (tmp_path / "mirror").glob("pg.db*"))
    assert served.entries[0] in blob
    assert not [n for n in needles() if n in blob], "PI in the mirror's store"


def test_a_rolled_back_log_is_refused_by_the_mirror(world: World, tmp_path: Path) -> None:
    world.cosign()
    sup = _runtime(tmp_path / "mirror")
    source = MirrorSource(ENT, world.log_url, world.vkey)
    with sup.db.unit_of_work() as uow, httpx2.Client() as client:
        assert mirror_log(uow.session, source, client=client, clock=sup.clock).status \
            == "mirrored"
    served = tlog_verifier.verify_log(world.log_url, world.vkey)
    _rewrite(world.ent, served.entries[:-40])
    world.cosign()
    with sup.db.unit_of_work() as uow, httpx2.Client() as client:
        refused = mirror_log(uow.session, source, client=client, clock=sup.clock)
    assert refused.status == "refused"
    assert "rollback" in (refused.reason or "")
    _rewrite(world.ent, served.entries)
    sup.close()
