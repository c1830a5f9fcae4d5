"""Police portal (network-security department): the referrals inbox, each evidence
package with its proofs verified on the page, and scoped data requests.

The package is verified with the enterprise's note verifier key as registered with
the supervision department (pinned when first seen), never with the key the package
carries, so a forged package cannot vouch for itself."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

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
NAV = [Nav("/police", "Referrals")]


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
        ("Package SHA-256", ref.package_sha256)], html_id="ref")
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
