"""What a received envelope changes on an enterprise node (node/effects.py), in its
own store, once: an ordered intervention is applied and acknowledged (or, when it
cannot be, acknowledged refused with nothing half-applied), a data request is
answered with the enterprise's figures, and a repeat changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from parcelguard.access.models import AccessSuspension
from parcelguard.cli import app
from parcelguard.core.outbox import OutboxMessage
from parcelguard.core.runtime import Runtime
from parcelguard.incidents.models import Intervention
from parcelguard.logistics.models import Employee
from parcelguard.node import service
from parcelguard.node.envelope import Envelope
from parcelguard.node.home import Node, node_settings

runner = CliRunner()
T0 = datetime(2026, 12, 7, 9, tzinfo=UTC)


def cli(*args: str) -> None:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output


@pytest.fixture
def e1(tmp_path: Path) -> Iterator[tuple[Node, Runtime]]:
    cli("node", "ca", "init", "--out", str(tmp_path / "ca"))
    cli("node", "init", "--home", str(tmp_path / "sup"), "--role", "supervision", "--org",
        "sup", "--url", "https://127.0.0.1:9", "--ca", str(tmp_path / "ca"))
    sup_key = json.loads((tmp_path / "sup" / "node-card.json").read_text())["node_key"]
    cli("node", "init", "--home", str(tmp_path / "e1"), "--role", "enterprise", "--org", "e1",
        "--url", "https://127.0.0.1:10", "--ca", str(tmp_path / "ca"), "--supervision-key",
        sup_key, "--supervision-url", "https://127.0.0.1:9")
    cli("node", "directory", "add", "--home", str(tmp_path / "sup"), "--card",
        str(tmp_path / "e1" / "node-card.json"))
    node = Node(tmp_path / "e1")
    node.store_directory(json.loads((tmp_path / "sup" / "directory.json").read_text()))
    rt = Runtime(settings=node_settings(tmp_path / "e1"))
    with rt.db.unit_of_work() as uow:
        uow.session.add(Employee(id="emp-7", enterprise_id="e1", role="courier",
                                 hired_at=T0))
        uow.commit()
    try:
        yield node, rt
    finally:
        rt.close()


def _receive(node: Node, rt: Runtime, mid: str, kind: str, body: dict[str, Any]) -> bool:
    e = Envelope(message_id=mid, sender_org="sup", sender_key_id="k", recipient_org="e1",
                 kind=kind, body=body, created_at="2026-12-07T01:00:00.000+00:00")
    directory = node.directory()
    assert directory is not None
    with rt.db.unit_of_work() as uow:
        new = service.receive(uow.session, e, me=service.Me(
            org="e1", role="enterprise", key_id=node.key_id), directory=directory)
        uow.commit()
    return new


def _replies(rt: Runtime, kind: str) -> list[dict[str, Any]]:
    with rt.db.unit_of_work() as uow:
        payloads = [json.loads(m.payload) for m in uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.type == "node.envelope_queued")
            .order_by(OutboxMessage.seq))]
    return [{"to": p["recipient_org"], **json.loads(p["body"])} for p in payloads
            if p["kind"] == kind]


def test_an_ordered_suspension_is_applied_and_acknowledged_once(
        e1: tuple[Node, Runtime]) -> None:
    node, rt = e1
    order = {"kind": "suspend_employee", "target_id": "emp-7", "ref": "rpt_1",
             "reason": "insider lookups"}
    assert _receive(node, rt, "env_o1", "intervention", order) is True
    assert _receive(node, rt, "env_o1", "intervention", order) is False  # a repeat
    with rt.db.unit_of_work() as uow:
        ivs = list(uow.session.scalars(select(Intervention)))
        suspended = list(uow.session.scalars(select(AccessSuspension.employee_id)))
    assert [(iv.kind, iv.target_id, iv.ordered_by_org) for iv in ivs] == [
        ("suspend_employee", "emp-7", "sup")]
    assert ivs[0].acknowledged_at is not None
    assert suspended == ["emp-7"]
    acks = _replies(rt, "intervention_ack")
    assert acks == [{"to": "sup", "intervention": "env_o1", "ref": "rpt_1",
                     "status": "applied", "intervention_id": ivs[0].id,
                     "kind": "suspend_employee", "ledger_event_id": ivs[0].ledger_event_id}]


def test_an_order_that_cannot_be_applied_is_acknowledged_refused(
        e1: tuple[Node, Runtime]) -> None:
    node, rt = e1
    assert _receive(node, rt, "env_o2", "intervention", {
        "kind": "revoke_api_key", "target_id": "key_nobody", "ref": "rpt_2"})
    with rt.db.unit_of_work() as uow:
        assert list(uow.session.scalars(select(Intervention))) == []
    (ack,) = _replies(rt, "intervention_ack")
    assert (ack["status"], ack["intervention"]) == ("refused", "env_o2")
    assert "key_nobody" in ack["reason"]


def test_a_data_request_is_answered_with_the_enterprises_figures(
        e1: tuple[Node, Runtime]) -> None:
    node, rt = e1
    assert _receive(node, rt, "env_q1", "data_request", {"ref": "eng-1"})
    assert _replies(rt, "data_answer") == [{
        "to": "sup", "request": "env_q1", "ref": "eng-1", "log_size": 0, "incidents": 0,
        "reports_filed": 0, "interventions": 0}]


def test_a_filed_report_is_relayed_to_the_supervision_node_once(
        e1: tuple[Node, Runtime]) -> None:
    from parcelguard.core.clock import ManualClock
    from parcelguard.identity.permissions import Principal
    from parcelguard.incidents import reports
    from parcelguard.incidents.models import IncidentReport
    from parcelguard.incidents.service import OpenRequest, open_incident
    from parcelguard.incidents.settings import IncidentSettings
    from parcelguard.node import relay
    from parcelguard.simulation.demo_incidents import _OFFICER_ITEMS

    node, rt = e1
    me = service.Me(org="e1", role="enterprise", key_id=node.key_id)
    with rt.db.unit_of_work() as uow:
        opened = open_incident(uow.session, OpenRequest(
            enterprise_id="e1", title="bulk lookups", category="insider_abuse",
            source="manual", detected_at=T0), actor="system:test",
            settings=IncidentSettings())
        drafts = list(uow.session.scalars(select(IncidentReport).where(
            IncidentReport.incident_id == opened.incident.id)))
        # a draft is owed nothing: only a filed report travels
        assert relay.relay_pass(uow.session, me=me, directory=node.directory()) == 0
        for r in drafts:
            reports.file_report(uow.session, Principal("e1", "enterprise", "security_officer"),
                                report_id=r.id, content=_OFFICER_ITEMS, clock=ManualClock(T0))
        assert relay.relay_pass(uow.session, me=me, directory=node.directory()) == len(drafts)
        assert relay.relay_pass(uow.session, me=me, directory=node.directory()) == 0
        uow.commit()
    sent = _replies(rt, "incident_report")
    assert drafts
    assert sorted(s["report"] for s in sent) == sorted(r.id for r in drafts)
    assert {(s["to"], s["incident"], s["category"]) for s in sent} == {
        ("sup", opened.incident.id, "insider_abuse")}
    # a second queueing of the same record fails: its outbox id is fixed
    with rt.db.unit_of_work() as uow, pytest.raises(IntegrityError):
        service.send(uow.session, me=me, directory=node.directory(), to_org="sup",
                     kind="incident_report", body={}, message_id=f"report:{drafts[0].id}")
