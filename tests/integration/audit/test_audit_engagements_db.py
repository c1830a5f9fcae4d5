"""Engagements end to end on real databases: the rotation rule, the auditor's
time-bound grant, samples whose proofs verify, findings, the signed report,
scorecards and the privacy budget of transparency reports."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest
from audit_world import ENT, NOW, OTHER, T0, World, make_world
from sqlalchemy.orm import Session

from parcelguard.audit import (
    engagements,
    fieldwork,
    reports,
    scorecards,
    transparency,
)
from parcelguard.audit.controls import load_rulebook
from parcelguard.audit.events import AuditFindingRaised
from parcelguard.audit.model import parse_period
from parcelguard.audit.models import AuditEngagement
from parcelguard.audit.settings import AuditSettings
from parcelguard.core.clock import ManualClock
from parcelguard.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from parcelguard.identity.permissions import Principal, system_principal
from parcelguard.ledger.signing import registered_verifier
from parcelguard.simulation import demo_audit as demo
from parcelguard.supervision.witness import witness_enterprise

SUP = system_principal("supervision")
SETTINGS = AuditSettings()  # type: ignore[call-arg]


@pytest.fixture
def w(session: Session) -> World:
    return make_world(session)


@pytest.fixture
def leads(w: World) -> dict[str, str]:
    return w.auditors()


def _engage(w: World, lead: str, *, firm: str | None = None,
            period: str = "2026-10-01..2026-10-08", kind: str = "periodic",
            ent: str = ENT) -> AuditEngagement:
    firm = firm or lead.rsplit("-", 1)[0]  # usernames are <firm>-lead<n>
    return engagements.create(w.session, SUP, enterprise_id=ent, auditor_org_id=firm,
                              lead_auditor=lead, kind=kind, period=parse_period(period),
                              rulebook=load_rulebook(), clock=ManualClock(NOW),
                              reason="ordered after a leak report" if kind == "ordered" else "")


def _auditor(leads: dict[str, str], username: str) -> Principal:
    return Principal(username.rsplit("-", 1)[0], "auditor", "auditor", account_id=leads[username])


def test_a_third_audit_in_a_row_by_the_same_firm_is_refused(w: World,
                                                            leads: dict[str, str]) -> None:
    for month in ("2026-08", "2026-09"):
        _engage(w, "firm-a-lead1", period=month)
    with pytest.raises(Conflict, match="firm firm-a did the last 2 audits"):
        _engage(w, "firm-a-lead2", period="2026-10-01..2026-10-08")  # another lead, same firm
    ok = _engage(w, "firm-b-lead1", period="2026-10-01..2026-10-08")
    assert ok.auditor_org_id == "firm-b"
    # a cancelled engagement does not count: without firm-b's, firm-a is still 2 in a row
    engagements.cancel(w.session, SUP, ok.id)
    with pytest.raises(Conflict):
        _engage(w, "firm-a-lead1", period="2026-10-01..2026-10-08")


def test_only_the_enterprise_itself_or_the_supervisor_opens_engagements(
        w: World, leads: dict[str, str]) -> None:
    own = Principal(ENT, "enterprise", "enterprise_admin", account_id="acc-1")
    eng = engagements.create(w.session, own, enterprise_id=ENT, auditor_org_id="firm-a",
                             lead_auditor="firm-a-lead1", kind="periodic",
                             period=w.period, rulebook=load_rulebook(), clock=ManualClock(NOW))
    assert eng.requested_by == "ent-a/acc-1"
    with pytest.raises(PermissionDenied):  # another enterprise's audit
        engagements.create(w.session, own, enterprise_id=OTHER, auditor_org_id="firm-a",
                           lead_auditor="firm-a-lead1", kind="periodic", period=w.period,
                           rulebook=load_rulebook(), clock=ManualClock(NOW))
    with pytest.raises(PermissionDenied):  # an ordered audit is the supervisor's
        engagements.create(w.session, own, enterprise_id=ENT, auditor_org_id="firm-a",
                           lead_auditor="firm-a-lead1", kind="ordered", period=w.period,
                           rulebook=load_rulebook(), clock=ManualClock(NOW),
                           reason="we would like one")
    with pytest.raises(InvalidInput, match="not an active auditor account of firm-a"):
        _engage(w, "firm-b-lead1", firm="firm-a")


def test_the_auditors_grant_is_time_bound_and_tenant_bound(w: World,
                                                           leads: dict[str, str]) -> None:
    eng = _engage(w, "firm-a-lead1")
    a, b = _auditor(leads, "firm-a-lead1"), _auditor(leads, "firm-b-lead1")
    clock = ManualClock(NOW)
    rb = load_rulebook()
    with pytest.raises(PermissionDenied, match="access is closed"):  # not started
        fieldwork.evaluate(w.session, a, eng.id, rulebook=rb, clock=clock)
    with pytest.raises(NotFound):  # another firm does not even see it
        engagements.start(w.session, b, eng.id, clock=clock, settings=SETTINGS)
    engagements.start(w.session, a, eng.id, clock=clock, settings=SETTINGS)
    fieldwork.evaluate(w.session, a, eng.id, rulebook=rb, clock=clock)
    with pytest.raises(NotFound):
        fieldwork.results(w.session, b, eng.id)
    clock.advance(timedelta(days=SETTINGS.grant_days, seconds=1))
    with pytest.raises(PermissionDenied, match="access is closed"):
        fieldwork.sample(w.session, a, eng.id, size=5, kind=None, clock=clock,
                         settings=SETTINGS)
    log = engagements.access_log(w.session, Principal(ENT, "enterprise", "security_officer"),
                                 eng.id)
    assert [r.action for r in log] == ["evaluate"]


def test_fieldwork_to_a_signed_report(w: World, leads: dict[str, str]) -> None:
    w.assign("emp-c", w.waybills[0], T0)
    for i in range(6):
        w.access(T0 + timedelta(minutes=10 * i), "emp-c", waybill=w.waybills[0])
    w.access(T0 + timedelta(hours=2), "emp-c", waybill=w.waybills[1])  # not assigned
    witness_enterprise(w.session, ENT, kms=w.kms, clock=w.clock)
    eng = _engage(w, "firm-a-lead1")
    lead, clock, rb = _auditor(leads, "firm-a-lead1"), ManualClock(NOW), load_rulebook()
    engagements.start(w.session, lead, eng.id, clock=clock, settings=SETTINGS)

    drawn = fieldwork.sample(w.session, lead, eng.id, size=5, kind="access", clock=clock,
                             settings=SETTINGS)
    key = registered_verifier(w.session, ENT)
    assert key is not None
    assert len(drawn.events) == 5
    assert fieldwork.verify_sample(drawn, key.verifier_key) == 5
    leaves = [msgspec.json.decode(base64.b64decode(e["leaf"])) for e in drawn.events]
    assert {lf["enterprise_id"] for lf in leaves} == {ENT}  # never another enterprise

    results = {r.control_id: r for r in fieldwork.evaluate(w.session, lead, eng.id,
                                                           rulebook=rb, clock=clock)}
    assert results["reveal-assignment"].status == "fail"
    found, events = fieldwork.raise_for_failures(w.session, lead, eng.id, rulebook=rb,
                                                 clock=clock, settings=SETTINGS)
    by_control = {f.control_id: f for f in found}
    assert by_control["reveal-assignment"].action == "incident"  # rulebook on_fail
    assert any(isinstance(e, AuditFindingRaised) and e.control_id == "reveal-assignment"
               for e in events)

    with pytest.raises(PermissionDenied, match="lead auditor"):
        reports.issue(w.session, _auditor(leads, "firm-a-lead2"), eng.id, rulebook=rb,
                      kms=w.kms, clock=clock)
    report, delivered = reports.issue(w.session, lead, eng.id, rulebook=rb, kms=w.kms,
                                      clock=clock)
    assert reports.verify(w.session, report)
    assert report.delivered_to == [ENT, "supervision"]
    body = msgspec.json.decode(report.body)
    assert body["score"] == eng.score
    assert len(body["controls"]) == len(rb.controls)
    assert f"sha256 {report.sha256}" in report.note
    report.body = report.body.replace(b'"fail"', b'"pass"')
    assert not reports.verify(w.session, report)
    assert eng.status == "delivered"
    assert delivered
    with pytest.raises(PermissionDenied):  # delivery closes the grant
        fieldwork.evaluate(w.session, lead, eng.id, rulebook=rb, clock=clock)


def test_rectification_orders_reach_only_their_enterprise(w: World,
                                                          leads: dict[str, str]) -> None:
    eng = _engage(w, "firm-a-lead1")
    lead, clock = _auditor(leads, "firm-a-lead1"), ManualClock(NOW)
    engagements.start(w.session, lead, eng.id, clock=clock, settings=SETTINGS)
    finding, events = fieldwork.raise_finding(
        w.session, lead, eng.id, control_id="training", severity="medium",
        summary="two couriers never trained", rulebook=load_rulebook(), clock=clock,
        settings=SETTINGS)
    assert events == []
    assert finding.due_at == NOW + timedelta(days=SETTINGS.rectify_days)
    other = Principal(OTHER, "enterprise", "enterprise_admin")
    assert fieldwork.findings(w.session, other) == []
    with pytest.raises(NotFound):
        fieldwork.answer(w.session, other, finding.id, response="not ours to answer at all",
                         clock=clock)
    with pytest.raises(InvalidInput, match="phone"):
        fieldwork.answer(w.session, w.admin, finding.id,
                         response="called the courier at 13912345678", clock=clock)
    done = fieldwork.answer(w.session, w.admin, finding.id,
                            response="both couriers trained since, records filed", clock=clock)
    assert done.status == "answered"


def _deliver(w: World, lead_name: str, leads: dict[str, str], period: str) -> AuditEngagement:
    eng = _engage(w, lead_name, period=period)
    lead, clock, rb = _auditor(leads, lead_name), ManualClock(NOW), load_rulebook()
    engagements.start(w.session, lead, eng.id, clock=clock, settings=SETTINGS)
    fieldwork.evaluate(w.session, lead, eng.id, rulebook=rb, clock=clock)
    reports.issue(w.session, lead, eng.id, rulebook=rb, kms=w.kms, clock=clock)
    return eng


def test_scorecard_trend_and_supervisor_ranking(w: World, leads: dict[str, str]) -> None:
    _deliver(w, "firm-a-lead1", leads, "2026-09")
    w.hire("emp-untrained", trained=False)  # things get worse
    second = _deliver(w, "firm-b-lead1", leads, "2026-10-01..2026-10-08")
    card = scorecards.scorecard(w.session, w.admin, ENT)
    assert [t["period"] for t in card.trend] == ["2026-09", "2026-10-01..2026-10-08"]
    assert card.score == second.score
    assert card.change is not None
    assert card.change < 0
    assert "training" in card.weakest
    with pytest.raises(NotFound):
        scorecards.scorecard(w.session, Principal(OTHER, "enterprise", "enterprise_admin"), ENT)
    with pytest.raises(PermissionDenied):
        scorecards.ranking(w.session, w.admin)
    ranked = scorecards.ranking(w.session, SUP)
    assert [c.enterprise_id for c in ranked] == [ENT, OTHER]  # never audited comes last


def test_transparency_report_states_epsilon_and_refuses_overspend(w: World) -> None:
    for i in range(3):
        w.access(T0 + timedelta(hours=i), "emp-c", waybill=w.waybills[0])
    clock, oct_ = ManualClock(NOW), parse_period("2026-10")
    rel = transparency.publish(w.session, w.admin, ENT, oct_, settings=SETTINGS, clock=clock)
    assert rel.epsilon == pytest.approx(SETTINGS.dp_epsilon_per_report)
    assert "ε = 1</strong>" in rel.html
    assert "2026-10: ε 1 of 3 spent, 2 left" in rel.html
    assert set(rel.figures["counts"]) >= {"reveals", "refused_accesses", "alerts",
                                          "complaints_open", "sanctions"}
    # incidents are reported facts, published exactly, never noised
    assert rel.figures["facts"] == {"incidents_particularly_major": 0, "incidents_major": 0,
                                    "incidents_relatively_major": 0, "incidents_general": 0}
    assert not set(rel.figures["counts"]) & set(rel.figures["facts"])
    transparency.publish(w.session, w.admin, ENT, oct_, settings=SETTINGS, clock=clock,
                         epsilon=1.5)
    with pytest.raises(Conflict, match="privacy budget exhausted for 2026-10"):
        transparency.publish(w.session, w.admin, ENT, parse_period("2026-Q4"),
                             settings=SETTINGS, clock=clock, epsilon=0.6)
    left = transparency.budget(w.session, w.admin, ENT, parse_period("2026-Q4"),
                               settings=SETTINGS, clock=clock)
    assert [(b["month"], b["remaining"]) for b in left] == [
        ("2026-10", 0.5), ("2026-11", 3.0), ("2026-12", 3.0)]  # the refusal spent nothing
    assert transparency.latest(w.session, ENT, "2026-10").epsilon == pytest.approx(1.5)
    with pytest.raises(InvalidInput, match="whole calendar months"):
        transparency.publish(w.session, w.admin, ENT, w.period, settings=SETTINGS, clock=clock)
    with pytest.raises(PermissionDenied):  # auditors publish nothing
        transparency.publish(w.session, Principal("firm-a", "auditor", "auditor"), ENT, oct_,
                             settings=SETTINGS, clock=clock)


def test_the_demo_hook_audits_every_enterprise(w: World, tmp_path: Path) -> None:
    w.assign("emp-c", w.waybills[0], T0)
    w.access(T0 + timedelta(hours=1), "emp-c", waybill=w.waybills[0])
    w.access(T0 + timedelta(hours=2), "emp-c", waybill=w.waybills[1])
    witness_enterprise(w.session, ENT, kms=w.kms, clock=w.clock)
    out = demo.run(w.session, NOW, tmp_path, start=T0 - timedelta(hours=9), kms=w.kms)
    assert set(out["enterprises"]) == {ENT, OTHER}
    mine = out["enterprises"][ENT]
    assert mine["signature_valid"]
    assert mine["sample"]["proofs_verified"] == mine["sample"]["drawn"] > 0
    assert len(mine["weakest"]) <= 3
    assert "reveal-assignment" in [c["control_id"] for c in mine["weakest"]]
    assert out["rotation"]["third_in_a_row_refused"]
    assert out["transparency"]["overspend_refused"]
    assert (tmp_path / "transparency" / f"{ENT}-2026-10.html").is_file()
    assert (tmp_path / "audit" / f"{ENT}.report.note").is_file()
