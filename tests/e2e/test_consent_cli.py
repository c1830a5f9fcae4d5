"""`parcelguard consent ...` and `parcelguard subjects ...` as an operator runs them
(in-process Typer runner on a real SQLite file and the local key-file KMS)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from faker import Faker
from typer.testing import CliRunner, Result

from parcelguard.cli import app
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.vault.provider import vault_service

runner = CliRunner()


def run(home: Path, *args: str, stdin: str | None = None) -> Result:
    return runner.invoke(app, list(args), input=stdin,
                         env={"PARCELGUARD_HOME": str(home), "PARCELGUARD_DATABASE_URL": ""})


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    assert run(home, "init").exit_code == 0
    assert run(home, "org", "create", "ent-a", "--kind", "enterprise",
               "--name", "A").exit_code == 0
    published = run(home, "consent", "notice", "publish", "-e", "ent-a",
                    "--processor-name", "甲快递有限公司",
                    "--processor-contact", "privacy@carrier-a.example.com")
    assert published.exit_code == 0, published.output
    return home


def _status(home: Path, subject: str) -> dict[str, Any]:
    r = run(home, "consent", "status", "-e", "ent-a", "-s", subject, "--json")
    assert r.exit_code == 0, r.output
    status: dict[str, Any] = json.loads(r.stdout)
    return status


def test_notice_publish_is_idempotent_and_show_emphasises(home: Path) -> None:
    again = run(home, "consent", "notice", "publish", "-e", "ent-a",
                "--processor-name", "甲快递有限公司",
                "--processor-contact", "privacy@carrier-a.example.com")
    assert "unchanged" in again.stdout
    shown = run(home, "consent", "notice", "show", "-e", "ent-a", "--locale", "en")
    assert shown.exit_code == 0
    assert "※ YOU MAY WITHDRAW ANY CONSENT" in shown.stdout
    assert "※【" in run(home, "consent", "notice", "show", "-e", "ent-a").stdout


@pytest.mark.parametrize("args", [
    ("consent", "grant", "-e", "ent-a", "-s", "sub-alice", "--purpose", "shipping"),
    ("consent", "grant", "-e", "ent-a", "-s", "sub-alice", "--purpose", "delivery"),
    ("consent", "grant", "-e", "ent-a", "-s", "13812345678", "--purpose", "marketing"),
    ("consent", "grant", "-e", "ent-a", "-s", "sub-alice", "--purpose", "marketing",
     "--channel", "fax"),
    ("consent", "grant", "-e", "ent-zz", "-s", "sub-alice", "--purpose", "marketing"),
    ("consent", "withdraw", "-e", "ent-a", "-s", "sub-alice", "--purpose", "marketing"),
    ("consent", "notice", "show", "-e", "ent-a", "--locale", "fr"),
    ("subjects", "requests", "-e", "ent-a", "--status", "lost"),
])
def test_bad_input_exits_2_with_a_message_and_changes_nothing(home: Path,
                                                              args: tuple[str, ...]) -> None:
    r = run(home, *args)
    assert r.exit_code == 2, r.output
    assert "error:" in r.stderr
    assert isinstance(r.exception, SystemExit)  # a clean exit, not a crash
    assert _status(home, "sub-alice")["history"] == []


def test_grant_withdraw_status(home: Path) -> None:
    assert run(home, "consent", "acknowledge", "-e", "ent-a", "-s", "sub-alice").exit_code == 0
    assert run(home, "consent", "grant", "-e", "ent-a", "-s", "sub-alice",
               "--purpose", "marketing", "--channel", "app").exit_code == 0
    allowed = {p["purpose"]: p["allowed"] for p in _status(home, "sub-alice")["purposes"]}
    assert allowed["marketing"] is True
    assert run(home, "consent", "withdraw", "-e", "ent-a", "-s", "sub-alice",
               "--purpose", "marketing").exit_code == 0
    reasons = {p["purpose"]: p["reason"] for p in _status(home, "sub-alice")["purposes"]}
    assert reasons["marketing"] == "withdrawn"
    table = run(home, "consent", "status", "-e", "ent-a", "-s", "sub-alice")
    assert "withdrawn" in table.stdout


def _parcel(home: Path, people: dict[str, PartyIn]) -> None:
    """Collect one parcel alice -> bob through the same vault the CLI uses."""
    rt = Runtime(settings=Settings(home=home))
    with rt.db.unit_of_work() as uow:
        register_parcels(uow.session, vault_service(rt.settings), enterprise_id="ent-a",
                         record_created=False, parcels=[ParcelIn(
                             make_waybill_no("SF", 1), people["sub-alice"], people["sub-bob"],
                             datetime.now(UTC))])
        uow.commit()
    rt.close()


def test_subjects_export_erase_and_requests(home: Path, tmp_path: Path) -> None:
    fake = Faker("zh_CN")
    fake.seed_instance(11)
    people = {s: PartyIn(s, fake.name(), fake.phone_number(), fake.address(), fake.ssn())
              for s in ("sub-alice", "sub-bob")}
    _parcel(home, people)
    # The copy is the person's to collect on the consumer portal: the operator's
    # command only registers the request and shows no PI.
    r = run(home, "subjects", "export", "-e", "ent-a", "-s", "sub-alice")
    assert r.exit_code == 0, r.output
    assert "/consumer/rights" in r.output
    for value in (people["sub-alice"].name, people["sub-alice"].phone,
                  people["sub-alice"].address):
        assert value not in r.output
    assert [p.name for p in tmp_path.iterdir()] == ["home"]  # nothing written out
    again = run(home, "subjects", "export", "-e", "ent-a", "-s", "sub-alice")
    assert again.exit_code == 0  # the open request is reused, not duplicated

    erase = run(home, "subjects", "erase", "-e", "ent-a", "-s", "sub-bob")
    assert erase.exit_code == 1  # deferred: the parcel is still being carried
    assert "still being delivered" in erase.stderr
    listed = json.loads(run(home, "subjects", "requests", "-e", "ent-a", "--json").stdout)
    assert sorted((i["subject_id"], i["kind"], i["status"]) for i in listed) == [
        ("sub-alice", "access", "received"), ("sub-bob", "deletion", "deferred")]
    # the retry reuses the open request instead of opening a second one
    assert run(home, "subjects", "erase", "-e", "ent-a", "-s", "sub-bob").exit_code == 1
    assert len(json.loads(run(home, "subjects", "requests", "-e", "ent-a",
                              "--json").stdout)) == 2


def test_correction_value_is_prompted_not_echoed(home: Path) -> None:
    fake = Faker("zh_CN")
    fake.seed_instance(12)
    people = {s: PartyIn(s, fake.name(), fake.phone_number(), fake.address(), fake.ssn())
              for s in ("sub-alice", "sub-bob")}
    _parcel(home, people)
    new_address = fake.address()
    r = run(home, "subjects", "correct", "-e", "ent-a", "-s", "sub-bob",
            "--waybill", make_waybill_no("SF", 1), "--field", "recipient_address",
            stdin=new_address + "\n")
    assert r.exit_code == 0, r.output
    assert "corrected recipient_address" in r.stdout
    assert new_address not in r.output
