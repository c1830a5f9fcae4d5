"""Triangulation and police referral on SQLite and PostgreSQL: victims' reports cluster
by the scam caller, the nosy clerk ranks first, the evidence package verifies
against the enterprise's signed checkpoint with an independent verifier, a police
account sees only what was referred to it, data requests are scoped, decided and
logged, and the reporter is told the outcome."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from parcelguard.channel import evidence, intake, referrals, service
from parcelguard.channel.events import ReferConductFinding, ReferIncident
from parcelguard.channel.history import rank_leak_sources
from parcelguard.channel.intake import ReportIn
from parcelguard.channel.models import ChannelReport
from parcelguard.core.errors import Conflict, NotFound, PermissionDenied
from parcelguard.ledger.signing import registered_verifier

from .channel_world import (
    ENT,
    INSIDER,
    OTHER_POLICE,
    POLICE,
    World,
    independently_verified,
    make_world,
)


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session)


def _victims_report(w: World) -> list[intake.Filed]:
    return [intake.file_report(w.session, w.vault, w.channel, enterprise_id=ENT, report=ReportIn(
        kind="scam_call", body="骗子准确说出了我的姓名、电话和快递单号", waybills=[wb],
        scam_caller="17100009999"), source=f"198.51.100.{i}", clock=w.clock)
        for i, wb in enumerate(w.victims)]


def test_triangulation_ranks_the_insider_first(world: World) -> None:
    tri = rank_leak_sources(world.session, enterprise_id=ENT, waybills=world.victims)
    top = tri.ranking[0]
    assert (top.subject_type, top.subject_id, top.accessed) == ("employee", INSIDER, 15)
    assert top.confidence > 0.99
    couriers = [r for r in tri.ranking if r.subject_type == "employee" and r is not top]
    assert all(r.score < top.score / 3 for r in couriers)


def test_a_referred_case_carries_a_package_that_verifies(world: World) -> None:
    filed = _victims_report(world)
    ref = referrals.refer_report(world.session, world.staff(), world.deps,
                                 report_id=filed[0].report_id, reason="疑似内部人员泄露快递信息",
                                 police_org_id=POLICE)
    pkg = referrals.package_of(world.session, world.police(), ref.id)
    assert pkg["case"]["reports"]
    assert len(pkg["case"]["reports"]) == 15
    assert pkg["case"]["suspects"] == [{"subject_type": "employee", "subject_id": INSIDER}]
    assert pkg["triangulation"]["ranking"][0]["subject_id"] == INSIDER
    assert pkg["insider"] is True
    assert pkg["record_counts"] == {"other": 60}
    other = next(c for c in pkg["thresholds"] if c["category"] == "other")
    assert other["applied"] == 2_500
    assert not other["reached"]
    key = registered_verifier(world.session, ENT)
    assert key is not None
    # the police check it with nothing but the package and the registered key
    assert independently_verified(pkg, key.verifier_key) == pkg["events_total"] > 60
    assert evidence.verify(pkg, key.verifier_key).ok
    assert ref.package_sha256 == evidence.package_digest(pkg)
    # a tampered event no longer verifies
    ev = pkg["events"][0]
    forged = {**pkg, "events": [{**ev, "leaf": ev["leaf"][:-8] + "AAAAAAA="}]}
    assert not evidence.verify(forged, key.verifier_key).ok
    with pytest.raises(AssertionError):
        independently_verified(forged, key.verifier_key)
    with pytest.raises(Conflict):
        referrals.refer_report(world.session, world.staff(), world.deps,
                               report_id=filed[0].report_id, reason="twice", police_org_id=POLICE)


def test_police_see_only_what_was_referred_to_them(world: World) -> None:
    filed = _victims_report(world)
    ref = referrals.refer_report(world.session, world.staff(), world.deps,
                                 report_id=filed[0].report_id, reason="疑似内部人员泄露快递信息",
                                 police_org_id=POLICE)
    other = world.police(OTHER_POLICE)
    assert referrals.list_referrals(world.session, other) == []
    for call in (referrals.get_referral, referrals.package_of, referrals.log_of):
        with pytest.raises(NotFound):
            call(world.session, other, ref.id)
    with pytest.raises(NotFound):
        referrals.accept(world.session, other, ref.id, clock=world.clock)
    with pytest.raises(PermissionDenied):  # the police read no reports, only referrals
        service.get_report(world.session, world.vault, world.police(), filed[0].report_id,
                           now=world.clock.now())
    # the supervision department follows the referral but gets no evidence
    assert [r.id for r in referrals.list_referrals(world.session, world.supervisor())] == \
        [ref.id]
    with pytest.raises(PermissionDenied):
        referrals.package_of(world.session, world.supervisor(), ref.id)


def test_the_police_investigate_and_the_reporter_learns_the_outcome(world: World) -> None:
    filed = _victims_report(world)
    police = world.police()
    ref = referrals.refer_report(world.session, world.staff(), world.deps,
                                 report_id=filed[0].report_id, reason="疑似内部人员泄露快递信息",
                                 police_org_id=POLICE)
    with pytest.raises(Conflict):  # data is requested on an accepted case
        referrals.request_data(world.session, police, ref.id, scope={"actor_ids": [INSIDER]},
                               justification="需要调取该员工全部查询记录", clock=world.clock)
    referrals.accept(world.session, police, ref.id, clock=world.clock)
    req = referrals.request_data(world.session, police, ref.id,
                                 scope={"actor_ids": [INSIDER]},
                                 justification="需要调取该员工全部查询记录", clock=world.clock)
    with pytest.raises(PermissionDenied):  # the police cannot approve their own request
        referrals.decide_data_request(world.session, police, world.deps, req.id,
                                      decision="approved")
    referrals.decide_data_request(world.session, world.staff("enterprise_admin"), world.deps,
                                  req.id, decision="refused")
    ordered = referrals.decide_data_request(world.session, world.supervisor(), world.deps,
                                            req.id, decision="ordered")
    pkg = referrals.data_package(world.session, police, ordered.id)
    events = evidence.events_of(pkg)
    assert {e["actor_id"] for e in events} == {INSIDER}
    assert len(events) == 60
    key = registered_verifier(world.session, ENT)
    assert key is not None
    assert evidence.verify(pkg, key.verifier_key).ok
    referrals.conclude(world.session, world.vault, police, ref.id, outcome="case_filed",
                       clock=world.clock)
    actions = [e.action for e in referrals.log_of(world.session, world.staff(), ref.id)]
    assert actions == ["sent", "accepted", "data_requested", "data_refused", "data_ordered",
                       "data_provided", "concluded", "reporter_told"]
    for f in (filed[0], filed[-1]):  # every reporter of the case is told
        row = intake.authenticate(world.session, world.vault, world.channel, enterprise_id=ENT,
                                  receipt_code=f.receipt_code, secret=f.secret, source=None,
                                  clock=world.clock)
        assert isinstance(row, ChannelReport)
        view = intake.reporter_view(world.session, world.vault, row)
        assert view.police_outcome is not None
        assert "立案" in view.police_outcome
        assert view.messages[-1]["author"] == "police"
    figures = service.stats(world.session, world.supervisor(), now=world.clock.now())[ENT]
    assert figures["forwarded_to_police"] == 1
    assert figures["concluded"] == 1


def test_incidents_and_conduct_findings_are_referred_by_command(world: World) -> None:
    ref = referrals.refer_incident(world.session, world.deps, ReferIncident(
        enterprise_id=ENT, incident_id="inc-1", reason="批量泄露事件", waybills=world.victims,
        actor_ids=[INSIDER], record_counts={"other": 2_600}, insider=True,
        police_org_id=POLICE))
    assert ref.package["crime_suspected"] is True  # 2,600 >= 2,500: insiders at half
    assert ref.source_type == "incident"
    assert ref.package["case"]["suspects"] == [{"subject_type": "employee",
                                                "subject_id": INSIDER}]
    finding = referrals.refer_conduct(world.session, world.deps, ReferConductFinding(
        enterprise_id=ENT, decision_id="cdc-1", employee_id=INSIDER,
        reason="多次差评且涉及隐私泄露迹象", figures={"low": 3}, police_org_id=POLICE))
    assert finding.package["record_counts"] == {"other": 60}
    key = registered_verifier(world.session, ENT)
    assert key is not None
    assert independently_verified(finding.package, key.verifier_key) == 60
