"""`parcelguard keys rotate` on SQLite never keeps another writer waiting for more than
a fraction of a second: a writer that gives up after one second (its busy timeout)
takes the database's write lock again and again while 40,000 data keys are re-wrapped,
and is never refused. Every key then sits under the new version, the fields sealed
before still open with a vault that has never seen the old key unwrapped, and the
rotation reports its longest write transaction."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from parcelguard.core.clock import SystemClock
from parcelguard.core.db import Database
from parcelguard.core.settings import Settings
from parcelguard.identity import service as identity
from parcelguard.ops.store import init_store
from parcelguard.vault.models import VaultSubjectKey
from parcelguard.vault.provider import vault_service

SUBJECTS = 40_000


def _seed(settings: Settings) -> list[tuple[str, str, str, bytes]]:
    """A store with SUBJECTS data keys of ent-a and one sealed field for every 500th
    subject; returns those fields as `open` items."""
    init_store(settings)
    db = Database(settings)
    vs = vault_service(settings)
    try:
        with db.unit_of_work() as uow:
            identity.initialise(uow.session, clock=SystemClock())
            identity.create_organization(uow.session, org_id="ent-a", kind="enterprise",
                                         name="A", clock=SystemClock())
            vs.subject_keys(uow.session, vs.keyset(uow.session, "ent-a"),
                            [f"sub-{i:06d}" for i in range(SUBJECTS)], create=True)
            sample = [(f"sub-{i:06d}", f"rec-{i}", "recipient_name", f"收件人{i}")
                      for i in range(0, SUBJECTS, 500)]
            sealed = vs.seal(uow.session, "ent-a", sample)
            uow.commit()
    finally:
        db.dispose()
    return [(s, rec, f, ct) for (s, rec, f, _), ct in zip(sample, sealed, strict=True)]


@pytest.mark.slow
def test_another_writer_gets_the_lock_within_a_second_while_keys_rotate(
        tmp_path: Path) -> None:
    home = tmp_path / "home"
    settings = Settings(home=home)
    items = _seed(settings)
    expected = [f"收件人{i}" for i in range(0, SUBJECTS, 500)]

    waits: list[float] = []
    refused: list[str] = []
    rotating = threading.Event()
    stop = threading.Event()

    def writer() -> None:
        conn = sqlite3.connect(home / "parcelguard.db", timeout=1.0, isolation_level=None)
        try:
            while not stop.is_set():
                t = time.monotonic()
                try:
                    conn.execute("BEGIN IMMEDIATE")  # the write lock, or "locked" after 1 s
                    conn.execute("COMMIT")
                except sqlite3.OperationalError as exc:
                    refused.append(str(exc))
                    continue
                if rotating.is_set():
                    waits.append(time.monotonic() - t)
                time.sleep(0.005)
        finally:
            conn.close()

    side = threading.Thread(target=writer)
    side.start()
    try:
        env = {**os.environ, "PARCELGUARD_HOME": str(home)}
        env.pop("PARCELGUARD_DATABASE_URL", None)
        proc = subprocess.Popen(
            [sys.executable, "-m", "parcelguard", "keys", "rotate", "--enterprise", "ent-a",
             "--batch", "500"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        assert proc.stdout is not None
        first = proc.stdout.readline()  # "key version 2 is now primary": batches start
        rotating.set()
        out, err = proc.communicate(timeout=300)
        rotating.clear()
    finally:
        stop.set()
        side.join(30)
    assert proc.returncode == 0, err[-500:]
    assert "key version 2 is now primary" in first
    text = " ".join((first + out).split())
    assert f"rotation of ent-a finished: {SUBJECTS} subjects" in text
    longest = re.search(r"longest write held the database ([\d,]+) ms", text)
    assert longest is not None, text
    assert int(longest.group(1).replace(",", "")) < 1000

    assert refused == []  # never "database is locked"
    assert len(waits) >= 5, "the side writer never ran beside the rotation"
    assert max(waits) < 1.0

    db = Database(settings)
    try:
        with db.unit_of_work() as uow:
            versions = dict(uow.session.execute(
                select(VaultSubjectKey.kek_version, func.count())
                .group_by(VaultSubjectKey.kek_version)).all())
            opened = vault_service(settings).open(uow.session, "ent-a", items)
    finally:
        db.dispose()
    assert versions == {2: SUBJECTS}
    assert sum(a == b for a, b in zip(opened, expected, strict=True)) == len(expected)
