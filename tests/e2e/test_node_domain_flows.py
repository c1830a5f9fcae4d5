"""The domain's records flow between nodes by themselves, as separate `parcelguard
node serve` processes (supervision, an enterprise, the police and an auditor, each
its own home, SQLite database and keys, over mutual TLS).

What a user of the federation notices:
- a carrier's police referral reaches the police node with its evidence package
  (events and inclusion proofs, as channel/evidence.py builds it), checked on
  receipt against the checkpoint the police node's own witness cosigned, and the
  investigator reads it with `node referrals` and in the referrals the police see;
- a filed report and an escalation become records of the supervision node (its
  `incidents inbox` lists them as it lists local ones), and the escalation's
  clearing follows it;
- an audit the department orders on its node reaches the auditor and the carrier
  as `audit_grant`s with no hand-sent message: the auditor's node lists it as its
  engagement (`audit engagements`) and starts its fieldwork (`audit run`), and the
  carrier's node answers the auditor's data request naming it (and refuses one
  naming none); a report the department forwards to the cyberspace administration
  reaches the administration's node as its forward, whose receipt there
  (`incidents forward receipt`) comes back to the department's forward;
- a rewritten carrier log opens a case on the supervision node (its own incident,
  no statutory drafts) and the auditor reports what its witness saw onward to the
  department: nothing dead-lettered on either node.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import msgspec
import pytest
from sqlalchemy import select

from parcelguard.channel.settings import ChannelSettings
from parcelguard.core.runtime import Runtime
from parcelguard.ledger.ingest import EventLog
from parcelguard.node.home import Node, node_settings
from tests.e2e.served import free_port
from tests.e2e.test_node_federation import ENV, SRC, NodeProc, cli, wait_for
from tests.e2e.test_node_watch import _rewrite

pytestmark = pytest.mark.slow
ENT = "e1"
T0 = datetime(2026, 12, 7, 1, tzinfo=UTC)
PASSWORD = "correct horse battery staple 7"


@dataclass
class Fed:
    base: Path
    procs: dict[str, NodeProc]

    def node(self, org: str) -> Node:
        return Node(self.base / org)

    def rt(self, org: str) -> Runtime:
        return Runtime(settings=node_settings(self.base / org))

    def rows(self, org: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(f"file:{self.base / org / 'parcelguard.db'}?mode=ro", uri=True,
                             timeout=30) as db:
            return db.execute(sql, args).fetchall()

    def inbox(self, org: str, kind: str) -> list[tuple[str, dict[str, Any], int]]:
        return [(s, json.loads(e)["body"], d) for s, e, d in self.rows(
            org, "SELECT sender_org, envelope, deliveries FROM node_inbox WHERE kind = ?",
            kind)]

    def run(self, org: str, *args: str) -> str:
        """A `parcelguard` command against the node's store, in its own process."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PARCELGUARD_")}
        env |= ENV | {"PARCELGUARD_HOME": str(self.base / org),
                      "PYTHONPATH": SRC + os.pathsep + env.get("PYTHONPATH", "")}
        done = subprocess.run([sys.executable, "-m", "parcelguard", *args], env=env,
                              capture_output=True, timeout=180, check=False)
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        return done.stdout.decode()


def _set(home: Path, **values: float) -> None:
    path = home / "node.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | values))


def _ingest(fed: Fed, count: int) -> None:
    rt = fed.rt(ENT)
    lines = [(i, msgspec.json.encode({"event_id": f"d{n}", "kind": "parcel",
                               "occurred_at": "2026-12-07T08:00:00+08:00",
                               "enterprise_id": ENT, "waybill_no": f"SF{n:013d}",
                               "step": "created"}))
             for i, n in enumerate(range(count), start=1)]
    try:
        with rt.db.unit_of_work() as uow:
            assert not EventLog(clock_now=rt.clock.now).append_raw(uow.session, lines).rejected
            uow.commit()
    finally:
        rt.close()


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fed]:
    base = tmp_path_factory.mktemp("flows")
    ca = base / "ca"
    cli("node", "ca", "init", "--out", str(ca))
    roles = {"sup": "supervision", ENT: "enterprise", "pol": "police", "a1": "auditor",
             "cac": "cac"}
    urls = {org: f"https://127.0.0.1:{free_port()}" for org in roles}
    cli("node", "init", "--home", str(base / "sup"), "--role", "supervision", "--org", "sup",
        "--url", urls["sup"], "--ca", str(ca))
    sup_key = json.loads((base / "sup" / "node-card.json").read_text())["node_key"]
    for org, role in roles.items():
        if org == "sup":
            continue
        cli("node", "init", "--home", str(base / org), "--role", role, "--org", org,
            "--url", urls[org], "--ca", str(ca), "--supervision-key", sup_key,
            "--supervision-url", urls["sup"])
        cli("node", "directory", "add", "--home", str(base / "sup"), "--card",
            str(base / org / "node-card.json"))
    for org in roles:  # every pass each second (60 s by default): the test waits seconds
        _set(base / org, mirror_seconds=1.0, checkpoint_seconds=1.0,
             directory_refresh_seconds=1.0)
    f = Fed(base, {org: NodeProc(base / org, urls[org]) for org in roles})
    f.procs["sup"].start(f.node(ENT))
    for org in roles:
        if org != "sup":
            cli("node", "directory", "fetch", "--home", str(base / org))
    for org in (ENT, "pol", "a1", "cac"):
        f.procs[org].start(f.node("sup"))
    _ingest(f, 40)
    try:
        yield f
    finally:
        for p in f.procs.values():
            if p.proc is not None:
                p.stop(signal.SIGKILL)


def _cosigned_by(fed: Fed, witness: str) -> int:
    rows = fed.rows(ENT, "SELECT max(c.size) FROM ledger_cosignatures w JOIN "
                    "ledger_checkpoints c ON c.id = w.checkpoint_id WHERE w.witness LIKE ?",
                    f"%/witness/{witness}")
    return int(rows[0][0] or 0)


def test_a_police_referral_carries_its_evidence_checked_against_the_police_witness(
        fed: Fed) -> None:
    from parcelguard.channel.events import ReferIncident
    from parcelguard.channel.referrals import Deps, refer_incident
    from parcelguard.identity.service import create_organization
    from parcelguard.vault.provider import vault_service

    wait_for("the police witness to cosign the carrier's log",
             lambda: _cosigned_by(fed, "pol") == 40)
    rt = fed.rt(ENT)
    try:
        with rt.db.unit_of_work() as uow:
            create_organization(uow.session, org_id="pol", kind="police", name="police",
                                clock=rt.clock)
            ref = refer_incident(uow.session, Deps(kms=vault_service(rt.settings).vault.kms,
                                                   clock=rt.clock,
                                                   settings=rt.settings.section(ChannelSettings)),
                                 ReferIncident(enterprise_id=ENT, incident_id="inc_p1",
                                               reason="bulk lookups of other records",
                                               event_ids=["d3", "d7", "d11"],
                                               record_counts={"other": 3}, insider=True,
                                               police_org_id="pol"))
            ref_id, digest, package = ref.id, ref.package_sha256, ref.package
            uow.commit()
    finally:
        rt.close()
    assert len(package["events"]) == 3

    def received() -> list[tuple[Any, ...]]:
        return fed.rows("pol", "SELECT id, enterprise_id, police_org_id, package, "
                        "package_sha256, status FROM channel_referrals WHERE id = ?", ref_id)

    wait_for("the referral on the police node", lambda: bool(received()))
    ((rid, ent, police, held, sha, status),) = received()
    # the package itself, as the carrier built it, byte for byte the same digest
    assert (rid, ent, police, sha, status) == (ref_id, ENT, "pol", digest, "sent")
    assert json.loads(held) == package
    (log,) = fed.rows("pol", "SELECT action, detail FROM channel_referral_log WHERE "
                      "referral_id = ?", ref_id)
    assert log[0] == "received"
    check = json.loads(log[1])
    assert check["evidence_ok"] is True, check
    assert check["events_verified"] == 3
    assert check["witnessed"] == "consistent", check
    assert check["witnessed_size"] == 40
    # what the investigator reads on the police node
    shown = [json.loads(x) for x in cli("node", "referrals", "--home", str(fed.base / "pol"),
                                        "--json").splitlines()]
    assert [(s["referral"], s["enterprise_id"], s["events"], s["verified"]) for s in shown] \
        == [(ref_id, ENT, 3, True)]
    assert shown[0]["package_sha256"] == digest
    # and through the police node's own API, as an investigator logged in there
    api = _police_api(fed)
    assert [r["id"] for r in api.get("/api/v1/referrals").json()] == [ref_id]
    assert api.get(f"/api/v1/referrals/{ref_id}/evidence").json() == package
    verified = api.post(f"/api/v1/referrals/{ref_id}/evidence/verify").json()
    assert (verified["ok"], verified["events_verified"]) == (True, 3)
    api.close()


def _police_api(fed: Fed) -> httpx2.Client:
    """An investigator's API session on the police node (mutual TLS, password and
    authenticator code)."""
    from parcelguard.identity import service as identity
    from tests.e2e.staff_login import current_code, home_authenticator

    rt = fed.rt("pol")
    try:
        with rt.db.unit_of_work() as uow:
            identity.create_account(uow.session, org_id="pol", username="cop",
                                    role="police_investigator", clock=rt.clock,
                                    password=PASSWORD)
            uow.commit()
        secret = home_authenticator(rt.settings, "cop")
    finally:
        rt.close()
    client = httpx2.Client(base_url=fed.procs["pol"].url, timeout=30,
                          verify=fed.node("pol").client_context())
    r = client.post("/api/v1/sessions", json={"username": "cop", "password": PASSWORD,
                                               "code": current_code(secret)})
    assert r.status_code == 200, r.text
    client.headers["Authorization"] = f"Bearer {r.json()['token']}"
    return client


def test_a_filed_report_and_an_escalation_become_supervision_records(fed: Fed) -> None:
    from parcelguard.core.clock import ManualClock
    from parcelguard.identity.permissions import Principal
    from parcelguard.incidents import reports
    from parcelguard.incidents.models import Escalation, IncidentReport
    from parcelguard.incidents.service import OpenRequest, open_incident
    from parcelguard.incidents.settings import IncidentSettings
    from parcelguard.simulation.demo_incidents import _OFFICER_ITEMS

    rt = fed.rt(ENT)
    try:
        with rt.db.unit_of_work() as uow:
            s = uow.session
            opened = open_incident(s, OpenRequest(
                enterprise_id=ENT, title="bulk lookups", category="insider_abuse",
                source="manual", detected_at=T0), actor="system:test",
                settings=IncidentSettings())
            inc = opened.incident
            drafts = list(s.scalars(select(IncidentReport).where(
                IncidentReport.incident_id == inc.id)))
            for r in drafts:
                reports.file_report(s, Principal(ENT, "enterprise", "security_officer"),
                                    report_id=r.id, content=_OFFICER_ITEMS,
                                    clock=ManualClock(T0 + timedelta(minutes=30)))
            s.add(Escalation(id="esc_flow_1", enterprise_id=ENT, incident_id=inc.id,
                             subject="people_notice", ref_id=inc.id,
                             due_at=T0 + timedelta(hours=1),
                             escalated_at=T0 + timedelta(hours=2)))
            uow.commit()
            report_ids = sorted(r.id for r in drafts)
            inc_id, grade = inc.id, inc.grade
    finally:
        rt.close()
    assert report_ids

    def held() -> list[tuple[Any, ...]]:
        return fed.rows("sup", "SELECT r.id, r.enterprise_id, r.status, i.id, i.category, "
                        "i.grade FROM incident_reports r JOIN incidents i ON "
                        "i.id = r.incident_id ORDER BY r.id")

    wait_for("the reports as records of the supervision node",
             lambda: len(held()) == len(report_ids))
    assert held() == [(r, ENT, "filed", inc_id, "insider_abuse", grade) for r in report_ids]
    wait_for("the escalation on the supervision node", lambda: bool(fed.rows(
        "sup", "SELECT id FROM incident_escalations WHERE id = 'esc_flow_1'")))
    # the supervision node's own inbox lists them like reports filed to it locally
    box = json.loads(fed.run("sup", "incidents", "inbox", "--json"))
    assert sorted(r["report"] for r in box["reports"]) == report_ids
    assert {r["enterprise_id"] for r in box["reports"]} == {ENT}
    assert [e["escalation"] for e in box["escalations"]] == ["esc_flow_1"]
    # each came as one envelope, applied once
    assert sorted(b["report"] for _, b, _ in fed.inbox("sup", "incident_report")) == report_ids
    assert [b["escalation"] for _, b, _ in fed.inbox("sup", "escalation")] == ["esc_flow_1"]
    # the carrier clears it (the notice sent late): the department's copy is cleared too
    rt = fed.rt(ENT)
    try:
        with rt.db.unit_of_work() as uow:
            esc = uow.session.get(Escalation, "esc_flow_1")
            assert esc is not None
            esc.cleared_at = T0 + timedelta(hours=3)
            uow.commit()
    finally:
        rt.close()
    wait_for("the clearing on the supervision node", lambda: fed.rows(
        "sup", "SELECT cleared_at IS NOT NULL FROM incident_escalations "
        "WHERE id = 'esc_flow_1'") == [(1,)])
    assert json.loads(fed.run("sup", "incidents", "inbox", "--json"))["escalations"] == []


def test_an_audit_ordered_on_the_supervision_node_is_granted_without_a_hand_sent_message(
        fed: Fed) -> None:
    from parcelguard.audit.models import AuditEngagement
    from parcelguard.identity.service import create_organization, ensure_enterprises

    rt = fed.rt("sup")
    try:
        with rt.db.unit_of_work() as uow:
            s = uow.session
            ensure_enterprises(s, {ENT}, rt.clock)
            create_organization(s, org_id="a1", kind="auditor", name="auditor",
                                clock=rt.clock)
            s.add(AuditEngagement(
                id="aud_flow_1", enterprise_id=ENT, auditor_org_id="a1",
                lead_auditor_id="acc_lead", kind="ordered",
                reason="ordered after the insider incident", scope=["ledger-integrity"],
                rulebook_version="1.0.0", period_start=T0 - timedelta(days=30),
                period_end=T0, status="planned", requested_by="sup/officer",
                created_at=T0, sample_seed="00"))
            uow.commit()
    finally:
        rt.close()
    for org in ("a1", ENT):
        wait_for(f"the audit grant at {org}", lambda o=org: bool(fed.inbox(o, "audit_grant")))
    for org in ("a1", ENT):
        ((sender, body, _),) = fed.inbox(org, "audit_grant")  # stored once
        assert (sender, body["engagement"], body["enterprise"], body["auditor"],
                body["kind"]) == ("sup", "aud_flow_1", ENT, "a1", "ordered")
    # queued once each, however many relay passes (one a second) saw the engagement
    assert _queued(fed, "sup", "audit_grant") == 2
    # the auditor's node holds it as its own engagement: its audit commands work it
    listed = json.loads(fed.run("a1", "audit", "engagements", "--json"))
    assert [(e["id"], e["enterprise_id"], e["auditor_org_id"], e["kind"], e["status"])
            for e in listed] == [("aud_flow_1", ENT, "a1", "ordered", "planned")]
    fed.run("a1", "audit", "run", "aud_flow_1", "--no-findings")
    assert fed.rows("a1", "SELECT status, access_from IS NOT NULL FROM audit_engagements "
                    "WHERE id = 'aud_flow_1'") == [("fieldwork", 1)]
    # the carrier's node knows the engagement: the auditor's data request naming it
    # is answered with figures and logged against it; one naming none is refused
    assert fed.rows(ENT, "SELECT auditor_org_id, status FROM audit_engagements "
                    "WHERE id = 'aud_flow_1'") == [("a1", "planned")]
    asked, other = (cli("node", "send", "--home", str(fed.base / "a1"), "--to", ENT,
                        "--kind", "data_request", "--body", json.dumps(body)).strip()
                    for body in ({"engagement": "aud_flow_1"}, {"engagement": "aud_other"}))
    wait_for("the carrier's answers at the auditor",
             lambda: len(fed.inbox("a1", "data_answer")) == 2)
    answers = {b["request"]: b for _, b, _ in fed.inbox("a1", "data_answer")}
    assert answers[asked]["log_size"] >= 40
    assert answers[asked]["engagement"] == "aud_flow_1"
    assert answers[other]["status"] == "refused"
    assert "log_size" not in answers[other]
    assert fed.rows(ENT, "SELECT engagement_id, actor FROM audit_access_log") == [
        ("aud_flow_1", "a1/node")]


def _queued(fed: Fed, org: str, kind: str) -> int:
    """Envelopes of ``kind`` in ``org``'s outbox, delivered or not."""
    return sum(json.loads(p)["kind"] == kind for (p,) in fed.rows(
        org, "SELECT payload FROM outbox_messages WHERE type = 'node.envelope_queued'"))


def test_a_report_the_department_forwards_reaches_the_administrations_node(
        fed: Fed) -> None:
    from parcelguard.core.clock import ManualClock
    from parcelguard.identity import service as identity
    from parcelguard.identity.permissions import Principal, system_principal
    from parcelguard.identity.service import create_organization
    from parcelguard.incidents import forwards, reports
    from parcelguard.incidents.models import ForwardedReport, IncidentReport
    from parcelguard.incidents.service import OpenRequest, open_incident
    from parcelguard.incidents.settings import IncidentSettings
    from parcelguard.simulation.demo_incidents import _OFFICER_ITEMS

    rt = fed.rt(ENT)
    try:
        with rt.db.unit_of_work() as uow:
            s = uow.session
            inc = open_incident(s, OpenRequest(
                enterprise_id=ENT, title="records leaked", category="external_attack",
                source="manual", detected_at=T0), actor="system:test",
                settings=IncidentSettings()).incident
            inc.grade = "relatively_major"  # as the carrier's grading established it
            first = s.scalars(select(IncidentReport).where(
                IncidentReport.incident_id == inc.id).order_by(IncidentReport.id)).first()
            assert first is not None
            reports.file_report(s, Principal(ENT, "enterprise", "security_officer"),
                                report_id=first.id, content=_OFFICER_ITEMS,
                                clock=ManualClock(T0 + timedelta(minutes=30)))
            report_id = first.id
            uow.commit()
    finally:
        rt.close()
    # on the supervision node the received report owes a forward, as a local one would
    wait_for("the forward owed on the supervision node", lambda: bool(fed.rows(
        "sup", "SELECT id FROM incident_forwards WHERE report_id = ?", report_id)))
    rt = fed.rt("sup")
    try:
        with rt.db.unit_of_work() as uow:
            s = uow.session
            create_organization(s, org_id="cac", kind="cac", name="administration",
                                clock=rt.clock)
            fwd = s.scalars(select(ForwardedReport).where(
                ForwardedReport.report_id == report_id)).one()
            forwards.send(s, system_principal("sup"), forward_id=fwd.id,
                          clock=rt.clock, to_org_id="cac")
            fwd_id = fwd.id
            uow.commit()
    finally:
        rt.close()
    wait_for("the onward report at the administration's node",
             lambda: bool(fed.inbox("cac", "onward_report")))
    ((sender, body, _),) = fed.inbox("cac", "onward_report")
    assert (sender, body["forward"], body["report"], body["enterprise"], body["grade"]) == (
        "sup", fwd_id, report_id, ENT, "relatively_major")
    assert _queued(fed, "sup", "onward_report") == 1
    # the administration's node holds it as a forward sent to it, and acknowledges it
    rt = fed.rt("cac")
    try:
        with rt.db.unit_of_work() as uow:
            identity.create_account(uow.session, org_id="cac", username="cac-duty",
                                    role="cac_officer", clock=rt.clock, password=PASSWORD)
            uow.commit()
    finally:
        rt.close()
    held = json.loads(fed.run("cac", "incidents", "forward", "list", "--account",
                              "cac-duty", "--json"))
    assert [(f["id"], f["report"], f["status"], f["to"]) for f in held] == [
        (fwd_id, report_id, "sent", "cac")]
    said = fed.run("cac", "incidents", "forward", "receipt", fwd_id, "--account", "cac-duty")
    receipt = said.strip().rsplit(" ", 1)[-1]
    assert receipt.startswith("CAC-")

    def at_department() -> list[tuple[Any, ...]]:
        return fed.rows("sup", "SELECT status, receipt, on_time, received_at IS NOT NULL "
                        "FROM incident_forwards WHERE id = ?", fwd_id)

    wait_for("the receipt at the supervision node",
             lambda: at_department()[0][0] == "received")
    assert at_department() == [("received", receipt, 1, 1)]
    assert fed.rows("sup", "SELECT count(*) FROM incident_timeline WHERE action = "
                    "'forward_received'") == [(1,)]
    ((sender, body, _),) = fed.inbox("sup", "forward_receipt")
    assert (sender, body["forward"], body["receipt"]) == ("cac", fwd_id, receipt)
    assert _queued(fed, "cac", "forward_receipt") == 1


def test_a_rewritten_log_opens_a_supervision_case_and_the_auditor_reports_it_onward(
        fed: Fed) -> None:
    wait_for("the mirror to hold the log", lambda: fed.rows(
        "sup", "SELECT size FROM mirror_logs") == [(40,)])
    leaves = [bytes(r[0]) for r in fed.rows(ENT, "SELECT leaf FROM ledger_events "
                                            "ORDER BY seq")]
    leaves[5] = leaves[5].replace(b'"step":"created"', b'"step":"closed"')
    _rewrite(fed.base / ENT, leaves)

    def case() -> list[tuple[Any, ...]]:
        return fed.rows("sup", "SELECT id, category, source, state FROM incidents "
                        "WHERE enterprise_id = ? AND category = 'tampering'", ENT)

    wait_for("the case on the supervision node", lambda: bool(case()))
    ((inc_id, _, source, state),) = case()
    assert (source, state) == ("alert", "detected")
    # the department's case, not the carrier's statutory duty: nothing drafted for it
    assert fed.rows("sup", "SELECT id FROM incident_reports WHERE incident_id = ?",
                    inc_id) == []
    wait_for("the auditor's onward report", lambda: any(
        s == "a1" and b["enterprise"] == ENT for s, b, _ in fed.inbox("sup", "onward_report")))
    ((_, body, _),) = [(s, b, d) for s, b, d in fed.inbox("sup", "onward_report")
                       if s == "a1"]
    assert body["subject"] == "ledger_tamper"
    assert body["finding"]
    # the tamper alert's reactions all settled on both nodes: nothing dead
    for org in ("sup", "a1"):
        wait_for(f"{org}'s outbox to settle", lambda o=org: fed.rows(
            o, "SELECT count(*) FROM outbox_messages WHERE status <> 'done'") == [(0,)])
        assert fed.rows(org, "SELECT handler, last_error FROM outbox_deliveries "
                        "WHERE status = 'dead'") == []
