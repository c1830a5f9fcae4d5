"""``parcelguard backup``: a consistent online snapshot of a serving store.

A backup directory holds:

- ``database.sqlite`` (SQLite's online backup API: one consistent read of every
  page, writers carry on) or ``database.pgdump`` (``pg_dump -Fc`` inside an exported
  REPEATABLE READ snapshot);
- ``keys.sealed``: the master key (and any other file of ``home/keys``) sealed under
  the operator's passphrase (ops/sealing.py) - without it every PI field and
  checkpoint key in the database is unreadable;
- ``archive/``: the Parquet files the ledger's retention moved leaves to;
- ``manifest.json``: the SHA-256 of every file, the schema revision, the master key's
  fingerprint, each enterprise's log size and root in the snapshot with a checkpoint
  signed over exactly that state, and the checkpoints the supervision witness had
  accepted.

The log figures are read from the snapshot itself, never from the live store, so
the manifest describes exactly what a restore gets back.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from parcelguard.core.db import check_store, code_heads, create_db_engine, sqlite_path
from parcelguard.core.errors import InvalidInput, Refused, StorageFault
from parcelguard.core.settings import Settings
from parcelguard.ledger import signing
from parcelguard.ledger.merkle import root
from parcelguard.ledger.models import LedgerHead
from parcelguard.ledger.store import SqlTileStore
from parcelguard.ops import sealing
from parcelguard.supervision.models import WitnessedCheckpoint
from parcelguard.vault.kms import Kms
from parcelguard.vault.settings import master_key_path

FORMAT = "parcelguard-backup/1"
MANIFEST = "manifest.json"
KEYS = "keys.sealed"
SQLITE_FILE = "database.sqlite"
PG_FILE = "database.pgdump"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class BackupReport:
    out: Path
    manifest: dict[str, Any]


def key_files(settings: Settings) -> dict[str, bytes]:
    """The key material to seal: the master key and any other file in home/keys."""
    files: dict[str, bytes] = {}
    keys_dir = settings.home / "keys"
    if keys_dir.is_dir():
        for path in sorted(keys_dir.iterdir()):
            if path.is_file() and path.resolve() != master_key_path(settings).resolve():
                files[f"keys/{path.name}"] = path.read_bytes()
    files["master.key"] = master_key_path(settings).read_bytes()
    return files


def backup(settings: Settings, out: Path, *, passphrase: str, kms: Kms,
           at: datetime) -> BackupReport:
    """Write a complete backup of the store to ``out`` (a new or empty directory)."""
    check_store(settings)
    if out.exists() and any(out.iterdir()):
        raise InvalidInput(f"{out} is not empty; back up into a new directory")
    sealed = sealing.seal(key_files(settings), passphrase)  # refuse a weak one first
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    (out / KEYS).write_bytes(sealed)
    if settings.is_sqlite:
        db_file = out / SQLITE_FILE
        source = sqlite_path(settings.database_url)
        assert source is not None
        _sqlite_snapshot(source, db_file)
        engine = create_engine(f"sqlite:///file:{db_file}?mode=ro&uri=true")
        try:
            with engine.connect() as conn:
                logs, witnessed = _describe(conn, kms)
        finally:
            engine.dispose()
    else:
        db_file = out / PG_FILE
        with _pg_snapshot(settings.database_url) as (conn, snapshot):
            logs, witnessed = _describe(conn, kms)
            _pg_dump(settings.database_url, snapshot, db_file)
    archive = settings.home / "archive"
    if archive.is_dir():
        shutil.copytree(archive, out / "archive")
    manifest = {
        "format": FORMAT, "created_at": at.isoformat(),
        "backend": "sqlite" if settings.is_sqlite else "postgresql",
        "schema": sorted(code_heads()), "kms_key_id": kms.key_id,
        "logs": logs, "witnessed": witnessed,
        "files": {str(p.relative_to(out)): {"sha256": sha256_file(p), "bytes": p.stat().st_size}
                  for p in sorted(out.rglob("*")) if p.is_file()},
    }
    tmp = out / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, out / MANIFEST)  # a manifest present means the backup is complete
    return BackupReport(out, manifest)


def _describe(conn: Connection, kms: Kms) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each enterprise's log in the snapshot (size, root, a checkpoint signed over
    it) and the checkpoints the witness had accepted."""
    session = Session(bind=conn)
    logs: dict[str, Any] = {}
    for enterprise_id in session.scalars(select(LedgerHead.enterprise_id)
                                         .order_by(LedgerHead.enterprise_id)):
        signed = signing.sign_snapshot(session, enterprise_id, kms=kms)
        if signed is None:
            size = signing.log_size(session, enterprise_id)
            logs[enterprise_id] = {"size": size, "note": None, "root": b64(
                root(SqlTileStore(conn, enterprise_id), size))}
        else:
            logs[enterprise_id] = {"size": signed.size, "root": b64(signed.root),
                                   "note": signed.note}
    witnessed = {w.enterprise_id: {"size": w.size, "root": b64(bytes(w.root)), "note": w.note,
                                   "accepted_at": w.accepted_at.isoformat()}
                 for w in session.scalars(select(WitnessedCheckpoint))}
    return logs, witnessed


def _sqlite_snapshot(source: Path, target: Path) -> None:
    """SQLite's backup API in one step: a single consistent read transaction, so
    writers in WAL mode are never blocked and never half-copied. The copy is switched
    to a rollback journal so it is one self-contained file."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.execute("PRAGMA busy_timeout=30000")
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
        dst.commit()
    finally:
        dst.close()
        src.close()


@contextmanager
def _pg_snapshot(url: str) -> Iterator[tuple[Connection, str]]:
    """A read-only REPEATABLE READ transaction and its exported snapshot id: pg_dump
    run with ``--snapshot`` sees exactly what this connection sees."""
    engine = create_db_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
            conn.execute(text("SET TRANSACTION READ ONLY"))
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            _check_pg_dump_version(int(conn.execute(text("SHOW server_version_num"))
                                       .scalar_one()) // 10_000)
            yield conn, str(snapshot)
            conn.rollback()
    finally:
        engine.dispose()


def pg_tool(name: str, url: str, *args: str) -> None:
    """Run pg_dump/pg_restore against ``url`` (the password goes in PGPASSWORD, never
    on the command line); a failure is a storage fault with the tool's own words."""
    tool = shutil.which(name)
    if tool is None:
        raise Refused(f"{name} is not installed; install the PostgreSQL client of the "
                      "server's version (Debian: postgresql-client)")
    u = make_url(url)
    env = {**os.environ, **({"PGPASSWORD": str(u.password)} if u.password else {})}
    uri = u.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    # an argument list, no shell: the URL and paths are never interpreted
    done = subprocess.run([tool, *args, f"--dbname={uri}"], env=env,  # noqa: S603
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise StorageFault(f"{name} failed: {done.stderr.strip()[-500:]}")


def _check_pg_dump_version(server_major: int) -> None:
    tool = shutil.which("pg_dump")
    if tool is None:
        raise Refused("pg_dump is not installed; install the PostgreSQL client of the "
                      f"server's version (postgresql-client-{server_major})")
    out = subprocess.run([tool, "--version"], capture_output=True, text=True,  # noqa: S603
                         check=True).stdout
    major = int(out.split()[2].split(".")[0])
    if major < server_major:
        raise Refused(f"pg_dump {major} cannot dump a PostgreSQL {server_major} server; "
                      f"install postgresql-client-{server_major}")


def _pg_dump(url: str, snapshot: str, target: Path) -> None:
    pg_tool("pg_dump", url, "--format=custom", "--no-owner", f"--snapshot={snapshot}",
            f"--file={target}")
