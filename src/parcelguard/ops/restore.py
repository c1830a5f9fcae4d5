"""``parcelguard restore``: put a backup back and prove it.

Nothing is written until the backup has shown itself whole (every file's SHA-256 as
in the manifest) and its keys have been unsealed. Then the keys, the database and the
archived leaves go into the (empty) target, and the restore is proven on the result:

- every enterprise's log is recomputed (``ledger verify``) and must be the one the
  backup's signed checkpoint describes (same size, same root);
- each log must contain what the supervision department witnessed: its latest
  accepted checkpoint (from ``--witnessed``, the supervisor's answers, else the copy
  inside the backup) must be a prefix of the restored log, shown by a consistency
  proof; a copy that lacks witnessed entries is named, with how many are missing;
- a sample of PI fields from every place ciphertexts live decrypts.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from parcelguard.core.db import Database, create_db_engine, schema_state, sqlite_path
from parcelguard.core.errors import InvalidInput, Refused, StorageFault
from parcelguard.core.settings import Settings
from parcelguard.ledger import logs
from parcelguard.ledger.checkpoint import CheckpointError, open_checkpoint
from parcelguard.ledger.merkle import consistency_proof, verify_consistency
from parcelguard.ledger.models import LedgerArchive
from parcelguard.ledger.signing import registered_verifier
from parcelguard.ledger.store import SqlTileStore
from parcelguard.ops import sealing
from parcelguard.ops.backup import (
    FORMAT,
    KEYS,
    MANIFEST,
    PG_FILE,
    SQLITE_FILE,
    pg_tool,
    sha256_file,
)
from parcelguard.vault.errors import VaultError
from parcelguard.vault.rotation import CiphertextColumn
from parcelguard.vault.service import VaultService
from parcelguard.vault.settings import master_key_path

SAMPLE_PER_COLUMN = 20


@dataclass
class LogCheck:
    enterprise_id: str
    size: int
    ok: bool
    problems: list[str] = field(default_factory=list)
    witnessed_size: int | None = None
    missing_entries: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"enterprise_id": self.enterprise_id, "size": self.size, "ok": self.ok,
                "witnessed_size": self.witnessed_size, "missing_entries": self.missing_entries,
                "problems": self.problems}


@dataclass
class RestoreReport:
    logs: list[LogCheck]
    pi_checked: int
    pi_failed: int
    witness_source: str

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.logs) and self.pi_failed == 0

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "witness_source": self.witness_source,
                "logs": [c.as_dict() for c in self.logs],
                "pi_fields_checked": self.pi_checked, "pi_fields_unreadable": self.pi_failed}


def read_manifest(src: Path) -> dict[str, Any]:
    """The backup's manifest, after checking every file it lists (and no file is
    missing from it). A damaged backup is refused before anything is written."""
    path = src / MANIFEST
    if not path.is_file():
        raise Refused(f"{src} holds no {MANIFEST}: it is not a complete parcelguard backup "
                      "(an interrupted one has none). Use another backup")
    manifest: dict[str, Any] = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise Refused(f"{src} is not a {FORMAT} backup")
    damaged = []
    for name, meta in manifest["files"].items():
        f = src / name
        if not f.is_file():
            damaged.append(f"{name} is missing")
        elif sha256_file(f) != meta["sha256"]:
            damaged.append(f"{name} does not match its SHA-256")
    if KEYS not in manifest["files"] or not (src / KEYS).is_file():
        raise Refused(f"the backup {src} has no key material ({KEYS}): its PI fields and "
                      "checkpoint keys could not be read. Restore from a complete backup "
                      "made by `parcelguard backup`, or bring the sealed keys file back "
                      f"into {src}")
    if damaged:
        raise StorageFault(f"the backup {src} is damaged: {'; '.join(damaged)}. Use another "
                           "backup")
    return manifest


def restore(settings: Settings, src: Path, *, passphrase: str,
            vault_for: Any, locations: Sequence[CiphertextColumn],
            witnessed: dict[str, dict[str, Any]] | None = None) -> RestoreReport:
    """Restore ``src`` into the configured (empty) store and prove it."""
    manifest = read_manifest(src)
    files = sealing.unseal((src / KEYS).read_bytes(), passphrase)
    backend = "sqlite" if settings.is_sqlite else "postgresql"
    if manifest["backend"] != backend:
        raise InvalidInput(f"this is a {manifest['backend']} backup; configure a "
                           f"{manifest['backend']} database_url to restore it")
    _require_empty_target(settings)
    _write_keys(settings, files)
    vs: VaultService = vault_for(settings)
    if vs.vault.kms.key_id != manifest["kms_key_id"]:
        raise Refused("the unsealed master key is not the one the backup was made with")
    if backend == "sqlite":
        target = sqlite_path(settings.database_url)
        assert target is not None
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".restoring")
        shutil.copyfile(src / SQLITE_FILE, tmp)
        os.replace(tmp, target)
    else:
        _pg_restore(settings.database_url, src / PG_FILE)
    if (src / "archive").is_dir():
        shutil.copytree(src / "archive", settings.home / "archive", dirs_exist_ok=True)
    db = Database(settings)  # refuses an older schema: run `parcelguard upgrade`
    try:
        with db.unit_of_work() as uow:
            _relocate_archives(uow.session, settings.home / "archive")
            uow.commit()
        return prove(db, manifest, vs, locations, witnessed)
    finally:
        db.dispose()


def _require_empty_target(settings: Settings) -> None:
    if settings.is_sqlite:
        target = sqlite_path(settings.database_url)
        if target is not None and target.exists() and target.stat().st_size > 0:
            raise Refused(f"{target} already holds a database; restore into a new home "
                          "(set PARCELGUARD_HOME) so nothing is overwritten")
    else:
        engine = create_db_engine(settings.database_url)
        try:
            state, _ = schema_state(engine)
        finally:
            engine.dispose()
        if state != "empty":
            raise Refused("the target PostgreSQL database already holds a store; restore "
                          "into a new, empty database (createdb) so nothing is overwritten")
    if master_key_path(settings).exists():
        raise Refused(f"{master_key_path(settings)} already exists; restore into a new home "
                      "so no key is overwritten")


def _write_keys(settings: Settings, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = master_key_path(settings) if name == "master.key" else settings.home / name
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)


def _pg_restore(url: str, dump: Path) -> None:
    pg_tool("pg_restore", url, "--no-owner", "--exit-on-error", "--single-transaction",
            str(dump))


def _relocate_archives(session: Session, directory: Path) -> None:
    """Archived leaves are found by absolute path: point the rows at the restored copies."""
    for row in session.scalars(select(LedgerArchive)):
        moved = directory / Path(row.path).name
        if moved.is_file():
            session.execute(update(LedgerArchive).where(
                LedgerArchive.enterprise_id == row.enterprise_id,
                LedgerArchive.first_seq == row.first_seq).values(path=str(moved.resolve())))


def prove(db: Database, manifest: dict[str, Any], vs: VaultService,
          locations: Sequence[CiphertextColumn],
          witnessed: dict[str, dict[str, Any]] | None) -> RestoreReport:
    source = "supervision department (--witnessed)" if witnessed is not None else \
        "the backup's own copy of the witness (pass --witnessed for the latest)"
    reference = witnessed if witnessed is not None else manifest["witnessed"]
    checks = []
    with db.unit_of_work() as uow:
        s = uow.session
        for enterprise_id, expected in sorted(manifest["logs"].items()):
            checks.append(_check_log(s, enterprise_id, expected, reference.get(enterprise_id)))
        for enterprise_id in sorted(set(reference) - set(manifest["logs"])):
            want = int(reference[enterprise_id]["size"])
            checks.append(LogCheck(enterprise_id, 0, False, [
                f"the restored copy has no log for {enterprise_id}, which the supervision "
                f"department witnessed at {want} entries"], want, want))
        checked, failed = _sample_pi(s, vs, locations)
    return RestoreReport(checks, checked, failed, source)


def _check_log(session: Session, enterprise_id: str, expected: dict[str, Any],
               witnessed: dict[str, Any] | None) -> LogCheck:
    report = logs.verify(session, enterprise_id)
    check = LogCheck(enterprise_id, report.size, report.ok)
    if not report.ok:
        check.problems.append(f"ledger verify: {report.reason} (index {report.first_bad_index})")
    root = report.root or b""
    if (report.size, base64.b64encode(root).decode()) != (expected["size"], expected["root"]):
        check.ok = False
        check.problems.append(f"the restored log (size {report.size}) is not the one the "
                              f"backup describes (size {expected['size']})")
    key = registered_verifier(session, enterprise_id)
    if expected.get("note") and key is not None:
        try:
            open_checkpoint(expected["note"], key.verifier_key, origin=key.origin)
        except CheckpointError as exc:
            check.ok = False
            check.problems.append(f"the backup's checkpoint does not verify: {exc}")
    if witnessed is None:
        return check
    w_size, w_root = int(witnessed["size"]), base64.b64decode(witnessed["root"])
    check.witnessed_size = w_size
    if witnessed.get("note") and key is not None:
        try:
            open_checkpoint(witnessed["note"], key.verifier_key, origin=key.origin)
        except CheckpointError as exc:
            check.ok = False
            check.problems.append(f"the witnessed checkpoint does not verify: {exc}")
    if w_size > report.size:
        check.ok = False
        check.missing_entries = w_size - report.size
        check.problems.append(
            f"the restored copy is missing {w_size - report.size} entries of {enterprise_id} "
            f"that the supervision department witnessed (it has {report.size}, the witnessed "
            f"checkpoint {w_size}): it is older than the last witnessed state. Restore a "
            "newer backup, or re-ingest the missing events from their source")
        return check
    proof = consistency_proof(SqlTileStore(session.connection(), enterprise_id), w_size,
                              report.size) if w_size else []
    if w_size and not verify_consistency(w_size, report.size, w_root, root, proof):
        check.ok = False
        check.problems.append(f"the restored log does not extend the witnessed checkpoint at "
                              f"size {w_size}: its history differs from what was witnessed")
    return check


def _sample_pi(session: Session, vs: VaultService,
               locations: Sequence[CiphertextColumn]) -> tuple[int, int]:
    """Decrypt up to SAMPLE_PER_COLUMN fields of every ciphertext column; the values
    are dropped at once (only the count of readable ones is reported)."""
    checked = failed = 0
    conn = session.connection()
    for loc in locations:
        rows = conn.execute(text(
            f"SELECT {loc.enterprise_column}, {loc.subject_column}, {loc.id_column}, "
            f"{loc.ct_column} FROM {loc.table} WHERE {loc.ct_column} IS NOT NULL "
            f"ORDER BY {loc.id_column} LIMIT {SAMPLE_PER_COLUMN}")).all()
        for ent, subject, rid, ct in rows:
            if vs.erased(session, ent, [subject]):
                continue  # crypto-shredded on purpose
            checked += 1
            try:
                (value,) = vs.open(session, ent, [(subject, str(rid), loc.field, bytes(ct))])
            except (VaultError, LookupError):
                value = None
            failed += value is None
    return checked, failed
