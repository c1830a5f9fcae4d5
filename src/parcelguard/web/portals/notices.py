"""The PIPL Art. 57 notices of an incident on its case page, as ``incidents notify``
and ``incidents announce`` do them on the command line: where the notices stand
(people affected, reached, unreachable, still owed, by when), the text people will
receive, read before sending, then sending it on a channel, and the public
announcement for those no channel reached, each after a confirmation. People are
counted, never listed: the notices table holds pseudonyms and masked destinations."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.incidents.models import Incident, Intervention, Notice
from parcelguard.incidents.notices import (
    ANNOUNCEMENT,
    MEASURE_TEXT,
    contacts_for,
    notice_status,
    notify_affected,
)
from parcelguard.incidents.notices import announce as publish
from parcelguard.incidents.notify import Notifier, compose
from parcelguard.incidents.service import policy_of
from parcelguard.web.sections import Action, Cell, Input, Section, due_cell

if TYPE_CHECKING:
    from parcelguard.core.clock import Clock
    from parcelguard.incidents.settings import IncidentSettings
    from parcelguard.web.auth import Staff

CONFIRM_SEND = Input("confirm", "I have read the text; notices cannot be called back",
                     "checkbox", required=True)
# what people read for the notice table's codes
CHANNEL_LABELS = {"sms": "SMS", "email": "e-mail", "in_app": "in the app",
                  "announce": "Public announcement"}
STATUS_LABELS = {"sent": "reached", "no_address": "no address on file",
                 "failed": "sending failed"}
_ENGLISH_GLOSS = re.compile(r"\s*\([A-Za-z][A-Za-z ,'-]*\)")


def notice_text(session: Session, inc: Incident, locale: str) -> str:
    """The notice as it would be sent now, in the page's language. The message is
    sent in Chinese and English together; each half is what its reader reads (the
    measures' English glosses belong to the English half)."""
    measures = [MEASURE_TEXT.get(iv.kind, iv.kind) for iv in session.scalars(
        select(Intervention).where(Intervention.incident_id == inc.id,
                                   Intervention.lifted_at.is_(None)))]
    en, zh = contacts_for(session, inc)
    text = compose(inc, measures=measures, contact=en, contact_zh=zh).text()
    zh, sep, en = text.partition(" / Your ")
    if locale == "zh-CN" or not sep:
        return _ENGLISH_GLOSS.sub("", zh)
    return f"Your {en}"


def notices_sections(session: Session, staff: Staff, inc: Incident, *, now: datetime,
                     settings: IncidentSettings, channels: Iterable[str], locale: str,
                     base: str) -> list[Section]:
    status = notice_status(session, inc, policy=policy_of(settings), now=now)
    manage = staff.principal.can("incidents:manage") and \
        inc.enterprise_id == staff.principal.org_id
    facts = Section("Notices to affected people", facts=[
        ("People affected", status.people_affected), ("Notified", status.notified),
        ("Unreachable on the channels tried", status.unreachable),
        ("Public announcement", Cell("yes" if status.announced else "no", translate=True)),
        ("Still owed a notice", Cell(status.owed, cls="overdue" if status.overdue else None)),
        ("Notices due", status.due_at),
        ("Timer", due_cell(status.due_at, None if status.owed else status.due_at, now)
         if status.people_affected else Cell(None))], html_id="notices",
        intro="PIPL Art. 57: tell each affected person what leaked, why, the possible "
              "harm, what was done and what they can do.")
    rows = list(session.scalars(select(Notice).where(Notice.incident_id == inc.id)
                                .order_by(Notice.sent_at)))
    sent = Section("Notices sent", ["Channel", "Status", "People", "Last sent",
                                    "Where published"], html_id="notices-sent",
                   empty="No notice sent yet.")
    counts: Counter[tuple[str, str]] = Counter()
    last: dict[tuple[str, str], datetime] = {}
    where: dict[tuple[str, str], str | None] = {}
    for n in rows:
        key = (n.channel, n.status)
        counts[key] += 1
        last[key] = max(last.get(key, n.sent_at), n.sent_at)
        if n.channel == ANNOUNCEMENT:
            where[key] = n.destination
    for key in sorted(counts):
        ch, st = key
        sent.add([Cell(CHANNEL_LABELS.get(ch, ch), translate=True),
                  Cell(STATUS_LABELS.get(st, st), translate=True),
                  None if ch == ANNOUNCEMENT else counts[key], last[key], where.get(key)])
    out = [facts, sent]
    if manage:
        text = Section("The notice people receive", facts=[
            ("Text", notice_text(session, inc, locale))], html_id="notice-text",
            intro="Sent in Chinese and English together; read it before sending.")
        options = tuple((c, CHANNEL_LABELS.get(c, c)) for c in channels)
        if status.people_affected and options:
            text.forms.append(Action(f"{base}/{inc.id}/notify", "Send the notice",
                                     inputs=(Input("channel", "Channel", "select", options),
                                             CONFIRM_SEND)))
        text.forms.append(Action(
            f"{base}/{inc.id}/announce", "Publish the announcement", inputs=(
                Input("where", "Where it is published (e.g. website and app home page)",
                      required=True), CONFIRM_SEND), secondary=True))
        out.append(text)
    return out


def notify(session: Session, staff: Staff, incident_id: str, v: dict[str, str], *,
           notifiers: Mapping[str, Notifier], clock: Clock) -> tuple[str, dict[str, str]]:
    """Send on the chosen channel (people already reached there are skipped)."""
    run = notify_affected(session, staff.principal, incident_id=incident_id,
                          channel=v.get("channel", ""), notifiers=notifiers, clock=clock)
    return ("Notices sent: %(sent)s; unreachable: %(unreachable)s; already notified: "
            "%(already)s.", {"sent": str(run.sent), "unreachable": str(run.unreachable),
                              "already": str(run.already)})


def announce(session: Session, staff: Staff, incident_id: str, v: dict[str, str], *,
             clock: Clock) -> str:
    publish(session, staff.principal, incident_id=incident_id, where=v.get("where", ""),
            clock=clock)
    return "Announcement published."
