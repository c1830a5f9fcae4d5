"""The channel's HTTP API (under /api/v1).

Public, no account (``/channel/{enterprise}/...``): file a report, follow it with
the receipt code and secret (POST, so the secret never sits in a URL or a log), add
messages and attachments. A refused follow-up is answered (401 wrong, 429 locked),
not raised, so the request's transaction commits and the failure counts.

Staff of the enterprise (``reports:handle``): read, acknowledge, link, answer,
close, download attachments (always as a download, never rendered), triangulate
and refer to the police. Police (``referrals:investigate``): only referrals
addressed to their organisation. Supervision: every channel's figures and the
referrals' progress; it may order data for the police.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from parcelguard.channel import attachments, canary, evidence, intake, referrals, service
from parcelguard.channel.attachments import EXTENSIONS
from parcelguard.channel.history import rank_leak_sources
from parcelguard.channel.intake import ReportIn
from parcelguard.channel.models import ChannelReport
from parcelguard.channel.schemas import (
    AckIn,
    AttachmentIn,
    CanaryCallIn,
    CanarySeedIn,
    ConcludeIn,
    DataRequestIn,
    DataRequestRead,
    DecisionIn,
    DeclineIn,
    FollowIn,
    FollowMessageIn,
    LinkIn,
    ReferIn,
    ReferralRead,
    ReportCreate,
    ReportFiledRead,
    TextIn,
    TriangulateIn,
    VerifyIn,
)
from parcelguard.channel.settings import ChannelSettings
from parcelguard.core.errors import InvalidInput, NotFound, PermissionDenied
from parcelguard.core.http import API, ClockDep, Offset, SessionDep, runtime_dep
from parcelguard.identity.http import PrincipalDep
from parcelguard.identity.permissions import Principal
from parcelguard.ledger.signing import registered_verifier
from parcelguard.vault.http import VaultDep

router = APIRouter(prefix=f"{API}/channel", tags=["channel"])
referrals_router = APIRouter(prefix=f"{API}/referrals", tags=["referrals"])
_REFUSED: dict[int | str, dict[str, Any]] = {
    401: {"description": "wrong receipt code or secret (the same answer either way)"},
    429: {"description": "too many attempts; try again later"}}


def _settings(request: Request) -> ChannelSettings:
    return runtime_dep(request).settings.section(ChannelSettings)


def _source(request: Request) -> str | None:
    return request.client.host if request.client else None


def _files(items: list[AttachmentIn], s: ChannelSettings) -> list[tuple[str, bytes]]:
    if len(items) > s.max_attachments:
        raise InvalidInput(f"at most {s.max_attachments} attachments per report")
    return [(a.content_type, attachments.decode_b64(a.data_b64, limit=s.max_attachment_bytes))
            for a in items]


def _deps(request: Request, vault: VaultDep, clock: ClockDep) -> referrals.Deps:
    return referrals.Deps(kms=vault.vault.kms, clock=clock, settings=_settings(request))


# -- public ------------------------------------------------------------------------------


@router.post("/{enterprise_id}/reports", status_code=201)
def file_report(enterprise_id: str, *, body: ReportCreate, request: Request, session: SessionDep,
                clock: ClockDep, vault: VaultDep) -> ReportFiledRead:
    """Report a PI leak, a scam call that quoted your parcel, or an employee's
    misconduct, named or anonymous. Keep the receipt code and secret: they are the
    only way to follow the report."""
    s = _settings(request)
    report = ReportIn(kind=body.kind, body=body.body, anonymous=body.anonymous,
                      reporter_name=body.reporter_name, reporter_contact=body.reporter_contact,
                      identity_consent=body.identity_consent, wants_police=body.wants_police,
                      waybills=body.waybills, scam_caller=body.scam_caller,
                      attachments=_files(body.attachments, s))
    filed = intake.file_report(session, vault, s, enterprise_id=enterprise_id, report=report,
                               source=_source(request), clock=clock)
    return ReportFiledRead(receipt_code=filed.receipt_code, secret=filed.secret,
                           ack_due_at=filed.ack_due_at, answer_due_at=filed.answer_due_at)


def _follow(enterprise_id: str, *, body: FollowIn, request: Request, session: SessionDep,
            clock: ClockDep, vault: VaultDep) -> ChannelReport | JSONResponse:
    out = intake.authenticate(session, vault, _settings(request), enterprise_id=enterprise_id,
                              receipt_code=body.receipt_code, secret=body.secret,
                              source=_source(request), clock=clock)
    if isinstance(out, intake.Refusal):
        code = "too_many_requests" if out.status_code == 429 else "unauthenticated"
        return JSONResponse({"error": code, "detail": out.message}, status_code=out.status_code)
    return out


@router.post("/{enterprise_id}/follow-up", response_model=intake.ReporterView, responses=_REFUSED)
def follow_up(enterprise_id: str, *, body: FollowIn, request: Request, session: SessionDep,
              clock: ClockDep, vault: VaultDep) -> intake.ReporterView | JSONResponse:
    """Your report's status, deadlines, messages and the police outcome."""
    row = _follow(enterprise_id, body=body, request=request, session=session, clock=clock,
                  vault=vault)
    if isinstance(row, JSONResponse):
        return row
    return intake.reporter_view(session, vault, row)


@router.post("/{enterprise_id}/follow-up/messages", response_model=intake.ReporterView,
             responses=_REFUSED, status_code=201)
def follow_up_message(enterprise_id: str, *, body: FollowMessageIn, request: Request,
                      session: SessionDep, clock: ClockDep,
                      vault: VaultDep) -> intake.ReporterView | JSONResponse:
    """Add a message (and attachments) to your report."""
    row = _follow(enterprise_id, body=body, request=request, session=session, clock=clock,
                  vault=vault)
    if isinstance(row, JSONResponse):
        return row
    s = _settings(request)
    intake.reporter_message(session, vault, s, row, body=body.body, clock=clock,
                            attachments=_files(body.attachments, s))
    return intake.reporter_view(session, vault, row)


# -- the enterprise's staff --------------------------------------------------------------


@router.get("/reports")
def list_reports(principal: PrincipalDep, *, session: SessionDep, clock: ClockDep,
                 status: str | None = None, overdue: bool = False,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                 offset: Offset = 0) -> list[dict[str, Any]]:
    """The enterprise's reports, newest first; reporters appear by pseudonym."""
    return [asdict(r) for r in service.list_reports(
        session, principal, now=clock.now(), status=status, overdue_only=overdue, limit=limit,
        offset=offset)]


@router.get("/reports/{report_id}")
def get_report(report_id: str, principal: PrincipalDep, session: SessionDep, clock: ClockDep,
               vault: VaultDep) -> dict[str, Any]:
    """One report: text, thread, attachments, links, the case's waybills; the
    reporter's identity only if they agreed."""
    return asdict(service.get_report(session, vault, principal, report_id, now=clock.now()))


@router.post("/reports/{report_id}/acknowledge")
def acknowledge(report_id: str, *, body: AckIn, principal: PrincipalDep, session: SessionDep,
                clock: ClockDep, vault: VaultDep) -> dict[str, Any]:
    r = service.acknowledge(session, principal, report_id, clock=clock, message=body.message,
                            vault=vault)
    return asdict(service.summary(r, clock.now()))


@router.post("/reports/{report_id}/messages", status_code=201)
def staff_message(report_id: str, *, body: TextIn, request: Request, principal: PrincipalDep,
                  session: SessionDep, clock: ClockDep, vault: VaultDep) -> dict[str, str]:
    service.staff_message(session, vault, principal, report_id, body=body.body, clock=clock,
                          max_chars=_settings(request).max_text_chars)
    return {"status": "sent"}


@router.post("/reports/{report_id}/links", status_code=201)
def link(report_id: str, body: LinkIn, principal: PrincipalDep, session: SessionDep,
         clock: ClockDep) -> dict[str, str]:
    """Tie the report to a waybill, employee, station, alert or incident."""
    k = service.link(session, principal, report_id, target_type=body.target_type,
                     target_id=body.target_id, clock=clock)
    return {"type": k.target_type, "id": k.target_id}


@router.post("/reports/{report_id}/answer")
def answer(report_id: str, *, body: TextIn, principal: PrincipalDep, session: SessionDep,
           clock: ClockDep, vault: VaultDep) -> dict[str, Any]:
    """The answer to the reporter (due within 30 days)."""
    r = service.answer(session, vault, principal, report_id, body=body.body, clock=clock)
    return asdict(service.summary(r, clock.now()))


@router.post("/reports/{report_id}/close")
def close(report_id: str, principal: PrincipalDep, session: SessionDep,
          clock: ClockDep) -> dict[str, Any]:
    return asdict(service.summary(service.close(session, principal, report_id, clock=clock),
                                  clock.now()))


@router.get("/reports/{report_id}/attachments/{attachment_id}",
            response_class=Response, responses={200: {"content": {
                "application/octet-stream": {}}}})
def download(report_id: str, attachment_id: str, principal: PrincipalDep, session: SessionDep,
             vault: VaultDep) -> Response:
    """The attachment as a download: never rendered inline, never sniffed."""
    kind, data = service.attachment(session, vault, principal, report_id, attachment_id)
    return Response(content=data, media_type="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="{attachment_id}.{EXTENSIONS[kind]}"',
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox",
        "X-Attachment-Type": kind})


@router.get("/reports/{report_id}/triangulation")
def case_triangulation(report_id: str, principal: PrincipalDep,
                       session: SessionDep) -> dict[str, Any]:
    """The leak-source ranking over the report's case (every report quoting the same
    scam caller, plus linked waybills)."""
    r = service.staff_repo(session, principal).get(report_id)
    return rank_leak_sources(session, enterprise_id=r.enterprise_id,
                             waybills=service.case_waybills(session, r), top=50).as_dict()


@router.post("/triangulate")
def triangulate(body: TriangulateIn, principal: PrincipalDep,
                session: SessionDep) -> list[dict[str, object]]:
    """Rank employees, stations and partners by how far their access history explains
    a cluster of leaked waybills beyond chance."""
    repo = service.staff_repo(session, principal)
    tri = rank_leak_sources(session, enterprise_id=repo.enterprise_id, waybills=body.waybills,
                            top=body.top)
    return [r.as_dict() for r in tri.ranking]


@router.post("/reports/{report_id}/refer", status_code=201)
def refer(report_id: str, *, body: ReferIn, request: Request, principal: PrincipalDep,
          session: SessionDep, clock: ClockDep, vault: VaultDep) -> ReferralRead:
    """Forward the case to the police with an evidence package."""
    return ReferralRead.of(referrals.refer_report(
        session, principal, _deps(request, vault, clock), report_id=report_id,
        reason=body.reason, police_org_id=body.police_org_id))


@router.get("/stats")
def stats(principal: PrincipalDep, session: SessionDep, clock: ClockDep,
          enterprise_id: str | None = None) -> dict[str, dict[str, Any]]:
    """Volumes, timeliness and overdue cases: one's own channel, or every enterprise's
    for the supervision department."""
    return service.stats(session, principal, now=clock.now(), enterprise_id=enterprise_id)


# -- canaries -----------------------------------------------------------------------------


def _canary_admin(principal: Principal) -> str:
    principal.require("canary:manage")
    if principal.org_kind != "enterprise":
        raise PermissionDenied("canaries belong to an enterprise")
    return principal.org_id


@router.post("/canaries", status_code=201)
def seed_canaries(body: CanarySeedIn, *, request: Request, principal: PrincipalDep,
                  session: SessionDep, clock: ClockDep, vault: VaultDep) -> list[dict[str, str]]:
    """Seed synthetic canary parcels with monitored virtual numbers."""
    ent = _canary_admin(principal)
    rows = canary.seed(session, vault, request.app.state.telephony, enterprise_id=ent,
                       count=body.count, by=principal.account_id or "api", clock=clock)
    return [{"id": r.id, "waybill_no": r.waybill_no} for r in rows]


@router.post("/canaries/scan")
def scan_canaries(principal: PrincipalDep, session: SessionDep) -> dict[str, list[Any]]:
    """Look for any use of the enterprise's canaries; each hit raises a critical alert
    (and so an incident) once the request commits."""
    touched = canary.scan(session, enterprise_id=_canary_admin(principal))
    return {"hits": [{"waybill_no": t.waybill_no, "kind": t.kind, "actor_id": t.actor_id,
                      "at": t.at, "exposed_to": list(t.exposed_to)} for t in touched]}


@router.post("/canaries/calls")
def canary_call(body: CanaryCallIn, principal: PrincipalDep, session: SessionDep,
                clock: ClockDep) -> dict[str, bool]:
    """The telephony provider reports a call to a monitored number (a canary's raises a
    critical alert once the request commits)."""
    ent = _canary_admin(principal)
    hit = canary.call(session, number=body.number, at=body.at or clock.now(), enterprise_id=ent)
    return {"canary": hit is not None}


# -- referrals (enterprise, police, supervision) --------------------------------------------


@referrals_router.get("")
def list_referrals(principal: PrincipalDep, session: SessionDep,
                   status: str | None = None) -> list[ReferralRead]:
    """Referrals the caller may see: addressed to one's police organisation, made by
    one's enterprise, or all (supervision)."""
    return [ReferralRead.of(r) for r in referrals.list_referrals(session, principal,
                                                                 status=status)]


@referrals_router.get("/{referral_id}")
def get_referral(referral_id: str, principal: PrincipalDep,
                 session: SessionDep) -> ReferralRead:
    return ReferralRead.of(referrals.get_referral(session, principal, referral_id))


@referrals_router.get("/{referral_id}/evidence")
def get_evidence(referral_id: str, principal: PrincipalDep,
                 session: SessionDep) -> dict[str, Any]:
    """The evidence package (the police it was sent to and the enterprise only)."""
    return referrals.package_of(session, principal, referral_id)


@referrals_router.post("/{referral_id}/evidence/verify")
def verify_evidence(referral_id: str, principal: PrincipalDep, session: SessionDep,
                    body: VerifyIn | None = None) -> dict[str, Any]:
    """Verify a package (the stored one, or one supplied) against the verifier key
    the enterprise registered, not the key inside the package (on a police node,
    which holds no key of the enterprise's: the key its signed directory listed when
    the referral arrived, docs/deployment.md)."""
    ref = referrals.get_referral(session, principal, referral_id)
    row = registered_verifier(session, ref.enterprise_id)
    key = row.verifier_key if row is not None else referrals.received_log_key(session, ref)
    if key is None:
        raise NotFound("the enterprise has no registered checkpoint key")
    package = body.package if body is not None else referrals.package_of(session, principal,
                                                                         referral_id)
    return evidence.verify(package, key).as_dict()


@referrals_router.get("/{referral_id}/log")
def referral_log(referral_id: str, principal: PrincipalDep,
                 session: SessionDep) -> list[dict[str, Any]]:
    return [{"at": e.at, "org": e.actor_org_id, "action": e.action, "detail": e.detail}
            for e in referrals.log_of(session, principal, referral_id)]


@referrals_router.post("/{referral_id}/accept")
def accept(referral_id: str, principal: PrincipalDep, session: SessionDep,
           clock: ClockDep) -> ReferralRead:
    return ReferralRead.of(referrals.accept(session, principal, referral_id, clock=clock))


@referrals_router.post("/{referral_id}/decline")
def decline(referral_id: str, body: DeclineIn, principal: PrincipalDep, session: SessionDep,
            clock: ClockDep) -> ReferralRead:
    return ReferralRead.of(referrals.decline(session, principal, referral_id,
                                             reason=body.reason, clock=clock))


@referrals_router.post("/{referral_id}/conclude")
def conclude(referral_id: str, *, body: ConcludeIn, principal: PrincipalDep, session: SessionDep,
             clock: ClockDep, vault: VaultDep) -> ReferralRead:
    """Conclude; the reporter is told the outcome."""
    return ReferralRead.of(referrals.conclude(session, vault, principal, referral_id,
                                              outcome=body.outcome, clock=clock))


@referrals_router.get("/{referral_id}/data-requests")
def list_data_requests(referral_id: str, principal: PrincipalDep,
                       session: SessionDep) -> list[DataRequestRead]:
    return [DataRequestRead.of(r) for r in referrals.data_requests(session, principal,
                                                                   referral_id)]


@referrals_router.post("/{referral_id}/data-requests", status_code=201)
def request_data(referral_id: str, body: DataRequestIn, principal: PrincipalDep,
                 session: SessionDep, clock: ClockDep) -> DataRequestRead:
    """The police ask for more data, scoped to waybills and/or actors."""
    return DataRequestRead.of(referrals.request_data(
        session, principal, referral_id, scope=body.scope, justification=body.justification,
        clock=clock))


@referrals_router.post("/data-requests/{request_id}/decision")
def decide_data_request(request_id: str, *, body: DecisionIn, request: Request,
                        principal: PrincipalDep, session: SessionDep, clock: ClockDep,
                        vault: VaultDep) -> DataRequestRead:
    """approved/refused by the enterprise, ordered by the supervision department."""
    return DataRequestRead.of(referrals.decide_data_request(
        session, principal, _deps(request, vault, clock), request_id, decision=body.decision))


@referrals_router.get("/data-requests/{request_id}/package")
def data_request_package(request_id: str, principal: PrincipalDep,
                         session: SessionDep) -> dict[str, Any]:
    return referrals.data_package(session, principal, request_id)

