"""Key rotation without downtime, in resumable batches.

``start_rotation`` makes a new KEK version primary at once: every key created from
then on is wrapped by it. Existing subject keys are then moved batch by batch:

- re-wrap (default): each subject's data key is re-wrapped under the new KEK; the
  field ciphertexts do not change (they are under the data key);
- re-encrypt (``reencrypt=True``): each subject also gets a new data key and every
  one of its field ciphertexts, wherever the plugins say they live, is re-encrypted
  under it; the old data key is destroyed.

Old KEK versions keep decrypting until every subject key has moved; then
``retire_stale`` destroys them. A batch, its cursor and its counters commit together
(the caller commits once per batch), so a crash or kill resumes exactly where the
last committed batch ended and nothing is lost or done twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, delete, func, select, text, update
from sqlalchemy.orm import Session

from parcelguard.core.errors import Conflict, NotFound
from parcelguard.core.ids import new_id
from parcelguard.vault.cipher import dek_version_of
from parcelguard.vault.keys import KeysetRecord, SubjectKeyRecord
from parcelguard.vault.models import VaultRotationJob, VaultSubjectKey
from parcelguard.vault.service import VaultService


@dataclass(frozen=True)
class CiphertextColumn:
    """Where one PI field's ciphertexts live: ``table.ct_column`` holds the field
    ``field`` of the subject named in ``table.subject_column``, bound to ``id``."""

    table: str
    field: str
    subject_column: str
    ct_column: str
    id_column: str = "id"
    enterprise_column: str = "enterprise_id"


@dataclass(frozen=True)
class BatchReport:
    subjects: int
    fields_reencrypted: int
    done: bool


def _job(session: Session, enterprise_id: str) -> VaultRotationJob | None:
    return session.scalars(select(VaultRotationJob).where(
        VaultRotationJob.enterprise_id == enterprise_id,
        VaultRotationJob.status == "running")).first()


def start_rotation(session: Session, vs: VaultService, *, enterprise_id: str,
                   reencrypt: bool, at: datetime) -> VaultRotationJob:
    """Promote a new KEK version and open a rotation job (one at a time)."""
    if _job(session, enterprise_id) is not None:
        raise Conflict(f"a key rotation for {enterprise_id} is already running; resume it")
    keyset = vs.keyset(session, enterprise_id, create=False)
    rotated = vs.vault.rotate(keyset)
    vs.store_keyset(session, rotated)
    job = VaultRotationJob(id=new_id("rot"), enterprise_id=enterprise_id,
                           to_version=rotated.primary.version, reencrypt=reencrypt,
                           cursor="", subjects_done=0, fields_reencrypted=0,
                           status="running", started_at=at)
    session.add(job)
    session.flush()
    return job


def running_job(session: Session, enterprise_id: str) -> VaultRotationJob:
    job = _job(session, enterprise_id)
    if job is None:
        raise NotFound(f"no key rotation is running for {enterprise_id}")
    return job


_SK = VaultSubjectKey.__table__
_T = TypeVar("_T")
PendingRow = tuple[Any, ...]
"""A `WrappedRow` read for a batch; on SQLite its rowid follows."""


def _pending_filter(job: VaultRotationJob) -> list[Any]:
    where = [_SK.c.enterprise_id == job.enterprise_id, _SK.c.subject_id > job.cursor]
    if not job.reencrypt:  # re-wrap: only keys still under an old KEK
        where.append(_SK.c.kek_version != job.to_version)
    return where


def _pending(session: Session, job: VaultRotationJob,
             limit: int) -> tuple[list[PendingRow], bool]:
    """`_select_pending` in the session's own transaction."""
    conn = session.connection()
    cur = conn.connection.cursor()
    try:
        return _select_pending(cur, conn.dialect.name, job.enterprise_id, after=job.cursor,
                               not_version=None if job.reencrypt else job.to_version,
                               limit=limit)
    finally:
        cur.close()


def _select_pending(cur: Any, dialect: str, enterprise_id: str, *, after: str,
                    not_version: int | None, limit: int) -> tuple[list[PendingRow], bool]:
    """The next ``limit`` subject keys by subject id after ``after`` (with
    ``not_version``, only those not yet under it), plus the rest of the last subject's
    versions (a subject never straddles two batches), and whether that was all. Each
    row is a `WrappedRow`, on SQLite followed by its rowid. Driver-level SQL returning
    plain rows: a batch is thousands of them, and per-row ORM or type processing would
    cost more than the crypto."""
    p = "?" if dialect == "sqlite" else "%s"
    sql = ("SELECT subject_id, dek_version, kek_version, wrapped_dek"
           + (", rowid" if dialect == "sqlite" else "") + " FROM vault_subject_keys "
           f"WHERE enterprise_id = {p} AND subject_id > {p}"
           + ("" if not_version is None else f" AND kek_version <> {p}"))
    args: tuple[Any, ...] = (enterprise_id, after,
                             *(() if not_version is None else (not_version,)))
    order = " ORDER BY subject_id, dek_version"
    cur.execute(f"{sql}{order} LIMIT {int(limit)}", args)
    rows = list(cur.fetchall())
    exhausted = len(rows) < limit
    if not exhausted:
        cur.execute(f"{sql} AND subject_id = {p} AND dek_version > {p}{order}",
                    (*args, rows[-1][0], rows[-1][1]))
        rows += cur.fetchall()
    return rows, exhausted


def _store_rewrapped(conn: Connection, enterprise_id: str, new_version: int,
                     rows: list[PendingRow], wrapped: list[bytes]) -> None:
    """One statement per batch. UPDATE guarded by the old version, never an upsert:
    a subject erased meanwhile must not come back."""
    if conn.dialect.name == "postgresql":
        # %b: binary parameters. With %s psycopg dumps a list as text, each bytea
        # escaped to hex: about 14 us of client CPU a key, three times the re-wrap.
        conn.exec_driver_sql(
            "UPDATE vault_subject_keys AS k SET kek_version = %b, wrapped_dek = v.w "
            "FROM unnest(%b::text[], %b::int[], %b::int[], %b::bytea[]) "
            "AS v(sid, dv, old, w) WHERE k.enterprise_id = %b AND k.subject_id = v.sid "
            "AND k.dek_version = v.dv AND k.kek_version = v.old",
            (new_version, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
             wrapped, enterprise_id))
        return
    # SQLite: found by the rowid the read returned (one B-tree seek instead of a
    # search of the primary-key index), the key columns still checked on the row.
    # The new key goes in as a bytearray: Python's sqlite3 binds it as the same BLOB,
    # but sends a bytes parameter through its adapter lookup first (about a
    # microsecond a row, more than the copy costs).
    conn.exec_driver_sql(
        "UPDATE vault_subject_keys SET kek_version = ?, wrapped_dek = ? WHERE "
        "rowid = ? AND subject_id = ? AND dek_version = ? AND kek_version = ?",
        [(new_version, bytearray(w), rid, sid, dv, old)
         for (sid, dv, old, _, rid), w in zip(rows, wrapped, strict=True)])


def remaining(session: Session, job: VaultRotationJob) -> int:
    """Subject keys still to move (one COUNT: for progress, not per batch)."""
    return int(session.scalar(select(func.count()).select_from(_SK)
                              .where(*_pending_filter(job))) or 0)


def run_batch(session: Session, vs: VaultService, job: VaultRotationJob, *,
              locations: Sequence[CiphertextColumn], batch: int, at: datetime) -> BatchReport:
    """Move the next ``batch`` subjects to the new keys, all in the session's
    transaction; the caller commits. (`keys rotate` re-wraps with `Rewrap` instead,
    holding the writer only to write.)"""
    keyset = vs.keyset(session, job.enterprise_id, create=False)
    rows, exhausted = _pending(session, job, batch)
    fields = 0
    if job.reencrypt:
        fields = _reencrypt(session, vs, keyset, [
            SubjectKeyRecord(job.enterprise_id, *row[:4]) for row in rows], locations)
    elif rows:  # (the read left out keys already under the new version)
        _store_rewrapped(session.connection(), job.enterprise_id, job.to_version, rows,
                         vs.vault.rewrap_rows(keyset, rows))
    return _advance(session, job, rows, exhausted=exhausted, fields=fields, at=at)


def _advance(session: Session, job: VaultRotationJob, rows: list[PendingRow], *,
             exhausted: bool, fields: int, at: datetime) -> BatchReport:
    subjects = len(set(map(itemgetter(0), rows)))
    if rows:
        job.cursor = rows[-1][0]
    job.subjects_done += subjects
    job.fields_reencrypted += fields
    # a short read means nothing is left after the cursor (new keys are made under
    # the new version, so none can appear behind it)
    if exhausted:
        job.status, job.finished_at = "done", at
    session.flush()
    return BatchReport(subjects=subjects, fields_reencrypted=fields, done=exhausted)


class Rewrap:
    """A re-wrap rotation driven batch by batch.

    Each `step` reads the next batch of subject keys with no transaction open (plain
    autocommit SELECTs: no lock on SQLite, a snapshot on PostgreSQL), re-wraps them in
    memory, and only then opens a write transaction (SQLite's BEGIN IMMEDIATE) for one
    executemany UPDATE and the job's cursor. The writer is held for that write alone:
    about 2 microseconds per key, milliseconds per batch, and between two batches it is
    free for the API while the next one is read and re-wrapped.

    With ``writer_thread`` the write runs on a thread of its own, made before `keys
    rotate --nice` lowers the priority of the rest (on Linux a nice value is per
    thread), and the reading thread waits for it. A busy node's requests come before
    the rotation's reading and crypto, but a rotation holding the writer is never the
    one left waiting for a CPU while API writers wait for it: at the lowered priority,
    the write was descheduled for tens of milliseconds at a time with the lock in hand.
    Without a lowered priority there is nothing to keep, and the hand-over (two thread
    wake-ups per batch, each a scheduling delay on a loaded machine) is left out.

    Durability: the batches commit without waiting for the disk (SQLite
    ``synchronous=NORMAL`` on the writer's connection, PostgreSQL
    ``synchronous_commit=off`` for the transaction); the last batch, which marks the job
    done, waits for it and so makes every earlier one durable too (SQLite's WAL and
    PostgreSQL's log are written in order). A killed process loses nothing committed;
    an operating-system crash or power loss can take back the last batches together
    with the cursor that covers them, and `--resume` does them again (an old key still
    decrypts until it is retired, and retiring needs every key moved).

    Every UPDATE is guarded by the key's old version (a key erased or changed since the
    read is left alone) and every batch by the cursor it was read after (two resumed
    runs of one rotation cannot both write)."""

    def __init__(self, engine: Engine, vs: VaultService, keyset: KeysetRecord, *,
                 now: Callable[[], datetime], writer_thread: bool = True) -> None:
        self._vs, self._keyset, self._now = vs, keyset, now
        self._dialect = engine.dialect.name
        self._ph = "?" if self._dialect == "sqlite" else "%s"
        self.longest_hold = 0.0
        """The longest a write transaction of this run held the writer, in seconds."""
        self.done = False
        self._writer = (ThreadPoolExecutor(1, thread_name_prefix="rotation-writer")
                        if writer_thread else None)
        self._conn: Connection | None = None
        self._read: Any = None
        try:
            self._conn = self._on_writer(engine.connect)
            self._read = engine.raw_connection()
            cur = self._read.cursor()
            try:
                cur.execute("SELECT id, cursor, to_version, reencrypt, subjects_done FROM "
                            f"vault_rotation_jobs WHERE enterprise_id = {self._ph} AND "
                            "status = 'running'", (keyset.enterprise_id,))
                job = cur.fetchone()
            finally:
                cur.close()
            self._read.rollback()  # PostgreSQL's driver opened a transaction for the read
            if self._dialect == "postgresql":
                # Without statistics (autovacuum off, or just after a bulk load) the
                # planner sorts every remaining key for each batch's read and hashes
                # them all for its UPDATE: 92 and 214 ms a 2,000-key batch against 5
                # and 25 ms once analysed, so a rotation grew with the square of the
                # keys. A sample of the table costs far less than one such batch.
                cur = self._read.cursor()
                try:
                    cur.execute("ANALYZE vault_subject_keys")
                finally:
                    cur.close()
                self._read.commit()
            if job is None:
                raise NotFound(f"no key rotation is running for {keyset.enterprise_id}")
            if job[3]:
                raise Conflict("this rotation re-encrypts fields; run it with run_batch")
            self.job_id: str = job[0]
            self.cursor: str = job[1]
            self.to_version: int = job[2]
            self.subjects_done: int = job[4]
            if self._dialect == "sqlite":
                self._on_writer(self._sqlite_synchronous, "NORMAL")
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Give the connections back (the pool's durability setting restored)."""
        try:
            if self._conn is not None:
                self._on_writer(self._close_writer)
            if self._read is not None:
                self._read.close()
        finally:
            if self._writer is not None:
                self._writer.shutdown()

    def _on_writer(self, fn: Callable[..., _T], *args: Any) -> _T:
        """``fn(*args)`` on the writer thread (here if there is none), waited for."""
        if self._writer is None:
            return fn(*args)
        return self._writer.submit(fn, *args).result()

    def _close_writer(self) -> None:
        assert self._conn is not None
        try:
            if self._dialect == "sqlite" and not self._conn.invalidated:
                self._sqlite_synchronous("FULL")
        finally:
            self._conn.close()

    def _sqlite_synchronous(self, level: str) -> None:
        # on the driver's connection, outside any transaction (SQLAlchemy's own
        # execute would begin one, and on SQLite that takes the writer)
        assert self._conn is not None
        raw = self._conn.connection.dbapi_connection
        assert raw is not None
        raw.cursor().execute(f"PRAGMA synchronous={level}")

    def __enter__(self) -> Rewrap:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def step(self, batch: int) -> BatchReport:
        """Re-wrap the next ``batch`` subject keys (and the rest of the last subject's
        versions) and commit them with the cursor."""
        cur = self._read.cursor()
        try:
            rows, exhausted = _select_pending(cur, self._dialect, self._keyset.enterprise_id,
                                              after=self.cursor, not_version=self.to_version,
                                              limit=batch)
        finally:
            cur.close()
        if self._dialect != "sqlite":
            self._read.rollback()  # end the read's snapshot before the write
        wrapped = self._vs.vault.rewrap_rows(self._keyset, rows) if rows else []
        return self._on_writer(self._write, rows, wrapped, exhausted)

    def _write(self, rows: list[PendingRow], wrapped: list[bytes],
               exhausted: bool) -> BatchReport:
        conn, ph = self._conn, self._ph
        assert conn is not None
        subjects = len(set(map(itemgetter(0), rows)))
        cursor = rows[-1][0] if rows else self.cursor
        if exhausted and self._dialect == "sqlite":
            # the last batch waits for the disk, and with it every batch before it
            self._sqlite_synchronous("FULL")
        with conn.begin():  # SQLite: BEGIN IMMEDIATE, waiting for the writer here
            held = time.monotonic()
            if not exhausted and self._dialect == "postgresql":
                conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            if rows:
                _store_rewrapped(conn, self._keyset.enterprise_id, self.to_version, rows,
                                 wrapped)
            if exhausted:
                moved = conn.execute(
                    update(VaultRotationJob)
                    .where(VaultRotationJob.id == self.job_id,
                           VaultRotationJob.status == "running",
                           VaultRotationJob.cursor == self.cursor)
                    .values(cursor=cursor, status="done", finished_at=self._now(),
                            subjects_done=VaultRotationJob.subjects_done + subjects)).rowcount
            else:
                moved = conn.exec_driver_sql(
                    f"UPDATE vault_rotation_jobs SET cursor = {ph}, subjects_done = "
                    f"subjects_done + {ph} WHERE id = {ph} AND status = 'running' AND "
                    f"cursor = {ph}", (cursor, subjects, self.job_id, self.cursor)).rowcount
            if moved != 1:
                raise Conflict("another process moved this key rotation on meanwhile; let "
                               "it finish, or check with `parcelguard keys status`")
        self.longest_hold = max(self.longest_hold, time.monotonic() - held)
        self.cursor = cursor
        self.subjects_done += subjects
        self.done = exhausted
        return BatchReport(subjects=subjects, fields_reencrypted=0, done=exhausted)


def _reencrypt(session: Session, vs: VaultService, keyset: KeysetRecord,
               records: list[SubjectKeyRecord], locations: Sequence[CiphertextColumn]) -> int:
    """New data key per subject; every field ciphertext moved to it; old keys gone."""
    versions = {(r.subject_id, r.dek_version): r for r in records}
    newest: dict[str, SubjectKeyRecord] = {}
    for r in records:
        if r.subject_id not in newest or r.dek_version > newest[r.subject_id].dek_version:
            newest[r.subject_id] = r
    moved = 0
    conn = session.connection()
    for sid, current in newest.items():
        new = vs.vault.rotate_subject_key(keyset, current)
        for loc in locations:
            found = conn.execute(text(
                f"SELECT {loc.id_column}, {loc.ct_column} FROM {loc.table} "
                f"WHERE {loc.enterprise_column} = :e AND {loc.subject_column} = :s "
                f"AND {loc.ct_column} IS NOT NULL"), {"e": keyset.enterprise_id, "s": sid}).all()
            for rid, ct in found:
                # a field may still sit under an older data key of this subject
                source = versions.get((sid, dek_version_of(bytes(ct))), current)
                (moved_ct,) = vs.vault.reencrypt(keyset, source, new,
                                                 [(str(rid), loc.field, bytes(ct))])
                conn.execute(text(f"UPDATE {loc.table} SET {loc.ct_column} = :c "
                                  f"WHERE {loc.id_column} = :i"), {"c": moved_ct, "i": rid})
            moved += len(found)
        session.execute(delete(VaultSubjectKey).where(
            VaultSubjectKey.enterprise_id == keyset.enterprise_id,
            VaultSubjectKey.subject_id == sid))
        session.add(VaultSubjectKey(enterprise_id=new.enterprise_id, subject_id=sid,
                                    dek_version=new.dek_version, kek_version=new.kek_version,
                                    wrapped_dek=new.wrapped_dek))
        session.flush()
    return moved


def retire_stale(session: Session, vs: VaultService, *, enterprise_id: str) -> list[int]:
    """Destroy every old KEK version that no subject key uses any more."""
    keyset = vs.keyset(session, enterprise_id, create=False)
    retired = []
    for version in keyset.stale_versions:
        left = session.scalars(select(VaultSubjectKey.subject_id).where(
            VaultSubjectKey.enterprise_id == enterprise_id,
            VaultSubjectKey.kek_version == version).limit(1)).first()
        if left is not None:
            continue
        keyset = vs.vault.retire(keyset, version, deks_remaining=0)
        retired.append(version)
    vs.store_keyset(session, keyset)
    return retired
