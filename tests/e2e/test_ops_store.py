"""No silent fresh starts, no migration on open, storage faults with exit codes: the
real CLI as an operator runs it, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from parcelguard.core.db import create_db_engine, migrations_config

BIN = [sys.executable, "-m", "parcelguard"]
EVENT = (b'{"event_id":"p1","kind":"parcel","occurred_at":"2026-11-11T08:00:00+08:00",'
         b'"enterprise_id":"ent-a","waybill_no":"SF0000000000001","step":"created"}\n')


def run(home: Path, *args: str, url: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PARCELGUARD_HOME": str(home), "PARCELGUARD_DATABASE_URL": url}
    return subprocess.run([*BIN, *args], env=env, capture_output=True, text=True,
                          timeout=180, check=False)


def no_traceback(r: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in r.stderr, r.stderr


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    r = run(home, "init")
    assert r.returncode == 0, r.stderr
    return home


def test_a_mistyped_home_is_refused_and_not_created(home: Path, tmp_path: Path) -> None:
    typo = tmp_path / "hmoe"
    events = tmp_path / "ev.jsonl"
    events.write_bytes(EVENT)
    for args in (("org", "list"), ("ingest", str(events)), ("ledger", "verify", "-e", "ent-a")):
        r = run(typo, *args)
        assert r.returncode == 3, (args, r.stderr)
        assert "parcelguard init" in r.stderr
        assert str(typo) in r.stderr
        no_traceback(r)
    assert not typo.exists()  # nothing was created: no new empty store took the writes


def test_an_empty_database_file_is_refused(home: Path) -> None:
    db = home / "parcelguard.db"
    db.unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.touch()
    r = run(home, "org", "create", "ent-z", "--kind", "enterprise", "--name", "Z")
    assert r.returncode == 3
    assert "empty (0 bytes)" in r.stderr
    assert db.stat().st_size == 0


def test_a_missing_master_key_is_never_regenerated(home: Path, tmp_path: Path) -> None:
    events = tmp_path / "ev.jsonl"
    events.write_bytes(EVENT)
    assert run(home, "ingest", str(events)).returncode == 0
    assert run(home, "ledger", "checkpoint", "-e", "ent-a").returncode == 0
    key = home / "keys" / "master.key"
    saved = key.read_bytes()
    key.unlink()
    r = run(home, "ledger", "checkpoint", "-e", "ent-a")
    assert r.returncode == 3
    assert "master key file" in r.stderr
    assert "restore" in r.stderr
    no_traceback(r)
    assert not key.exists()
    again = run(home, "init")  # not even init makes a new key for an existing store
    assert again.returncode == 3
    assert not key.exists()
    key.write_bytes(saved)
    key.chmod(0o600)
    assert run(home, "ledger", "checkpoint", "-e", "ent-a").returncode == 0


def _downgrade(url: str, revision: str) -> None:
    from alembic import command

    engine = create_db_engine(url)
    try:
        command.downgrade(migrations_config(engine), revision)
    finally:
        engine.dispose()


def _head() -> set[str]:
    """The code's schema revision (the migrations' single head)."""
    from alembic.script import ScriptDirectory

    engine = create_engine("sqlite://")
    try:
        return set(ScriptDirectory.from_config(migrations_config(engine)).get_heads())
    finally:
        engine.dispose()


def _revisions(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))}
    finally:
        engine.dispose()


def test_an_older_schema_is_refused_until_upgrade(home: Path) -> None:
    url = f"sqlite:///{home / 'parcelguard.db'}"
    _downgrade(url, "0002")
    r = run(home, "org", "list")
    assert r.returncode == 3
    assert "parcelguard upgrade" in r.stderr
    assert _revisions(url) == {"0002"}  # opening did not migrate
    up = run(home, "upgrade")
    assert up.returncode == 0, up.stderr
    assert _revisions(url) == _head()
    assert run(home, "upgrade").stdout.startswith("already at revision")
    assert run(home, "org", "create", "ent-a", "--kind", "enterprise",
               "--name", "A").returncode == 0


@pytest.mark.postgres
def test_several_nodes_upgrading_postgresql_at_once_apply_migrations_once(
        fresh_pg_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run(home, "org", "list", url=fresh_pg_url).returncode == 3  # an empty database
    assert run(home, "init", url=fresh_pg_url).returncode == 0
    _downgrade(fresh_pg_url, "0002")
    refused = run(home, "org", "list", url=fresh_pg_url)
    assert refused.returncode == 3
    assert _revisions(fresh_pg_url) == {"0002"}  # a worker opening the store migrates nothing
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: run(home, "upgrade", url=fresh_pg_url), range(4)))
    assert [r.returncode for r in results] == [0, 0, 0, 0], [r.stderr for r in results]
    assert sum(r.stdout.startswith("upgraded from") for r in results) == 1
    assert _revisions(fresh_pg_url) == _head()
    assert run(home, "org", "create", "ent-a", "--kind", "enterprise", "--name", "A",
               url=fresh_pg_url).returncode == 0


def test_a_corrupt_database_is_a_storage_fault_not_a_traceback(home: Path) -> None:
    db = home / "parcelguard.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.write_bytes(b"this is not what parcelguard wrote" * 512)
    r = run(home, "org", "list")
    assert r.returncode == 4, r.stderr
    assert "corrupt" in r.stderr
    assert "parcelguard restore" in r.stderr
    no_traceback(r)


def _in_small_tmpfs(script: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a private mount namespace (unprivileged user namespace), where
    a tiny tmpfs can be mounted: a real full or read-only filesystem."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare(1) is needed to mount a private tmpfs")
    probe = subprocess.run(["unshare", "--mount", "--map-root-user", "true"],
                           capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("user namespaces are not available on this machine")
    return subprocess.run(["unshare", "--mount", "--map-root-user", "bash", "-c", script],
                          capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, "PARCELGUARD_DATABASE_URL": ""})


def test_a_full_disk_and_a_read_only_home_speak_plainly(tmp_path: Path) -> None:
    events = tmp_path / "big.jsonl"
    with events.open("wb") as fh:
        for i in range(60_000):
            fh.write(EVENT.replace(b'"p1"', f'"p{i}"'.encode())
                     .replace(b"SF0000000000001", f"SF{i:013d}".encode()))
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    py = " ".join(BIN)
    r = _in_small_tmpfs(f"""
        set -u
        mount -t tmpfs -o size=3m tmpfs {mnt}
        export PARCELGUARD_HOME={mnt}/home
        {py} init > /dev/null || exit 90
        {py} ingest --batch-size 2000 {events} > {tmp_path}/full.out 2> {tmp_path}/full.err
        echo "full=$?"
        {py} ledger verify -e ent-a > /dev/null 2>&1; echo "verify_after_full=$?"
        mount -o remount,ro {mnt}
        {py} ledger verify -e ent-a > {tmp_path}/ro_verify.out 2> {tmp_path}/ro_verify.err
        echo "ro_verify=$?"
        {py} org create ent-z --kind enterprise --name Z > /dev/null 2> {tmp_path}/ro_write.err
        echo "ro_write=$?"
    """)
    codes = dict(line.split("=") for line in r.stdout.split() if "=" in line)
    assert codes.get("full") == "4", (r.stdout, r.stderr, (tmp_path / "full.err").read_text())
    full_err = (tmp_path / "full.err").read_text()
    assert "disk" in full_err
    assert "full" in full_err
    assert "Traceback" not in full_err
    assert codes["verify_after_full"] == "0"  # what was committed is intact
    # a read-only home: reading commands work, writing ones say why they cannot
    assert codes["ro_verify"] == "0", (tmp_path / "ro_verify.err").read_text()
    assert codes["ro_write"] == "4"
    ro_err = (tmp_path / "ro_write.err").read_text()
    assert "read-only" in ro_err
    assert "Traceback" not in ro_err
