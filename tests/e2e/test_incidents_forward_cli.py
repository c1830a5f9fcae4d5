"""Issue 16 item 4: nothing used to leave the supervision department. A report of a
reportable grade now owes a forward to the cyberspace administration (its own kind of
organisation) within the half hour, which the administration sees and acknowledges
with a receipt, through the real CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from faker import Faker

from parcelguard.core.ids import new_id
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.ledger.ingest import record_events
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.vault.provider import vault_service
from tests.e2e.test_incidents_cli import run


def _one_revealed_parcel(home: Path) -> str:
    """A parcel whose recipient's phone was revealed: one person affected."""
    assert run(home, "init").exit_code == 0
    assert run(home, "org", "create", "ent-a", "--kind", "enterprise",
               "--name", "A").exit_code == 0
    settings = Settings(home=home)
    rt = Runtime(settings=settings)
    fake = Faker("zh_CN")
    fake.seed_instance(5)
    now = datetime.now(UTC)
    waybill = make_waybill_no("SF", 7)
    event_id = new_id("ev")
    with rt.db.unit_of_work() as uow:
        register_parcels(uow.session, vault_service(settings), enterprise_id="ent-a",
                         record_created=False, parcels=[ParcelIn(
                             waybill, PartyIn("sub-s", fake.name(), fake.phone_number(),
                                              fake.address(), None),
                             PartyIn("sub-r", fake.name(), fake.phone_number(),
                                     fake.address(), None), now)])
        record_events(uow.session, [{
            "event_id": event_id, "kind": "access", "occurred_at": now.isoformat(),
            "enterprise_id": "ent-a", "actor_type": "employee", "actor_id": "emp-c",
            "action": "reveal", "fields": ["recipient_phone"], "waybill_no": waybill,
            "record_count": 1, "purpose": "other", "outcome": "allowed",
            "channel": "web"}], clock_now=lambda: now)
        uow.commit()
    rt.close()
    return event_id


def test_a_reportable_report_is_forwarded_and_receipted(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # one person grades relatively major in this small world, under a stated override
    monkeypatch.setenv("PARCELGUARD_INCIDENTS__RELATIVELY_MAJOR_PEOPLE", "1")
    monkeypatch.setenv("PARCELGUARD_INCIDENTS__STATUTORY_OVERRIDE", "test: a small world")
    home = tmp_path / "home"
    event_id = _one_revealed_parcel(home)
    assert run(home, "org", "create", "cac-sh", "--kind", "cac",
               "--name", "上海市网信办").exit_code == 0
    r = run(home, "account", "create", "cac-duty", "--org", "cac-sh", "--role", "cac_officer")
    assert r.exit_code == 0, r.output
    r = run(home, "incidents", "open", "-e", "ent-a", "--title", "bulk export by a courier",
            "--category", "insider_abuse", "--evidence", event_id)
    assert r.exit_code == 0, r.output
    incident_id = r.output.split()[1].rstrip(":")
    shown = json.loads(run(home, "incidents", "show", incident_id, "-e", "ent-a",
                           "--json").output)
    assert shown["grade"] == "relatively_major"
    cac = next(x for x in shown["reports"] if x["kind"] == "cac_initial")
    r = run(home, "incidents", "report", "file", incident_id, cac["id"], "-e", "ent-a",
            "--first-items-only")
    assert r.exit_code == 0, r.output

    # the administration sees the forward owed to it before the department acts
    owed = json.loads(run(home, "incidents", "forward", "list", "--account", "cac-duty",
                          "--json").output)
    assert [(f["report"], f["status"], f["to"]) for f in owed] == [(cac["id"], "pending", None)]
    # an enterprise cannot send it, nor the administration acknowledge what was not sent
    assert run(home, "incidents", "forward", "receipt", owed[0]["id"],
               "--account", "cac-duty").exit_code != 0
    r = run(home, "incidents", "forward", "send", owed[0]["id"])
    assert r.exit_code == 0, r.output
    assert "forwarded to cac-sh (on time)" in r.output
    r = run(home, "incidents", "forward", "receipt", owed[0]["id"], "--account", "cac-duty")
    assert r.exit_code == 0, r.output
    assert "receipt CAC-" in r.output
    done = json.loads(run(home, "incidents", "forward", "list", "--json").output)
    assert [(f["status"], f["to"], f["on_time"]) for f in done] == [
        ("received", "cac-sh", True)]
