"""Police portal (network-security department): the referrals inbox, each evidence
package with its proofs verified on the page, and scoped data requests.

The package is verified with the enterprise's note verifier key as registered with
the supervision department (pinned when first seen), never with the key the package
carries, so a forged package cannot vouch for itself."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from parcelguard.audit import support
from parcelguard.channel import evidence
from parcelguard.channel import referrals as refs
from parcelguard.channel.rules import POLICE_OUTCOMES
from parcelguard.core.http import SessionDep
from parcelguard.ledger.signing import registered_verifier
from parcelguard.web import overview as ov
from parcelguard.web.actions import CONFIRM, act, confirmed
from parcelguard.web.auth import PoliceStaff, Staff
from parcelguard.web.render import Nav, page, runtime
from parcelguard.web.sections import Action, Cell, Input, Section

router = APIRouter(prefix="/police", include_in_schema=False)
NAV = [Nav("/police", "Referrals"), Nav("/police/support", "Auditors' data support")]


def show(request: Request, title: str, sections: list[Section], **kw: Any) -> HTMLResponse:
    return page(request, "sections.html", title=title, nav=NAV, sections=sections,
                messages=kw.get("messages", []), errors=kw.get("errors", []),
                status_code=kw.get("status_code", 200))


@router.get("", response_class=HTMLResponse)
def inbox(request: Request, session: SessionDep, staff: PoliceStaff) -> HTMLResponse:
    sec = Section("Referrals", ["Received", "Referral", "From", "Source", "Status", "Reason"],
                  html_id="referrals", empty="No referrals.")
    for r in refs.list_referrals(session, staff.principal):
        sec.add([r.created_at, Cell(r.id, href=f"/police/referrals/{r.id}"), r.enterprise_id,
                 Cell(r.source_type, translate=True), Cell(r.status, translate=True), r.reason])
    return ov.show(request, "Referrals", NAV, ov.police(session, staff.principal,
                                                        runtime(request).clock.now()), [sec])


def verification_section(session: Session, package: dict[str, Any], enterprise_id: str) -> Section:
    key = registered_verifier(session, enterprise_id)
    sec = Section("Evidence package", html_id="evidence")
    if key is None:
        sec.facts = [("Verification", Cell("no registered verifier key", cls="failed"))]
        return sec
    v = evidence.verify(package, key.verifier_key)
    if not v.ok:
        verdict = Cell("✘ %(problems)s", cls="failed", translate=True,
                       args={"problems": "; ".join(v.problems)})
    elif v.events_verified == 0:
        # Nothing proven is not a proof: an empty package must not look verified.
        verdict = Cell("no events to verify: the package proves nothing", cls="warn",
                       translate=True)
    else:
        verdict = Cell("✔ verified: %(n)s event(s) proven in the signed log of size %(size)s",
                       cls="verified", translate=True,
                       args={"n": v.events_verified, "size": v.tree_size})
    sec.facts = [("Verification", verdict), ("Verifier key (registered)", key.verifier_key),
                 ("Signed checkpoint size", package.get("tree_size")),
                 ("Events in case", package.get("events_total")),
                 ("Crime suspected", Cell("yes" if package.get("crime_suspected") else "no",
                                          translate=True))]
    return sec


def _referral(referral_id: str, request: Request, session: Session, staff: Staff,
              **kw: Any) -> HTMLResponse:
    ref = refs.get_referral(session, staff.principal, referral_id)
    package = refs.package_of(session, staff.principal, referral_id)
    base = f"/police/referrals/{referral_id}"
    head = Section("Referral", facts=[
        ("Referral", ref.id), ("From", ref.enterprise_id),
        ("Status", Cell(ref.status, translate=True)),
        ("Outcome", Cell(ref.outcome, translate=True, cls="outcome") if ref.outcome else None),
        ("Concluded", ref.concluded_at), ("Reason", ref.reason),
        ("Package SHA-256", ref.package_sha256),
        ("Evidence package file", Cell("Download the package (JSON)", translate=True,
                                       href=f"{base}/evidence"))], html_id="ref")
    if ref.status == "sent":
        head.forms += [Action(f"{base}/accept", "Accept"),
                       Action(f"{base}/decline", "Decline", inputs=(
                           Input("reason", "Reason", "textarea", required=True),),
                           secondary=True)]
    if ref.status == "accepted":
        head.forms += [
            Action(f"{base}/request", "Request more data", inputs=(
                Input("waybills", "Waybill numbers (space separated)"),
                Input("actor_ids", "Actor ids (space separated)"),
                Input("justification", "Justification", "textarea", required=True))),
            Action(f"{base}/conclude", "Conclude", inputs=(Input(
                "outcome", "Outcome", "select", tuple((k, k) for k in POLICE_OUTCOMES)),
                CONFIRM))]
    checks = Section("Criminal thresholds (SPC/SPP 2017, Art. 5)",
                     ["Category", "Records", "Threshold applied", "Reached"], html_id="thresholds")
    for c in package.get("thresholds") or []:
        checks.add([Cell(c.get("category"), translate=True), c.get("count"),
                    c.get("applied"), Cell("yes" if c.get("reached") else "no",
                                           translate=True)])
    events = Section("Events (pseudonymous ids only)", ["When", "Kind", "Action", "Actor",
                                                        "Waybill", "Outcome"], html_id="events")
    for ev in evidence.events_of(package)[:200]:
        at = ev.get("occurred_at")
        when = datetime.fromisoformat(at) if isinstance(at, str) else at
        events.add([when, ev.get("kind"), ev.get("action") or ev.get("step"),
                    ev.get("actor_id") or ev.get("employee_id"), ev.get("waybill_no"),
                    ev.get("outcome")])
    requests_ = data_requests_section(session, staff, referral_id)
    return show(request, "Referral", [head, verification_section(session, package,
                                                                 ref.enterprise_id),
                                      checks, events, requests_], **kw)


def data_requests_section(session: Session, staff: Staff, referral_id: str,
                          actions: bool = False) -> Section:
    """The police's requests for more data on a referral, what they asked for, the
    enterprise's decision and how many events the scoped package carries. With
    ``actions`` (the enterprise's side) a pending request can be answered."""
    sec = Section("Data requests", ["Requested", "Waybills", "Actors", "Justification",
                                    "Status", "Decided", "Events provided"],
                  html_id="requests", empty="No data requests.")
    for d in refs.data_requests(session, staff.principal, referral_id):
        acts = []
        if actions and d.status == "pending":
            acts = [Action("/enterprise/referrals/data/approved", "Provide the data",
                           {"request_id": d.id, "referral_id": referral_id}),
                    Action("/enterprise/referrals/data/refused", "Refuse",
                           {"request_id": d.id, "referral_id": referral_id}, secondary=True)]
        sec.add([d.requested_at, " ".join(d.scope.get("waybills") or []) or None,
                 " ".join(d.scope.get("actor_ids") or []) or None, d.justification,
                 Cell(d.status, translate=True), d.decided_at,
                 (d.package or {}).get("events_total")], acts)
    return sec


@router.get("/referrals/{referral_id}", response_class=HTMLResponse)
def referral(referral_id: str, request: Request, session: SessionDep,
             staff: PoliceStaff) -> HTMLResponse:
    return _referral(referral_id, request, session, staff)


@router.get("/referrals/{referral_id}/evidence")
def evidence_file(referral_id: str, session: SessionDep, staff: PoliceStaff) -> Response:
    """The evidence package as a file, as ``channel referral evidence`` writes it (to
    verify or keep outside the portal; the page verifies it too)."""
    pkg = refs.package_of(session, staff.principal, referral_id)
    return Response(json.dumps(pkg, ensure_ascii=False, indent=1), media_type="application/json",
                    headers={"Content-Disposition":
                             f'attachment; filename="evidence-{referral_id}.json"',
                             "Cache-Control": "no-store"})


@router.post("/referrals/{referral_id}/{op}", response_class=HTMLResponse)
async def referral_action(referral_id: str, op: str, request: Request, session: SessionDep,
                          staff: PoliceStaff) -> Response:
    rt = runtime(request)

    def run(v: dict[str, str]) -> str:
        if op == "accept":
            refs.accept(session, staff.principal, referral_id, clock=rt.clock)
            return "Referral accepted."
        if op == "decline":
            refs.decline(session, staff.principal, referral_id, reason=v.get("reason", ""),
                         clock=rt.clock)
            return "Referral declined."
        if op == "request":
            scope = {k: v.get(k, "").split() for k in ("waybills", "actor_ids") if v.get(k)}
            refs.request_data(session, staff.principal, referral_id, scope=scope,
                              justification=v.get("justification", ""), clock=rt.clock)
            return "Data request sent to the enterprise."
        confirmed(v)
        refs.conclude(session, request.app.state.vault, staff.principal, referral_id,
                      outcome=v.get("outcome", ""), clock=rt.clock)
        return "Referral concluded; the reporter is told the outcome."

    return await act(request, run,
                     lambda **kw: _referral(referral_id, request, session, staff, **kw))


# -- auditors' data support (``audit support list|receive``) ------------------------------

# A data support's status as the police read it.
SUPPORT_STATUS = {"sent": "awaiting your receipt", "received": "received"}


def support_sections(session: Session, staff: Staff) -> list[Section]:
    """What auditor firms handed this police organisation's cases: the engagement it
    comes from, the findings and event references (no PI), and the receipt."""
    rows = support.listing(session, staff.principal)
    sec = Section("Auditors' data support", ["Sent", "Referral", "Auditor firm", "Engagement",
                                             "Findings", "Events", "Package SHA-256", "Status",
                                             "Receipt"], html_id="support",
                  empty="No data support received.",
                  intro="Audit firms with an engagement at the enterprise hand a case what "
                        "the audit established: findings and references to logged events, "
                        "no personal information. Acknowledge each with a receipt.")
    for r in rows:
        sec.add([r.sent_at, Cell(r.referral_id, href=f"/police/referrals/{r.referral_id}"),
                 r.auditor_org_id, r.engagement_id, len(r.package.get("findings") or []),
                 len(r.package.get("events") or []), r.package_sha256,
                 Cell(SUPPORT_STATUS.get(r.status, r.status), translate=True), r.receipt])
    owed = tuple((r.id, f"{r.referral_id} · {r.auditor_org_id}") for r in rows
                 if r.status == "sent")
    if owed:
        sec.forms.append(Action("/police/support/receive", "Acknowledge receipt", inputs=(
            Input("support_id", "Data support", "select", owed), CONFIRM)))
    findings = Section("Findings handed over", ["Referral", "Control", "Severity", "Raised",
                                                "Summary"], html_id="support-findings",
                       empty="No findings handed over.")
    events = Section("Events referenced", ["Referral", "Event", "Position in the log"],
                     html_id="support-events", empty="No events referenced.")
    for r in rows:
        for f in r.package.get("findings") or []:
            raised = f.get("raised_at")
            findings.add([r.referral_id, f.get("control_id"),
                          Cell(f.get("severity"), translate=True),
                          datetime.fromisoformat(raised) if isinstance(raised, str) else None,
                          f.get("summary")])
        for e in r.package.get("events") or []:
            events.add([r.referral_id, e.get("event_id"), e.get("seq")])
    return [sec, findings, events]


def _support(request: Request, session: Session, staff: Staff, **kw: Any) -> HTMLResponse:
    return show(request, "Auditors' data support", support_sections(session, staff), **kw)


@router.get("/support", response_class=HTMLResponse)
def support_page(request: Request, session: SessionDep, staff: PoliceStaff) -> HTMLResponse:
    return _support(request, session, staff)


@router.post("/support/receive", response_class=HTMLResponse)
async def support_receive(request: Request, session: SessionDep, staff: PoliceStaff) -> Response:
    """Acknowledge an auditor's data support with a receipt (``audit support receive``)."""
    clock = runtime(request).clock

    def run(v: dict[str, str]) -> tuple[str, dict[str, str]]:
        confirmed(v)
        row = support.receive(session, staff.principal, support_id=v.get("support_id", ""),
                              clock=clock)
        return "Data support received; receipt %(receipt)s.", {"receipt": str(row.receipt)}

    return await act(request, run, lambda **kw: _support(request, session, staff, **kw))
