"""What the supervision node makes of what it receives (node/effects.py,
incidents/received.py), on a real supervision node store: a report becomes its own
report record once; an escalation's clearing that overtakes the escalation is
refused (the whole receipt: nothing stored) so its sender retries, and applies
once the escalation is there; a body it cannot make a record of stays an envelope."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from parcelguard.core.runtime import Runtime
from parcelguard.incidents.models import Escalation, Incident, IncidentReport
from parcelguard.incidents.received import NotYet
from parcelguard.node import service
from parcelguard.node.envelope import Envelope
from parcelguard.node.home import Node, node_settings
from parcelguard.node.models import NodeInbox
from tests.integration.node.test_effects import cli


@pytest.fixture
def sup(tmp_path: Path) -> Iterator[tuple[Node, Runtime]]:
    cli("node", "ca", "init", "--out", str(tmp_path / "ca"))
    cli("node", "init", "--home", str(tmp_path / "sup"), "--role", "supervision", "--org",
        "sup", "--url", "https://127.0.0.1:9", "--ca", str(tmp_path / "ca"))
    sup_key = json.loads((tmp_path / "sup" / "node-card.json").read_text())["node_key"]
    cli("node", "init", "--home", str(tmp_path / "e1"), "--role", "enterprise", "--org", "e1",
        "--url", "https://127.0.0.1:10", "--ca", str(tmp_path / "ca"), "--supervision-key",
        sup_key, "--supervision-url", "https://127.0.0.1:9")
    cli("node", "directory", "add", "--home", str(tmp_path / "sup"), "--card",
        str(tmp_path / "e1" / "node-card.json"))
    rt = Runtime(settings=node_settings(tmp_path / "sup"))
    try:
        yield Node(tmp_path / "sup"), rt
    finally:
        rt.close()


def _receive(node: Node, rt: Runtime, mid: str, kind: str, body: dict[str, Any]) -> bool:
    e = Envelope(message_id=mid, sender_org="e1", sender_key_id="k", recipient_org="sup",
                 kind=kind, body=body, created_at="2026-12-07T01:00:00.000+00:00")
    directory = node.directory()
    assert directory is not None
    with rt.db.unit_of_work() as uow:
        new = service.receive(uow.session, e, me=service.Me(
            org="sup", role="supervision", key_id=node.key_id), directory=directory)
        uow.commit()
    return new


REPORT = {"report": "rpt_1", "incident": "inc_1", "parent": None, "report_kind": "postal",
          "recipient": "postal", "category": "insider_abuse", "grade": "general",
          "people_affected": 12, "records": {"other": 12}, "on_time": True,
          "filed_at": "2026-12-07T02:00:00+00:00", "employees": ["emp-1"], "devices": []}
ESCALATION = {"escalation": "esc_1", "incident": "inc_1", "subject": "people_notice",
              "ref": "inc_1", "due_at": "2026-12-07T03:00:00+00:00",
              "escalated_at": "2026-12-07T04:00:00+00:00", "cleared_at": None}


def test_a_report_becomes_the_departments_record_once(sup: tuple[Node, Runtime]) -> None:
    node, rt = sup
    assert _receive(node, rt, "report:rpt_1", "incident_report", REPORT) is True
    assert _receive(node, rt, "report:rpt_1", "incident_report", REPORT) is False
    with rt.db.unit_of_work() as uow:
        s = uow.session
        rows = [(r.id, r.incident_id, r.enterprise_id, r.status, r.kind, r.on_time)
                for r in s.scalars(select(IncidentReport))]
        inc = s.get(Incident, "inc_1")
    assert rows == [("rpt_1", "inc_1", "e1", "filed", "postal", True)]
    assert inc is not None
    assert (inc.enterprise_id, inc.category, inc.people_affected, inc.records_by_category) == (
        "e1", "insider_abuse", 12, {"other": 12})


def test_a_clearing_that_overtakes_its_escalation_waits_for_it(
        sup: tuple[Node, Runtime]) -> None:
    node, rt = sup
    clearing = {"escalation": "esc_1", "cleared_at": "2026-12-07T05:00:00+00:00"}
    with pytest.raises(NotYet):
        _receive(node, rt, "escalation-cleared:esc_1", "escalation", clearing)
    with rt.db.unit_of_work() as uow:  # refused whole: the sender retries it
        assert uow.session.scalar(select(func.count()).select_from(NodeInbox)) == 0
    assert _receive(node, rt, "escalation:esc_1", "escalation", ESCALATION) is True
    assert _receive(node, rt, "escalation-cleared:esc_1", "escalation", clearing) is True
    with rt.db.unit_of_work() as uow:
        esc = uow.session.get(Escalation, "esc_1")
        assert esc is not None
        assert (esc.enterprise_id, esc.subject, esc.cleared_at is not None) == (
            "e1", "people_notice", True)


def test_a_body_it_cannot_make_a_record_of_stays_an_envelope(
        sup: tuple[Node, Runtime]) -> None:
    node, rt = sup
    assert _receive(node, rt, "env_x", "incident_report", {"incident": "inc_x",
                                                           "records": 12}) is True
    assert _receive(node, rt, "env_y", "incident_report", REPORT | {"category": "nonsense"})
    with rt.db.unit_of_work() as uow:
        s = uow.session
        assert s.scalar(select(func.count()).select_from(IncidentReport)) == 0
        assert sorted(s.scalars(select(NodeInbox.message_id))) == ["env_x", "env_y"]
