"""What other packages may read of the public channel: plain values, never the ORM
rows (``channel/models.py`` is the channel's own): police referrals (who the case is
about and which police hold it) and the handling times of reports in a period.
Writes to the referral's log go through ``channel/referrals.py``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.channel.models import ChannelReferral, ChannelReport

# Audits run where the channel may not be installed yet (a store older than it).
REPORTS_TABLE: Final = ChannelReport.__tablename__


@dataclass(frozen=True, slots=True)
class ReferralInfo:
    id: str
    enterprise_id: str
    police_org_id: str


def referral(session: Session, referral_id: str) -> ReferralInfo | None:
    row = session.get(ChannelReferral, referral_id)
    return None if row is None else ReferralInfo(row.id, row.enterprise_id, row.police_org_id)


def report_timings(session: Session, enterprise_id: str, start: datetime, end: datetime
                   ) -> list[tuple[datetime, datetime | None, datetime, datetime | None,
                                   datetime]]:
    """(received, acknowledged, acknowledgement due, answered, answer due) of the
    reports received in [start, end)."""
    return [(r, a, ad, b, bd) for r, a, ad, b, bd in session.execute(select(
        ChannelReport.received_at, ChannelReport.acknowledged_at, ChannelReport.ack_due_at,
        ChannelReport.answered_at, ChannelReport.answer_due_at).where(
        ChannelReport.enterprise_id == enterprise_id, ChannelReport.received_at >= start,
        ChannelReport.received_at < end))]
