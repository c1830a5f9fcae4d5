"""`parcelguard access ...` as an operator runs it (in-process Typer runner on a real
SQLite file and the local key-file KMS): only an allowed reveal prints PI, a refusal
exits 1 with its reason and is recorded, an export lands in an owner-only file."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from faker import Faker
from sqlalchemy import select
from typer.testing import CliRunner, Result

from parcelguard.cli import app
from parcelguard.core.clock import SystemClock
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity.permissions import Principal
from parcelguard.ledger.models import LedgerEvent
from parcelguard.logistics import service as logistics
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.logistics.rules import Window
from parcelguard.vault.provider import vault_service

runner = CliRunner()
MINE, OTHER = make_waybill_no("SF", 1), make_waybill_no("SF", 2)


def run(home: Path, *args: str, stdin: str | None = None) -> Result:
    return runner.invoke(app, list(args), input=stdin,
                         env={"PARCELGUARD_HOME": str(home), "PARCELGUARD_DATABASE_URL": ""})


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, PartyIn]:
    home = tmp_path / "home"
    assert run(home, "init").exit_code == 0
    assert run(home, "org", "create", "ent-a", "--kind", "enterprise",
               "--name", "A").exit_code == 0
    fake = Faker("zh_CN")
    fake.seed_instance(5)
    sender, recipient = (PartyIn(f"sub-{i}", fake.name(), fake.phone_number(), fake.address(),
                                 fake.ssn()) for i in range(2))
    rt = Runtime(settings=Settings(home=home))
    clock, now = SystemClock(), datetime.now(UTC)
    admin = Principal("ent-a", "enterprise", "enterprise_admin", account_id="acc-admin")
    with rt.db.unit_of_work() as uow:
        s = uow.session
        logistics.create_station(s, admin, station_id="st-1", name="一号网点",
                                 region_code="310115", clock=clock)
        for emp, role in (("emp-c", "courier"), ("emp-cs", "customer_service")):
            logistics.hire_employee(s, admin, role=role, station_id="st-1",
                                    shift_start="08:00", shift_end="20:00", employee_id=emp,
                                    clock=clock)
            logistics.record_background_check(s, admin, employee_id=emp, result="passed",
                                              clock=clock)
        register_parcels(s, vault_service(rt.settings), enterprise_id="ent-a",
                         record_created=False, parcels=[
                             ParcelIn(w, sender, recipient, now, destination_station_id="st-1")
                             for w in (MINE, OTHER)])
        logistics.assign(s, admin, waybill_no=MINE, employee_id="emp-c", purpose="delivery",
                         window=Window(now - timedelta(hours=1), now + timedelta(hours=8)),
                         clock=clock)
        uow.commit()
    rt.close()
    return home, recipient


def _outcomes(home: Path) -> list[tuple[str, str]]:
    rt = Runtime(settings=Settings(home=home))
    with rt.db.unit_of_work() as uow:
        evs = [msgspec.json.decode(leaf) for leaf in uow.session.scalars(
            select(LedgerEvent.leaf).where(LedgerEvent.kind == "access")
            .order_by(LedgerEvent.seq))]
    rt.close()
    return [(e["action"], e["outcome"]) for e in evs]


def test_reveal_prints_only_what_the_gate_allowed(world: tuple[Path, PartyIn]) -> None:
    home, recipient = world
    ok = run(home, "access", "reveal", "-e", "ent-a", "--employee", "emp-c", "--waybill", MINE,
             "--purpose", "delivery", "-f", "recipient_phone", "--channel", "pda")
    assert ok.exit_code == 0, ok.output
    assert f"recipient_phone: {recipient.phone}" in ok.stdout
    no = run(home, "access", "reveal", "-e", "ent-a", "--employee", "emp-c", "--waybill",
             OTHER, "--purpose", "delivery", "-f", "recipient_phone")
    assert no.exit_code == 1
    assert "no_assignment" in no.output
    assert recipient.phone not in no.output
    assert _outcomes(home) == [("reveal", "allowed"), ("reveal", "denied")]


def test_search_prompts_and_shows_masked_hits(world: tuple[Path, PartyIn]) -> None:
    home, recipient = world
    r = run(home, "access", "search", "-e", "ent-a", "--employee", "emp-cs", "--purpose",
            "customer_service", stdin=recipient.phone + "\n")
    assert r.exit_code == 0, r.output
    assert MINE in r.stdout
    assert recipient.phone not in r.output
    assert recipient.name not in r.output


def test_export_goes_to_an_owner_only_file(world: tuple[Path, PartyIn],
                                           tmp_path: Path) -> None:
    home, recipient = world
    req = run(home, "access", "export", "request", "-e", "ent-a", "--employee", "emp-cs",
              "--purpose", "complaint_handling", "-f", "recipient_phone",
              "--waybill", MINE, "--waybill", OTHER)
    assert req.exit_code == 0, req.output
    info = json.loads(req.stdout)
    assert (info["record_count"], info["needs_approval"]) == (2, False)
    out = tmp_path / "export.json"
    done = run(home, "access", "export", "run", info["request_id"], "-e", "ent-a",
               "--employee", "emp-cs", "--out", str(out))
    assert done.exit_code == 0, done.output
    assert "2 records written" in done.output
    assert recipient.phone not in done.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [r["recipient_phone"] for r in json.loads(out.read_text())] == [recipient.phone] * 2
    assert _outcomes(home) == [("export", "allowed")]


def test_repeated_exports_and_a_reveal_count_once_in_an_incident(
        world: tuple[Path, PartyIn], tmp_path: Path) -> None:
    """Issue 15: repeated exports were summed (36,057 "records" from a carrier holding
    4,890 parcels). The same two parcels exported three times through the gate and
    one of them revealed: `incidents open --evidence` counts two records."""
    home, _ = world
    for i in range(3):
        req = run(home, "access", "export", "request", "-e", "ent-a", "--employee", "emp-cs",
                  "--purpose", "complaint_handling", "-f", "recipient_phone",
                  "--waybill", MINE, "--waybill", OTHER)
        assert req.exit_code == 0, req.output
        done = run(home, "access", "export", "run", json.loads(req.stdout)["request_id"],
                   "-e", "ent-a", "--employee", "emp-cs", "--out", str(tmp_path / f"{i}.json"))
        assert done.exit_code == 0, done.output
    ok = run(home, "access", "reveal", "-e", "ent-a", "--employee", "emp-c", "--waybill", MINE,
             "--purpose", "delivery", "-f", "recipient_phone", "--channel", "pda")
    assert ok.exit_code == 0, ok.output
    rt = Runtime(settings=Settings(home=home))
    with rt.db.unit_of_work() as uow:
        ids = list(uow.session.scalars(select(LedgerEvent.event_id).where(
            LedgerEvent.kind == "access").order_by(LedgerEvent.seq)))
    rt.close()
    assert len(ids) == 4
    opened = run(home, "incidents", "open", "-e", "ent-a", "--title", "repeated exports",
                 "--category", "insider_abuse", *[a for i in ids for a in ("--evidence", i)])
    assert opened.exit_code == 0, opened.output
    shown = run(home, "incidents", "show", opened.stdout.split()[1].rstrip(":"), "-e", "ent-a",
                "--json")
    assert shown.exit_code == 0, shown.output
    inc = json.loads(shown.stdout)
    assert (inc["records_by_category"], inc["records_affected"],
            inc["unattributed_records"]) == ({"other": 2}, 2, 0)  # not 3 x 2 + 1
    assert inc["people_affected"] == 1  # one recipient of both parcels
    assert inc["insider"] is True
    assert inc["police_basis"] is None
