"""Courier evaluations and their consequences on SQLite and PostgreSQL: one-time
links, rewards, warnings with training, suspensions that the gate enforces, police
referrals when low ratings meet a sign of leakage, and appeals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session

from parcelguard.access.repository import AccessRepository
from parcelguard.channel import referrals
from parcelguard.channel.events import ReferConductFinding
from parcelguard.conduct import service
from parcelguard.conduct.events import ConductReferralRequested
from parcelguard.conduct.models import ConductSignal
from parcelguard.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from parcelguard.identity import service as identity
from parcelguard.identity.permissions import Principal
from tests.integration.channel.channel_world import COURIERS, ENT, POLICE, World, make_world


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session, parcels=120)


def _rate(w: World, courier: str, ratings: list[tuple[int, list[str]]]) -> None:
    mine = [wb for wb, c in w.courier_of.items() if c == courier]
    assert len(mine) >= len(ratings)
    for wb, (rating, tags) in zip(mine, ratings, strict=False):
        link = service.issue_link(w.session, enterprise_id=ENT, waybill_no=wb, clock=w.clock,
                                  settings=w.conduct)
        assert link.employee_id == courier
        service.submit_evaluation(w.session, token=link.token, rating=rating, tags=tags,
                                  clock=w.clock)


def _run(w: World) -> service.Round:
    return service.apply_rules(w.session, enterprise_id=ENT, now=w.clock.now(),
                               settings=w.conduct, by="acc-security", clock=w.clock)


def test_a_link_works_once_and_says_nothing_about_why_not(world: World) -> None:
    wb = world.waybills[0]
    link = service.issue_link(world.session, enterprise_id=ENT, waybill_no=wb,
                              clock=world.clock, settings=world.conduct)
    with pytest.raises(Conflict):
        service.issue_link(world.session, enterprise_id=ENT, waybill_no=wb, clock=world.clock,
                           settings=world.conduct)
    service.submit_evaluation(world.session, token=link.token, rating=5, tags=["polite"],
                              clock=world.clock)
    errors = []
    for token in (link.token, "made-up-token"):
        with pytest.raises(NotFound) as exc:
            service.submit_evaluation(world.session, token=token, rating=1, tags=[],
                                      clock=world.clock)
        errors.append(exc.value.message)
    late = service.issue_link(world.session, enterprise_id=ENT, waybill_no=world.waybills[1],
                              clock=world.clock, settings=world.conduct)
    world.clock.advance(timedelta(days=world.conduct.link_days, seconds=1))
    with pytest.raises(NotFound) as exc:
        service.submit_evaluation(world.session, token=late.token, rating=1, tags=[],
                                  clock=world.clock)
    assert errors == [exc.value.message] * 2 == [service.INVALID_LINK] * 2
    with pytest.raises(InvalidInput):
        service.submit_evaluation(world.session, token=late.token, rating=7, tags=[],
                                  clock=world.clock)


def test_rewards_warnings_suspensions_and_referrals(world: World) -> None:
    good, tagged, bad = COURIERS[0], COURIERS[1], COURIERS[2]
    _rate(world, good, [(5, ["on_time", "polite"])] * 10)
    _rate(world, tagged, [(3, ["personal_phone_call"]), (2, ["label_exposed"]),
                          (3, ["unnecessary_info"]), (5, [])])
    _rate(world, bad, [(1, ["rude"]), (2, ["late"]), (1, []), (4, [])])
    assert service.note_signal(world.session, enterprise_id=ENT, employee_id=bad,
                               source="monitor_alert", ref="alr-123", severity="high",
                               at=world.clock.now())
    assert not service.note_signal(world.session, enterprise_id=ENT, employee_id=bad,
                                   source="monitor_alert", ref="alr-123", severity="high",
                                   at=world.clock.now())  # noted once
    rnd = _run(world)
    by = {(d.employee_id, d.kind) for d in rnd.decisions}
    assert (good, "reward") in by
    assert {(tagged, k) for k in ("suspension", "warning", "training")} <= by
    assert (bad, "police_referral") in by
    assert (good, "warning") not in by
    repo = AccessRepository(world.session, ENT)
    assert repo.suspended(employee_id=tagged, api_key_id=None, at=world.clock.now())
    assert _run(world).decisions == []  # nothing is decided twice in one window
    # the rules only propose; nothing goes to the police until a person confirms
    assert not [e for e in rnd.events if isinstance(e, ConductReferralRequested)]
    [proposed] = [d for d in rnd.decisions if d.kind == "police_referral"]
    assert proposed.status == "proposed"
    ask = service.confirm_referral(world.session, world.staff(), proposed.id, clock=world.clock)
    assert proposed.status == "active"
    assert ask.figures["evidence_links"] == ["monitor_alert:alr-123"]
    with pytest.raises(Conflict):
        service.confirm_referral(world.session, world.staff(), proposed.id, clock=world.clock)
    ref = referrals.refer_conduct(world.session, world.deps, ReferConductFinding(
        enterprise_id=ask.enterprise_id, decision_id=ask.decision_id,
        employee_id=ask.employee_id, reason=ask.reason, figures=ask.figures,
        police_org_id=POLICE))
    assert ref.source_type == "conduct"
    assert ref.package["case"]["figures"]["low"] == 3


def test_an_overturned_suspension_is_lifted(world: World) -> None:
    tagged = COURIERS[1]
    _rate(world, tagged, [(2, ["data_misuse"])] * 3)
    [suspension] = [d for d in _run(world).decisions if d.kind == "suspension"]
    identity.create_account(world.session, org_id=ENT, username="courier1", role="courier",
                            clock=world.clock, password="courier password 1",
                            employee_id=tagged)
    acc = identity.authenticate(world.session, username="courier1",
                                password="courier password 1", clock=world.clock)
    me = identity.principal_for_account(world.session, acc)
    other = Principal(ENT, "enterprise", "courier", account_id="acc-someone-else")
    with pytest.raises(NotFound):  # only one's own decisions
        service.appeal(world.session, other, suspension.id, grounds="不是我", clock=world.clock)
    assert [d.employee_id for d in service.list_decisions(world.session, me)] == [tagged] * 4
    appeal = service.appeal(world.session, me, suspension.id,
                            grounds="包裹当天由同事代送，评价对象有误", clock=world.clock)
    with pytest.raises(Conflict):
        service.appeal(world.session, me, suspension.id, grounds="再次申诉", clock=world.clock)
    with pytest.raises(InvalidInput):  # no phone numbers in a decision's record
        service.decide_appeal(world.session, world.staff(), appeal.id, outcome="overturned",
                              response="已电话联系13800138000核实", clock=world.clock)
    service.decide_appeal(world.session, world.staff(), appeal.id, outcome="overturned",
                          response="经核实评价对象有误，撤销停权", clock=world.clock)
    repo = AccessRepository(world.session, ENT)
    assert not repo.suspended(employee_id=tagged, api_key_id=None, at=world.clock.now())
    assert [a.status for a in service.appeals(world.session, world.staff())] == ["overturned"]


def test_a_referral_without_an_evidence_link_cannot_be_confirmed(world: World) -> None:
    """Ratings and a consumer's tag lead to review; even a referral proposed on a
    signal cannot go to the police once no evidence link stands behind it."""
    tagged, bad = COURIERS[1], COURIERS[2]
    _rate(world, tagged, [(1, ["data_misuse"]), (2, []), (1, [])])
    rnd = _run(world)
    assert {(d.employee_id, d.kind) for d in rnd.decisions} >= {(tagged, "review")}
    assert (tagged, "police_referral") not in {(d.employee_id, d.kind) for d in rnd.decisions}
    _rate(world, bad, [(1, []), (1, []), (1, [])])
    service.note_signal(world.session, enterprise_id=ENT, employee_id=bad, source="canary",
                        ref="cny-1", severity="critical", at=world.clock.now())
    [proposed] = [d for d in _run(world).decisions if d.kind == "police_referral"]
    with pytest.raises(PermissionDenied):
        service.confirm_referral(world.session, world.staff("courier"), proposed.id,
                                 clock=world.clock)
    # the signal is withdrawn (e.g. the alert was a false positive and purged)
    world.session.execute(delete(ConductSignal).where(ConductSignal.employee_id == bad))
    with pytest.raises(InvalidInput, match="evidence link"):
        service.confirm_referral(world.session, world.staff(), proposed.id, clock=world.clock)
    assert proposed.status == "proposed"
