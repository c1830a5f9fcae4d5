"""`parcelguard audit ...` as an operator runs it (in-process Typer runner, a real
SQLite file, the local key-file KMS): open an engagement, run it to a signed report,
check the signature, publish a transparency page, and see both refusals."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime
from html import unescape as html_unescape
from pathlib import Path
from zoneinfo import ZoneInfo

from typer.testing import CliRunner, Result

from parcelguard.cli import app

runner = CliRunner()


def run(home: Path, *args: str) -> Result:
    return runner.invoke(app, list(args), env={"PARCELGUARD_HOME": str(home),
                                               "PARCELGUARD_DATABASE_URL": ""})


def ok(home: Path, *args: str) -> str:
    r = run(home, *args)
    assert r.exit_code == 0, (args, r.output)
    return r.output


def test_engage_run_sign_publish_and_the_refusals(tmp_path: Path) -> None:
    home = tmp_path / "home"
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps({
        "event_id": f"e{i}", "kind": "access", "occurred_at": f"2026-10-0{i + 1}T09:00:00+08:00",
        "enterprise_id": "ent-a", "actor_type": "employee", "actor_id": "emp-1",
        "action": "reveal", "fields": ["recipient_phone"], "record_count": 1,
        "purpose": "delivery", "outcome": "allowed", "channel": "pda",
        "waybill_no": "AB0000000000018"}) + "\n" for i in range(3)))
    ok(home, "init")
    ok(home, "org", "create", "ent-a", "--kind", "enterprise", "--name", "A")
    ok(home, "org", "create", "firm-a", "--kind", "auditor", "--name", "Firm A")
    ok(home, "account", "create", "lead-a", "--org", "firm-a", "--role", "auditor")
    ok(home, "ingest", str(events))
    assert "pi-officer" in ok(home, "audit", "rulebook")

    out = ok(home, "audit", "engage", "ent-a", "--auditor", "firm-a", "--lead", "lead-a",
             "--period", "2026-10")
    eid = re.search(r"engagement (aud_\w+)", out)
    assert eid is not None
    out = ok(home, "audit", "run", eid.group(1), "--sign")
    assert "reveal-assignment" in out
    assert "report signed by firm-a" in out
    assert "signature valid" in ok(home, "audit", "report", eid.group(1))
    assert "ent-a" in ok(home, "audit", "ranking")

    page = tmp_path / "ent-a.html"
    out = ok(home, "audit", "publish", "ent-a", "--period", "2026-10", "--out", str(page))
    assert "epsilon 1 spent, 2 left" in out
    assert "ε = 1</strong>" in page.read_text()
    r = run(home, "audit", "publish", "ent-a", "--period", "2026-10", "--epsilon", "3")
    assert r.exit_code == 2
    assert "budget exhausted" in r.output

    # the strict reading of "不得连续三次以上": the third audit in a row is refused
    ok(home, "audit", "engage", "ent-a", "--auditor", "firm-a", "--lead", "lead-a",
       "--period", "2026-09")
    r = run(home, "audit", "engage", "ent-a", "--auditor", "firm-a", "--lead", "lead-a",
            "--period", "2026-08")
    assert r.exit_code == 2
    assert "did the last 2 audits" in r.output


def test_the_transparency_page_never_invents_an_incident(tmp_path: Path) -> None:
    """Issue 16 item 1: noise on incidents by grade made a carrier appear to admit
    major leaks it never had. Incidents are published as filed; counts about people
    carry noise, with their interval, and below the release floor no figure at all."""
    home = tmp_path / "home"
    ok(home, "init")
    ok(home, "org", "create", "ent-a", "--kind", "enterprise", "--name", "A")
    out = ok(home, "incidents", "open", "-e", "ent-a", "--title", "phishing mail opened",
             "--category", "external_attack")
    incident_id = next(w.rstrip(":") for w in out.split() if w.startswith("inc_"))
    db = sqlite3.connect(home / "parcelguard.db")
    incidents = db.execute("SELECT grade, count(*) FROM incidents GROUP BY grade").fetchall()
    assert incidents == [("general", 1)]
    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    # not reported yet: the page states no incident the carrier has not stated itself
    draft = tmp_path / "draft.html"
    ok(home, "audit", "publish", "ent-a", "--period", month, "--epsilon", "0.1",
       "--out", str(draft))
    assert re.search(r'Incidents: general</small></th><td class="n">0<', draft.read_text())
    (notice,) = db.execute("SELECT id FROM incident_reports WHERE kind = 'pipl_notice'"
                           ).fetchone()
    measures = tmp_path / "measures.json"
    measures.write_text(json.dumps({"measures_taken": ["mailbox quarantined"]}))
    ok(home, "incidents", "report", "file", incident_id, notice, "-e", "ent-a",
       "--content", str(measures))
    for i in range(3):  # a small epsilon: large noise, three independent draws
        page = tmp_path / f"p{i}.html"
        ok(home, "audit", "publish", "ent-a", "--period", month, "--epsilon", "0.1",
           "--out", str(page))
        html = page.read_text()
        for label, n in (("Incidents: particularly major", 0), ("Incidents: major", 0),
                         ("Incidents: relatively major", 0), ("Incidents: general", 1)):
            row = re.search(re.escape(label) + r'</small></th><td class="n">([^<]*)<', html)
            assert row is not None, label
            assert row.group(1) == str(n), (label, row.group(1))
        # a people-count is either below the release floor or shown with its interval
        reveals = re.search(r'PI reveals \(allowed\)</small></th><td class="n">([^<]*)<', html)
        assert reveals is not None
        assert html_unescape(reveals.group(1)).startswith(("< ", "≈ ")), reveals.group(1)
