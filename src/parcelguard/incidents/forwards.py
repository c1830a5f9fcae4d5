"""The supervision department reports onward (seed 4.1.2: the department reports
emergencies to the cyberspace administration at once). Every report an enterprise
files about an incident graded relatively major or above lands in the department's
inbox and owes a forward to the cyberspace administration (an organisation of kind
``cac``), due ``forward_hours`` after the filing (CAC measures: a department that
receives a report of a major or particularly major incident reports on within half an
hour; parcelguard holds every reportable grade to it). The administration sees what is
owed to it, sent or not, and acknowledges each with a receipt: the levels watch each
other.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from parcelguard.core.clock import Clock
from parcelguard.core.errors import Conflict, InvalidInput, NotFound
from parcelguard.core.ids import new_id
from parcelguard.identity import read as identity_read
from parcelguard.identity.permissions import Principal
from parcelguard.incidents import timeline as tl
from parcelguard.incidents.deadlines import DeadlinePolicy, after_hours, on_time
from parcelguard.incidents.grading import Grade, reportable_to_cac
from parcelguard.incidents.models import ForwardedReport, Incident, IncidentReport


def owe_forward(session: Session, report: IncidentReport, inc: Incident, *,
                policy: DeadlinePolicy, now: datetime) -> ForwardedReport | None:
    """A filed report of a reportable grade owes a forward (once per report)."""
    if report.status != "filed" or not reportable_to_cac(Grade(inc.grade)):
        return None
    if session.scalars(select(ForwardedReport.id).where(
            ForwardedReport.report_id == report.id)).first() is not None:
        return None
    row = ForwardedReport(id=new_id("fwd"), report_id=report.id, incident_id=inc.id,
                          enterprise_id=inc.enterprise_id, to_org_id=None, grade=inc.grade,
                          status="pending", due_at=after_hours(now, policy.forward_hours),
                          created_at=now)
    session.add(row)
    tl.record(session, inc.id, at=now, actor="system:supervision-inbox",
              action="forward_owed", forward_id=row.id, report_id=report.id,
              due_at=row.due_at.isoformat())
    return row


def _visible(principal: Principal) -> Select[ForwardedReport]:
    stmt = select(ForwardedReport)
    if principal.can("incidents:forward") or principal.can("incidents:read_all"):
        return stmt
    principal.require("incidents:receive")
    # the administration sees what was sent to it, and what is still owed to it
    return stmt.where(or_(ForwardedReport.to_org_id == principal.org_id,
                          ForwardedReport.to_org_id.is_(None)))


def listing(session: Session, principal: Principal, *, status: str | None = None
            ) -> list[ForwardedReport]:
    stmt = _visible(principal)
    if status is not None:
        stmt = stmt.where(ForwardedReport.status == status)
    return list(session.scalars(stmt.order_by(ForwardedReport.due_at, ForwardedReport.id)))


def _one(session: Session, principal: Principal, forward_id: str) -> ForwardedReport:
    row = session.scalars(_visible(principal).where(ForwardedReport.id == forward_id)).first()
    if row is None:
        raise NotFound(f"no forward {forward_id}")
    return row


def _administration(session: Session, to_org_id: str | None) -> str:
    orgs = identity_read.org_ids(session, "cac")
    if to_org_id is not None:
        if to_org_id not in orgs:
            raise NotFound(f"no cyberspace administration {to_org_id}")
        return to_org_id
    if not orgs:
        raise InvalidInput("no cyberspace administration is registered: "
                           "parcelguard org create ID --kind cac --name NAME")
    if len(orgs) > 1:
        raise InvalidInput(f"several cyberspace administrations ({', '.join(orgs)}): "
                           "name the one to send to")
    return orgs[0]


def send(session: Session, principal: Principal, *, forward_id: str, clock: Clock,
         to_org_id: str | None = None) -> ForwardedReport:
    """The supervision department forwards the report onward."""
    principal.require("incidents:forward")
    row = _one(session, principal, forward_id)
    if row.status != "pending":
        raise Conflict(f"forward {forward_id} is already {row.status}")
    now = clock.now()
    row.to_org_id = _administration(session, to_org_id)
    row.status, row.sent_at, row.sent_by = "sent", now, tl.actor_of(principal)
    row.on_time = on_time(row.due_at, now)
    tl.record(session, row.incident_id, at=now, actor=row.sent_by, action="forwarded",
              forward_id=row.id, to=row.to_org_id, on_time=row.on_time)
    session.flush()
    return row


def acknowledge(session: Session, principal: Principal, *, forward_id: str,
                clock: Clock) -> ForwardedReport:
    """The cyberspace administration acknowledges a forwarded report: its receipt."""
    principal.require("incidents:receive")
    row = _one(session, principal, forward_id)
    if row.status != "sent" or row.to_org_id != principal.org_id:
        raise Conflict(f"forward {forward_id} is {row.status}: only a report sent to your "
                       "administration can be acknowledged")
    now = clock.now()
    row.status, row.received_at, row.received_by = "received", now, tl.actor_of(principal)
    row.receipt = f"CAC-{secrets.token_hex(6).upper()}"
    tl.record(session, row.incident_id, at=now, actor=row.received_by,
              action="forward_received", forward_id=row.id, receipt=row.receipt)
    session.flush()
    return row


def forwarded_report(session: Session, principal: Principal, *,
                     forward_id: str) -> tuple[ForwardedReport, IncidentReport]:
    """The filed report a forward carries, as filed: what the administration reads
    before its receipt. A forward still owed carries nothing yet (the administration
    sees that it is owed, not the report); the supervision department reads every one."""
    row = _one(session, principal, forward_id)
    if row.status == "pending" and not (principal.can("incidents:forward")
                                        or principal.can("incidents:read_all")):
        raise NotFound.of("no forwarded report %(id)s", id=forward_id)
    report = session.get(IncidentReport, row.report_id)
    if report is None:
        raise NotFound.of("no forwarded report %(id)s", id=forward_id)
    return row, report


def overdue(rows: list[ForwardedReport], now: datetime) -> list[ForwardedReport]:
    return [r for r in rows if r.status == "pending" and now > r.due_at]
