"""Key rotation without downtime, in resumable batches.

``start_rotation`` makes a new KEK version primary at once: every key created from
then on is wrapped by it. Existing subject keys are then moved batch by batch:

- re-wrap (default): each subject's data key is re-wrapped under the new KEK; the
  field ciphertexts do not change (they are under the data key);
- re-encrypt (``reencrypt=True``): each subject also gets a new data key and every
  one of its field ciphertexts, wherever the wiring says they live, is re-encrypted
  under it; the old data key is destroyed.

Old KEK versions keep decrypting until every subject key has moved; then
``retire_stale`` destroys them. A batch, its cursor and its counters commit together
(the caller commits once per batch), so a crash or kill resumes exactly where the
last committed batch ended and nothing is lost or done twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, text, update
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
    remaining: int
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


def _pending(session: Session, job: VaultRotationJob, limit: int | None) -> list[VaultSubjectKey]:
    stmt = select(VaultSubjectKey).where(
        VaultSubjectKey.enterprise_id == job.enterprise_id,
        VaultSubjectKey.subject_id > job.cursor)
    if not job.reencrypt:  # re-wrap: only keys still under an old KEK
        stmt = stmt.where(VaultSubjectKey.kek_version != job.to_version)
    stmt = stmt.order_by(VaultSubjectKey.subject_id, VaultSubjectKey.dek_version)
    return list(session.scalars(stmt.limit(limit) if limit else stmt))


def remaining(session: Session, job: VaultRotationJob) -> int:
    return len(_pending(session, job, None))


def run_batch(session: Session, vs: VaultService, job: VaultRotationJob, *,
              locations: Sequence[CiphertextColumn], batch: int, at: datetime) -> BatchReport:
    """Move the next ``batch`` subjects to the new keys; the caller commits."""
    keyset = vs.keyset(session, job.enterprise_id, create=False)
    rows = _pending(session, job, batch)
    # never split one subject's key versions across two batches
    if len(rows) == batch:
        last = rows[-1].subject_id
        rows += [r for r in _pending(session, job, None)[len(rows):] if r.subject_id == last]
    records = [SubjectKeyRecord(enterprise_id=r.enterprise_id, subject_id=r.subject_id,
                                dek_version=r.dek_version, kek_version=r.kek_version,
                                wrapped_dek=r.wrapped_dek) for r in rows]
    fields = 0
    if job.reencrypt:
        fields = _reencrypt(session, vs, keyset, records, locations)
    else:
        for new in vs.vault.rewrap_batch(keyset, records):
            # UPDATE guarded by the old version, never an upsert: a subject erased
            # meanwhile must not come back.
            old = next(r for r in records if r.subject_id == new.subject_id
                       and r.dek_version == new.dek_version)
            session.execute(update(VaultSubjectKey).where(
                VaultSubjectKey.enterprise_id == new.enterprise_id,
                VaultSubjectKey.subject_id == new.subject_id,
                VaultSubjectKey.dek_version == new.dek_version,
                VaultSubjectKey.kek_version == old.kek_version,
            ).values(kek_version=new.kek_version, wrapped_dek=new.wrapped_dek))
    subjects = len({r.subject_id for r in records})
    if records:
        job.cursor = records[-1].subject_id
    job.subjects_done += subjects
    job.fields_reencrypted += fields
    left = remaining(session, job)
    if left == 0:
        job.status, job.finished_at = "done", at
    session.flush()
    return BatchReport(subjects=subjects, fields_reencrypted=fields, remaining=left,
                       done=left == 0)


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
