"""Issue 16 item 6 (retention): the notice promises 365 days and something now
deletes. `parcelguard retention sweep` crypto-shreds the people whose newest parcel is
past the period, holds those with a parcel still being carried, records the sweep in
the enterprise's log, and does nothing the second time."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from faker import Faker

from parcelguard.core.ids import new_id
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.ledger.ingest import record_events
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.vault.provider import vault_service
from tests.e2e.test_incidents_cli import run


def _world(home: Path) -> None:
    """Three parcels: collected 400 days ago and delivered (both people due), 400 days
    ago and never delivered (held), 10 days ago and delivered (within the period)."""
    assert run(home, "init").exit_code == 0
    assert run(home, "org", "create", "ent-a", "--kind", "enterprise",
               "--name", "A").exit_code == 0
    settings = Settings(home=home)
    rt = Runtime(settings=settings)
    fake = Faker("zh_CN")
    fake.seed_instance(3)
    now = datetime.now(UTC)
    plan = [("old", 400, True), ("stuck", 400, False), ("new", 10, True)]
    with rt.db.unit_of_work() as uow:
        for i, (tag, age, delivered) in enumerate(plan):
            at = now - timedelta(days=age)
            waybill = make_waybill_no("SF", 100 + i)
            register_parcels(uow.session, vault_service(settings), enterprise_id="ent-a",
                             parcels=[ParcelIn(waybill, PartyIn(
                                 f"sub-{tag}-s", fake.name(), fake.phone_number(),
                                 fake.address()), PartyIn(
                                 f"sub-{tag}-r", fake.name(), fake.phone_number(),
                                 fake.address()), at)])
            if delivered:
                record_events(uow.session, [{
                    "event_id": new_id("ev"), "kind": "parcel",
                    "occurred_at": (at + timedelta(days=2)).isoformat(),
                    "enterprise_id": "ent-a", "waybill_no": waybill, "step": "delivered"}],
                    clock_now=lambda: now)
        uow.commit()
    rt.close()


def test_the_sweep_shreds_what_the_notice_no_longer_allows(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _world(home)
    r = run(home, "retention", "sweep")
    assert r.exit_code == 0, r.output
    assert "period 365 days" in r.output
    assert "2 people crypto-shredded" in r.output
    assert "2 held (a parcel still being carried)" in r.output

    db = sqlite3.connect(home / "parcelguard.db")
    erased = {s for (s,) in db.execute("SELECT subject_id FROM vault_erasures")}
    assert erased == {"sub-old-s", "sub-old-r"}
    keys = {s for (s,) in db.execute("SELECT DISTINCT subject_id FROM vault_subject_keys")}
    assert keys == {"sub-stuck-s", "sub-stuck-r", "sub-new-s", "sub-new-r"}
    (event_id,) = [w.strip(",") for w in r.output.split() if w.startswith("ev_")]
    logged = db.execute("SELECT kind, subject_id FROM ledger_events WHERE event_id = ?",
                        (event_id,)).fetchall()
    assert logged == [("access", "retention-sweeper")]

    again = run(home, "retention", "sweep", "-e", "ent-a")
    assert again.exit_code == 0, again.output
    assert "0 people crypto-shredded" in again.output
    assert db.execute("SELECT COUNT(*) FROM vault_erasures").fetchone() == (2,)
