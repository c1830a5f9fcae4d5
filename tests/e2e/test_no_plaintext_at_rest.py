"""Known PI goes in through the normal intake path; the bytes at rest never show it.

The SQLite file (with its WAL) and a pg_dump of the PostgreSQL database are scanned
for every name, phone and ID number in UTF-8 (and the ASCII ones in UTF-16 too).
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from parcelguard.core.clock import ManualClock
from parcelguard.core.db import create_db_engine, upgrade
from parcelguard.identity.service import create_organization
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.vault.facade import Vault
from parcelguard.vault.kms import InMemoryKms
from parcelguard.vault.service import VaultService

T0 = datetime(2026, 11, 11, 9, tzinfo=UTC)
PEOPLE = [
    PartyIn("sub-1", "欧阳娜娜", "13812345678", "上海市浦东新区张江路88弄5号楼1203室",
            "11010519491231002X"),
    PartyIn("sub-2", "司马相如", "15987654321", "成都市武侯区人民南路四段27号2栋3单元501室",
            "510107198803150018"),
    PartyIn("sub-3", "阿卜杜拉·买买提", "18611112222", "乌鲁木齐市天山区解放北路100号6-2-301",
            "650102199001010017"),
]


def needles() -> list[bytes]:
    out = []
    for p in PEOPLE:
        for value in (p.name, p.phone, p.address, p.id_number or ""):
            out.append(value.encode())
            if value.isascii():
                out.append(value.encode("utf-16-le"))
    return out


def seed(engine: Engine) -> None:
    with Session(engine) as session:
        create_organization(session, org_id="ent-a", kind="enterprise", name="A",
                            clock=ManualClock(T0))
        vault = VaultService(Vault(InMemoryKms()))
        parcels = [ParcelIn(waybill_no=make_waybill_no("SF", i), sender=PEOPLE[i % 3],
                            recipient=PEOPLE[(i + 1) % 3], created_at=T0,
                            destination_region="310115") for i in range(30)]
        register_parcels(session, vault, enterprise_id="ent-a", parcels=parcels)
        session.commit()


def assert_clean(blob: bytes, where: str) -> None:
    assert len(blob) > 10_000, f"{where}: nothing was written?"
    leaked = [n for n in needles() if n in blob]
    assert not leaked, f"{len(leaked)} PI value(s) found in plaintext in {where}"


def test_sqlite_file_holds_no_plaintext_pi(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'pg.db'}")
    upgrade(engine)
    seed(engine)
    # the positive control: the waybill numbers (not PI) are findable in the same bytes
    files = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert make_waybill_no("SF", 7).encode() in files
    assert_clean(files, "the SQLite files")
    engine.dispose()


@pytest.mark.postgres
def test_postgresql_dump_holds_no_plaintext_pi(fresh_pg_url: str) -> None:
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump not installed")
    pg_url = fresh_pg_url
    engine = create_db_engine(pg_url)
    upgrade(engine)
    seed(engine)
    url = make_url(pg_url)
    dump = subprocess.run(
        ["pg_dump", "--no-owner", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
         "-U", url.username or "postgres", url.database or ""],
        capture_output=True, check=True, timeout=120).stdout
    assert make_waybill_no("SF", 7).encode() in dump
    assert_clean(dump, "the PostgreSQL dump")
    engine.dispose()
