"""The public side of the channel: filing a report without an account, and following
it up with the receipt code and secret.

Abuse resistance without turning people away: reports are counted per source (a
keyed hash of the address, so the table cannot be reversed into IP addresses) and a
source over the hourly limit is asked to wait, but a source never seen before is
always accepted. Wrong secrets are counted per receipt code and per source; the
answer to a wrong secret is the same whether the receipt exists or not, and a locked
receipt refuses even the right secret until the lock ends.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.channel import attachments as att
from parcelguard.channel import receipts, rules, throttle
from parcelguard.channel.models import ChannelAttachment, ChannelReport, ChannelReportWaybill
from parcelguard.channel.repository import (
    ReportRepository,
    add_message,
    enterprise_or_404,
    open_fields,
)
from parcelguard.channel.settings import ChannelSettings
from parcelguard.core.clock import Clock
from parcelguard.core.errors import DomainError, InvalidInput
from parcelguard.core.ids import new_id
from parcelguard.logistics.identifiers import is_valid_waybill_no
from parcelguard.vault.blind_index import BlindIndexKey, blind_index, normalize_phone
from parcelguard.vault.service import SealItem, VaultService

SOURCE_DOMAIN = "channel-source/v1"
CALLER_DOMAIN = "channel-scam-caller/v1"
MAX_WAYBILLS = 50
WRONG = "the receipt code or the secret is wrong"
WAIT = "too many attempts; try again later"


class TooManyRequests(DomainError):
    status_code = 429
    code = "too_many_requests"


@dataclass(frozen=True)
class ReportIn:
    """A report as submitted. ``repr`` hides everything the reporter wrote."""

    kind: str
    body: str
    anonymous: bool = True
    reporter_name: str | None = None
    reporter_contact: str | None = None
    identity_consent: bool = False
    wants_police: bool = False
    waybills: Sequence[str] = ()
    scam_caller: str | None = None
    attachments: Sequence[tuple[str, bytes]] = field(default_factory=tuple)

    def __repr__(self) -> str:
        return (f"ReportIn(kind={self.kind!r}, anonymous={self.anonymous}, "
                f"waybills={len(self.waybills)}, <content hidden>)")


@dataclass(frozen=True)
class Filed:
    report_id: str
    receipt_code: str
    secret: str = field(repr=False)  # shown to the reporter once
    ack_due_at: datetime
    answer_due_at: datetime


@dataclass(frozen=True)
class Refusal:
    """A follow-up that was refused; the request still commits (the failure counts)."""

    status_code: int
    message: str


def source_hash(session: Session, vault: VaultService, enterprise_id: str,
                source: str | None, *, key: BlindIndexKey | None = None) -> str | None:
    if not source:
        return None
    key = key or vault.blind_index_key(session, enterprise_id)
    return blind_index(key, domain=SOURCE_DOMAIN, value=source.strip().lower()).hex()


def _text(value: str, what: str, limit: int) -> str:
    text = value.strip()
    if not text:
        raise InvalidInput(f"{what} is empty")
    if len(text) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters")
    return text


def _check(report: ReportIn, s: ChannelSettings) -> tuple[str, list[str]]:
    rules.check_kind(report.kind)
    body = _text(report.body, "the report", s.max_text_chars)
    if report.anonymous and (report.reporter_name or report.reporter_contact):
        raise InvalidInput("an anonymous report carries no name or contact")
    if not report.anonymous and not (report.reporter_name or "").strip():
        raise InvalidInput("a named report needs the reporter's name")
    if len(report.waybills) > MAX_WAYBILLS:
        raise InvalidInput(f"at most {MAX_WAYBILLS} waybill numbers")
    waybills = sorted({w.strip().upper() for w in report.waybills})
    for i, wb in enumerate(waybills):
        if not is_valid_waybill_no(wb):
            raise InvalidInput(f"waybill number {i + 1} is malformed or fails its check digit")
    return body, waybills


def _caller_index(key: BlindIndexKey, number: str | None) -> bytes | None:
    if not number:
        return None
    try:
        digits = normalize_phone(number)
    except ValueError:
        raise InvalidInput("the caller's number is not a phone number") from None
    if len(digits) < 5:
        raise InvalidInput("the caller's number is not a phone number")
    return blind_index(key, domain=CALLER_DOMAIN, value=digits)


def file_report(session: Session, vault: VaultService, settings: ChannelSettings, *,
                enterprise_id: str, report: ReportIn, source: str | None,
                clock: Clock) -> Filed:
    """Store a report sealed under a fresh pseudonymous subject and hand back the
    receipt code and secret (the only way to follow it up)."""
    enterprise_or_404(session, enterprise_id)
    body, waybills = _check(report, settings)
    now = clock.now()
    bik = vault.blind_index_key(session, enterprise_id)
    caller_bi = _caller_index(bik, report.scam_caller)
    src = source_hash(session, vault, enterprise_id, source, key=bik)
    if src is not None:
        key = throttle.throttle_key("intake", enterprise_id, src)
        # A new source has a count of 0 and the limit is at least 1: never refused.
        if throttle.count(session, key, now, timedelta(hours=1)) >= \
                settings.reports_per_source_per_hour:
            raise TooManyRequests("many reports came from here within the hour; please "
                                  "try again later")
        throttle.hit(session, key, now, throttle.Limit(10**9, timedelta(hours=1),
                                                       timedelta(0)))
    checked = [att.check(kind, data, allowed=settings.attachment_types,
                         max_bytes=settings.max_attachment_bytes)
               for kind, data in report.attachments]
    att.check_count(0, len(checked), max_count=settings.max_attachments)
    rid, subject = new_id("rpt"), new_id("rptr")
    code, secret = _unused_code(session), receipts.new_secret()
    items: list[SealItem] = [(subject, rid, "body", body)]
    named = not report.anonymous
    if named:
        items.append((subject, rid, "reporter_name", (report.reporter_name or "").strip()))
        if report.reporter_contact:
            items.append((subject, rid, "reporter_contact", report.reporter_contact.strip()))
    if report.scam_caller:
        items.append((subject, rid, "scam_caller", report.scam_caller.strip()))
    sealed = dict(zip((f for _, _, f, _ in items), vault.seal(session, enterprise_id, items),
                      strict=True))
    due = rules.deadlines(now, ack_hours=settings.ack_hours, answer_days=settings.answer_days)
    row = ChannelReport(
        id=rid, enterprise_id=enterprise_id, receipt_code=code,
        secret_hash=receipts.hash_secret(secret), kind=report.kind,
        anonymous=report.anonymous, pseudonym=f"reporter-{secrets.token_hex(3)}",
        reporter_subject_id=subject, identity_consent=named and report.identity_consent,
        wants_police=report.wants_police, body_ct=sealed["body"],
        reporter_name_ct=sealed.get("reporter_name"),
        reporter_contact_ct=sealed.get("reporter_contact"),
        scam_caller_ct=sealed.get("scam_caller"),
        scam_caller_bi=caller_bi,
        source_hash=src, status="received", received_at=now, ack_due_at=due.ack_due,
        answer_due_at=due.answer_due,
        # the reporter's request owes a referral to the police, on a clock of its own
        police_due_at=now + timedelta(hours=settings.police_request_hours)
        if report.wants_police else None)
    session.add(row)
    session.flush()
    session.add_all(ChannelReportWaybill(report_id=rid, waybill_no=wb) for wb in waybills)
    _store_attachments(session, vault, row, checked, now)
    return Filed(rid, code, secret, due.ack_due, due.answer_due)


def _unused_code(session: Session) -> str:
    while True:  # 60 bits: a collision is astronomically rare, but cheap to rule out
        code = receipts.new_receipt_code()
        if session.scalar(select(ChannelReport.id).where(
                ChannelReport.receipt_code == code)) is None:
            return code


def _store_attachments(session: Session, vault: VaultService, report: ChannelReport,
                       checked: Sequence[att.CheckedAttachment], now: datetime) -> None:
    if not checked:
        return
    ids = [new_id("att") for _ in checked]
    sealed = vault.seal(session, report.enterprise_id, [
        (report.reporter_subject_id, aid, "attachment", base64.b64encode(a.data).decode())
        for aid, a in zip(ids, checked, strict=True)])
    session.add_all(ChannelAttachment(id=aid, report_id=report.id,
                                      enterprise_id=report.enterprise_id,
                                      subject_id=report.reporter_subject_id,
                                      content_type=a.content_type, size=len(a.data),
                                      sha256=a.sha256, content_ct=ct, at=now)
                    for aid, a, ct in zip(ids, checked, sealed, strict=True))
    session.flush()


# -- follow-up --------------------------------------------------------------------------


def carrier_of_receipt(session: Session, receipt_code: str) -> str | None:
    """The enterprise a receipt code was issued by, or None. Codes are unique across
    enterprises (``_unused_code``), so a reporter needs only the code, as on
    GlobaLeaks; the caller must throttle the None answers (they are guesses)."""
    norm = receipts.normalise_receipt(receipt_code)
    if norm is None:
        return None
    return session.scalar(select(ChannelReport.enterprise_id).where(
        ChannelReport.receipt_code == norm))


def authenticate(session: Session, vault: VaultService, settings: ChannelSettings, *,
                 enterprise_id: str, receipt_code: str, secret: str, source: str | None,
                 clock: Clock) -> ChannelReport | Refusal:
    """The report for a receipt code and secret, or a refusal that says nothing about
    whether the receipt exists. The caller commits either way."""
    enterprise_or_404(session, enterprise_id)
    now = clock.now()
    norm = receipts.normalise_receipt(receipt_code)
    rkey = throttle.throttle_key("receipt", enterprise_id, norm or receipt_code.upper()[:40])
    src = source_hash(session, vault, enterprise_id, source)
    skey = throttle.throttle_key("secret-source", enterprise_id, src) if src else None
    window = timedelta(minutes=settings.throttle_window_minutes)
    lockout = timedelta(minutes=settings.lockout_minutes)
    if throttle.locked(session, rkey, now) or (skey and throttle.locked(session, skey, now)):
        return Refusal(429, WAIT)
    row = ReportRepository(session, enterprise_id).by_receipt(norm) if norm else None
    if not receipts.verify_secret(row.secret_hash if row else None, secret):
        throttle.hit(session, rkey, now, throttle.Limit(
            settings.secret_failures_per_receipt, window, lockout))
        if skey:
            throttle.hit(session, skey, now, throttle.Limit(
                settings.secret_failures_per_source, window, lockout))
        return Refusal(401, WRONG)
    assert row is not None  # verify_secret is False without a stored hash
    throttle.reset(session, rkey)
    return row


@dataclass(frozen=True)
class ReporterView:
    """What the reporter sees of their own report. Staff are shown as "staff" only."""

    receipt_code: str
    kind: str
    status: str
    received_at: datetime
    ack_due_at: datetime
    acknowledged_at: datetime | None
    answer_due_at: datetime
    answered_at: datetime | None
    police_outcome: str | None
    waybills: list[str]
    messages: list[dict[str, object]] = field(repr=False)
    attachments: list[dict[str, object]]


def reporter_view(session: Session, vault: VaultService, report: ChannelReport) -> ReporterView:
    repo = ReportRepository(session, report.enterprise_id)
    msgs = repo.messages(report.id)
    texts = open_fields(session, vault, report, [(m.id, "message", m.body_ct) for m in msgs])
    return ReporterView(
        receipt_code=report.receipt_code, kind=report.kind, status=report.status,
        received_at=report.received_at, ack_due_at=report.ack_due_at,
        acknowledged_at=report.acknowledged_at, answer_due_at=report.answer_due_at,
        answered_at=report.answered_at,
        police_outcome=rules.POLICE_OUTCOMES.get(report.police_outcome or ""),
        waybills=repo.waybills([report.id])[report.id],
        messages=[{"author": m.author, "at": m.at, "body": t} for m, t in
                  zip(msgs, texts, strict=True)],
        attachments=[{"id": a.id, "content_type": a.content_type, "size": a.size}
                     for a in repo.attachments(report.id)])


def reporter_message(session: Session, vault: VaultService, settings: ChannelSettings,
                     report: ChannelReport, *, body: str, clock: Clock,
                     attachments: Sequence[tuple[str, bytes]] = ()) -> None:
    """The reporter adds to the thread (and possibly attachments)."""
    rules.may_message(report.status)
    text = _text(body, "the message", settings.max_text_chars)
    checked = [att.check(kind, data, allowed=settings.attachment_types,
                         max_bytes=settings.max_attachment_bytes) for kind, data in attachments]
    existing = len(ReportRepository(session, report.enterprise_id).attachments(report.id))
    att.check_count(existing, len(checked), max_count=settings.max_attachments)
    now = clock.now()
    add_message(session, vault, report, author="reporter", body=text, at=now)
    _store_attachments(session, vault, report, checked, now)
