"""Forward receipts and audit grants as records of the nodes that receive them
(node/effects.py, node/relay.py, incidents/received.py, audit/engagements.py), on
real node stores:

- the cyberspace administration's node makes a forwarded report its own forward
  record once, acknowledges it, and its relay owes the department one receipt;
- the department's forward is received once, however often the receipt arrives; a
  receipt for a forward not sent to its sender stays an envelope;
- an audit grant becomes the auditor node's engagement once; on the carrier's node
  it is what the auditor's data requests must name."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from parcelguard.audit.models import AuditAccessLog, AuditEngagement
from parcelguard.core.outbox import OutboxMessage
from parcelguard.core.runtime import Runtime
from parcelguard.identity.permissions import Principal, system_principal
from parcelguard.identity.service import create_organization
from parcelguard.incidents import forwards
from parcelguard.incidents.models import ForwardedReport, TimelineEntry
from parcelguard.node import relay, service
from parcelguard.node.envelope import Envelope
from parcelguard.node.home import Node, node_settings
from parcelguard.node.models import NodeInbox
from tests.integration.node.test_effects import cli

ROLES = {"sup": "supervision", "e1": "enterprise", "a1": "auditor", "cac": "cac"}


@dataclass
class Nodes:
    base: Path
    rts: dict[str, Runtime]

    def node(self, org: str) -> Node:
        return Node(self.base / org)

    def receive(self, to: str, sender: str, mid: str, kind: str,
                body: dict[str, Any]) -> bool:
        e = Envelope(message_id=mid, sender_org=sender, sender_key_id="k", recipient_org=to,
                     kind=kind, body=body, created_at="2026-12-07T01:00:00.000+00:00")
        node = self.node(to)
        directory = node.directory()
        assert directory is not None
        with self.rts[to].db.unit_of_work() as uow:
            new = service.receive(uow.session, e, me=service.Me(
                org=to, role=ROLES[to], key_id=node.key_id), directory=directory)
            uow.commit()
        return new

    def relay(self, org: str) -> int:
        node = self.node(org)
        with self.rts[org].db.unit_of_work() as uow:
            n = relay.relay_pass(uow.session, me=service.Me(
                org=org, role=ROLES[org], key_id=node.key_id), directory=node.directory())
            uow.commit()
        return n

    def queued(self, org: str, kind: str) -> list[dict[str, Any]]:
        with self.rts[org].db.unit_of_work() as uow:
            payloads = [json.loads(m.payload) for m in uow.session.scalars(
                select(OutboxMessage).where(OutboxMessage.type == "node.envelope_queued")
                .order_by(OutboxMessage.seq))]
        return [{"to": p["recipient_org"], "message_id": p["message_id"],
                 **json.loads(p["body"])} for p in payloads if p["kind"] == kind]


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[Nodes]:
    cli("node", "ca", "init", "--out", str(tmp_path / "ca"))
    cli("node", "init", "--home", str(tmp_path / "sup"), "--role", "supervision", "--org",
        "sup", "--url", "https://127.0.0.1:9", "--ca", str(tmp_path / "ca"))
    sup_key = json.loads((tmp_path / "sup" / "node-card.json").read_text())["node_key"]
    for i, (org, role) in enumerate(ROLES.items()):
        if org == "sup":
            continue
        cli("node", "init", "--home", str(tmp_path / org), "--role", role, "--org", org,
            "--url", f"https://127.0.0.1:{10 + i}", "--ca", str(tmp_path / "ca"),
            "--supervision-key", sup_key, "--supervision-url", "https://127.0.0.1:9")
        cli("node", "directory", "add", "--home", str(tmp_path / "sup"), "--card",
            str(tmp_path / org / "node-card.json"))
    signed = json.loads((tmp_path / "sup" / "directory.json").read_text())
    for org in ROLES:
        if org != "sup":
            Node(tmp_path / org).store_directory(signed)
    rts = {org: Runtime(settings=node_settings(tmp_path / org)) for org in ROLES}
    try:
        yield Nodes(tmp_path, rts)
    finally:
        for rt in rts.values():
            rt.close()


REPORT = {"report": "rpt_1", "incident": "inc_1", "parent": None, "report_kind": "postal",
          "recipient": "postal", "category": "external_attack", "grade": "relatively_major",
          "people_affected": 1200, "records": {"other": 1200}, "on_time": True,
          "filed_at": "2026-12-07T02:00:00+00:00", "employees": [], "devices": []}


def _forward_sent(nodes: Nodes) -> dict[str, Any]:
    """A report received on the supervision node, forwarded to the administration;
    the ``onward_report`` its relay queues for it."""
    assert nodes.receive("sup", "e1", "report:rpt_1", "incident_report", REPORT)
    rt = nodes.rts["sup"]
    with rt.db.unit_of_work() as uow:
        s = uow.session
        create_organization(s, org_id="cac", kind="cac", name="administration",
                            clock=rt.clock)
        fwd = s.scalars(select(ForwardedReport)).one()
        forwards.send(s, system_principal("sup"), forward_id=fwd.id, clock=rt.clock,
                      to_org_id="cac")
        uow.commit()
    assert nodes.relay("sup") == 1
    (onward,) = nodes.queued("sup", "onward_report")
    return onward


def test_the_administration_holds_a_forward_once_and_owes_one_receipt(
        nodes: Nodes) -> None:
    onward = _forward_sent(nodes)
    body = {k: v for k, v in onward.items() if k not in ("to", "message_id")}
    assert nodes.receive("cac", "sup", onward["message_id"], "onward_report", body)
    assert not nodes.receive("cac", "sup", onward["message_id"], "onward_report", body)
    rt = nodes.rts["cac"]
    officer = Principal("cac", "cac", "cac_officer", account_id="acc_duty")
    with rt.db.unit_of_work() as uow:
        (held,) = forwards.listing(uow.session, officer)
        assert (held.id, held.report_id, held.status, held.to_org_id, held.on_time) == (
            body["forward"], "rpt_1", "sent", "cac", True)
        forwards.acknowledge(uow.session, officer, forward_id=held.id, clock=rt.clock)
        receipt = held.receipt
        uow.commit()
    assert nodes.relay("cac") == 1
    assert nodes.relay("cac") == 0  # queued once, however many passes
    assert [(q["to"], q["forward"], q["receipt"]) for q in nodes.queued(
        "cac", "forward_receipt")] == [("sup", body["forward"], receipt)]


def test_the_department_takes_a_receipt_once(nodes: Nodes) -> None:
    onward = _forward_sent(nodes)
    receipt = {"forward": onward["forward"], "report": "rpt_1", "receipt": "CAC-0A1B2C3D4E5F",
               "received_at": datetime(2026, 12, 7, 3, tzinfo=UTC).isoformat(),
               "received_by": "cac/acc_duty", "on_time": True}
    # not sent to e1: kept as an envelope, the forward untouched
    assert nodes.receive("sup", "e1", "forward-receipt:x", "forward_receipt", receipt)
    with nodes.rts["sup"].db.unit_of_work() as uow:
        assert uow.session.scalars(select(ForwardedReport.status)).one() == "sent"
    mid = f"forward-receipt:{onward['forward']}"
    assert nodes.receive("sup", "cac", mid, "forward_receipt", receipt)
    assert not nodes.receive("sup", "cac", mid, "forward_receipt", receipt)
    # a second receipt (another message) does not replace the first
    assert nodes.receive("sup", "cac", "forward-receipt:again", "forward_receipt",
                         receipt | {"receipt": "CAC-FFFFFFFFFFFF"})
    with nodes.rts["sup"].db.unit_of_work() as uow:
        s = uow.session
        fwd = s.scalars(select(ForwardedReport)).one()
        assert (fwd.status, fwd.receipt, fwd.on_time, fwd.received_by) == (
            "received", "CAC-0A1B2C3D4E5F", True, "cac/acc_duty")
        assert s.scalar(select(func.count()).select_from(TimelineEntry).where(
            TimelineEntry.action == "forward_received")) == 1
        assert s.scalar(select(func.count()).select_from(NodeInbox).where(
            NodeInbox.kind == "forward_receipt")) == 3


GRANT = {"engagement": "aud_1", "enterprise": "e1", "auditor": "a1", "kind": "ordered",
         "scope": ["ledger-integrity"], "rulebook": "1.0.0",
         "period_start": "2026-11-01T00:00:00+00:00",
         "period_end": "2026-12-01T00:00:00+00:00", "reason": "ordered after an incident",
         "lead": "acc_lead", "requested_by": "sup/officer",
         "created_at": "2026-12-07T00:00:00+00:00", "sample_seed": "ab" * 16}


def test_a_grant_becomes_the_auditors_engagement_once(nodes: Nodes) -> None:
    assert nodes.receive("a1", "sup", "grant:aud_1:a1", "audit_grant", GRANT)
    assert not nodes.receive("a1", "sup", "grant:aud_1:a1", "audit_grant", GRANT)
    # a grant naming another firm is none of this node's business
    assert nodes.receive("a1", "sup", "grant:aud_2:a2", "audit_grant",
                         GRANT | {"engagement": "aud_2", "auditor": "a2"})
    with nodes.rts["a1"].db.unit_of_work() as uow:
        (eng,) = uow.session.scalars(select(AuditEngagement))
        assert (eng.id, eng.enterprise_id, eng.auditor_org_id, eng.lead_auditor_id,
                eng.status, eng.scope, eng.sample_seed) == (
            "aud_1", "e1", "a1", "acc_lead", "planned", ["ledger-integrity"], "ab" * 16)


def test_the_carrier_answers_only_a_request_naming_a_granted_engagement(
        nodes: Nodes) -> None:
    assert nodes.receive("e1", "sup", "grant:aud_1:e1", "audit_grant", GRANT)
    assert nodes.receive("e1", "a1", "ask_1", "data_request", {"engagement": "aud_1"})
    assert nodes.receive("e1", "a1", "ask_2", "data_request", {"engagement": "aud_9"})
    assert nodes.receive("e1", "a1", "ask_3", "data_request", {"ref": "q4"})
    assert not nodes.receive("e1", "a1", "ask_1", "data_request", {"engagement": "aud_1"})
    answers = {a["request"]: a for a in nodes.queued("e1", "data_answer")}
    assert sorted(answers) == ["ask_1", "ask_2", "ask_3"]
    assert (answers["ask_1"]["engagement"], answers["ask_1"]["log_size"]) == ("aud_1", 0)
    for refused in ("ask_2", "ask_3"):
        assert answers[refused]["status"] == "refused"
        assert "log_size" not in answers[refused]
    with nodes.rts["e1"].db.unit_of_work() as uow:
        logged = [(r.engagement_id, r.actor, r.action, r.detail) for r in
                  uow.session.scalars(select(AuditAccessLog))]
    assert logged == [("aud_1", "a1/node", "data_request", {"request": "ask_1"})]
    # the department's requests need no engagement
    assert nodes.receive("e1", "sup", "ask_sup", "data_request", {"ref": "review"})
    (sup_answer,) = [a for a in nodes.queued("e1", "data_answer") if a["to"] == "sup"]
    assert sup_answer["log_size"] == 0
