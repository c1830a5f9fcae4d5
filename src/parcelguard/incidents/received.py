"""Reports and escalations that reached the supervision department from an
enterprise's node (docs/deployment.md): each becomes a record of the department's own
store, so its inbox, incident views and forwards read it as they read a report filed
in a single-process store.

The enterprise keeps the incident and its evidence; what arrives are ids, codes and
counts (node/relay.py ``report_body``). The department's copy of the incident holds
those (category, grade, people and records affected by category) under the
enterprise's incident id; the report keeps the enterprise's report id, its kind,
recipient, filing time and punctuality. A report of a grade the cyberspace
administration must hear of owes a forward (forwards.py), as on a single store.
Ids are the sender's: a record whose id another enterprise already holds here is
not overwritten (the envelope stays, as received, in the node's inbox).

The cyberspace administration's node likewise holds a report the department forwarded
to it as its own forward record (``record_forward``), which it acknowledges as on a
shared store; the receipt, sent back, marks the department's forward received
(``record_forward_receipt``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.core.clock import Clock, aware_time
from parcelguard.core.errors import Conflict
from parcelguard.identity.service import ensure_enterprises
from parcelguard.incidents import timeline as tl
from parcelguard.incidents.deadlines import DeadlinePolicy
from parcelguard.incidents.forwards import owe_forward
from parcelguard.incidents.model import DEFAULT_CAUSE, Category, State
from parcelguard.incidents.models import (
    Escalation,
    ForwardedReport,
    Incident,
    IncidentReport,
)

RECEIVED = "system:node-inbox"


class NotYet(Conflict):
    """A message that refers to one not received yet (delivery order is not
    guaranteed): refused, so its sender retries it later."""

    code = "not_yet"


def _str(body: dict[str, Any], key: str, max_len: int = 64) -> str | None:
    value = body.get(key)
    return value if isinstance(value, str) and 0 < len(value) <= max_len else None


def record_report(session: Session, enterprise_id: str, body: dict[str, Any], *,
                  clock: Clock, policy: DeadlinePolicy) -> IncidentReport | None:
    """The department's record of a report ``enterprise_id`` filed (an
    ``incident_report`` or ``incident_supplement`` body); None when the body does not
    name a report and its incident, or the ids are another enterprise's here."""
    held = _report(session, enterprise_id, body, clock=clock)
    if held is None:
        return None
    row, inc, new = held
    if new:
        owe_forward(session, row, inc, policy=policy, now=clock.now())
        session.flush()
    return row


def _report(session: Session, enterprise_id: str, body: dict[str, Any], *,
            clock: Clock) -> tuple[IncidentReport, Incident, bool] | None:
    """The report the body names and its incident, held here (made the first time:
    ``new``); None when the body names none or the ids are another enterprise's."""
    report_id, incident_id = _str(body, "report"), _str(body, "incident")
    category = body.get("category")
    if report_id is None or incident_id is None or category not in {c.value for c in Category}:
        return None
    now = clock.now()
    filed_at = aware_time(body.get("filed_at")) or now
    ensure_enterprises(session, {enterprise_id}, clock)
    inc = session.get(Incident, incident_id)
    if inc is not None and inc.enterprise_id != enterprise_id:
        return None
    records = {str(k): int(v) for k, v in (body.get("records") or {}).items()
               if isinstance(v, int)} if isinstance(body.get("records"), dict) else {}
    people = body.get("people_affected")
    grade = _str(body, "grade", 20) or "general"
    if inc is None:
        cat = Category(category)
        inc = Incident(
            id=incident_id, enterprise_id=enterprise_id,
            title=f"{cat.value} reported by {enterprise_id}", category=cat.value,
            cause_class=DEFAULT_CAUSE[cat].value, state=State.DETECTED.value,
            source="manual", affected_system="", grade=grade, subject_key=None,
            people_affected=people if isinstance(people, int) else 0,
            records_affected=sum(records.values()), unattributed_records=0, data_types=[],
            records_by_category=records, evidence_event_ids=[],
            actor_ids=[], insider=category == Category.INSIDER_ABUSE.value, cii=False,
            detected_at=filed_at, occurred_at=None, last_moved_at=filed_at,
            opened_by=f"{RECEIVED}:{enterprise_id}", created_at=filed_at)
        session.add(inc)
        session.flush()
        tl.record(session, inc.id, at=now, actor=RECEIVED, action="opened",
                  source="report", source_ref=report_id, category=inc.category,
                  grade=inc.grade, people=inc.people_affected, records=inc.records_affected)
    else:  # a later report (a supplement) carries the incident's figures as they stand
        inc.grade = grade
        if isinstance(people, int):
            inc.people_affected = people
        if records:
            inc.records_by_category, inc.records_affected = records, sum(records.values())
    row = session.get(IncidentReport, report_id)
    if row is not None:
        return (row, inc, False) if row.enterprise_id == enterprise_id else None
    on_time = body.get("on_time")
    row = IncidentReport(
        id=report_id, incident_id=inc.id, enterprise_id=enterprise_id,
        kind=_str(body, "report_kind", 16) or "postal",
        recipient=_str(body, "recipient", 32) or "supervisor",
        parent_id=_str(body, "parent"), due_at=None, status="filed",
        content={"received_from": enterprise_id, "records": records}, drafted_at=filed_at,
        filed_at=filed_at, filed_by=f"node:{enterprise_id}",
        on_time=on_time if isinstance(on_time, bool) else None)
    session.add(row)
    session.flush()
    tl.record(session, inc.id, at=now, actor=RECEIVED, action="report_received",
              report_id=row.id, kind=row.kind)
    return row, inc, True


def record_forward(session: Session, department_org: str, body: dict[str, Any], *,
                   administration: str, clock: Clock) -> ForwardedReport | None:
    """The cyberspace administration's record of a report a department forwarded to
    it (an ``onward_report`` body about an ``incident_report``): the incident and
    report as the department holds them (ids, codes, counts) and the forward under
    the department's id, ``sent`` to ``administration``, so its forward list and
    receipt (forwards.py ``acknowledge``) work on it as on a shared store. None when
    the body names none, or the ids are taken here by another record."""
    fwd_id, enterprise_id = _str(body, "forward"), _str(body, "enterprise")
    if fwd_id is None or enterprise_id is None:
        return None
    held = session.get(ForwardedReport, fwd_id)
    if held is not None:
        return held if held.to_org_id == administration else None
    got = _report(session, enterprise_id, {k: v for k, v in body.items() if k != "on_time"},
                  clock=clock)
    if got is None:
        return None
    report, inc, _ = got
    if session.scalars(select(ForwardedReport.id).where(
            ForwardedReport.report_id == report.id)).first() is not None:
        return None
    now = clock.now()
    sent_at = aware_time(body.get("sent_at")) or now
    on_time = body.get("on_time")
    row = ForwardedReport(
        id=fwd_id, report_id=report.id, incident_id=inc.id, enterprise_id=enterprise_id,
        to_org_id=administration, grade=_str(body, "grade", 20) or inc.grade, status="sent",
        due_at=aware_time(body.get("due_at")) or sent_at, created_at=now, sent_at=sent_at,
        sent_by=f"node:{department_org}"[:140],
        on_time=on_time if isinstance(on_time, bool) else None)
    session.add(row)
    session.flush()
    tl.record(session, inc.id, at=now, actor=RECEIVED, action="forward_arrived",
              forward_id=row.id, report_id=report.id, sent_by=row.sent_by)
    return row


def record_forward_receipt(session: Session, administration: str, body: dict[str, Any], *,
                           clock: Clock) -> ForwardedReport | None:
    """The department's forward, received: the administration's receipt for it
    (``forward_receipt``: the forward, its receipt, when and by whom). Once: a
    forward already received keeps its first receipt. None for a forward not sent
    to that administration."""
    fwd_id, receipt = _str(body, "forward"), _str(body, "receipt", 32)
    row = session.get(ForwardedReport, fwd_id) if fwd_id is not None else None
    if row is None or receipt is None or row.to_org_id != administration:
        return None
    if row.status == "received":
        return row
    if row.status != "sent":
        return None
    row.status, row.receipt = "received", receipt
    row.received_at = aware_time(body.get("received_at")) or clock.now()
    row.received_by = (_str(body, "received_by", 140) or f"node:{administration}")
    tl.record(session, row.incident_id, at=clock.now(), actor=f"node:{administration}",
              action="forward_received", forward_id=row.id, receipt=row.receipt)
    session.flush()
    return row


def record_escalation(session: Session, enterprise_id: str, body: dict[str, Any], *,
                      clock: Clock) -> Escalation | None:
    """The department's record of an escalation an enterprise's sweep raised (an
    overdue report, notice or acknowledgement), or of its clearing (a body with only
    the escalation and ``cleared_at``); None for a body that names none, or one
    already held."""
    esc_id, subject, ref_id = (_str(body, "escalation"), _str(body, "subject", 24),
                               _str(body, "ref"))
    cleared_at = aware_time(body.get("cleared_at"))
    if esc_id is not None and subject is None and cleared_at is not None:
        # the enterprise cleared it (the report filed late, the notice sent)
        held = session.get(Escalation, esc_id)
        if held is None:
            # overtook the escalation it clears: refused for now, the sender retries
            raise NotYet(f"escalation {esc_id} is not here yet")
        if held.enterprise_id != enterprise_id:
            return None
        if held.cleared_at is None:
            held.cleared_at = cleared_at
            session.flush()
        return held
    due_at, escalated_at = aware_time(body.get("due_at")), aware_time(body.get("escalated_at"))
    if esc_id is None or subject is None or ref_id is None or due_at is None \
            or escalated_at is None:
        return None
    if session.get(Escalation, esc_id) is not None or session.scalars(select(Escalation.id).where(
            Escalation.subject == subject, Escalation.ref_id == ref_id)).first() is not None:
        return None
    row = Escalation(id=esc_id, enterprise_id=enterprise_id,
                     incident_id=_str(body, "incident"), subject=subject, ref_id=ref_id,
                     due_at=due_at, escalated_at=escalated_at,
                     cleared_at=cleared_at)
    session.add(row)
    session.flush()
    return row
