"""Issue 16 item 6 (minors): a sender whose resident ID number shows an age of 11 is
refused at intake without a guardian's consent (PIPL Art. 31), and with it the parcel
is registered and flagged as a child's sensitive PI. Neither the number nor the age
appears in the output or the store."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from faker import Faker

from parcelguard.logistics.identifiers import id_check_char, make_waybill_no
from tests.e2e.test_incidents_cli import run


def _id_number(born: datetime) -> str:
    first17 = f"310115{born:%Y%m%d}123"
    return first17 + id_check_char(first17)


def _batch(path: Path, *, id_number: str, guardian: bool, serial: int) -> str:
    fake = Faker("zh_CN")
    fake.seed_instance(serial)
    waybill = make_waybill_no("SF", serial)
    party = {"name": fake.name(), "phone": fake.phone_number(), "address": fake.address()}
    path.write_text(json.dumps([{
        "waybill_no": waybill, "sender": {**party, "id_number": id_number},
        "recipient": {"name": fake.name(), "phone": fake.phone_number(),
                      "address": fake.address()},
        "guardian_consent": guardian}], ensure_ascii=False), encoding="utf-8")
    return waybill


def test_a_child_sender_needs_a_guardians_consent(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run(home, "init").exit_code == 0
    assert run(home, "org", "create", "ent-a", "--kind", "enterprise",
               "--name", "A").exit_code == 0
    now = datetime.now(UTC)
    eleven = _id_number(datetime(now.year - 11, 1, 1, tzinfo=UTC))  # 11 all year long
    batch = tmp_path / "batch.json"

    waybill = _batch(batch, id_number=eleven, guardian=False, serial=11)
    r = run(home, "parcels", "intake", str(batch), "-e", "ent-a")
    assert r.exit_code == 2
    assert "under 14" in r.output
    assert "guardian's consent" in r.output
    assert eleven not in r.output
    assert "11" not in r.output.replace(waybill, "")

    waybill = _batch(batch, id_number=eleven, guardian=True, serial=12)
    r = run(home, "parcels", "intake", str(batch), "-e", "ent-a")
    assert r.exit_code == 0, r.output
    assert f"{waybill}: the sender is under 14: sensitive PI" in r.output
    assert eleven not in r.output

    adult = _id_number(datetime(now.year - 30, 1, 1, tzinfo=UTC))
    grown = _batch(batch, id_number=adult, guardian=False, serial=13)
    r = run(home, "parcels", "intake", str(batch), "-e", "ent-a")
    assert r.exit_code == 0, r.output
    assert "under 14" not in r.output

    db = sqlite3.connect(home / "parcelguard.db")
    rows = dict(db.execute("SELECT waybill_no, sender_minor FROM parcels").fetchall())
    assert rows == {waybill: 1, grown: 0}
    dump = "\n".join(db.iterdump())
    assert eleven not in dump
    assert adult not in dump
