"""`parcelguard incidents ...` as an operator runs it (in-process Typer runner on a
real SQLite file): plans filed and reviewed, an incident opened, an illegal move
refused with exit 1, a report filed into the department's inbox, an intervention
ordered and acknowledged."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner, Result

from parcelguard.cli import app
from parcelguard.core.clock import SystemClock
from parcelguard.core.ids import new_id
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity.permissions import Principal
from parcelguard.incidents.model import Category
from parcelguard.ledger.ingest import record_events
from parcelguard.logistics import service as logistics

runner = CliRunner()


def run(home: Path, *args: str) -> Result:
    return runner.invoke(app, list(args),
                         env={"PARCELGUARD_HOME": str(home), "PARCELGUARD_DATABASE_URL": ""})


def _setup(home: Path, tmp: Path) -> tuple[Path, str]:
    assert run(home, "init").exit_code == 0
    assert run(home, "org", "create", "ent-a", "--kind", "enterprise", "--name", "A",
               "--cii").exit_code == 0
    rt = Runtime(settings=Settings(home=home))
    clock = SystemClock()
    admin = Principal("ent-a", "enterprise", "enterprise_admin")
    with rt.db.unit_of_work() as uow:
        logistics.create_station(uow.session, admin, station_id="st-1", name="一号网点",
                                 region_code="310115", clock=clock)
        for emp in ("emp-c", "emp-tech"):
            logistics.hire_employee(uow.session, admin, role="courier", station_id="st-1",
                                    shift_start="08:00", shift_end="20:00", employee_id=emp,
                                    clock=clock)
        event_id = new_id("ev")
        record_events(uow.session, [{
            "event_id": event_id, "kind": "access",
            "occurred_at": datetime.now(UTC).isoformat(), "enterprise_id": "ent-a",
            "actor_type": "employee", "actor_id": "emp-c", "action": "export",
            "fields": ["recipient_phone"], "record_count": 40, "purpose": "other",
            "outcome": "allowed", "channel": "web"}], clock_now=clock.now)
        uow.commit()
    rt.close()
    plan = tmp / "emergency.json"
    plan.write_text(json.dumps({
        "playbooks": {c.value: ["contain", "preserve evidence"] for c in Category},
        "technicians": [{"employee_id": "emp-tech", "on_call": [
            {"weekdays": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "00:00"}]}],
        "contacts": [{"role": "public contact", "unit": "A customer service",
                      "reach": "95338"}],
        "reporting_chain": ["security officer", "supervision department"]}))
    return plan, event_id


def test_the_incident_commands(tmp_path: Path) -> None:
    home = tmp_path / "home"
    plan, event_id = _setup(home, tmp_path)
    r = run(home, "incidents", "plan", "submit", "emergency", str(plan), "-e", "ent-a")
    assert r.exit_code == 0, r.output
    plan_id = r.output.split()[-1]
    assert run(home, "incidents", "plan", "review", plan_id, "--approve").exit_code == 0
    assert "never" in run(home, "incidents", "plan", "drills").output

    r = run(home, "incidents", "open", "-e", "ent-a", "--title", "bulk export by a courier",
            "--category", "insider_abuse", "--evidence", event_id)
    assert r.exit_code == 0, r.output
    incident_id = r.output.split()[1].rstrip(":")
    r = run(home, "incidents", "move", incident_id, "resolved", "-e", "ent-a")
    assert r.exit_code == 1
    assert "cannot move from detected to resolved" in r.output

    shown = json.loads(run(home, "incidents", "show", incident_id, "-e", "ent-a",
                           "--json").output)
    assert shown["cii"]
    assert shown["records_affected"] == 40
    assert [t["assignee_employee_id"] for t in shown["tasks"]] == ["emp-tech", "emp-tech"]
    pipl = next(x for x in shown["reports"] if x["kind"] == "pipl_notice")
    # the PIPL Art. 57 notice goes complete or not at all (issue 16 item 2)
    r = run(home, "incidents", "report", "file", incident_id, pipl["id"], "-e", "ent-a",
            "--first-items-only")
    assert r.exit_code == 2
    assert "filed complete" in r.output
    r = run(home, "incidents", "report", "file", incident_id, pipl["id"], "-e", "ent-a")
    assert r.exit_code == 2
    assert "missing measures_taken" in r.output
    measures = tmp_path / "measures.json"
    measures.write_text(json.dumps({"measures_taken": ["courier's PI access suspended"]}))
    r = run(home, "incidents", "report", "file", incident_id, pipl["id"], "-e", "ent-a",
            "--content", str(measures))
    assert r.exit_code == 0, r.output
    assert "on time" in r.output
    box = json.loads(run(home, "incidents", "inbox", "--json").output)
    assert [x["report"] for x in box["reports"]] == [pipl["id"]]

    r = run(home, "incidents", "intervene", "-e", "ent-a", "--kind", "suspend_employee",
            "--target", "emp-c", "--reason", "bulk export without approval", "--order",
            "--incident", incident_id)
    assert r.exit_code == 0, r.output
    assert "must acknowledge" in r.output
    iv = r.output.split()[1]
    assert run(home, "incidents", "ack", iv, "-e", "ent-a").exit_code == 0
    assert run(home, "incidents", "ack", iv, "-e", "ent-a").exit_code == 1
    assert run(home, "incidents", "lift", iv, "-e", "ent-a").exit_code == 1
    def in_force() -> list[str]:
        listed = run(home, "incidents", "interventions", "-e", "ent-a", "--json")
        return [i["id"] for i in json.loads(listed.output)]

    assert in_force() == [iv]
    assert run(home, "incidents", "lift", iv, "--order").exit_code == 0
    assert in_force() == []
