"""Notices to affected people, interventions effective at the gate, police referral
proposals, plans and drills, and incidents opened from monitor alerts."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest
from incidents_world import ENT, SETTINGS, World
from sqlalchemy import select

from parcelguard.access.caller import caller_for_employee
from parcelguard.access.service import AccessGate
from parcelguard.core.errors import Conflict, InvalidInput, PermissionDenied, Unauthenticated
from parcelguard.identity import service as identity
from parcelguard.incidents import handlers, interventions, notices, plans, reports, service
from parcelguard.incidents.events import ProposePoliceReferral
from parcelguard.incidents.models import Escalation, Notice, TimelineEntry
from parcelguard.incidents.service import OpenRequest
from parcelguard.ledger.models import LedgerEvent
from parcelguard.monitor.models import MonitorAlert
from parcelguard.waybill.models import Partner


def _open(w: World, event_ids: list[str]) -> service.Opened:
    return service.open_as(w.session, w.admin, OpenRequest(
        enterprise_id=ENT, title="insider lookups", category="insider_abuse", source="manual",
        detected_at=w.clock.now(), evidence_event_ids=event_ids), settings=SETTINGS)


def test_notices_reach_each_person_once_and_keep_no_pi(world: World) -> None:
    w = world
    inc = _open(w, w.access(w.waybills[:3]) + w.access(
        w.waybills[3:4], fields=("sender_name", "sender_phone"))).incident
    run = notices.notify_affected(w.session, w.admin, incident_id=inc.id, channel="sms",
                                  notifiers=w.notifiers, clock=w.clock)
    assert (run.sent, run.unreachable, run.already) == (4, 0, 0)
    rows = list(w.session.scalars(select(Notice).where(Notice.incident_id == inc.id)))
    assert sorted(r.subject_id for r in rows) == ["sub-r0", "sub-r1", "sub-r2", "sub-s3"]
    assert all(r.destination and "******" in r.destination for r in rows)
    # Every message: data types, cause, harm, measures, what to do, contact.
    text = w.sms.outbox[0].text
    for part in ("手机号码", "Possible harm", "You can", "96110", "95338"):
        assert part in text
    stored = msgspec.json.encode([r.content for r in rows] + [r.destination for r in rows]
                                 + [e.detail for e in w.session.scalars(select(TimelineEntry))])
    stored += msgspec.json.encode([o.destination for o in w.sms.outbox])
    assert not [v for v in w.pi_strings() if v.encode() in stored]
    again = notices.notify_affected(w.session, w.admin, incident_id=inc.id, channel="sms",
                                    notifiers=w.notifiers, clock=w.clock)
    assert (again.sent, again.already) == (0, 4)
    in_app = notices.notify_affected(w.session, w.admin, incident_id=inc.id,
                                     channel="in_app", notifiers=w.notifiers, clock=w.clock)
    email = notices.notify_affected(w.session, w.admin, incident_id=inc.id, channel="email",
                                    notifiers=w.notifiers, clock=w.clock)
    assert (in_app.sent, email.sent, email.unreachable) == (4, 0, 4)


def test_an_erased_person_cannot_be_reached(world: World) -> None:
    w = world
    inc = _open(w, w.access(w.waybills[:2])).incident
    w.vault.erase_subject(w.session, ENT, "sub-r0", reason="erasure request", at=w.clock.now())
    run = notices.notify_affected(w.session, w.admin, incident_id=inc.id, channel="sms",
                                  notifiers=w.notifiers, clock=w.clock)
    assert (run.sent, run.unreachable) == (1, 1)


def test_a_suspension_blocks_the_next_access_at_once_and_is_in_the_ledger(world: World) -> None:
    w = world
    inc = _open(w, w.access(w.waybills[:2])).incident
    applied = interventions.apply(w.session, w.admin, enterprise_id=ENT,
                                  kind="suspend_employee", target_id="emp-courier",
                                  reason="looked up parcels outside his assignments",
                                  incident_id=inc.id, clock=w.clock,
                                  ack_hours=SETTINGS.ack_hours)
    iv = applied.intervention
    gate = AccessGate(w.session, w.vault, w.clock)
    out = gate.reveal(caller_for_employee(ENT, "emp-courier", "courier"),
                      waybill_no=w.waybills[0], purpose="delivery", fields=["recipient_phone"])
    assert not out.allowed
    assert out.reason == "suspended"
    leaf = w.session.scalars(select(LedgerEvent.leaf).where(
        LedgerEvent.enterprise_id == ENT, LedgerEvent.event_id == iv.ledger_event_id)).one()
    ev = msgspec.json.decode(leaf)
    # the ledger proves when and by whom; the intervention row names the event
    assert (ev["action"], ev["actor_type"], ev["purpose"]) == ("update", "system", "security")
    assert (iv.kind, iv.target_id) == ("suspend_employee", "emp-courier")
    assert not iv.requires_ack  # the enterprise applied it itself
    with pytest.raises(Conflict):
        interventions.apply(w.session, w.admin, enterprise_id=ENT, kind="suspend_employee",
                            target_id="emp-courier", reason="again", clock=w.clock,
                            ack_hours=SETTINGS.ack_hours)
    interventions.lift(w.session, w.admin, intervention_id=iv.id, clock=w.clock)
    out = gate.reveal(caller_for_employee(ENT, "emp-courier", "courier"),
                      waybill_no=w.waybills[0], purpose="delivery", fields=["recipient_phone"])
    assert out.reason != "suspended"
    actions = [e.action for e in w.session.scalars(select(TimelineEntry).where(
        TimelineEntry.incident_id == inc.id))]
    assert "intervention_applied" in actions
    assert "intervention_lifted" in actions


def test_an_ordered_intervention_must_be_acknowledged_or_it_escalates(world: World) -> None:
    w = world
    iv = interventions.apply(w.session, w.supervisor, enterprise_id=ENT,
                             kind="suspend_employee", target_id="emp-courier",
                             reason="ordered by the supervision department", clock=w.clock,
                             ack_hours=SETTINGS.ack_hours).intervention
    assert iv.requires_ack
    assert iv.ordered_by == "supervision/acc-sup"
    with pytest.raises(PermissionDenied):
        interventions.lift(w.session, w.admin, intervention_id=iv.id, clock=w.clock)
    w.clock.advance(timedelta(hours=SETTINGS.ack_hours, minutes=1))
    [esc] = reports.escalate_overdue(w.session, w.clock.now())
    assert esc.subject == "intervention_ack"
    interventions.acknowledge(w.session, w.admin, intervention_id=iv.id, clock=w.clock)
    assert iv.acknowledged_by == "ent-a/acc-sec"
    assert w.session.get(Escalation, esc.escalation_id).cleared_at is not None  # type: ignore[union-attr]
    with pytest.raises(Conflict):
        interventions.acknowledge(w.session, w.admin, intervention_id=iv.id, clock=w.clock)


def test_freeze_partner_revoke_key_block_device(world: World) -> None:
    w = world
    w.session.add(Partner(enterprise_id=ENT, partner_id="partner-b", name="乙快递",
                          relationship="entrusted", public_key=bytes(32), key_id="k1",
                          active=True, created_at=w.clock.now()))
    frozen = interventions.apply(w.session, w.supervisor, enterprise_id=ENT,
                                 kind="freeze_partner", target_id="partner-b",
                                 reason="leak traced to the partner", clock=w.clock,
                                 ack_hours=24).intervention
    assert interventions.sharing_frozen(w.session, ENT, "partner-b")
    assert w.session.get(Partner, (ENT, "partner-b")).active is False  # type: ignore[union-attr]
    interventions.lift(w.session, w.supervisor, intervention_id=frozen.id, clock=w.clock)
    assert w.session.get(Partner, (ENT, "partner-b")).active is True  # type: ignore[union-attr]
    assert not interventions.sharing_frozen(w.session, ENT, "partner-b")

    key = identity.issue_api_key(w.session, w.supervisor, name="scraper", role="ingest_client",
                                 clock=w.clock, org_id=ENT)
    revoked = interventions.apply(w.session, w.admin, enterprise_id=ENT,
                                  kind="revoke_api_key", target_id=key.id,
                                  reason="key used to scrape", clock=w.clock,
                                  ack_hours=24).intervention
    with pytest.raises(Unauthenticated):
        identity.authenticate_api_key(w.session, secret=key.secret, clock=w.clock)
    with pytest.raises(Conflict, match="cannot be restored"):
        interventions.lift(w.session, w.admin, intervention_id=revoked.id, clock=w.clock)

    interventions.apply(w.session, w.admin, enterprise_id=ENT, kind="block_device",
                        target_id="pda-0042", reason="device of the rented account",
                        clock=w.clock, ack_hours=24)
    assert interventions.device_blocked(w.session, ENT, "pda-0042")
    with pytest.raises(InvalidInput):
        interventions.apply(w.session, w.admin, enterprise_id=ENT, kind="block_device",
                            target_id="13812345678", reason="a phone is not a device",
                            clock=w.clock, ack_hours=24)


@pytest.mark.parametrize(("records", "actor_type", "proposed"), [
    (2_499, "employee", False), (2_500, "employee", True),
    (2_500, "external", False), (5_000, "external", True)])
def test_police_referral_at_the_criminal_threshold_insiders_at_half(
        world: World, records: int, actor_type: str, proposed: bool) -> None:
    w = world
    ids = w.access([], action="export", record_count=records, actor_type=actor_type,
                   actor="emp-courier" if actor_type == "employee" else "client-x")
    opened = _open(w, ids)
    commands = [e for e in opened.events if isinstance(e, ProposePoliceReferral)]
    assert bool(commands) is proposed
    if proposed:
        assert commands[0].evidence_event_ids == tuple(ids)
        assert commands[0].insider is (actor_type == "employee")
        assert opened.incident.police_proposed_at is not None
        _, again = service.add_evidence_as(w.session, w.admin, incident_id=opened.incident.id,
                                           event_ids=w.access(w.waybills[:1]), clock=w.clock,
                                           settings=SETTINGS)
        assert again == []  # proposed once


def test_plans_are_versioned_reviewed_and_drills_go_stale(world: World) -> None:
    w = world
    security = {"scope": "waybill system", "risks": [
        {"name": "scraping", "source": "external", "threat": "hacker attack",
         "controls": ["rate limits"]}]}
    v1 = plans.submit_plan(w.session, w.admin, kind="security", content=security, clock=w.clock)
    with pytest.raises(InvalidInput, match="comments"):
        plans.review_plan(w.session, w.supervisor, plan_id=v1.id, approve=False, clock=w.clock)
    plans.review_plan(w.session, w.supervisor, plan_id=v1.id, approve=False,
                      comments="add malware and insider risks", clock=w.clock)
    v2 = plans.submit_plan(w.session, w.admin, kind="security", content=security, clock=w.clock)
    assert (v1.status, v1.version, v2.version) == ("returned", 1, 2)
    with pytest.raises(PermissionDenied):
        plans.review_plan(w.session, w.admin, plan_id=v2.id, approve=True, clock=w.clock)
    with pytest.raises(Conflict):
        plans.review_plan(w.session, w.supervisor, plan_id=v1.id, approve=True, clock=w.clock)
    emergency = plans.in_force(w.session, ENT, "emergency")
    assert emergency is not None
    status = plans.drill_status(w.session, w.supervisor, now=w.clock.now(), max_age_days=365)
    assert [(s.enterprise_id, s.stale, s.last_drill_at) for s in status] == [(ENT, False, None)]
    plans.record_drill(w.session, w.admin, plan_id=emergency.id, held_at=w.clock.now(),
                       scenario="bulk export by an insider", clock=w.clock)
    later = w.clock.now() + timedelta(days=366)
    for who in (w.admin, w.supervisor):  # both sides see the flag
        [s] = plans.drill_status(w.session, who, now=later, max_age_days=365)
        assert s.stale
        assert s.last_drill_at == w.clock.now()
    with pytest.raises(InvalidInput, match="technicians"):
        plans.submit_plan(w.session, w.admin, kind="emergency", content={
            **plans_content(), "technicians": [{"employee_id": "emp-ghost", "on_call": [
                {"weekdays": [0], "start": "08:00", "end": "20:00"}]}]}, clock=w.clock)


def plans_content() -> dict[str, object]:
    from incidents_world import EMERGENCY

    return dict(EMERGENCY)


def _alert(w: World, alert_id: str, detector: str, severity: str, subject: str,
           event_ids: list[str], summary: str = "test alert") -> MonitorAlert:
    now = w.clock.now()
    us = int(now.timestamp() * 1_000_000)
    row = MonitorAlert(id=alert_id, enterprise_id=ENT, detector=detector,
                       subject_type="employee", subject_id=subject, severity=severity,
                       score=0.8, status="open", open_key=f"{ENT}|{detector}|{subject}|{alert_id}",
                       raised_at=now, first_event_at=now, last_event_at=now, raised_us=us,
                       first_us=us, last_us=us, event_ids=event_ids,
                       record_count=len(event_ids), summary=summary)
    w.session.add(row)
    w.session.flush()
    return row


def test_alerts_open_incidents_by_rule_and_join_per_subject(world: World) -> None:
    w = world
    _alert(w, "alr-low", "unassigned_access", "medium", "emp-courier", w.access(w.waybills[:1]))
    assert handlers.open_from_alert(w.session, "alr-low", settings=SETTINGS) is None
    _alert(w, "alr-1", "unassigned_access", "high", "emp-courier", w.access(w.waybills[:2]),
           summary="lookups from 10.20.30.40 by account 6222021234567890")
    first = handlers.open_from_alert(w.session, "alr-1", settings=SETTINGS)
    assert first is not None
    assert first.created
    inc = first.incident
    assert inc.title == "unassigned_access (employee)"  # the summary failed the PI check
    assert (inc.source, inc.category, inc.detected_at) == ("alert", "insider_abuse",
                                                          w.clock.now())
    again = handlers.open_from_alert(w.session, "alr-1", settings=SETTINGS)
    assert again is not None
    assert not again.created
    assert again.incident.id == inc.id
    w.clock.advance(timedelta(minutes=20))
    _alert(w, "alr-2", "bulk_access", "low", "emp-courier", w.access(w.waybills[2:5]))
    joined = handlers.open_from_alert(w.session, "alr-2", settings=SETTINGS)
    assert joined is not None
    assert joined.incident.id == inc.id
    assert not joined.created
    assert inc.people_affected == 5
    assert inc.grade == "relatively_major"
    forced = handlers.open_from_alert(w.session, "alr-low", settings=SETTINGS, force=True)
    assert forced is not None
    assert forced.incident.id == inc.id
