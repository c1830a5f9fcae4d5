"""Statutory deadlines of an incident, computed in event time. Pure functions.

Clocks start at detection (the moment the evidence completed, in event time, so a
replayed week keeps its deadlines). Two ways of counting, as Chinese law counts:

- hour periods run from the moment itself (Civil Code Art. 201 para. 2): 4 h to the
  provincial cyberspace administration for relatively major and above, 1 h for
  critical-information-infrastructure operators (CAC measures); the PIPL Art. 57
  "immediate" notice and the postal authority's report (Express Delivery Interim
  Regulations Art. 34), whose hours are interpretations kept in settings;
- day periods start on the next day and end at 24:00 of the last day (Civil Code
  Arts. 201 para. 1, 203): the summary report "within 30 days after handling ends"
  is due at local midnight ending the 30th day after the day of resolution, in the
  configured time zone (Asia/Shanghai). Holidays that would extend the last day
  (Art. 203 para. 1) are not modelled: parcelguard is never later than the law.

All results are timezone-aware UTC instants; ``local`` shows them in the policy's
zone. Naive datetimes are refused: a deadline must never depend on the machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from parcelguard.incidents.grading import Grade, reportable_to_cac


class ReportKind(StrEnum):
    CAC_INITIAL = "cac_initial"  # to the provincial cyberspace administration
    # CII operators report within the hour to their protecting department (CAC_INITIAL)
    # and to the public-security organ (this one): both are tracked.
    CII_POLICE = "cii_police"
    PIPL_NOTICE = "pipl_notice"  # PIPL Art. 57 notice to the regulator, below CAC grades
    POSTAL = "postal"  # Express Delivery Interim Regulations Art. 34
    SUMMARY = "summary"  # within 30 days after handling ends
    SUPPLEMENT = "supplement"  # follows a first report; no deadline of its own


INITIAL_KINDS: Final = frozenset({ReportKind.CAC_INITIAL, ReportKind.CII_POLICE,
                                  ReportKind.PIPL_NOTICE, ReportKind.POSTAL})


class Recipient(StrEnum):
    PROVINCIAL_CAC = "provincial_cac"
    # CII operators report to their protecting department and the police (CAC measures).
    CII_PROTECTING_DEPARTMENT = "cii_protecting_department"
    SUPERVISION_DEPARTMENT = "supervision_department"
    POSTAL_AUTHORITY = "local_postal_authority"
    PUBLIC_SECURITY = "public_security_organ"


BASIS: Final[dict[ReportKind, str]] = {
    ReportKind.CAC_INITIAL: "CAC National Cybersecurity Incident Reporting Measures: "
                            "relatively major and above, 4 h (CII operators 1 h)",
    ReportKind.CII_POLICE: "CAC measures: critical-information-infrastructure operators "
                           "also report to the public-security organ, 1 h",
    ReportKind.PIPL_NOTICE: "PIPL Art. 57: immediate notice to the regulator",
    ReportKind.POSTAL: "Express Delivery Interim Regulations Art. 34: report to the local "
                       "postal authority",
    ReportKind.SUMMARY: "CAC measures: summary within 30 days after handling ends",
}


@dataclass(frozen=True)
class DeadlinePolicy:
    """The figures (from IncidentSettings) and the zone whose calendar counts days."""

    report_hours: float = 4.0
    cii_report_hours: float = 1.0
    immediate_notice_hours: float = 24.0
    postal_report_hours: float = 24.0
    summary_days: int = 30
    forward_hours: float = 0.5
    timezone: str = "Asia/Shanghai"

    @property
    def tz(self) -> tzinfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Obligation:
    kind: ReportKind
    recipient: Recipient
    due_at: datetime
    basis: str


def _aware(t: datetime, what: str) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{what} needs a time zone")
    return t.astimezone(UTC)


def after_hours(start: datetime, hours: float) -> datetime:
    """An hour period: elapsed time from the instant (UTC arithmetic, so a daylight
    saving change in some zone neither adds nor removes an hour)."""
    return _aware(start, "start") + timedelta(hours=hours)


def after_days(start: datetime, days: int, zone: tzinfo) -> datetime:
    """A day period: ends at 24:00 local of the ``days``-th day after the local day
    of ``start`` (so resolving at 23:59 or at 00:01 can differ by a whole day)."""
    local_day = _aware(start, "start").astimezone(zone).date()
    end_day = local_day + timedelta(days=days + 1)  # 24:00 of day N is 00:00 of N+1
    return datetime.combine(end_day, time(0), tzinfo=zone).astimezone(UTC)


def initial_obligations(grade: Grade, *, detected_at: datetime, cii: bool,
                        policy: DeadlinePolicy) -> list[Obligation]:
    """The reports due after detection for an incident of ``grade``."""
    out: list[Obligation] = []
    if reportable_to_cac(grade):
        hours = policy.cii_report_hours if cii else policy.report_hours
        recipient = Recipient.CII_PROTECTING_DEPARTMENT if cii else Recipient.PROVINCIAL_CAC
        out.append(Obligation(ReportKind.CAC_INITIAL, recipient,
                              after_hours(detected_at, hours), BASIS[ReportKind.CAC_INITIAL]))
        if cii:
            out.append(Obligation(ReportKind.CII_POLICE, Recipient.PUBLIC_SECURITY,
                                  after_hours(detected_at, hours),
                                  BASIS[ReportKind.CII_POLICE]))
    else:
        out.append(Obligation(ReportKind.PIPL_NOTICE, Recipient.SUPERVISION_DEPARTMENT,
                              after_hours(detected_at, policy.immediate_notice_hours),
                              BASIS[ReportKind.PIPL_NOTICE]))
    out.append(Obligation(ReportKind.POSTAL, Recipient.POSTAL_AUTHORITY,
                          after_hours(detected_at, policy.postal_report_hours),
                          BASIS[ReportKind.POSTAL]))
    return out


def summary_obligation(grade: Grade, *, resolved_at: datetime, cii: bool,
                       policy: DeadlinePolicy) -> Obligation:
    """The summary goes where the first report went."""
    if reportable_to_cac(grade):
        recipient = Recipient.CII_PROTECTING_DEPARTMENT if cii else Recipient.PROVINCIAL_CAC
    else:
        recipient = Recipient.SUPERVISION_DEPARTMENT
    return Obligation(ReportKind.SUMMARY, recipient,
                      after_days(resolved_at, policy.summary_days, policy.tz),
                      BASIS[ReportKind.SUMMARY])


def people_notice_due(detected_at: datetime, policy: DeadlinePolicy) -> datetime:
    """PIPL Art. 57 notices to the affected people, every grade: "immediately"."""
    return after_hours(detected_at, policy.immediate_notice_hours)


def acknowledgement_due(ordered_at: datetime, hours: float) -> datetime:
    return after_hours(ordered_at, hours)


def on_time(due_at: datetime, filed_at: datetime) -> bool:
    """Filed at or before the deadline (the deadline instant itself still counts)."""
    return _aware(filed_at, "filed_at") <= _aware(due_at, "due_at")


def overdue(due_at: datetime, *, filed_at: datetime | None, now: datetime) -> bool:
    """Not filed and past due at ``now``."""
    return filed_at is None and _aware(now, "now") > _aware(due_at, "due_at")


def local(t: datetime, policy: DeadlinePolicy) -> datetime:
    return _aware(t, "time").astimezone(policy.tz)
