"""Mirror a remote C2SP tlog-tiles log into this node's own store, verifying every entry.

One pass (``mirror_log``) of a log published as https://c2sp.org/tlog-tiles
(ledger/tlog.py):

1. fetch ``<prefix>/checkpoint`` and open it with the log's pinned verifier key;
2. prove the new checkpoint extends what was mirrored before: an RFC 9162 consistency
   proof, computed from the remote's own tiles, from the verified prefix (and from
   the last checkpoint, if the prefix had not reached it yet) to the new size;
3. fetch the entry bundles from the verified prefix on, hash them into the mirror's
   own Merkle tiles (``mirror_tiles``) and store them (``mirror_entries``) chunk by
   chunk; each chunk is committed only once its root is proved against the signed
   checkpoint root (a consistency proof from the chunk's end, or equality at the end).
   A chunk's entries and proof tiles are fetched before its transaction starts (the
   next chunk's bundles by a second thread meanwhile); the mirror's tiles, the check
   and the inserts then take one short transaction (a slow or stalled remote never
   holds the database's write lock);
4. hand each committed chunk to the national store (monitor/national.py), the
   Parquet partitions the national analytics read.

So every stored entry is verified against a signed checkpoint, an interrupted pass
resumes after its last committed chunk, and a log that rolled back (a smaller signed
size), forked (another root for a signed size) or rewrote history (no consistency
proof verifies) is refused: a ``ledger_tamper`` finding keeps both signed checkpoints
and the failed proof as evidence, the log is marked refused and nothing more is
mirrored from it. The proof hashes come from the untrusted remote; only checks
against signed roots and the mirror's own hashes decide anything.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import httpx2
from sqlalchemy import Connection, and_, insert, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from parcelguard.core.clock import Clock
from parcelguard.ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    open_checkpoint,
    parse_checkpoint,
)
from parcelguard.ledger.merkle import (
    EMPTY_ROOT,
    append,
    consistency_proof,
    leaf_hashes,
    verify_consistency,
)
from parcelguard.ledger.tiles import TileKey, TileMissingError, tile_width
from parcelguard.ledger.tlog import WIDTH, tile_path, unbundle
from parcelguard.supervision.models import MirrorEntry, MirrorLog, MirrorTile
from parcelguard.supervision.tlog_witness import record_tamper

log = logging.getLogger(__name__)

# Entries verified and committed together: 16 bundles. Small enough that a pass
# interrupted at any point loses little, large enough that the per-chunk proof (a
# handful of cached tiles) and commit stay a small part of the work.
CHUNK = 16 * WIDTH


class MirrorUnavailable(Exception):
    """The remote did not answer as a log must (down, 404, garbage). Not evidence of
    tampering: the next pass tries again."""


@dataclass(frozen=True)
class MirrorSource:
    """A log to mirror: whose, where (the tlog-tiles prefix URL) and its verifier key
    (the note key ``<origin>+<hash>+<key>``; the origin is the key's name)."""

    enterprise_id: str
    url: str
    verifier_key: str


@dataclass(frozen=True)
class MirrorResult:
    enterprise_id: str
    origin: str
    # mirrored | up_to_date | refused | unavailable
    status: str
    from_size: int
    size: int
    entries: int
    finding_id: int | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"enterprise_id": self.enterprise_id, "origin": self.origin,
                "status": self.status, "from_size": self.from_size, "size": self.size,
                "entries": self.entries, "finding_id": self.finding_id,
                "reason": self.reason}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class HttpTiles:
    """A read-only TileStore over a remote log's tiles at one checkpoint size, so the
    ledger's own proof code (merkle.consistency_proof) runs over HTTP. Tiles are
    cached for the pass: at a fixed size none of them changes."""

    def __init__(self, client: httpx2.Client, url: str, size: int) -> None:
        self.client = client
        self.url = url.rstrip("/")
        self.size = size
        self.cache: dict[TileKey, bytes] = {}

    def get(self, path: str) -> bytes:
        try:
            resp = self.client.get(f"{self.url}/{path}")
        except httpx2.HTTPError as exc:
            raise MirrorUnavailable(f"GET {path}: {type(exc).__name__}") from None
        if resp.status_code != 200:
            raise MirrorUnavailable(f"GET {path}: HTTP {resp.status_code}")
        return resp.content

    def read_tiles(self, keys: Sequence[TileKey]) -> dict[TileKey, bytes]:
        out = {}
        for key in keys:
            if key not in self.cache:
                width = tile_width(key, self.size)
                if width == 0:
                    continue
                self.cache[key] = self.get(tile_path(key.level, key.index, width))
            out[key] = self.cache[key]
        return out

    def write_tiles(self, tiles: Mapping[TileKey, bytes]) -> None:
        raise TypeError("a remote log is read-only")

    def entries(self, start: int, end: int) -> list[bytes]:
        """Entries [start, end) of the log at this size, from their bundles."""
        out: list[bytes] = []
        for index in range(start // WIDTH, (end - 1) // WIDTH + 1):
            width = min(WIDTH, self.size - index * WIDTH)
            try:
                got = unbundle(self.get(tile_path(None, index, width)))
            except ValueError as exc:
                raise MirrorUnavailable(f"entry bundle {index}: {exc}") from None
            if len(got) != width:
                raise MirrorUnavailable(f"entry bundle {index} holds {len(got)} entries, "
                                        f"not {width}")
            lo = max(start, index * WIDTH) - index * WIDTH
            hi = min(end, (index + 1) * WIDTH) - index * WIDTH
            out += got[lo:hi]
        return out


class MirrorTileStore:
    """The mirror's own tiles of one log in ``mirror_tiles``, in the caller's transaction."""

    def __init__(self, conn: Connection, origin: str) -> None:
        self.conn = conn
        self.origin = origin

    def read_tiles(self, keys: Sequence[TileKey]) -> dict[TileKey, bytes]:
        if not keys:
            return {}
        t = MirrorTile.__table__.c
        rows = self.conn.execute(
            select(t.level, t.idx, t.data).where(
                t.origin == self.origin,
                or_(*[and_(t.level == k.level, t.idx == k.index) for k in keys])))
        return {TileKey(level, idx): bytes(data) for level, idx, data in rows}

    def write_tiles(self, tiles: Mapping[TileKey, bytes]) -> None:
        if not tiles:
            return
        upsert: Any = pg_insert if self.conn.dialect.name == "postgresql" else sqlite_insert
        stmt = upsert(MirrorTile.__table__)
        stmt = stmt.on_conflict_do_update(index_elements=["origin", "level", "idx"],
                                          set_={"data": stmt.excluded.data})
        self.conn.execute(stmt, [{"origin": self.origin, "level": k.level, "idx": k.index,
                                  "data": v} for k, v in tiles.items()])


def _fetch_checkpoint(client: httpx2.Client, url: str) -> str:
    try:
        resp = client.get(f"{url.rstrip('/')}/checkpoint")
    except httpx2.HTTPError as exc:
        raise MirrorUnavailable(f"GET checkpoint: {type(exc).__name__}") from None
    if resp.status_code != 200:
        raise MirrorUnavailable(f"GET checkpoint: HTTP {resp.status_code}")
    return resp.text


def _state(session: Session, source: MirrorSource, origin: str, clock: Clock) -> MirrorLog:
    state = session.get(MirrorLog, origin)
    if state is None:
        state = MirrorLog(origin=origin, enterprise_id=source.enterprise_id,
                          verifier_key=source.verifier_key, size=0, root=EMPTY_ROOT,
                          checkpoint_size=0, checkpoint_note=None, refused=False,
                          updated_at=clock.now())
        session.add(state)
        session.flush()
    return state


def _fetch_proof(remote: HttpTiles, old: int, new: int) -> tuple[list[bytes] | None, str]:
    """PROOF(old, new) from the remote's tiles (over HTTP: call it outside any
    transaction); None and why when the remote cannot give one."""
    try:
        return consistency_proof(remote, old, new), ""
    except (TileMissingError, ValueError) as exc:
        return None, f"no proof: {exc}"


def _check(old: int, old_root: bytes, new: int, new_root: bytes,
           fetched: tuple[list[bytes] | None, str]) -> dict[str, Any]:
    """Check a fetched PROOF(old, new) against two roots we trust; the evidence."""
    hashes, error = fetched
    if hashes is None:
        return {"type": "consistency", "old_size": old, "new_size": new, "hashes": None,
                "verified": False, "error": error}
    ok = verify_consistency(old, new, old_root, new_root, hashes)
    return {"type": "consistency", "old_size": old, "new_size": new,
            "hashes": [_b64(h) for h in hashes], "verified": ok,
            "error": None if ok else "proof does not verify"}


def _prove(remote: HttpTiles, old: int, old_root: bytes, new: int,
           new_root: bytes) -> dict[str, Any]:
    return _check(old, old_root, new, new_root, _fetch_proof(remote, old, new))


Refusal = tuple[str, dict[str, Any]]  # (reason, proof evidence)


class NationalSink(Protocol):
    """Where verified entries go next (monitor/national.py: Parquet partitions)."""

    def catch_up(self, enterprise_id: str, size: int,
                 read: Callable[[int, int], list[bytes]]) -> int: ...

    def append(self, enterprise_id: str, start: int, entries: Sequence[bytes],
               read: Callable[[int, int], list[bytes]]) -> None: ...


class _Raced(Exception):
    """Another pass (another process) moved this log on since it was read."""


@dataclass(frozen=True)
class _Seen:
    """What the mirror held of a log when the pass read it (in a short transaction:
    everything over HTTP happens outside one)."""

    size: int
    root: bytes
    checkpoint_note: str | None


@dataclass
class _Pass:
    """One mirror pass over one log. Everything fetched over HTTP is fetched outside
    a transaction; each step then verifies and stores in a short one, and every
    commit ends a verified step."""

    session: Session
    source: MirrorSource
    origin: str
    seen: _Seen
    clock: Clock
    done: Callable[[], None]
    start: int
    sink: NationalSink | None = None

    def size_now(self) -> int:
        state = self.session.get(MirrorLog, self.origin)
        size = self.start if state is None else int(state.size)
        self.done()  # a read: end it before anything else goes over the network
        return size

    def result(self, status: str, size: int | None = None, **kw: Any) -> MirrorResult:
        size = self.seen.size if size is None else size
        return MirrorResult(self.source.enterprise_id, self.origin, status, self.start,
                            size, size - self.start, **kw)

    def current(self) -> MirrorLog:
        """The log's row, re-read at the start of a write step; it must still be what
        this pass saw (another process's pass may have stored the same chunk)."""
        state = self.session.get(MirrorLog, self.origin, populate_existing=True)
        assert state is not None
        if state.size != self.seen.size or state.refused:
            raise _Raced(f"another pass moved this log to size {state.size}")
        return state

    def read(self, lo: int, hi: int) -> list[bytes]:
        got = mirrored_entries(self.session, self.origin, lo, hi)
        self.done()
        return got

    def export(self, start: int, leaves: Sequence[bytes]) -> None:
        """Hand committed entries to the national store. A failure there loses
        nothing: the next pass exports from the mirror's database (catch_up)."""
        if self.sink is None:
            return
        try:
            if start < 0:
                self.sink.catch_up(self.source.enterprise_id, self.seen.size, self.read)
            else:
                self.sink.append(self.source.enterprise_id, start, leaves, self.read)
        except (OSError, ValueError) as exc:
            log.warning("national export of %s stopped at a chunk: %s",
                        self.source.enterprise_id, type(exc).__name__)

    def refuse(self, reason: str, proof: dict[str, Any], note: str,
               presented: int) -> MirrorResult:
        """Throw away the uncommitted step, mark the log refused, keep the evidence."""
        self.session.rollback()
        state = self.session.get(MirrorLog, self.origin)
        assert state is not None
        state.refused, state.updated_at = True, self.clock.now()
        fid = record_tamper(
            self.session, self.source.enterprise_id, reason=reason, accepted_size=state.size,
            presented_size=presented, clock=self.clock, evidence={
                "observed_by": "mirror", "mirrored_size": state.size,
                "mirrored_root": _b64(bytes(state.root)),
                "accepted_checkpoint": state.checkpoint_note,
                "presented_checkpoint": note, "proof": proof})
        size = int(state.size)
        self.done()
        return self.result("refused", size, finding_id=fid, reason=reason)

    def extends(self, remote: HttpTiles, cp: Checkpoint) -> Refusal | None:
        """Why the signed ``cp`` does not extend what was mirrored and signed before
        (None when it does): rollback, fork, or no consistency proof. Over HTTP, no
        transaction: the roots it checks against are the pass's snapshot."""
        note = self.seen.checkpoint_note
        last = None if note is None else parse_checkpoint(note[:note.rindex("\n\n") + 1])
        if last is not None and cp.size < last.size:
            return (f"rollback: the log signed size {cp.size} after size {last.size}",
                    _prove(remote, cp.size, cp.root, last.size, last.root))
        if last is not None and cp.size == last.size and cp.root != last.root:
            return (f"fork: the log signed two roots for size {cp.size}",
                    {"type": "consistency", "old_size": cp.size, "new_size": cp.size,
                     "hashes": [], "verified": False,
                     "error": "two different roots for one size"})
        checks = [(self.seen.size, self.seen.root)]
        if last is not None and last.size != self.seen.size:
            checks.append((last.size, last.root))
        for old, old_root in checks:
            proof = _prove(remote, old, old_root, cp.size, cp.root)
            if proof["verified"]:
                continue
            if proof["hashes"] is None:  # the remote failed to serve a tile
                raise MirrorUnavailable(proof["error"])
            return (f"the log at size {cp.size} does not extend size {old}: "
                    "history was rewritten", proof)
        return None

    def copy(self, remote: HttpTiles, cp: Checkpoint, chunk: int) -> Refusal | None:
        """Fetch, verify and store entries up to ``cp.size``, one short transaction
        per chunk: the entries and the chunk's proof tiles are fetched first, then
        the mirror's own tiles are extended, the root checked and the entries stored.
        The next chunk's bundles are fetched (by a second thread, on a second
        connection) while this one is checked and stored: the network and the
        store's work overlap, and no transaction ever waits on the network."""
        if self.seen.size >= cp.size:
            return None

        def span(lo: int) -> tuple[int, int]:
            return lo, min(cp.size, (lo // chunk + 1) * chunk)

        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mirror-fetch")
        try:
            lo, hi = span(self.seen.size)
            pending = pool.submit(remote.entries, lo, hi)
            while True:
                leaves = pending.result()
                if hi < cp.size:
                    pending = pool.submit(remote.entries, *span(hi))
                refusal = self._store(remote, cp, lo, hi, leaves)
                if refusal is not None or hi == cp.size:
                    return refusal
                lo, hi = span(hi)
        finally:
            # a refusal leaves a fetch running: its answer is not waited for
            pool.shutdown(wait=False, cancel_futures=True)

    def _store(self, remote: HttpTiles, cp: Checkpoint, lo: int, hi: int,
               leaves: list[bytes]) -> Refusal | None:
        """Verify entries [lo, hi) against the signed root and store them."""
        hashes = leaf_hashes(leaves)
        fetched = ([], "") if hi == cp.size else _fetch_proof(remote, hi, cp.size)
        state = self.current()  # the short transaction starts here
        store = MirrorTileStore(self.session.connection(), self.origin)
        size, root = append(store, lo, hashes)
        if hi == cp.size:
            proof: dict[str, Any] = {"type": "root", "size": hi, "root": _b64(root),
                                     "verified": root == cp.root}
        else:
            proof = _check(hi, root, cp.size, cp.root, fetched)
        if not proof["verified"]:
            return (f"the entries served for {lo}..{hi - 1} do not hash into the "
                    f"signed root of size {cp.size}", proof)
        # Core executemany on the table: the ORM's bulk path costs more than the
        # insert itself at 4,096 rows a chunk
        store.conn.execute(insert(MirrorEntry),
                           [{"origin": self.origin, "seq": lo + i, "leaf": leaf}
                            for i, leaf in enumerate(leaves)])
        state.size, state.root, state.updated_at = size, root, self.clock.now()
        self.done()
        self.seen = _Seen(size, root, self.seen.checkpoint_note)
        self.export(lo, leaves)
        return None


def mirror_log(session: Session, source: MirrorSource, *, client: httpx2.Client,
               clock: Clock, commit: Callable[[], None] | None = None,
               chunk: int = CHUNK, sink: NationalSink | None = None) -> MirrorResult:
    """One mirror pass over ``source``; commits after every verified chunk.

    ``commit`` ends a step's transaction (default ``session.commit``; pass the unit of
    work's commit so outbox events, e.g. a tamper finding's, are dispatched). No
    transaction waits on the remote: what a step needs is fetched before it starts.
    The log's verifier key
    is pinned on the first pass: a later ``source`` cannot swap it. ``sink`` (the
    supervision node's national store) gets every committed chunk, and first
    whatever the mirror holds that it does not.
    """
    done = commit or session.commit
    pinned = session.scalars(select(MirrorLog.verifier_key)
                             .where(MirrorLog.enterprise_id == source.enterprise_id)).first()
    vkey = pinned or source.verifier_key
    origin = vkey.partition("+")[0]
    state = _state(session, source, origin, clock)
    seen = _Seen(int(state.size), bytes(state.root), state.checkpoint_note)
    refused = bool(state.refused)
    done()
    run = _Pass(session, source, origin, seen, clock, done, seen.size, sink)
    run.export(-1, ())
    if refused:
        return run.result("refused", reason="this log was refused earlier: see its finding")
    try:
        note = _fetch_checkpoint(client, source.url)
        try:
            cp = open_checkpoint(note, vkey)
        except CheckpointError as exc:  # unsigned: anyone on the path could send it
            raise MirrorUnavailable(f"checkpoint rejected: {exc}") from None
        remote = HttpTiles(client, source.url, cp.size)
        refusal = run.extends(remote, cp)
        if refusal is not None:
            return run.refuse(*refusal, note, cp.size)
        # The new checkpoint is proved to extend the old: it is the target from now on.
        current = run.current()
        current.checkpoint_size, current.checkpoint_note = cp.size, note
        done()
        run.seen = _Seen(seen.size, seen.root, note)
        if cp.size == seen.size:
            return run.result("up_to_date")
        refusal = run.copy(remote, cp, chunk)
        if refusal is not None:
            return run.refuse(*refusal, note, cp.size)
        return run.result("mirrored")
    except (MirrorUnavailable, _Raced) as exc:
        session.rollback()
        return run.result("unavailable", run.size_now(), reason=str(exc))


def mirrored_entries(session: Session, origin: str, start: int = 0,
                     end: int | None = None) -> list[bytes]:
    """Mirrored entries [start, end) of a log, in order."""
    q = select(MirrorEntry.leaf).where(MirrorEntry.origin == origin, MirrorEntry.seq >= start)
    if end is not None:
        q = q.where(MirrorEntry.seq < end)
    return [bytes(b) for b in session.scalars(q.order_by(MirrorEntry.seq))]
