"""Police referrals: a case (report cluster), an incident or a conduct finding is
forwarded to the police network-security department with an evidence package; the
police accept, ask for more data (scoped; approved by the enterprise or ordered by
the supervisor), and conclude; the reporter is told the outcome. Every step is
logged in ``channel_referral_log``.

Visibility: a police organisation sees only referrals addressed to it; an
enterprise its own; the supervision department every referral's status and log but
not the evidence (it orders data, it does not investigate).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from parcelguard.access.policy import looks_like_pi
from parcelguard.channel import evidence, history, rules
from parcelguard.channel.events import ReferConductFinding, ReferIncident
from parcelguard.channel.models import (
    ChannelDataRequest,
    ChannelReferral,
    ChannelReferralLog,
    ChannelReport,
)
from parcelguard.channel.repository import add_message
from parcelguard.channel.service import case_reports, case_waybills, staff_repo
from parcelguard.channel.settings import ChannelSettings
from parcelguard.channel.triangulate import AccessRow, Triangulation, explain, triangulate_rows
from parcelguard.core.clock import Clock
from parcelguard.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from parcelguard.core.ids import new_id
from parcelguard.identity import read as identity_read
from parcelguard.identity.permissions import Principal
from parcelguard.ledger.signing import KeyWrapper
from parcelguard.logistics import read as logistics_read
from parcelguard.vault.service import VaultService

MAX_SUSPECTS = 3
_READS = frozenset({"reveal", "print_label", "share"})
_BULK = frozenset({"search", "export"})


@dataclass(frozen=True)
class Deps:
    """What building evidence needs besides the session."""

    kms: KeyWrapper
    clock: Clock
    settings: ChannelSettings


def police_org(session: Session, police_org_id: str | None, settings: ChannelSettings) -> str:
    """The named police organisation, the configured one, or the only one."""
    wanted = police_org_id or settings.police_org_id
    if wanted is not None:
        org = identity_read.org(session, wanted)
        if org is None or org.kind != "police":
            raise NotFound(f"no police organisation {wanted}")
        return org.id
    ids = identity_read.org_ids(session, "police")
    if len(ids) != 1:
        raise InvalidInput("name the police organisation to refer to "
                           f"({len(ids)} are registered)")
    return ids[0]


def _reason(text: str) -> str:
    text = " ".join(text.split())
    if not 3 <= len(text) <= 500:
        raise InvalidInput("reason: 3-500 characters")
    if looks_like_pi(text):
        raise InvalidInput("reason: no phone numbers, ID numbers or e-mail addresses")
    return text


def _log(session: Session, ref: ChannelReferral, *, org: str, who: str, action: str,
         at: datetime, **detail: Any) -> None:
    log_referral(session, ref.id, org=org, who=who, action=action, at=at, detail=detail)


def log_referral(session: Session, referral_id: str, *, org: str, who: str, action: str,
                 at: datetime, detail: dict[str, Any]) -> None:
    """Append to a police case's log (who did what to it; ids and hashes, no PI)."""
    session.add(ChannelReferralLog(referral_id=referral_id, at=at, actor_org_id=org,
                                   actor_ref=who, action=action, detail=detail))


def _who(p: Principal) -> str:
    return p.account_id or p.api_key_id or "system"


# -- evidence for a case ----------------------------------------------------------------


def _suspect_rows(session: Session, enterprise_id: str, kind: str, actor_id: str,
                  ) -> list[AccessRow]:
    """A suspect's reads their job did not require: for employees, reads outside any
    assignment; for partners and outside clients, every PI access."""
    rows = history.accesses_by(session, enterprise_id, [actor_id])
    if kind == "employee":
        return history.uncovered(session, enterprise_id, actor_id, rows)
    return [r for r in rows if r.outcome == "allowed" and (r.action in _READS | _BULK)]


def _actor_type(session: Session, enterprise_id: str, actor_id: str) -> str:
    if logistics_read.employee_of(session, enterprise_id, actor_id) is not None:
        return "employee"
    rows = history.accesses_by(session, enterprise_id, [actor_id])
    return rows[0].actor_type if rows else "external"


def case_evidence(session: Session, deps: Deps, *, enterprise_id: str, case: dict[str, Any],
                  waybills: Sequence[str] = (), actors: Iterable[str] = (),
                  event_ids: Iterable[str] = (), record_counts: Mapping[str, int] | None = None,
                  insider: bool | None = None) -> dict[str, Any]:
    """Build the package: events on the case's waybills, the over-reaching reads of
    each suspect (triangulated or named), and any events named by id, with counts of
    the affected records measured on those reads (unless the caller measured them)."""
    tri: Triangulation | None = None
    suspects = {a: _actor_type(session, enterprise_id, a) for a in actors}
    positions: set[int] = set()
    if waybills:
        base = history.load_baseline(session, enterprise_id)
        rows = history.accesses_to(session, enterprise_id, waybills)
        tri = triangulate_rows(enterprise_id, waybills, rows, base, top=20)
        for r in explain(enterprise_id, waybills, rows, base,
                         min_confidence=deps.settings.suspect_min_confidence,
                         max_suspects=MAX_SUSPECTS):
            suspects.setdefault(r.subject_id, r.subject_type)
        positions |= {r.seq for r in rows}
    records: set[str] = set()
    bulk = 0
    for actor_id, kind in suspects.items():
        rows = _suspect_rows(session, enterprise_id, kind, actor_id)
        positions |= {r.seq for r in rows}
        records |= {r.waybill_no for r in rows if r.waybill_no and r.action in _READS}
        bulk += sum(r.record_count for r in rows if r.action in _BULK and kind != "employee")
    positions |= set(history.positions_of(session, enterprise_id, event_ids).values())
    counts = dict(record_counts) if record_counts is not None else {"other": len(records) + bulk}
    case = {**case, "suspects": [{"subject_type": k, "subject_id": a}
                                 for a, k in sorted(suspects.items())]}
    return evidence.build(
        session, kms=deps.kms, clock=deps.clock, enterprise_id=enterprise_id,
        positions=sorted(positions), record_counts=counts,
        insider=insider if insider is not None else any(
            k == "employee" for k in suspects.values()), case=case,
        triangulation=tri.as_dict() if tri else None,
        max_events=deps.settings.evidence_max_events)


def _create(session: Session, deps: Deps, *, enterprise_id: str, police: str, source_type: str,
            source_id: str, reason: str, package: dict[str, Any], by_org: str, by: str,
            report_id: str | None = None) -> ChannelReferral:
    for existing in session.scalars(select(ChannelReferral).where(
            ChannelReferral.enterprise_id == enterprise_id,
            ChannelReferral.source_type == source_type,
            ChannelReferral.source_id == source_id,
            ChannelReferral.status.in_(("sent", "accepted")))):
        raise Conflict(f"this {source_type} is already with the police ({existing.id})")
    now = deps.clock.now()
    ref = ChannelReferral(
        id=new_id("ref"), enterprise_id=enterprise_id, police_org_id=police,
        source_type=source_type, source_id=source_id, report_id=report_id,
        reason=_reason(reason), status="sent", package=package,
        package_sha256=evidence.package_digest(package), created_at=now, created_by=by)
    session.add(ref)
    session.flush()
    _log(session, ref, org=by_org, who=by, action="sent", at=now,
         package_sha256=ref.package_sha256, events=package["events_total"],
         crime_suspected=package["crime_suspected"])
    return ref


def refer_report(session: Session, principal: Principal, deps: Deps, *, report_id: str,
                 reason: str, police_org_id: str | None = None) -> ChannelReferral:
    """Forward a report's case (the report and the others quoting the same caller)."""
    principal.require("referrals:create")
    report = staff_repo(session, principal).get(report_id)
    police = police_org(session, police_org_id, deps.settings)
    reports = case_reports(session, report)
    case = {"type": "report", "kind": report.kind, "reports": [r.id for r in reports],
            "reporters": [r.pseudonym for r in reports],
            "waybills": case_waybills(session, report)}
    package = case_evidence(session, deps, enterprise_id=report.enterprise_id, case=case,
                            waybills=case["waybills"])
    return _create(session, deps, enterprise_id=report.enterprise_id, police=police,
                   source_type="report", source_id=report.id, reason=reason, package=package,
                   by_org=principal.org_id, by=_who(principal), report_id=report.id)


def refer_incident(session: Session, deps: Deps, cmd: ReferIncident) -> ChannelReferral:
    """The consumer of incidents' police-referral proposal (incidents/plugin.py)."""
    police = police_org(session, cmd.police_org_id, deps.settings)
    case = {"type": "incident", "incident_id": cmd.incident_id,
            "waybills": sorted(set(cmd.waybills))}
    package = case_evidence(session, deps, enterprise_id=cmd.enterprise_id, case=case,
                            waybills=case["waybills"], actors=cmd.actor_ids,
                            event_ids=cmd.event_ids, record_counts=cmd.record_counts,
                            insider=cmd.insider)
    return _create(session, deps, enterprise_id=cmd.enterprise_id, police=police,
                   source_type="incident", source_id=cmd.incident_id, reason=cmd.reason,
                   package=package, by_org=cmd.enterprise_id, by=cmd.requested_by)


def refer_conduct(session: Session, deps: Deps, cmd: ReferConductFinding) -> ChannelReferral:
    """The consumer of conduct's referral decision (bridges/reactions.py)."""
    police = police_org(session, cmd.police_org_id, deps.settings)
    case = {"type": "conduct", "decision_id": cmd.decision_id,
            "employee_id": cmd.employee_id, "figures": dict(cmd.figures)}
    package = case_evidence(session, deps, enterprise_id=cmd.enterprise_id, case=case,
                            actors=[cmd.employee_id])
    return _create(session, deps, enterprise_id=cmd.enterprise_id, police=police,
                   source_type="conduct", source_id=cmd.decision_id, reason=cmd.reason,
                   package=package, by_org=cmd.enterprise_id, by=cmd.requested_by)


# -- reading ---------------------------------------------------------------------------


def _visible(principal: Principal) -> Select[ChannelReferral]:
    stmt = select(ChannelReferral)
    if principal.can("referrals:read_all"):
        return stmt
    principal.require("referrals:read")
    if principal.org_kind == "police":
        return stmt.where(ChannelReferral.police_org_id == principal.org_id)
    if principal.org_kind == "enterprise":
        return stmt.where(ChannelReferral.enterprise_id == principal.org_id)
    raise PermissionDenied("referrals are read by the enterprise and the police they went to")


def list_referrals(session: Session, principal: Principal, *, status: str | None = None,
                   ) -> list[ChannelReferral]:
    stmt = _visible(principal)
    if status is not None:
        stmt = stmt.where(ChannelReferral.status == status)
    return list(session.scalars(stmt.order_by(ChannelReferral.created_at.desc(),
                                              ChannelReferral.id)))


def get_referral(session: Session, principal: Principal, referral_id: str) -> ChannelReferral:
    row = session.scalars(_visible(principal).where(ChannelReferral.id == referral_id)).first()
    if row is None:  # not addressed to the caller is the same as not there
        raise NotFound(f"no referral {referral_id}")
    return row


def package_of(session: Session, principal: Principal, referral_id: str) -> dict[str, Any]:
    """The evidence package: for the police it was sent to and the enterprise."""
    ref = get_referral(session, principal, referral_id)
    if principal.org_id not in (ref.police_org_id, ref.enterprise_id):
        raise PermissionDenied("the evidence goes to the police it was referred to")
    return ref.package


def log_of(session: Session, principal: Principal, referral_id: str) -> list[ChannelReferralLog]:
    ref = get_referral(session, principal, referral_id)
    return list(session.scalars(select(ChannelReferralLog).where(
        ChannelReferralLog.referral_id == ref.id).order_by(ChannelReferralLog.id)))


def data_requests(session: Session, principal: Principal,
                  referral_id: str) -> list[ChannelDataRequest]:
    ref = get_referral(session, principal, referral_id)
    return list(session.scalars(select(ChannelDataRequest).where(
        ChannelDataRequest.referral_id == ref.id).order_by(ChannelDataRequest.requested_at,
                                                           ChannelDataRequest.id)))


# -- the police's side -----------------------------------------------------------------


def _addressed(session: Session, principal: Principal, referral_id: str) -> ChannelReferral:
    principal.require("referrals:investigate")
    ref = get_referral(session, principal, referral_id)
    if principal.org_kind != "police" or ref.police_org_id != principal.org_id:
        raise NotFound(f"no referral {referral_id}")
    return ref


def _receipt(ref: ChannelReferral) -> str:
    """The police's receipt for the hand-off, given once, at their first answer."""
    if ref.receipt is None:
        ref.receipt = f"POL-{secrets.token_hex(6).upper()}"
    return ref.receipt


def accept(session: Session, principal: Principal, referral_id: str, *,
           clock: Clock) -> ChannelReferral:
    ref = _addressed(session, principal, referral_id)
    ref.status = rules.accept_referral(ref.status)
    ref.accepted_at = clock.now()
    _log(session, ref, org=principal.org_id, who=_who(principal), action="accepted",
         at=ref.accepted_at, receipt=_receipt(ref))
    session.flush()
    return ref


def decline(session: Session, principal: Principal, referral_id: str, *, reason: str,
            clock: Clock) -> ChannelReferral:
    ref = _addressed(session, principal, referral_id)
    ref.status = rules.decline_referral(ref.status)
    _log(session, ref, org=principal.org_id, who=_who(principal), action="declined",
         at=clock.now(), reason=_reason(reason), receipt=_receipt(ref))
    session.flush()
    return ref


# -- the reporter's own request to go to the police ------------------------------------


@dataclass(frozen=True)
class PoliceRequest:
    """A report whose reporter asked for the police, and how the request was met."""

    report_id: str
    enterprise_id: str
    received_at: datetime
    due_at: datetime
    referral_id: str | None
    referred_at: datetime | None
    police_org_id: str | None
    receipt: str | None

    def on_time(self) -> bool | None:
        return None if self.referred_at is None else self.referred_at <= self.due_at

    def overdue(self, now: datetime) -> bool:
        return self.referred_at is None and now > self.due_at

    def as_dict(self, now: datetime) -> dict[str, Any]:
        return {"report_id": self.report_id, "enterprise_id": self.enterprise_id,
                "received_at": self.received_at, "due_at": self.due_at,
                "referral_id": self.referral_id, "referred_at": self.referred_at,
                "police_org_id": self.police_org_id, "on_time": self.on_time(),
                "overdue": self.overdue(now), "police_receipt": self.receipt}


def police_requests(session: Session, principal: Principal,
                    enterprise_id: str | None = None) -> list[PoliceRequest]:
    """Reports whose reporter asked for the police: due, referred (when, on time), and
    the police's receipt. An enterprise sees its own; the supervision department all."""
    stmt = select(ChannelReport).where(ChannelReport.police_due_at.is_not(None))
    if principal.can("reports:read_all"):
        if enterprise_id is not None:
            stmt = stmt.where(ChannelReport.enterprise_id == enterprise_id)
    else:
        principal.require("reports:handle")
        stmt = stmt.where(ChannelReport.enterprise_id == principal.org_id)
    out: list[PoliceRequest] = []
    for r in session.scalars(stmt.order_by(ChannelReport.police_due_at, ChannelReport.id)):
        ref = session.scalars(select(ChannelReferral).where(
            ChannelReferral.report_id == r.id).order_by(ChannelReferral.created_at)).first()
        assert r.police_due_at is not None
        out.append(PoliceRequest(
            r.id, r.enterprise_id, r.received_at, r.police_due_at,
            ref.id if ref else None, ref.created_at if ref else None,
            ref.police_org_id if ref else None, ref.receipt if ref else None))
    return out


def request_data(session: Session, principal: Principal, referral_id: str, *,
                 scope: dict[str, Any], justification: str, clock: Clock) -> ChannelDataRequest:
    """The police ask for more: named waybills and/or actors, optionally a period."""
    ref = _addressed(session, principal, referral_id)
    rules.may_request_data(ref.status)
    now = clock.now()
    req = ChannelDataRequest(id=new_id("dreq"), referral_id=ref.id,
                             scope=rules.check_scope(dict(scope)),
                             justification=_reason(justification), status="pending",
                             requested_at=now, requested_by=_who(principal))
    session.add(req)
    session.flush()
    _log(session, ref, org=principal.org_id, who=_who(principal), action="data_requested",
         at=now, request_id=req.id, scope={k: (len(v) if isinstance(v, list) else v)
                                           for k, v in req.scope.items()})
    return req


def conclude(session: Session, vault: VaultService, principal: Principal, referral_id: str,
             *, outcome: str, clock: Clock) -> ChannelReferral:
    """Close the investigation; the reporter (if any) is told the outcome in their
    thread, in the fixed wording of the outcome code."""
    ref = _addressed(session, principal, referral_id)
    ref.status = rules.conclude_referral(ref.status, outcome)
    ref.concluded_at, ref.outcome = clock.now(), outcome
    _log(session, ref, org=principal.org_id, who=_who(principal), action="concluded",
         at=ref.concluded_at, outcome=outcome)
    if ref.source_type == "report":
        for report in _case_of(session, ref):
            report.police_outcome = outcome
            add_message(session, vault, report, author="police", at=ref.concluded_at,
                        body="公安机关已办结您的举报 / The police have concluded your report: "
                        + rules.POLICE_OUTCOMES[outcome])
        _log(session, ref, org=ref.enterprise_id, who="system", action="reporter_told",
             at=ref.concluded_at)
    session.flush()
    return ref


def _case_of(session: Session, ref: ChannelReferral) -> list[ChannelReport]:
    report = session.get(ChannelReport, ref.report_id) if ref.report_id else None
    return case_reports(session, report) if report is not None else []


# -- data requests: the enterprise approves or refuses, the supervisor may order -------


def decide_data_request(session: Session, principal: Principal, deps: Deps, request_id: str,
                        *, decision: str) -> ChannelDataRequest:
    """approved / refused by the enterprise (``referrals:approve_data``), ordered by the
    supervision department (``referrals:order_data``). Approved and ordered requests
    are fulfilled at once with a package limited to the requested scope."""
    req = session.get(ChannelDataRequest, request_id)
    ref = session.get(ChannelReferral, req.referral_id) if req is not None else None
    if req is None or ref is None:
        raise NotFound(f"no data request {request_id}")
    if decision == "ordered":
        principal.require("referrals:order_data")
    else:
        principal.require("referrals:approve_data")
        if principal.org_kind != "enterprise" or principal.org_id != ref.enterprise_id:
            raise NotFound(f"no data request {request_id}")
    req.status = rules.decide_data_request(req.status, decision)
    req.decided_at, req.decided_by = deps.clock.now(), _who(principal)
    _log(session, ref, org=principal.org_id, who=_who(principal), action=f"data_{decision}",
         at=req.decided_at, request_id=req.id)
    if decision in ("approved", "ordered"):
        req.package = _scoped_package(session, deps, ref, req)
        _log(session, ref, org=ref.enterprise_id, who="system", action="data_provided",
             at=req.decided_at, request_id=req.id,
             package_sha256=evidence.package_digest(req.package),
             events=req.package["events_total"])
    session.flush()
    return req


def _scoped_package(session: Session, deps: Deps, ref: ChannelReferral,
                    req: ChannelDataRequest) -> dict[str, Any]:
    scope = req.scope
    since = _us(scope.get("from"))
    until = _us(scope.get("to"))
    rows = history.accesses_to(session, ref.enterprise_id, scope.get("waybills") or [])
    rows += history.accesses_by(session, ref.enterprise_id, scope.get("actor_ids") or [],
                                since_us=since, until_us=until)
    rows = [r for r in rows if (since is None or r.occurred_at_us >= since)
            and (until is None or r.occurred_at_us < until)]
    return evidence.build(
        session, kms=deps.kms, clock=deps.clock, enterprise_id=ref.enterprise_id,
        positions=[r.seq for r in rows], record_counts={}, insider=False,
        case={"type": "data_request", "referral_id": ref.id, "request_id": req.id,
              "scope": scope}, max_events=deps.settings.evidence_max_events)


def _us(value: object) -> int | None:
    if value is None:
        return None
    return int(datetime.fromisoformat(str(value)).timestamp() * 1_000_000)


def data_package(session: Session, principal: Principal, request_id: str) -> dict[str, Any]:
    req = session.get(ChannelDataRequest, request_id)
    if req is None:
        raise NotFound(f"no data request {request_id}")
    ref = get_referral(session, principal, req.referral_id)
    if principal.org_id not in (ref.police_org_id, ref.enterprise_id) or req.package is None:
        raise NotFound(f"no data for request {request_id}")
    return req.package


def already_referred(session: Session, enterprise_id: str, source_type: str,
                     source_id: str) -> bool:
    """The case is already with the police (a demo referred it by hand): a reaction
    asking for its referral has nothing left to do."""
    return session.scalar(select(ChannelReferral.id).where(
        ChannelReferral.enterprise_id == enterprise_id,
        ChannelReferral.source_type == source_type, ChannelReferral.source_id == source_id,
        ChannelReferral.status.in_(("sent", "accepted"))).limit(1)) is not None


# -- a referral that reached the police's own node ----------------------------------


def record_received(session: Session, *, enterprise_id: str, police_org_id: str,
                    referral_id: str, source_type: str, source_id: str, reason: str,
                    package: dict[str, Any], created_at: datetime, received_at: datetime,
                    check: Mapping[str, Any]) -> ChannelReferral | None:
    """The police node's record of a referral an enterprise's node sent with its
    evidence package (docs/deployment.md): the same referral (the enterprise's id,
    the package as built, its digest), addressed to this police organisation, so the
    investigator reads it where referrals are read (``list_referrals``,
    ``package_of``); ``check`` (what the receipt verified: the package against the
    log's key, its checkpoint against what this node's witness cosigned) is the
    log's ``received`` entry. None when the id is already held (another
    enterprise's, or a repeat)."""
    from parcelguard.core.clock import SystemClock
    from parcelguard.identity.service import ensure_enterprises

    if session.get(ChannelReferral, referral_id) is not None:
        return None
    ensure_enterprises(session, {enterprise_id}, SystemClock())
    ref = ChannelReferral(
        id=referral_id, enterprise_id=enterprise_id, police_org_id=police_org_id,
        source_type=source_type[:12], source_id=source_id[:64], report_id=None,
        reason=reason[:500], status="sent", package=package,
        package_sha256=evidence.package_digest(package), created_at=created_at,
        created_by=f"node:{enterprise_id}"[:64])
    session.add(ref)
    session.flush()
    _log(session, ref, org=police_org_id, who="node-inbox", action="received",
         at=received_at, **dict(check))
    return ref


def received_log_key(session: Session, ref: ChannelReferral) -> str | None:
    """The enterprise's log key a police node checked a received referral with (the
    signed directory's, kept in the ``received`` entry): what its package verifies
    against on a node that holds no key of the enterprise's own."""
    for entry in session.scalars(select(ChannelReferralLog).where(
            ChannelReferralLog.referral_id == ref.id,
            ChannelReferralLog.action == "received").order_by(ChannelReferralLog.id)):
        key = (entry.detail or {}).get("log_key")
        if isinstance(key, str) and key:
            return key
    return None
