"""Issue 16 item 6: the industry association as an organisation kind that publishes
rulebook versions and reads its members' scorecards (members only, read-only), and an
auditor handing a police case data support (findings and event references, no PI)
answered with the police's receipt, through the real CLI."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from parcelguard.audit.rulebook import DEFAULT_PATH
from tests.e2e.test_audit_cli import ok, run
from tests.e2e.test_channel_cli import run as run_with_stdin


def _world(home: Path, tmp: Path) -> dict[str, str]:
    """Two audited enterprises (ent-a a member of the association, ent-b not), a
    police organisation and a firm; returns the engagement ids."""
    events = tmp / "events.jsonl"
    events.write_text("".join(json.dumps({
        "event_id": f"e-{ent}-{i}", "kind": "access",
        "occurred_at": f"2026-10-0{i + 1}T09:00:00+08:00", "enterprise_id": ent,
        "actor_type": "employee", "actor_id": "emp-1", "action": "reveal",
        "fields": ["recipient_phone"], "record_count": 1, "purpose": "delivery",
        "outcome": "allowed", "channel": "pda", "waybill_no": "AB0000000000018"}) + "\n"
        for ent in ("ent-a", "ent-b") for i in range(3)))
    ok(home, "init")
    for org, kind in (("ent-a", "enterprise"), ("ent-b", "enterprise"),
                      ("firm-a", "auditor"), ("police-sh", "police"),
                      ("assoc", "association")):
        ok(home, "org", "create", org, "--kind", kind, "--name", org.upper())
    for user, org, role in (("lead-a", "firm-a", "auditor"),
                            ("assoc-duty", "assoc", "association_officer"),
                            ("officer-1", "police-sh", "police_investigator"),
                            ("admin-a", "ent-a", "enterprise_admin")):
        ok(home, "account", "create", user, "--org", org, "--role", role)
    ok(home, "ingest", str(events))
    ok(home, "association", "join", "assoc", "ent-a")
    engaged = {}
    for ent in ("ent-a", "ent-b"):
        out = ok(home, "audit", "engage", ent, "--auditor", "firm-a", "--lead", "lead-a",
                 "--period", "2026-10")
        engaged[ent] = next(w.rstrip(":") for w in out.split() if w.startswith("aud_"))
        ok(home, "audit", "run", engaged[ent], "--sign")
    return engaged


def test_the_association_publishes_rulebooks_and_reads_its_members(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _world(home, tmp_path)
    cards = json.loads(ok(home, "association", "scorecards", "--account", "assoc-duty"))
    assert [c["enterprise_id"] for c in cards] == ["ent-a"]
    assert cards[0]["score"] is not None
    r = run(home, "association", "scorecards", "--account", "assoc-duty", "-e", "ent-b")
    assert r.exit_code == 1  # not a member: as if unknown
    assert "no member enterprise ent-b" in r.output

    book = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    book["rulebook"]["version"] = "1.1.0"
    path = tmp_path / "v1.1.json"
    path.write_text(json.dumps(book, ensure_ascii=False), encoding="utf-8")
    out = ok(home, "association", "publish", str(path), "--account", "assoc-duty")
    assert "published parcelguard-pi-logistics v1.1.0" in out
    again = run(home, "association", "publish", str(path), "--account", "assoc-duty")
    assert again.exit_code == 1
    assert "already published" in again.output
    r = run(home, "association", "publish", str(path), "--account", "admin-a")
    assert r.exit_code == 1  # an enterprise does not write the rulebook it is audited by
    book["controls"][0]["evaluator"] = "no_such_check"
    book["rulebook"]["version"] = "1.2.0"
    path.write_text(json.dumps(book, ensure_ascii=False), encoding="utf-8")
    r = run(home, "association", "publish", str(path), "--account", "assoc-duty")
    assert r.exit_code == 2
    assert "does not validate" in r.output
    listed = json.loads(ok(home, "association", "rulebooks"))
    assert [(x["association"], x["version"]) for x in listed] == [("assoc", "1.1.0")]


def test_an_auditor_gives_a_police_case_data_support_with_a_receipt(tmp_path: Path) -> None:
    home = tmp_path / "home"
    engaged = _world(home, tmp_path)
    r = run_with_stdin(home, "channel", "report", "-e", "ent-a", "--kind", "pi_leak",
                       "--waybill", "AB0000000000018", stdin="我的快递信息被卖了\n")
    assert r.exit_code == 0, r.output
    (report,) = json.loads(run(home, "channel", "list", "-e", "ent-a").stdout)
    r = run(home, "channel", "refer", report["id"], "-e", "ent-a", "--reason",
            "waybills sold", "--police", "police-sh")
    assert r.exit_code == 0, r.output
    referral = r.stdout.split()[1]
    db = sqlite3.connect(home / "parcelguard.db")
    finding = db.execute("SELECT id FROM audit_findings WHERE engagement_id = ? LIMIT 1",
                         (engaged["ent-a"],)).fetchone()[0]

    # an engagement with another enterprise gives no standing in this case
    r = run(home, "audit", "support", "send", referral, "--engagement", engaged["ent-b"],
            "--account", "lead-a", "--event", "e-ent-b-0")
    assert r.exit_code == 1
    r = run(home, "audit", "support", "send", referral, "--engagement", engaged["ent-a"],
            "--account", "lead-a", "--finding", finding, "--event", "e-ent-a-0")
    assert r.exit_code == 0, r.output
    support_id = r.stdout.split()[2]

    (got,) = json.loads(run(home, "audit", "support", "list", "--account",
                            "officer-1").stdout)
    assert got["id"] == support_id
    assert got["status"] == "sent"
    assert [f["id"] for f in got["package"]["findings"]] == [finding]
    assert [e["event_id"] for e in got["package"]["events"]] == ["e-ent-a-0"]
    r = run(home, "audit", "support", "receive", support_id, "--account", "officer-1")
    assert r.exit_code == 0, r.output
    receipt = r.stdout.split("receipt ")[1].strip()
    (sent,) = json.loads(run(home, "audit", "support", "list", "--account", "lead-a").stdout)
    assert sent["status"] == "received"
    assert sent["receipt"] == receipt
    logged = [a for (a,) in db.execute("SELECT action FROM channel_referral_log WHERE "
                                       "referral_id = ? ORDER BY id", (referral,))]
    assert logged[-2:] == ["auditor_support", "support_received"]
