"""The enterprise's side of the channel: read, acknowledge, investigate (link to
waybills, employees, stations, alerts, incidents), answer and close reports; and
the channel's figures for the enterprise and for the supervision department.

Reporters stay confidential: staff see the report's pseudonym, and the reporter's
name and contact only when the reporter agreed to disclose them.
"""

from __future__ import annotations

import base64
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.channel import rules
from parcelguard.channel.models import ChannelLink, ChannelReferral, ChannelReport
from parcelguard.channel.repository import ReportRepository, add_message, open_fields
from parcelguard.core.clock import Clock
from parcelguard.core.errors import InvalidInput, NotFound, PermissionDenied
from parcelguard.identity.permissions import Principal
from parcelguard.logistics import read as logistics_read
from parcelguard.logistics.identifiers import is_valid_waybill_no
from parcelguard.vault.service import VaultService


def staff_repo(session: Session, principal: Principal) -> ReportRepository:
    """Reports of the caller's own enterprise, for staff who handle them."""
    principal.require("reports:handle")
    if principal.org_kind != "enterprise":
        raise PermissionDenied("reports are handled by the enterprise they were filed with")
    return ReportRepository(session, principal.org_id)


def _who(principal: Principal) -> str:
    return principal.account_id or principal.api_key_id or "system"


@dataclass(frozen=True)
class ReportSummary:
    id: str
    kind: str
    status: str
    pseudonym: str
    anonymous: bool
    wants_police: bool
    received_at: datetime
    ack_due_at: datetime
    acknowledged_at: datetime | None
    answer_due_at: datetime
    answered_at: datetime | None
    ack_overdue: bool
    answer_overdue: bool


def summary(r: ChannelReport, now: datetime) -> ReportSummary:
    return ReportSummary(
        id=r.id, kind=r.kind, status=r.status, pseudonym=r.pseudonym, anonymous=r.anonymous,
        wants_police=r.wants_police, received_at=r.received_at, ack_due_at=r.ack_due_at,
        acknowledged_at=r.acknowledged_at, answer_due_at=r.answer_due_at,
        answered_at=r.answered_at,
        ack_overdue=rules.overdue(r.acknowledged_at, r.ack_due_at, now),
        answer_overdue=rules.overdue(r.answered_at, r.answer_due_at, now))


def list_reports(session: Session, principal: Principal, *, now: datetime,
                 status: str | None = None, overdue_only: bool = False, limit: int = 100,
                 offset: int = 0) -> list[ReportSummary]:
    """Newest first; ``overdue_only`` keeps reports past an unmet deadline."""
    if status is not None and status not in rules.REPORT_STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(rules.REPORT_STATUSES)}")
    rows = staff_repo(session, principal).listing(status=status, limit=limit, offset=offset)
    out = [summary(r, now) for r in rows]
    return [s for s in out if s.ack_overdue or s.answer_overdue] if overdue_only else out


@dataclass(frozen=True)
class ReportDetail:
    summary: ReportSummary
    body: str | None = field(repr=False)
    reporter: dict[str, str | None] = field(repr=False)
    scam_caller: str | None = field(repr=False)
    waybills: list[str]
    case_reports: list[str]
    links: list[dict[str, str]]
    messages: list[dict[str, Any]] = field(repr=False)
    attachments: list[dict[str, Any]]
    police_outcome: str | None


def get_report(session: Session, vault: VaultService, principal: Principal, report_id: str,
               *, now: datetime) -> ReportDetail:
    repo = staff_repo(session, principal)
    r = repo.get(report_id)
    msgs = repo.messages(r.id)
    disclosed = r.identity_consent and not r.anonymous
    items: list[tuple[str, str, bytes | None]] = [
        (r.id, "body", r.body_ct), (r.id, "scam_caller", r.scam_caller_ct),
        (r.id, "reporter_name", r.reporter_name_ct if disclosed else None),
        (r.id, "reporter_contact", r.reporter_contact_ct if disclosed else None),
        *((m.id, "message", m.body_ct) for m in msgs)]
    opened = open_fields(session, vault, r, items)
    body, caller, name, contact, *texts = opened
    reporter: dict[str, str | None] = {"pseudonym": r.pseudonym,
                                       "anonymous": "yes" if r.anonymous else "no"}
    if disclosed:
        reporter |= {"name": name, "contact": contact}
    return ReportDetail(
        summary=summary(r, now), body=body, reporter=reporter, scam_caller=caller,
        waybills=case_waybills(session, r), case_reports=[c.id for c in case_reports(session, r)],
        links=[{"type": k.target_type, "id": k.target_id} for k in repo.links(r.id)],
        messages=[{"author": m.author, "at": m.at, "body": t}
                  for m, t in zip(msgs, texts, strict=True)],
        attachments=[{"id": a.id, "content_type": a.content_type, "size": a.size,
                      "sha256": a.sha256} for a in repo.attachments(r.id)],
        police_outcome=r.police_outcome)


def case_reports(session: Session, report: ChannelReport) -> list[ChannelReport]:
    """The report and every other report of the enterprise quoting the same scam
    caller: victims of one operation, whose leaked waybills form one cluster."""
    if report.scam_caller_bi is None:
        return [report]
    return ReportRepository(session, report.enterprise_id).same_caller(report.scam_caller_bi)


def case_waybills(session: Session, report: ChannelReport) -> list[str]:
    """Waybills of the case: named in its reports or linked by the investigation."""
    repo = ReportRepository(session, report.enterprise_id)
    reports = case_reports(session, report)
    out = {wb for wbs in repo.waybills([r.id for r in reports]).values() for wb in wbs}
    out |= {k.target_id for k in repo.links(report.id) if k.target_type == "waybill"}
    return sorted(out)


def acknowledge(session: Session, principal: Principal, report_id: str, *, clock: Clock,
                message: str | None = None, vault: VaultService | None = None) -> ChannelReport:
    """Confirm receipt to the reporter (due within the SLA)."""
    r = staff_repo(session, principal).get(report_id)
    r.status = rules.acknowledge(r.status)
    r.acknowledged_at, r.acknowledged_by = clock.now(), _who(principal)
    if message and vault is not None:
        add_message(session, vault, r, author="staff", body=message, at=clock.now(),
                    author_ref=_who(principal))
    session.flush()
    return r


def staff_message(session: Session, vault: VaultService, principal: Principal,
                  report_id: str, *, body: str, clock: Clock, max_chars: int = 5_000) -> None:
    r = staff_repo(session, principal).get(report_id)
    rules.may_message(r.status)
    text = body.strip()
    if not text or len(text) > max_chars:
        raise InvalidInput(f"a message has 1-{max_chars} characters")
    add_message(session, vault, r, author="staff", body=text, at=clock.now(),
                author_ref=_who(principal))


def link(session: Session, principal: Principal, report_id: str, *, target_type: str,
         target_id: str, clock: Clock) -> ChannelLink:
    """Tie the report to what the investigation found. Waybills, employees and
    stations must be the enterprise's own; alerts and incidents are kept by id (they
    belong to the monitor and incidents, which the channel does not read)."""
    r = staff_repo(session, principal).get(report_id)
    if target_type not in rules.LINK_TYPES:
        raise InvalidInput(f"target type must be one of {', '.join(rules.LINK_TYPES)}")
    target_id = target_id.strip()
    if not 1 <= len(target_id) <= 128:
        raise InvalidInput("target id: 1-128 characters")
    if target_type == "waybill" and not is_valid_waybill_no(target_id):
        raise InvalidInput("waybill number is malformed or fails its check digit")
    if target_type in ("employee", "station"):
        owner = logistics_read.owner_of(session, target_type, target_id)
        if owner != r.enterprise_id:
            raise NotFound(f"no {target_type} {target_id}")
    existing = ReportRepository(session, r.enterprise_id).links(r.id)
    for k in existing:
        if (k.target_type, k.target_id) == (target_type, target_id):
            return k
    row_link = ChannelLink(report_id=r.id, target_type=target_type, target_id=target_id,
                           linked_by=_who(principal), linked_at=clock.now())
    session.add(row_link)
    session.flush()
    return row_link


def answer(session: Session, vault: VaultService, principal: Principal, report_id: str, *,
           body: str, clock: Clock) -> ChannelReport:
    """The enterprise's answer to the reporter (due within 30 days, Postal Law)."""
    r = staff_repo(session, principal).get(report_id)
    r.status = rules.answer(r.status)
    now = clock.now()
    if r.acknowledged_at is None:
        r.acknowledged_at, r.acknowledged_by = now, _who(principal)
    text = body.strip()
    if not text:
        raise InvalidInput("the answer is empty")
    add_message(session, vault, r, author="staff", body=text, at=now, author_ref=_who(principal))
    r.answered_at = now
    session.flush()
    return r


def close(session: Session, principal: Principal, report_id: str, *,
          clock: Clock) -> ChannelReport:
    r = staff_repo(session, principal).get(report_id)
    r.status = rules.close(r.status)
    r.closed_at = clock.now()
    session.flush()
    return r


def attachment(session: Session, vault: VaultService, principal: Principal, report_id: str,
               attachment_id: str) -> tuple[str, bytes]:
    """(content type, bytes) of an attachment, for download only."""
    repo = staff_repo(session, principal)
    r = repo.get(report_id)
    for a in repo.attachments(r.id):
        if a.id == attachment_id:
            [data] = open_fields(session, vault, r, [(a.id, "attachment", a.content_ct)])
            if data is None:
                raise NotFound("the attachment was erased")
            return a.content_type, base64.b64decode(data)
    raise NotFound(f"no attachment {attachment_id}")


# -- figures ----------------------------------------------------------------------------


def stats(session: Session, principal: Principal, *, now: datetime,
          enterprise_id: str | None = None) -> dict[str, dict[str, Any]]:
    """Per enterprise: volumes, timeliness and overdue cases. The caller's own
    enterprise, or every enterprise for the supervision department."""
    if principal.can("reports:read_all"):
        scope = enterprise_id
    else:
        principal.require("reports:handle")
        if enterprise_id not in (None, principal.org_id):
            raise NotFound(f"no enterprise {enterprise_id}")
        scope = principal.org_id
    stmt = select(ChannelReport)
    refs = select(ChannelReferral.enterprise_id, ChannelReferral.status)
    if scope is not None:
        stmt = stmt.where(ChannelReport.enterprise_id == scope)
        refs = refs.where(ChannelReferral.enterprise_id == scope)
    out: dict[str, dict[str, Any]] = {}
    referred = set(session.scalars(select(ChannelReferral.report_id).where(
        ChannelReferral.report_id.is_not(None))))
    for r in session.scalars(stmt):
        f = out.setdefault(r.enterprise_id, _empty())
        if r.police_due_at is not None:  # the reporter asked for the police
            f["police_requested"] += 1
            f["police_request_overdue"] += r.id not in referred and now > r.police_due_at
        f["received"] += 1
        f["by_kind"][r.kind] += 1
        f["anonymous"] += r.anonymous
        if r.acknowledged_at is not None:
            f["acknowledged"] += 1
            f["acknowledged_on_time"] += rules.ack_on_time(r.acknowledged_at, r.ack_due_at)
        if r.answered_at is not None:
            f["answered"] += 1
            f["answered_on_time"] += r.answered_at <= r.answer_due_at
        f["ack_overdue"] += rules.overdue(r.acknowledged_at, r.ack_due_at, now)
        f["answer_overdue"] += rules.overdue(r.answered_at, r.answer_due_at, now)
    for ent, status in session.execute(refs):
        f = out.setdefault(ent, _empty())
        f["forwarded_to_police"] += 1
        f["concluded"] += status == "concluded"
    for f in out.values():
        f["by_kind"] = dict(f["by_kind"])
    return out


def _empty() -> dict[str, Any]:
    return {"received": 0, "by_kind": Counter(), "anonymous": 0, "acknowledged": 0,
            "acknowledged_on_time": 0, "ack_overdue": 0, "answered": 0, "answered_on_time": 0,
            "answer_overdue": 0, "forwarded_to_police": 0, "concluded": 0,
            "police_requested": 0, "police_request_overdue": 0}
