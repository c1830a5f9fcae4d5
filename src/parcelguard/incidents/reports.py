"""Statutory reports: drafted automatically with their deadlines, filed by the
enterprise (a first report may carry only the first items; supplements follow),
delivered to the supervision department's inbox, and escalated there by the sweep
when a deadline passes with nothing filed.

Every filed report lands in the supervision department's inbox whatever its
statutory recipient (the provincial cyberspace administration, the postal
authority): the department supervises the enterprise's reporting as a whole, and
hand-off to the other authorities is a seam for later (docs/incidents.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parcelguard.core.clock import Clock
from parcelguard.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from parcelguard.core.ids import new_id
from parcelguard.identity import read as identity_read
from parcelguard.identity.permissions import Principal
from parcelguard.incidents import content as docs
from parcelguard.incidents import forwards
from parcelguard.incidents import timeline as tl
from parcelguard.incidents.deadlines import (
    INITIAL_KINDS,
    DeadlinePolicy,
    ReportKind,
    initial_obligations,
    on_time,
    overdue,
    summary_obligation,
)
from parcelguard.incidents.events import ReportFiled, ReportOverdue
from parcelguard.incidents.grading import Grade
from parcelguard.incidents.models import (
    Escalation,
    Incident,
    IncidentReport,
    Intervention,
    TimelineEntry,
)
from parcelguard.incidents.notices import PEOPLE_NOTICE, contact_for, notice_status
from parcelguard.incidents.notify import compose
from parcelguard.incidents.repository import IncidentRepository

_INITIAL = tuple(k.value for k in INITIAL_KINDS)
ACK_SUBJECT = "intervention_ack"


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


# The timeline action recording statutory figures overridden when the incident opened.
STATUTORY_OVERRIDE = "statutory_override"


def override_notes(session: Session, incident_id: str) -> list[str]:
    return [str(n) for entry in session.scalars(select(TimelineEntry).where(
        TimelineEntry.incident_id == incident_id,
        TimelineEntry.action == STATUTORY_OVERRIDE)) for n in entry.detail.get("notes", ())]


def auto_content(session: Session, inc: Incident, org_name: str) -> dict[str, Any]:
    """Everything the incident already knows, in the report's shape (CAC measures:
    unit and system, when found and happened, type and grade, impact so far,
    measures taken, cause; PIPL Art. 57: possible harm, what people can do, contact,
    worded as the notices to the people are). The enterprise adds what only it knows
    (location, effect of the measures, clues to the perpetrator, the scene)."""
    measures = [f"{iv.kind} {iv.target_id}" for iv in session.scalars(
        select(Intervention).where(Intervention.incident_id == inc.id)
        .order_by(Intervention.applied_at))]
    people = compose(inc, measures=measures, contact=contact_for(session, inc))
    return {"unit": org_name, "statutory_overrides": override_notes(session, inc.id) or None,
            "affected_system": inc.affected_system,
            "detected_at": _iso(inc.detected_at), "occurred_at": _iso(inc.occurred_at),
            "category": inc.category, "grade": inc.grade,
            "grading_basis": list(inc.grading_basis or ()) or None,
            "people_affected": inc.people_affected, "records_affected": inc.records_affected,
            "data_types": list(inc.data_types), "measures_taken": measures,
            "cause_class": inc.cause_class, "preliminary_cause": people.cause[1],
            "possible_harm": [h[1] for h in people.harm],
            "what_people_can_do": [a[1] for a in people.advice], "contact": people.contact}


def _reports(session: Session, incident_id: str) -> list[IncidentReport]:
    return list(session.scalars(select(IncidentReport).where(
        IncidentReport.incident_id == incident_id).order_by(IncidentReport.drafted_at,
                                                            IncidentReport.id)))


def draft_initial(session: Session, inc: Incident, *, org_name: str, policy: DeadlinePolicy,
                  now: datetime) -> list[IncidentReport]:
    """Draft the initial reports the grade owes (those not drafted yet). A CAC report
    supersedes an unfiled PIPL notice to the regulator when the grade rises."""
    have = {r.kind: r for r in _reports(session, inc.id) if r.status != "superseded"}
    made: list[IncidentReport] = []
    body = auto_content(session, inc, org_name)
    for ob in initial_obligations(Grade(inc.grade), detected_at=inc.detected_at, cii=inc.cii,
                                  policy=policy):
        if ob.kind.value in have:
            continue
        row = IncidentReport(id=new_id("rpt"), incident_id=inc.id,
                             enterprise_id=inc.enterprise_id, kind=ob.kind.value,
                             recipient=ob.recipient.value, due_at=ob.due_at, status="draft",
                             content=body, drafted_at=now)
        session.add(row)
        made.append(row)
        if ob.kind is ReportKind.CAC_INITIAL:
            pipl = have.get(ReportKind.PIPL_NOTICE.value)
            if pipl is not None and pipl.status == "draft":
                pipl.status = "superseded"
    for row in made:
        tl.record(session, inc.id, at=now, actor="system:incidents", action="report_drafted",
                  report_id=row.id, kind=row.kind, recipient=row.recipient,
                  due_at=_iso(row.due_at))
    session.flush()
    return made


def draft_summary(session: Session, inc: Incident, *, policy: DeadlinePolicy,
                  now: datetime) -> IncidentReport:
    assert inc.resolved_at is not None
    ob = summary_obligation(Grade(inc.grade), resolved_at=inc.resolved_at, cii=inc.cii,
                            policy=policy)
    org_name = identity_read.org_name(session, inc.enterprise_id)
    row = IncidentReport(id=new_id("rpt"), incident_id=inc.id, enterprise_id=inc.enterprise_id,
                         kind=ob.kind.value, recipient=ob.recipient.value, due_at=ob.due_at,
                         status="draft", drafted_at=now,
                         content=auto_content(session, inc, org_name))
    session.add(row)
    tl.record(session, inc.id, at=now, actor="system:incidents", action="report_drafted",
              report_id=row.id, kind=row.kind, recipient=row.recipient,
              due_at=_iso(row.due_at))
    session.flush()
    return row


def initial_pending(session: Session, incident_id: str) -> int:
    return int(session.scalar(select(func.count()).select_from(IncidentReport).where(
        IncidentReport.incident_id == incident_id, IncidentReport.kind.in_(_INITIAL),
        IncidentReport.status == "draft")) or 0)


def summary_filed(session: Session, incident_id: str) -> bool:
    return session.scalars(select(IncidentReport.id).where(
        IncidentReport.incident_id == incident_id,
        IncidentReport.kind == ReportKind.SUMMARY.value,
        IncidentReport.status == "filed")).first() is not None


def _own_report(session: Session, principal: Principal, report_id: str,
                incident_id: str | None) -> IncidentReport:
    principal.require("incidents:report")
    row = session.scalars(IncidentRepository(session, principal).reports().where(
        IncidentReport.id == report_id)).first()
    if row is None or (incident_id is not None and row.incident_id != incident_id):
        raise NotFound(f"no report {report_id}")
    if row.enterprise_id != principal.org_id:
        raise PermissionDenied("reports are filed by the enterprise concerned")
    return row


def clear_escalation(session: Session, ref_id: str, at: datetime) -> None:
    """The overdue item was dealt with (filed late, acknowledged): off the open list."""
    for esc in session.scalars(select(Escalation).where(Escalation.ref_id == ref_id,
                                                        Escalation.cleared_at.is_(None))):
        esc.cleared_at = at


def _compose(session: Session, row: IncidentReport, inc: Incident,
             content: dict[str, Any] | None,
             first_items_only: bool) -> tuple[docs.ReportContent, list[str]]:
    """The report as it would be filed now: the draft's fields refreshed from the
    incident, ``content`` over them; and the items it still lacks."""
    body = auto_content(session, inc, identity_read.org_name(session, row.enterprise_id))
    if first_items_only:
        if row.kind not in docs.FIRST_ITEMS_ALLOWED:
            raise InvalidInput(f"a {row.kind} report is filed complete: only reports to the "
                               "cyberspace administration may go first with the unit, system "
                               "and times (CAC measures)")
        body = {k: body[k] for k in (*docs.REQUIRED_FIRST, "occurred_at",
                                     "statutory_overrides")}
    body |= content or {}
    doc = docs.validate(docs.ReportContent, body, f"{row.kind} report")
    return doc, [] if first_items_only else docs.missing_items(row.kind, doc)


@dataclass(frozen=True)
class Preview:
    """What the officer reads before filing: the full text, and what is missing."""

    report: IncidentReport
    content: dict[str, Any]
    missing: list[str]


def preview(session: Session, principal: Principal, *, report_id: str,
            incident_id: str | None = None) -> Preview:
    """A report's full text: a filed one as filed, to whoever may see the incident
    (the supervision department reads what it received); a draft, to the enterprise
    alone, as ``file_report`` would file it now (nothing is written)."""
    row = session.scalars(IncidentRepository(session, principal).reports().where(
        IncidentReport.id == report_id)).first()
    if row is None or (incident_id is not None and row.incident_id != incident_id):
        raise NotFound(f"no report {report_id}")
    if row.status != "draft":
        return Preview(row, dict(row.content or {}), [])
    row = _own_report(session, principal, report_id, incident_id)
    inc = session.get(Incident, row.incident_id)
    assert inc is not None
    doc, missing = _compose(session, row, inc, None, False)
    return Preview(row, doc.model_dump(mode="json", exclude_none=True), missing)


def file_report(session: Session, principal: Principal, *, report_id: str,
                content: dict[str, Any] | None = None, first_items_only: bool = False,
                clock: Clock, incident_id: str | None = None,
                policy: DeadlinePolicy | None = None) -> tuple[IncidentReport, list[object]]:
    """File a drafted report. The draft's fields are refreshed from the incident, the
    caller's ``content`` overrides them; ``first_items_only`` files just the unit,
    system and times (CAC measures allow it; supplements follow)."""
    row = _own_report(session, principal, report_id, incident_id)
    if row.status != "draft":
        raise Conflict(f"report {report_id} is {row.status}; add a supplement instead")
    inc = session.get(Incident, row.incident_id)
    assert inc is not None
    doc, missing = _compose(session, row, inc, content, first_items_only)
    if missing:
        hint = (" (or file the first items now with --first-items-only and supplement)"
                if row.kind in docs.FIRST_ITEMS_ALLOWED else "")
        raise InvalidInput(f"{row.kind} report is missing {', '.join(missing)}: add them to "
                           f"the content{hint}")
    now = clock.now()
    row.content = doc.model_dump(mode="json", exclude_none=True)
    row.status, row.filed_at, row.filed_by = "filed", now, tl.actor_of(principal)
    row.on_time = on_time(row.due_at, now) if row.due_at is not None else None
    clear_escalation(session, row.id, now)
    tl.record(session, inc.id, at=now, actor=row.filed_by, action="report_filed",
              report_id=row.id, kind=row.kind, recipient=row.recipient, on_time=row.on_time,
              first_items_only=first_items_only)
    forwards.owe_forward(session, row, inc, policy=policy or DeadlinePolicy(), now=now)
    session.flush()
    return row, [ReportFiled(row.id, inc.id, row.enterprise_id, row.kind, row.recipient,
                             row.on_time, now)]


def supplement(session: Session, principal: Principal, *, report_id: str,
               content: dict[str, Any], clock: Clock, incident_id: str | None = None,
               policy: DeadlinePolicy | None = None) -> tuple[IncidentReport, list[object]]:
    """Complete a filed report with the items that followed (CAC measures)."""
    parent = _own_report(session, principal, report_id, incident_id)
    if parent.status != "filed" or parent.kind == ReportKind.SUPPLEMENT.value:
        raise Conflict("supplements follow a filed report")
    if not content:
        raise InvalidInput("a supplement carries at least one item")
    doc = docs.validate(docs.ReportContent, {**parent.content, **content}, "supplement")
    now = clock.now()
    # Only the new items are kept: the supplement reads as what followed the report.
    row = IncidentReport(id=new_id("rpt"), incident_id=parent.incident_id,
                         enterprise_id=parent.enterprise_id,
                         kind=ReportKind.SUPPLEMENT.value, recipient=parent.recipient,
                         parent_id=parent.id, due_at=None, status="filed",
                         content=doc.model_dump(mode="json", include=set(content)),
                         drafted_at=now, filed_at=now, filed_by=tl.actor_of(principal))
    session.add(row)
    tl.record(session, parent.incident_id, at=now, actor=tl.actor_of(principal),
              action="report_supplemented", report_id=row.id, parent_id=parent.id,
              items=sorted(content))
    session.flush()
    inc = session.get(Incident, parent.incident_id)
    assert inc is not None
    forwards.owe_forward(session, row, inc, policy=policy or DeadlinePolicy(), now=now)
    session.flush()
    return row, [ReportFiled(row.id, row.incident_id, row.enterprise_id, row.kind,
                             row.recipient, None, now)]


# -- the supervision department's side -----------------------------------------------


@dataclass(frozen=True)
class Inbox:
    reports: list[IncidentReport]
    escalations: list[Escalation]


def inbox(session: Session, principal: Principal, *, enterprise_id: str | None = None,
          limit: int = 200) -> Inbox:
    """Filed reports (newest first) and open escalations of every enterprise."""
    principal.require("incidents:read_all")
    repo = IncidentRepository(session, principal)
    rstmt = repo.reports().where(IncidentReport.status == "filed")
    estmt = repo.escalations().where(Escalation.cleared_at.is_(None))
    if enterprise_id is not None:
        rstmt = rstmt.where(IncidentReport.enterprise_id == enterprise_id)
        estmt = estmt.where(Escalation.enterprise_id == enterprise_id)
    return Inbox(
        reports=list(session.scalars(rstmt.order_by(IncidentReport.filed_at.desc(),
                                                    IncidentReport.id).limit(limit))),
        escalations=list(session.scalars(estmt.order_by(Escalation.escalated_at.desc(),
                                                        Escalation.id).limit(limit))))


def _people_owed(session: Session, now: datetime, policy: DeadlinePolicy
                 ) -> list[tuple[str, str, str, str | None, datetime]]:
    """Incidents whose people are still owed a notice (no notice reached them and no
    announcement covers them) after the "immediately" deadline, not yet flagged."""
    flagged = select(Escalation.ref_id).where(Escalation.subject == PEOPLE_NOTICE)
    cutoff = now - timedelta(hours=policy.immediate_notice_hours)
    out: list[tuple[str, str, str, str | None, datetime]] = []
    # an incident another node reported here (incidents/received.py) is judged by that
    # node's own sweep, which sees its notices; its escalations arrive as envelopes
    for inc in session.scalars(select(Incident).where(
            Incident.people_affected > 0, Incident.detected_at < cutoff,
            Incident.id.not_in(flagged), Incident.opened_by.not_like("system:node-inbox%"))
            .order_by(Incident.detected_at, Incident.id)):
        status = notice_status(session, inc, policy=policy, now=now)
        if status.overdue:
            out.append((PEOPLE_NOTICE, inc.id, inc.enterprise_id, inc.id, status.due_at))
    return out


def escalate_overdue(session: Session, now: datetime,
                     policy: DeadlinePolicy | None = None) -> list[ReportOverdue]:
    """The sweep (system job; idempotent): every report past its deadline with
    nothing filed, every incident whose people are still owed their notice past its
    deadline, and every ordered intervention not acknowledged in time, is flagged to
    the supervision department once, and noted on the incident."""
    out: list[ReportOverdue] = []
    due_reports = session.scalars(select(IncidentReport).where(
        IncidentReport.status == "draft", IncidentReport.due_at.is_not(None),
        IncidentReport.due_at < now).order_by(IncidentReport.due_at, IncidentReport.id))
    items: list[tuple[str, str, str, str | None, datetime]] = [
        (r.kind, r.id, r.enterprise_id, r.incident_id, r.due_at) for r in due_reports
        if r.due_at is not None and overdue(r.due_at, filed_at=None, now=now)]
    for iv in session.scalars(select(Intervention).where(
            Intervention.requires_ack.is_(True), Intervention.acknowledged_at.is_(None),
            Intervention.lifted_at.is_(None), Intervention.ack_due_at < now)):
        assert iv.ack_due_at is not None
        items.append((ACK_SUBJECT, iv.id, iv.enterprise_id, iv.incident_id, iv.ack_due_at))
    items += _people_owed(session, now, policy or DeadlinePolicy())
    refs = [ref for _, ref, _, _, _ in items]
    flagged = {(s, r) for s, r in session.execute(select(
        Escalation.subject, Escalation.ref_id).where(Escalation.ref_id.in_(refs)))}
    for subject, ref, ent, incident_id, due in items:
        if (subject, ref) in flagged:
            continue
        esc = Escalation(id=new_id("esc"), enterprise_id=ent, incident_id=incident_id,
                         subject=subject, ref_id=ref, due_at=due, escalated_at=now)
        session.add(esc)
        if incident_id is not None:
            tl.record(session, incident_id, at=now, actor=tl.SYSTEM_SWEEP, action="escalated",
                      escalation_id=esc.id, subject=subject, ref_id=ref, due_at=_iso(due))
        out.append(ReportOverdue(esc.id, incident_id, ent, subject, due, now))
    session.flush()
    return out


def parse_time(value: str, what: str) -> datetime:
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{what}: an ISO 8601 time with an offset") from None
    if t.tzinfo is None:
        raise InvalidInput(f"{what}: needs an offset, e.g. +08:00")
    return t
