"""Incidents on a real database: impact from the ledger, grading, reports and their
deadlines, the lifecycle's guards, escalation of what is overdue, tenancy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from incidents_world import CII, ENT, SETTINGS, World
from sqlalchemy import select

from parcelguard.core.errors import InvalidInput, NotFound, PermissionDenied
from parcelguard.identity.permissions import Principal
from parcelguard.incidents import reports, service
from parcelguard.incidents.events import IncidentOpened, ReportOverdue
from parcelguard.incidents.model import IllegalTransition
from parcelguard.incidents.models import IncidentReport, IncidentTask, TimelineEntry
from parcelguard.incidents.service import OpenRequest


def _open(w: World, event_ids: list[str], enterprise: str = ENT) -> service.Opened:
    principal = w.admin if enterprise == ENT else Principal(enterprise, "enterprise",
                                                            "security_officer",
                                                            account_id="acc-x")
    return service.open_as(w.session, principal, OpenRequest(
        enterprise_id=enterprise, title="courier looked up parcels not assigned to him",
        category="insider_abuse", source="manual", detected_at=w.clock.now(),
        evidence_event_ids=event_ids), settings=SETTINGS)


def _drafts(w: World, incident_id: str) -> dict[str, IncidentReport]:
    return {r.kind: r for r in w.session.scalars(select(IncidentReport).where(
        IncidentReport.incident_id == incident_id, IncidentReport.status == "draft"))}


def test_impact_comes_from_the_evidence_events(world: World) -> None:
    w = world
    ids = w.access(w.waybills[:3])
    ids += w.access(w.waybills[:1])  # the same record again: not counted twice
    ids += w.access(w.waybills[3:5], outcome="denied")  # nothing leaked
    ids += w.access(w.waybills[5:6], fields=("sender_name", "recipient_phone"))
    opened = _open(w, ids)
    inc = opened.incident
    assert (inc.people_affected, inc.records_affected) == (5, 4)  # 4 recipients + 1 sender
    assert inc.data_types == ["recipient_address", "recipient_phone", "sender_name"]
    assert inc.insider
    assert inc.actor_ids == ["emp-courier"]
    assert inc.grade == "relatively_major"  # 5 people >= 4 in the test settings
    assert isinstance(opened.events[0], IncidentOpened)


def test_general_grade_owes_pipl_and_postal_reports_and_gets_playbook_tasks(
        world: World) -> None:
    w = world
    inc = _open(w, w.access(w.waybills[:2])).incident
    assert inc.grade == "general"
    drafts = _drafts(w, inc.id)
    assert set(drafts) == {"pipl_notice", "postal"}
    assert drafts["pipl_notice"].due_at == inc.detected_at + timedelta(hours=24)
    assert drafts["pipl_notice"].content["people_affected"] == 2
    tasks = list(w.session.scalars(select(IncidentTask).where(IncidentTask.incident_id == inc.id)
                                   .order_by(IncidentTask.seq)))
    assert next(t.step for t in tasks) == "contain the insider abuse"
    # 14:00 in Shanghai: the day technician is on call
    assert {t.assignee_employee_id for t in tasks} == {"emp-tech-day"}
    actions = [(e.actor, e.action) for e in w.session.scalars(
        select(TimelineEntry).where(TimelineEntry.incident_id == inc.id))]
    assert ("ent-a/acc-sec", "opened") in actions
    assert ("system:incidents", "tasks_assigned") in actions


def test_more_evidence_raises_the_grade_and_the_cac_report_supersedes_pipl(
        world: World) -> None:
    w = world
    inc = _open(w, w.access(w.waybills[:2])).incident
    w.clock.advance(timedelta(minutes=30))
    service.add_evidence_as(w.session, w.admin, incident_id=inc.id,
                            event_ids=w.access(w.waybills[2:6]), clock=w.clock,
                            settings=SETTINGS)
    assert inc.grade == "relatively_major"
    assert inc.people_affected == 6
    drafts = _drafts(w, inc.id)
    assert set(drafts) == {"cac_initial", "postal"}
    # the clock runs from detection, not from the regrade
    assert drafts["cac_initial"].due_at == inc.detected_at + timedelta(hours=4)
    assert drafts["cac_initial"].recipient == "provincial_cac"


def test_cii_operators_report_within_one_hour(world: World) -> None:
    w = world
    ids = w.access([], enterprise=CII, action="export", record_count=5)
    inc = _open(w, ids, enterprise=CII).incident
    assert inc.cii
    assert inc.grade == "relatively_major"
    assert inc.unattributed_records == 5
    cac = _drafts(w, inc.id)["cac_initial"]
    assert (cac.recipient, cac.due_at) == ("cii_protecting_department",
                                           inc.detected_at + timedelta(hours=1))
    # ... and, within the same hour, to the public-security organ (issue 16 item 3)
    police = _drafts(w, inc.id)["cii_police"]
    assert (police.recipient, police.due_at) == ("public_security_organ",
                                                 inc.detected_at + timedelta(hours=1))
    # a complete CAC report names the location, the measures' effect, clues to the
    # perpetrator and the preserved scene; first items alone remain possible
    officer = Principal(CII, "enterprise", "security_officer", account_id="acc-b")
    with pytest.raises(InvalidInput, match=r"location.*perpetrator_clues.*scene_preserved"):
        reports.file_report(w.session, officer, report_id=cac.id, clock=w.clock)
    first, _ = reports.file_report(w.session, officer, report_id=police.id,
                                   first_items_only=True, clock=w.clock)
    assert first.status == "filed"


def test_the_lifecycle_waits_for_reports_tasks_and_the_summary(world: World) -> None:
    w = world
    inc = _open(w, w.access(w.waybills[:2])).incident

    def move(to: str) -> None:
        w.clock.advance(timedelta(minutes=10))
        service.move(w.session, w.admin, incident_id=inc.id, to=to, clock=w.clock,
                     settings=SETTINGS)

    move("triaged")
    move("contained")
    with pytest.raises(IllegalTransition, match="2 initial report"):
        move("reported")
    drafts = _drafts(w, inc.id)
    # The PIPL Art. 57 notice to the regulator has no first-items relief, and nothing
    # was done yet: it cannot be filed without the measures taken.
    with pytest.raises(InvalidInput, match="filed complete"):
        reports.file_report(w.session, w.admin, report_id=drafts["pipl_notice"].id,
                            first_items_only=True, clock=w.clock)
    with pytest.raises(InvalidInput, match="missing measures_taken"):
        reports.file_report(w.session, w.admin, report_id=drafts["pipl_notice"].id,
                            clock=w.clock)
    first, _ = reports.file_report(w.session, w.admin, report_id=drafts["pipl_notice"].id,
                                   content={"measures_taken": ["access suspended"]},
                                   clock=w.clock)
    assert first.on_time
    # every Art. 57 item, and (this world grades at small numbers) the override
    assert {"data_types", "preliminary_cause", "possible_harm", "measures_taken",
            "what_people_can_do", "contact", "statutory_overrides"} <= set(first.content)
    assert first.content["possible_harm"]
    assert first.content["what_people_can_do"]
    sup, _ = reports.supplement(w.session, w.admin, report_id=first.id,
                                content={"preliminary_cause": "insider lookups"},
                                clock=w.clock)
    assert sup.parent_id == first.id
    assert set(sup.content) == {"preliminary_cause"}
    reports.file_report(w.session, w.admin, report_id=drafts["postal"].id, clock=w.clock)
    move("reported")
    with pytest.raises(IllegalTransition, match="3 playbook task"):
        move("resolved")
    for task in w.session.scalars(select(IncidentTask).where(IncidentTask.incident_id == inc.id)):
        service.complete_task(w.session, w.admin, incident_id=inc.id, task_id=task.id,
                              clock=w.clock)
    move("resolved")
    summary = _drafts(w, inc.id)["summary"]
    assert summary.due_at is not None
    assert summary.due_at > inc.resolved_at + timedelta(days=30)
    with pytest.raises(IllegalTransition, match="summary"):
        move("reviewed")
    reports.file_report(w.session, w.admin, report_id=summary.id,
                        content={"root_cause": "no alert on unassigned lookups",
                                 "lessons": ["alert earlier"]}, clock=w.clock)
    move("reviewed")
    assert inc.state == "reviewed"


def test_an_overdue_report_escalates_once_and_a_late_filing_clears_it(world: World) -> None:
    w = world
    inc = _open(w, w.access(w.waybills[:2])).incident
    assert reports.escalate_overdue(w.session, w.clock.now()) == []
    w.clock.advance(timedelta(hours=24, seconds=1))
    flagged = reports.escalate_overdue(w.session, w.clock.now())
    # the reports, and the people still owed their Art. 57 notice after 24 h
    assert sorted(e.subject for e in flagged) == ["people_notice", "pipl_notice", "postal"]
    assert all(isinstance(e, ReportOverdue) and e.enterprise_id == ENT for e in flagged)
    assert reports.escalate_overdue(w.session, w.clock.now()) == []  # once
    box = reports.inbox(w.session, w.supervisor)
    assert len(box.escalations) == 3
    assert box.reports == []
    late, _ = reports.file_report(w.session, w.admin, report_id=_drafts(w, inc.id)["postal"].id,
                                  clock=w.clock)
    assert late.on_time is False
    box = reports.inbox(w.session, w.supervisor)
    assert [r.id for r in box.reports] == [late.id]
    assert sorted(e.subject for e in box.escalations) == ["people_notice", "pipl_notice"]
    entry = w.session.scalars(select(TimelineEntry).where(
        TimelineEntry.incident_id == inc.id, TimelineEntry.action == "escalated")).first()
    assert entry is not None
    assert entry.actor == "system:escalation-sweep"


def test_tenancy_and_roles(world: World) -> None:
    w = world
    inc = _open(w, w.access(w.waybills[:1])).incident
    other = Principal(CII, "enterprise", "security_officer", account_id="acc-b")
    with pytest.raises(NotFound):
        service.move(w.session, other, incident_id=inc.id, to="triaged", clock=w.clock,
                     settings=SETTINGS)
    with pytest.raises(PermissionDenied):
        service.move(w.session, w.supervisor, incident_id=inc.id, to="triaged",
                     clock=w.clock, settings=SETTINGS)
    with pytest.raises(PermissionDenied):
        reports.inbox(w.session, w.admin)
    with pytest.raises(PermissionDenied):
        service.open_as(w.session, other, OpenRequest(
            enterprise_id=ENT, title="not mine", category="partner", source="manual",
            detected_at=w.clock.now()), settings=SETTINGS)


def test_bulk_records_count_a_person_each_but_never_more_than_the_carrier_holds(
        world: World) -> None:
    w = world
    inc = _open(w, w.access([], enterprise=CII, action="search", record_count=500),
                enterprise=CII).incident
    # distinct records cannot exceed the three parcels the carrier holds (issue 15)
    assert inc.records_affected == 3
    assert inc.unattributed_records == 500
    assert inc.people_affected == 6  # the CII carrier holds three parcels, six people
