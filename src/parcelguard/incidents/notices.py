"""Sending the PIPL Art. 57 notices of an incident through a notifier, once per
person and channel, with the outcome on the incident's timeline."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.core.clock import Clock
from parcelguard.core.errors import InvalidInput
from parcelguard.core.ids import new_id
from parcelguard.identity import read as identity_read
from parcelguard.identity.permissions import Principal
from parcelguard.incidents import plans
from parcelguard.incidents import timeline as tl
from parcelguard.incidents.deadlines import DeadlinePolicy, people_notice_due
from parcelguard.incidents.models import Escalation, Incident, Intervention, Notice
from parcelguard.incidents.notify import CHANNELS, Notifier, addressees, compose
from parcelguard.incidents.repository import IncidentRepository

MEASURE_TEXT = {"suspend_employee": "暂停涉事员工的个人信息访问权限 (access suspended)",
                "revoke_api_key": "吊销涉事接口密钥 (API key revoked)",
                "block_device": "停用涉事设备 (device blocked)",
                "freeze_partner": "暂停向涉事合作方共享 (partner sharing frozen)"}


# The public announcement (GB/T 35273-2020 §10.2: where notifying each person is
# difficult, an announcement in a reasonable and effective way): one row per incident
# in the notices table, on this channel, for this pseudo-subject.
ANNOUNCEMENT = "announce"
PUBLIC = "public"
# Escalation subject of people still owed their notice past its deadline (ref: incident).
PEOPLE_NOTICE = "people_notice"


@dataclass(frozen=True)
class NoticeStatus:
    """Where the PIPL Art. 57 notices of an incident stand: people the evidence counts,
    people a notice reached, people tried but unreachable, whether the public
    announcement covers the rest, and who is still owed a notice by when."""

    people_affected: int
    notified: int
    unreachable: int
    announced: bool
    owed: int
    due_at: datetime
    overdue: bool

    def as_dict(self) -> dict[str, object]:
        return {"people_affected": self.people_affected, "notified": self.notified,
                "unreachable": self.unreachable, "announced": self.announced,
                "owed": self.owed, "due_at": self.due_at.isoformat(),
                "overdue": self.overdue}


def notice_status(session: Session, inc: Incident, *, policy: DeadlinePolicy,
                  now: datetime) -> NoticeStatus:
    rows = list(session.execute(select(Notice.subject_id, Notice.channel, Notice.status)
                                .where(Notice.incident_id == inc.id)))
    announced = any(ch == ANNOUNCEMENT for _, ch, _ in rows)
    reached = {s for s, ch, st in rows if ch != ANNOUNCEMENT and st == "sent"}
    tried = {s for s, ch, _ in rows if ch != ANNOUNCEMENT}
    owed = 0 if announced else max(inc.people_affected - len(reached), 0)
    due = people_notice_due(inc.detected_at, policy)
    return NoticeStatus(inc.people_affected, len(reached), len(tried - reached), announced,
                        owed, due, owed > 0 and now > due)


def announce(session: Session, principal: Principal, *, incident_id: str, where: str,
             clock: Clock) -> Notice:
    """Publish the notice publicly for the people no channel reached (or could not be
    identified): the announcement names where it appeared; a second call updates it."""
    inc = IncidentRepository(session, principal).own_incident(incident_id, "incidents:manage")
    where = tl.clean_text(where, "where", max_len=64)
    measures = [MEASURE_TEXT.get(iv.kind, iv.kind) for iv in session.scalars(
        select(Intervention).where(Intervention.incident_id == inc.id,
                                   Intervention.lifted_at.is_(None)))]
    en, zh = contacts_for(session, inc)
    record = compose(inc, measures=measures, contact=en, contact_zh=zh).as_record()
    row = session.scalars(select(Notice).where(Notice.incident_id == inc.id,
                                               Notice.channel == ANNOUNCEMENT)).first()
    if row is None:
        row = Notice(id=new_id("ntc"), incident_id=inc.id, enterprise_id=inc.enterprise_id,
                     subject_id=PUBLIC, channel=ANNOUNCEMENT)
        session.add(row)
    now = clock.now()
    row.destination, row.status, row.content = where, "sent", record
    row.sent_at, row.sent_by = now, tl.actor_of(principal)
    tl.record(session, inc.id, at=now, actor=row.sent_by, action="people_announced",
              where=where)
    _clear_people_escalation(session, inc.id, now)
    session.flush()
    return row


def _clear_people_escalation(session: Session, incident_id: str, at: datetime) -> None:
    """Nobody is owed a notice any more: the escalation (if any) is off the open list."""
    for esc in session.scalars(select(Escalation).where(
            Escalation.subject == PEOPLE_NOTICE, Escalation.ref_id == incident_id,
            Escalation.cleared_at.is_(None))):
        esc.cleared_at = at


@dataclass(frozen=True)
class NoticeRun:
    channel: str
    sent: int
    unreachable: int
    already: int

    def as_dict(self) -> dict[str, object]:
        return {"channel": self.channel, "sent": self.sent, "unreachable": self.unreachable,
                "already_notified": self.already}


def contact_for(session: Session, inc: Incident) -> str:
    """The contact the emergency plan in force names for the public (a role whose
    name mentions the public, customers or privacy), else its first contact, else
    the enterprise's customer service."""
    plan = plans.in_force(session, inc.enterprise_id, "emergency")
    contacts = plan.content.get("contacts", []) if plan else []
    for c in contacts:
        if any(w in c["role"].lower() for w in ("public", "customer", "privacy", "客服")):
            return f"{c['unit']} {c.get('reach', '')}".strip()
    if contacts:
        return f"{contacts[0]['unit']} {contacts[0].get('reach', '')}".strip()
    return f"{identity_read.org_name(session, inc.enterprise_id)} customer service"


def contacts_for(session: Session, inc: Incident) -> tuple[str, str]:
    """(English, Chinese) contact of the notice: the plan's contact as typed, in both
    halves; the carrier's customer service named in each half's language."""
    contact = contact_for(session, inc)
    name = identity_read.org_name(session, inc.enterprise_id)
    if contact == f"{name} customer service":
        return contact, f"{name} 客服"
    return contact, contact


def notify_affected(session: Session, principal: Principal, *, incident_id: str, channel: str,
                    notifiers: Mapping[str, Notifier], clock: Clock) -> NoticeRun:
    """Notify every affected person the evidence names on ``channel`` (people already
    notified there are skipped, so a re-run reaches only those added since)."""
    inc = IncidentRepository(session, principal).own_incident(incident_id, "incidents:manage")
    return send_notices(session, inc, channel=channel, notifiers=notifiers,
                        actor=tl.actor_of(principal), clock=clock)


def send_notices(session: Session, inc: Incident, *, channel: str,
                 notifiers: Mapping[str, Notifier], actor: str, clock: Clock) -> NoticeRun:
    if channel not in CHANNELS or channel not in notifiers:
        raise InvalidInput(f"channel must be one of {', '.join(sorted(notifiers))}")
    notifier = notifiers[channel]
    # One row per person and channel; a failed send is retried in place.
    rows = {n.subject_id: n for n in session.scalars(select(Notice).where(
        Notice.incident_id == inc.id, Notice.channel == channel))}
    measures = [MEASURE_TEXT.get(iv.kind, iv.kind) for iv in session.scalars(
        select(Intervention).where(Intervention.incident_id == inc.id,
                                   Intervention.lifted_at.is_(None)))]
    en, zh = contacts_for(session, inc)
    message = compose(inc, measures=measures, contact=en, contact_zh=zh)
    record = message.as_record()
    outcomes: Counter[str] = Counter()
    now = clock.now()
    pending = []
    for to in addressees(session, inc):
        row = rows.get(to.subject_id)
        if row is not None and row.status != "failed":
            outcomes["already"] += 1
        else:
            pending.append(to)
    deliveries = notifier.send(session, pending, message) if pending else []
    for to, delivery in zip(pending, deliveries, strict=True):
        row = rows.get(to.subject_id)
        outcomes[delivery.status] += 1
        if row is None:
            row = Notice(id=new_id("ntc"), incident_id=inc.id, enterprise_id=inc.enterprise_id,
                         subject_id=to.subject_id, channel=channel)
            session.add(row)
        row.destination, row.status, row.content = delivery.destination, delivery.status, record
        row.sent_at, row.sent_by = now, actor
    run = NoticeRun(channel, outcomes["sent"], outcomes["no_address"] + outcomes["failed"],
                    outcomes["already"])
    tl.record(session, inc.id, at=now, actor=actor, action="people_notified", channel=channel,
              sent=run.sent, unreachable=run.unreachable)
    session.flush()
    if notice_status(session, inc, policy=DeadlinePolicy(), now=now).owed == 0:
        _clear_people_escalation(session, inc.id, now)
    session.flush()
    return run
