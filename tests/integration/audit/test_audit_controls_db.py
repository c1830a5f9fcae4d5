"""Every control of the rulebook, on real SQLite and PostgreSQL: data crafted to pass
it, then the one change that makes it fail, and the result follows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from audit_world import ENT, NOW, T0, World, make_world
from sqlalchemy import update
from sqlalchemy.orm import Session

from parcelguard.access.models import AccessSuspension, BreakGlassRecord
from parcelguard.audit.controls import EVALUATORS, evaluate, evaluate_control, load_rulebook
from parcelguard.audit.controls.context import AttestationView, Ctx
from parcelguard.audit.model import aggregate
from parcelguard.audit.models import AuditEngagement
from parcelguard.channel.models import ChannelReport
from parcelguard.conduct.models import ConductDecision
from parcelguard.core.ids import new_id
from parcelguard.incidents.models import Incident, IncidentPlan, IncidentReport, PlanDrill
from parcelguard.ledger.models import LedgerEvent
from parcelguard.logistics import service as logistics
from parcelguard.logistics.models import Parcel
from parcelguard.monitor.models import MonitorAlert
from parcelguard.supervision.witness import witness_enterprise
from parcelguard.waybill.models import WaybillLabel

H = timedelta(hours=1)
D = timedelta(days=1)


@pytest.fixture
def w(session: Session) -> World:
    return make_world(session)


def test_every_rulebook_control_is_tested_here() -> None:
    tested = {name.removeprefix("test_").split("__")[0].replace("_", "-")
              for name in globals() if name.startswith("test_") and "__" in name}
    assert set(load_rulebook().ids) <= tested


def test_pi_encryption__plaintext_fails(w: World) -> None:
    assert w.check("pi-encryption").status == "pass"
    w.session.execute(update(Parcel).where(Parcel.waybill_no == w.waybills[0])
                      .values(recipient_address_ct="某某路1号".encode()))
    r = w.check("pi-encryption")
    assert r.status == "fail"
    assert r.evidence["problems"] == {"recipient_address:not_an_envelope": 1}


def test_notice_consent__sender_without_notice_fails(w: World) -> None:
    assert w.check("notice-consent").status == "pass"
    w.parcels(1, created=T0 + D)  # a new sender in the period who never acknowledged
    r = w.check("notice-consent")
    assert r.status == "fail"
    assert r.evidence["never_acknowledged"] == 1


def test_privacy_waybill__bulk_reprints_and_labels_without_virtual_number_fail(
        w: World) -> None:
    for _ in range(2):
        w.access(T0 + H, "emp-c", "print_label", purpose="sorting")
    assert w.check("privacy-waybill").status == "pass"
    for _ in range(8):  # a burst of reprints of one label
        w.access(T0 + 2 * H, "emp-c", "print_label", purpose="sorting")
    assert w.check("privacy-waybill").status == "fail"


def test_privacy_waybill__label_without_virtual_number_fails(w: World) -> None:
    w.session.add(WaybillLabel(id=new_id("lbl"), enterprise_id=ENT, waybill_no=w.waybills[0],
                               token_hash="a" * 64, binding_id=None, pdf_sha256="b" * 64,
                               issued_at=T0 + H, issued_by="emp-c"))
    r = w.check("privacy-waybill")
    assert r.status == "fail"
    assert r.evidence["labels_without_virtual_number"] == 1


def test_reveal_assignment__reveal_outside_assignment_fails(w: World) -> None:
    w.assign("emp-c", w.waybills[0], T0)
    w.access(T0 + H, "emp-c", waybill=w.waybills[0])
    assert w.check("reveal-assignment").status == "pass"
    w.access(T0 + H, "emp-c", waybill=w.waybills[1])  # no assignment for this one
    r = w.check("reveal-assignment")
    assert r.status == "fail"
    assert r.evidence["uncovered_by_actor_type"] == {"employee": 1}


def test_ledger_integrity__edited_leaf_fails(w: World) -> None:
    w.access(T0 + H, "emp-c")
    witness_enterprise(w.session, ENT, kms=w.kms, clock=w.clock)
    assert w.check("ledger-integrity").status == "pass"
    row = w.session.query(LedgerEvent).filter_by(enterprise_id=ENT, kind="access").one()
    w.session.execute(update(LedgerEvent).where(LedgerEvent.enterprise_id == ENT,
                                                LedgerEvent.seq == row.seq)
                      .values(leaf=bytes(row.leaf).replace(b'"allowed"', b'"denied"')))
    r = w.check("ledger-integrity")
    assert (r.status, r.score) == ("fail", 0.0)
    assert r.evidence["first_bad_index"] == row.seq


def test_ledger_integrity__unwitnessed_events_are_partial(w: World) -> None:
    witness_enterprise(w.session, ENT, kms=w.kms, clock=w.clock)
    w.access(T0 + H, "emp-c")  # logged after the witness last looked
    r = w.check("ledger-integrity")
    assert r.status == "partial"
    assert r.evidence["witnessed_size"] < r.evidence["leaves_to_witness"]


def test_background_check__access_before_check_fails(w: World) -> None:
    w.access(T0 + H, "emp-c")
    assert w.check("background-check").status == "pass"
    w.hire("emp-new", check="pending")
    w.access(T0 + 2 * H, "emp-new")
    r = w.check("background-check")
    assert r.status == "fail"
    assert r.evidence["never_checked"] == 1


def test_offboarding__access_after_leaving_fails(w: World) -> None:
    w.hire("emp-gone")
    logistics.employee_left(w.session, w.admin, employee_id="emp-gone",
                            clock=type(w.clock)(T0 + D))
    w.access(T0 + H, "emp-gone")  # still employed then
    assert w.check("offboarding").status == "pass"
    w.access(T0 + 2 * D, "emp-gone")
    r = w.check("offboarding")
    assert r.status == "fail"
    assert r.evidence["accesses_after_leaving"] == 1


def test_training__untrained_staff_fail(w: World) -> None:
    assert w.check("training").status == "pass"
    w.hire("emp-untrained", trained=False)
    r = w.check("training")
    assert r.status == "fail"
    assert r.evidence["never_trained"] == 1


def _plan(w: World, *, drilled: bool, version: int) -> None:
    plan = IncidentPlan(id=new_id("pln"), enterprise_id=ENT, kind="emergency", version=version,
                        status="approved", content={}, submitted_by="ent-a/admin",
                        submitted_at=T0 - 30 * D, reviewed_by="supervision/admin",
                        reviewed_at=T0 - 29 * D)
    w.session.add(plan)
    w.session.flush()
    if drilled:
        w.session.add(PlanDrill(id=new_id("drl"), plan_id=plan.id, enterprise_id=ENT,
                                held_at=T0 - 20 * D, scenario="bulk leak from a rented account",
                                recorded_by="ent-a/admin", recorded_at=T0 - 20 * D))


def test_emergency_plan__undrilled_plan_is_partial_and_none_fails(w: World) -> None:
    assert w.check("emergency-plan").status == "fail"
    _plan(w, drilled=False, version=1)
    assert w.check("emergency-plan").status == "partial"
    _plan(w, drilled=True, version=2)
    assert w.check("emergency-plan").status == "pass"


def test_emergency_plan__not_evaluable_without_the_incident_tables(
        w: World, monkeypatch: pytest.MonkeyPatch) -> None:
    real = Ctx.has_tables
    monkeypatch.setattr(Ctx, "has_tables", lambda self, *names: (
        not any(n.startswith("incident") for n in names) and real(self, *names)))
    r = w.check("emergency-plan")
    assert (r.status, r.score) == ("not_evaluable", None)


def _incident_report(w: World, *, filed_after: timedelta) -> None:
    inc = Incident(id=new_id("inc"), enterprise_id=ENT, title="leak", category="leak",
                   cause_class="subjective", state="resolved", source="alert",
                   affected_system="pda", grade="relatively_major", data_types=[],
                   records_by_category={}, evidence_event_ids=[], actor_ids=[],
                   detected_at=T0, last_moved_at=T0, opened_by="system", created_at=T0)
    w.session.add(inc)
    w.session.flush()
    due = T0 + 4 * H
    w.session.add(IncidentReport(id=new_id("rep"), incident_id=inc.id, enterprise_id=ENT,
                                 kind="initial", recipient="cac_provincial", due_at=due,
                                 status="filed", content={}, drafted_at=T0,
                                 filed_at=due + filed_after, filed_by="ent-a/admin",
                                 on_time=filed_after <= timedelta(0)))


def test_incident_reporting__late_report_fails(w: World) -> None:
    _incident_report(w, filed_after=-H)
    assert w.check("incident-reporting").status == "pass"
    _incident_report(w, filed_after=3 * H)
    assert w.check("incident-reporting").status == "fail"


def _complaint(w: World, *, answered_after: timedelta) -> None:
    received = T0 + H
    w.session.add(ChannelReport(
        id=new_id("rpt"), enterprise_id=ENT, receipt_code=new_id("r")[-12:],
        secret_hash="x", kind="pi_leak", anonymous=True, pseudonym="甲", identity_consent=False,
        reporter_subject_id=new_id("sub"), body_ct=b"\x01sealed", status="answered",
        received_at=received, ack_due_at=received + 24 * H, acknowledged_at=received + H,
        answer_due_at=received + 30 * D, answered_at=received + 30 * D + answered_after))


def test_complaint_handling__late_answer_fails(w: World) -> None:
    _complaint(w, answered_after=-5 * D)
    assert w.check("complaint-handling").status == "pass"
    _complaint(w, answered_after=2 * D)
    r = w.check("complaint-handling")
    assert r.status == "fail"
    assert r.evidence["answered_late"] == 1


def test_sanctions__abuse_without_sanction_fails(w: World) -> None:
    w.session.add(BreakGlassRecord(
        id=new_id("bg"), enterprise_id=ENT, employee_id="emp-c", waybill_no=w.waybills[0],
        fields=["recipient_phone"], purpose="customer_service",
        justification="recipient asked to reroute the parcel at the counter",
        event_id="ev-x", at=T0, reviewed_by="ent-a/sec", reviewed_at=T0 + D,
        review_outcome="abuse"))
    assert w.check("sanctions").status == "fail"
    w.session.add(ConductDecision(id=new_id("cd"), enterprise_id=ENT, employee_id="emp-c",
                                  kind="suspension", rule="break-glass abuse", figures={},
                                  status="active", decided_at=T0 + 2 * D,
                                  decided_by="ent-a/admin"))
    assert w.check("sanctions").status == "pass"


def test_sanctions__a_suspension_counts_as_the_sanction(w: World) -> None:
    w.session.add(MonitorAlert(
        id="alr-1", enterprise_id=ENT, detector="out_of_assignment", subject_type="employee",
        subject_id="emp-c", severity="high", score=0.9, status="open", open_key=None,
        raised_at=T0, first_event_at=T0, last_event_at=T0, raised_us=0, first_us=0, last_us=0,
        event_ids=[], record_count=1, summary="reveals outside assignments"))
    assert w.check("sanctions").status == "fail"
    w.session.add(AccessSuspension(id=new_id("sus"), enterprise_id=ENT, employee_id="emp-c",
                                   reason="alert", suspended_by="ent-a/sec", starts_at=T0 + H))
    assert w.check("sanctions").status == "pass"


def _alert(w: World, n: int, *, acked_after: timedelta | None) -> None:
    w.session.add(MonitorAlert(
        id=f"alr-{n}", enterprise_id=ENT, detector="denial_burst", subject_type="employee",
        subject_id="emp-c", severity="medium", score=0.5, status="acknowledged", open_key=None,
        raised_at=T0, first_event_at=T0, last_event_at=T0, raised_us=0, first_us=0, last_us=0,
        event_ids=[], record_count=1, summary="denials",
        acknowledged_at=None if acked_after is None else T0 + acked_after))


def test_alert_handling__unacknowledged_alert_fails(w: World) -> None:
    _alert(w, 1, acked_after=2 * H)
    assert w.check("alert-handling").status == "pass"
    _alert(w, 2, acked_after=None)
    assert w.check("alert-handling").status == "fail"


def test_access_denials__frequent_denials_fail(w: World) -> None:
    for i in range(5):
        w.access(T0 + i * H, "emp-c")
    assert w.check("access-denials").status == "pass"
    w.access(T0 + 6 * H, "emp-c", outcome="denied")
    r = w.check("access-denials")
    assert r.status == "fail"
    assert r.evidence["denied"] == 1


def test_audit_frequency__large_processor_without_recent_audit_fails(w: World) -> None:
    assert w.check("audit-frequency").evidence["required"] is False  # 2 people < 10 million
    assert w.check("audit-frequency", people_threshold=2).status == "fail"
    w.session.add(AuditEngagement(
        id=new_id("aud"), enterprise_id=ENT, auditor_org_id="firm-a", lead_auditor_id="x",
        kind="periodic", scope=[], rulebook_version="1.0.0", period_start=T0 - 400 * D,
        period_end=T0 - 300 * D, status="delivered", requested_by="supervision/admin",
        created_at=T0 - 290 * D, sample_seed="0", delivered_at=T0 - 280 * D))
    assert w.check("audit-frequency", people_threshold=2).status == "pass"


def test_pi_officer__required_without_attestation_fails(w: World) -> None:
    assert w.check("pi-officer").status == "pass"  # below 1 million: not required
    assert w.check("pi-officer", people_threshold=2).status == "fail"
    w.session.flush()
    confirmed = {"pi-officer": AttestationView(True, "CAC filing 2026-001", "0" * 64)}
    r = evaluate_control(w.session, w.control("pi-officer", people_threshold=2), ENT, w.period,
                         attestations=confirmed, now=NOW)
    assert r.status == "pass"


def test_evaluators_never_read_another_enterprise(w: World) -> None:
    # ent-b's parcel has a plaintext field; ent-a's score must not notice
    w.session.execute(update(Parcel).where(Parcel.enterprise_id == "ent-b")
                      .values(recipient_phone_ct=b"not-a-ciphertext"))
    assert w.check("pi-encryption").evidence["parcels"] == 2
    assert w.check("pi-encryption").status == "pass"


def test_every_evaluator_is_registered_once() -> None:
    names = [c.evaluator for c in load_rulebook().controls]
    assert sorted(names) == sorted(set(names))
    assert set(names) <= set(EVALUATORS)
    assert len(names) >= 13


def test_worse_behaviour_scores_lower(w: World) -> None:
    w.assign("emp-c", w.waybills[0], T0)
    for i in range(20):
        w.access(T0 + i * timedelta(minutes=5), "emp-c", waybill=w.waybills[0])
    controls = load_rulebook().controls
    w.session.flush()
    before = aggregate(evaluate(w.session, controls, ENT, w.period, now=NOW))
    w.hire("emp-rogue")
    logistics.employee_left(w.session, w.admin, employee_id="emp-rogue",
                            clock=type(w.clock)(T0))
    for i in range(5):  # a former employee's account keeps looking people up
        w.access(T0 + D + i * H, "emp-rogue", waybill=w.waybills[1])
        w.access(T0 + D + i * H, "emp-c", waybill=w.waybills[1], outcome="denied")
    after = aggregate(evaluate(w.session, controls, ENT, w.period, now=NOW))
    assert before.score is not None
    assert after.score is not None
    assert after.score < before.score - 10
