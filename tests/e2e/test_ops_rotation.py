"""`parcelguard keys rotate` as an operator runs it: killed with -9 in the middle, it
refuses a second start, `--resume` finishes from the last committed batch, every data
key is then under the new version, every PI field still decrypts, and the old
version can be retired - on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from parcelguard.core.db import create_db_engine
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.logistics.models import Parcel
from parcelguard.vault.models import VaultRotationJob, VaultSubjectKey
from parcelguard.vault.provider import vault_service

BIN = [sys.executable, "-m", "parcelguard"]
PARCELS = 150  # 300 data subjects


def _env(home: Path, url: str) -> dict[str, str]:
    return {**os.environ, "PARCELGUARD_HOME": str(home), "PARCELGUARD_DATABASE_URL": url}


def _cli(home: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BIN, *args], env=_env(home, url), capture_output=True, text=True,
                          timeout=300, check=False)


def _fields(settings: Settings) -> tuple[list[str | None], dict[int, int], int]:
    """Every PI field opened through the vault, data keys per KEK version, and the
    subjects a running rotation has done."""
    rt = Runtime(settings=settings)
    try:
        vs = vault_service(settings)
        with rt.db.unit_of_work() as uow:
            s = uow.session
            parcels = s.scalars(select(Parcel).order_by(Parcel.waybill_no)).all()
            opened = vs.open(s, "ent-a", [item for p in parcels for item in (
                (p.sender_subject_id, p.id, "sender_phone", p.sender_phone_ct),
                (p.recipient_subject_id, p.id, "recipient_name", p.recipient_name_ct))])
            versions = dict(s.execute(select(VaultSubjectKey.kek_version, func.count())
                                      .group_by(VaultSubjectKey.kek_version)).all())
            done = s.scalar(select(VaultRotationJob.subjects_done)
                            .where(VaultRotationJob.status == "running")) or 0
        return opened, versions, int(done)
    finally:
        rt.close()


def _rotation_killed_and_resumed(tmp_path: Path, url: str) -> None:
    home = tmp_path / "home"
    assert _cli(home, url, "init").returncode == 0
    assert _cli(home, url, "org", "create", "ent-a", "--kind", "enterprise",
                "--name", "A").returncode == 0
    settings = Settings(home=home, database_url=url)
    rt = Runtime(settings=settings)
    try:
        with rt.db.unit_of_work() as uow:
            register_parcels(uow.session, vault_service(settings), enterprise_id="ent-a",
                             record_created=False, parcels=[ParcelIn(
                                 waybill_no=make_waybill_no("SF", i),
                                 sender=PartyIn(f"sub-s{i:04d}", f"寄件人{i}", f"138{i:08d}",
                                                f"上海市徐汇区漕溪北路{i}号"),
                                 recipient=PartyIn(f"sub-r{i:04d}", f"收件人{i}",
                                                   f"139{i:08d}", f"北京市海淀区{i}号"),
                                 created_at=datetime.now(UTC)) for i in range(PARCELS)])
            uow.commit()
    finally:
        rt.close()
    before, versions, _ = _fields(settings)
    assert None not in before
    assert versions == {1: 2 * PARCELS}

    # one subject per batch, so the kill lands between committed batches
    proc = subprocess.Popen([*BIN, "keys", "rotate", "--enterprise", "ent-a", "--batch", "1"],
                            env=_env(home, url), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    done = 0
    # polled with one light query: opening every field per poll took long enough on a
    # loaded machine for the whole rotation to finish between two polls
    engine = create_db_engine(settings.database_url)
    try:
        while done < 20 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
            with engine.connect() as conn:
                done = conn.scalar(select(VaultRotationJob.subjects_done)
                                   .where(VaultRotationJob.status == "running")) or 0
    finally:  # killed and reaped whatever happened (a leaked process fails a later test)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        engine.dispose()
    assert done >= 20, "the rotation never got going"
    opened, versions, done = _fields(settings)
    assert opened == before  # mid-rotation, old and new versions both decrypt
    assert 0 < versions.get(2, 0) < 2 * PARCELS

    again = _cli(home, url, "keys", "rotate", "--enterprise", "ent-a")
    assert again.returncode == 2
    assert "already running; resume it" in again.stderr
    resumed = _cli(home, url, "keys", "rotate", "--enterprise", "ent-a", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "rotation of ent-a finished" in resumed.stdout.replace("\n", " ")
    opened, versions, _ = _fields(settings)
    assert versions == {2: 2 * PARCELS}
    assert opened == before

    if url:  # PostgreSQL's planner had statistics for the keys (the test server runs
        # no autovacuum): without them each batch sorted every remaining key
        engine = create_db_engine(settings.database_url)
        try:
            with engine.connect() as conn:
                assert conn.scalar(text("SELECT reltuples FROM pg_class "
                                        "WHERE relname = 'vault_subject_keys'")) >= 2 * PARCELS
        finally:
            engine.dispose()

    retired = _cli(home, url, "keys", "retire", "--enterprise", "ent-a")
    assert retired.returncode == 0, retired.stderr
    assert "[1]" in retired.stdout
    assert _fields(settings)[0] == before


def test_rotation_killed_and_resumed_sqlite(tmp_path: Path) -> None:
    _rotation_killed_and_resumed(tmp_path, "")


@pytest.mark.postgres
def test_rotation_killed_and_resumed_postgresql(tmp_path: Path, fresh_pg_url: str) -> None:
    _rotation_killed_and_resumed(tmp_path, fresh_pg_url)
