"""Enterprise portal, office staff at the PI access gate: reveal a parcel's field for
a purpose (``access reveal``), search parcels by phone (``access search``; masked
hits), an emergency reveal outside any assignment (``access break-glass``; always
flagged), and bulk exports requested, approved by a second person, listed and run
(``access export request|approve|list|run``).

Nothing here decides access: every form calls the gate (``AccessGate``) with the
logged-in person as caller, so each attempt, allowed or refused, is an access event
and the purpose, assignment, standing and second-person checks are the gate's own.
The page shows no more than the command prints: a revealed value once, after the
redirect, in a sealed one-use cookie (``web/once.py``); search hits masked; an export
only as the requester's download.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from parcelguard.access.caller import Caller, caller_for_principal
from parcelguard.access.exports import ExportOutcome
from parcelguard.access.policy import ALL_BUT_ID, ID_NUMBER
from parcelguard.access.reasons import Denied
from parcelguard.access.repository import AccessRepository
from parcelguard.access.service import AccessGate
from parcelguard.access.trail import Outcome
from parcelguard.core.errors import DomainError, InvalidInput
from parcelguard.core.http import SessionDep
from parcelguard.ledger.contract import PURPOSES
from parcelguard.web import once
from parcelguard.web.actions import CONFIRM, confirmed
from parcelguard.web.auth import OfficerStaff, Staff
from parcelguard.web.i18n import gettext_for, localised
from parcelguard.web.names import Names
from parcelguard.web.portals.enterprise_layout import show
from parcelguard.web.render import locale_of, redirect, runtime
from parcelguard.web.sections import Action, Cell, Input, Section
from parcelguard.web.security import checked_form

router = APIRouter(include_in_schema=False)  # under /enterprise (enterprise.py mounts it)
BASE = "/enterprise/access"
OUTCOME = "pg_access"  # the last attempt's outcome, shown once after the redirect
FIELDS = tuple(sorted(ALL_BUT_ID | {ID_NUMBER}))
# What an export may carry, as sets people pick (the gate checks each against the
# role and purpose, as for `access export request --field ...`).
FIELD_SETS = (("recipient_name recipient_phone", "recipient's name and phone number"),
              ("sender_name sender_phone", "sender's name and phone number"),
              ("sender_name sender_phone recipient_name recipient_phone",
               "names and phone numbers of both"),
              ("recipient_name recipient_phone recipient_address", "recipient's details"),
              ("sender_name sender_phone sender_address", "sender's details"),
              (" ".join(sorted(ALL_BUT_ID)), "both parties' details"))


def _caller(request: Request, session: Session, staff: Staff) -> Caller:
    return caller_for_principal(session, staff.principal, channel="web",
                                ip=request.client.host if request.client else None)


def _gate(request: Request, session: Session) -> AccessGate:
    return AccessGate(session, request.app.state.vault, runtime(request).clock)


def _options(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((v, v) for v in values)


def _forms(session: Session, staff: Staff, tr: Any) -> list[Section]:
    names = Names(session)
    reveal = Section("Reveal for a purpose", html_id="reveal", forms=[Action(
        f"{BASE}/reveal", "Reveal", inputs=(
            Input("waybill_no", "Waybill number", required=True),
            Input("purpose", "Purpose", "select", _options(PURPOSES)),
            Input("field", "Field", "select", _options(FIELDS))))],
        intro="The gate allows a parcel assigned to you, for the assigned purpose, the "
              "fields your role needs; every attempt is recorded.")
    search = Section("Search by phone", html_id="search", forms=[Action(
        f"{BASE}/search", "Search", inputs=(
            Input("phone", "Phone number, or its last four digits", required=True),
            Input("purpose", "Purpose", "select", _options(PURPOSES)),
            Input("last4", "Only the last four digits (recipients at my station)",
                  "checkbox")))],
        intro="Hits are masked; at most 20 are shown. The search is recorded.")
    glass = Section("Emergency reveal (break-glass)", html_id="break-glass-reveal", forms=[
        Action(f"{BASE}/break-glass", "Reveal in an emergency", inputs=(
            Input("waybill_no", "Waybill number", required=True),
            Input("field", "Field", "select", _options(tuple(sorted(ALL_BUT_ID)))),
            Input("justification", "Why (at least 20 characters, no phone or ID numbers)",
                  "textarea", required=True), CONFIRM))],
        intro="Outside any assignment: always flagged, and reviewed by someone else as "
              "justified or abuse.")
    exports = Section("Bulk exports", ["Requested", "Request", "Requester", "Purpose",
                                       "Fields", "Records", "Status"], html_id="exports",
                      empty="No export requests.")
    me = staff.employee_id
    for r in AccessRepository(session, staff.principal.org_id).export_requests():
        acts: list[Action] = []
        if r.status == "pending" and r.requester_employee_id != me:
            acts += [Action(f"{BASE}/export-approve", "Approve", {"request_id": r.id},
                            inputs=(CONFIRM,)),
                     Action(f"{BASE}/export-reject", "Reject", {"request_id": r.id},
                            secondary=True)]
        if r.status == "approved" and r.requester_employee_id == me:
            acts.append(Action(f"{BASE}/export-run", "Download the export",
                               {"request_id": r.id}, inputs=(CONFIRM,)))
        exports.add([r.requested_at, r.id, names.person(r.requester_employee_id),
                     Cell(r.purpose, translate=True), ", ".join(tr(f) for f in r.fields),
                     r.record_count,
                     Cell(r.status, translate=True)], acts)
    exports.forms.append(Action(f"{BASE}/export-request", "Request an export", inputs=(
        Input("purpose", "Purpose", "select", _options(PURPOSES)),
        Input("fields", "Fields", "select", FIELD_SETS),
        Input("waybills", "Waybill numbers (space or line separated)", "textarea",
              required=True))))
    return [reveal, search, glass, exports]


def _shown(request: Request, outcome: dict[str, Any]) -> tuple[list[Section], list[str],
                                                                list[str]]:
    """The sealed outcome as sections and messages, in the page's language."""
    _ = gettext_for(locale_of(request))
    event = outcome.get("event_id") or "—"
    if not outcome.get("allowed"):
        text = outcome.get("message_zh") if locale_of(request) == "zh-CN" \
            else outcome.get("message_en")
        return [], [], [_("Refused: %(why)s (access event %(event)s)", why=text or "",
                          event=event)]
    op = outcome.get("op")
    sections: list[Section] = []
    if op in ("reveal", "break_glass"):
        sections.append(Section("Revealed (shown once)", html_id="revealed", facts=[
            (f, v if v is not None else Cell("erased", translate=True))
            for f, v in (outcome.get("values") or {}).items()],
            intro="Reloading the page hides it and reveals nothing again."))
        message = _("Revealed; recorded as access event %(event)s.", event=event) \
            if op == "reveal" else _("Emergency reveal recorded and flagged for review "
                                     "(%(record)s).", record=outcome.get("record_id") or "")
        return sections, [message], []
    if op == "search":
        hits = Section("Search results", ["Waybill", "Status", "Party", "Name", "Phone",
                                          "Station"], html_id="hits",
                       empty="No parcel matches.")
        for h in outcome.get("hits") or []:
            hits.add([h[0], Cell(h[1], translate=True), Cell(h[2], translate=True), h[3], h[4],
                      h[5]])
        return [hits], [_("%(total)s matching, %(shown)s shown, %(withheld)s withheld "
                          "(access event %(event)s).", total=outcome.get("total", 0),
                          shown=len(outcome.get("hits") or []),
                          withheld=outcome.get("withheld", 0), event=event)], []
    return [], [_("Export %(id)s: %(status)s, %(n)s records.", id=outcome.get("request_id"),
                  status=_(str(outcome.get("status"))), n=outcome.get("record_count", 0))], []


def _page(request: Request, session: Session, staff: Staff, *,
          errors: list[str] | None = None, status_code: int = 200) -> HTMLResponse:
    outcome = once.take(request, OUTCOME, staff.account_id)
    extra, messages, refused = _shown(request, outcome) if outcome else ([], [], [])
    forms = _forms(session, staff, gettext_for(locale_of(request)))
    response = show(request, "PI access", [*extra, *forms],
                    messages=messages, errors=[*refused, *(errors or [])],
                    status_code=status_code)
    once.drop(request, response, OUTCOME)
    return response


@router.get("/access", response_class=HTMLResponse)
def access_page(request: Request, session: SessionDep, staff: OfficerStaff) -> HTMLResponse:
    return _page(request, session, staff)


def _denial(o: Outcome) -> dict[str, str]:
    d = o.decision
    if isinstance(d, Denied):
        return {"message_zh": d.message_zh, "message_en": d.message_en}
    return {}


def _done(request: Request, staff: Staff, outcome: dict[str, Any]) -> Response:
    """Post/redirect/get: the attempt is recorded; its outcome goes, sealed and for
    once, to the page, so a reload reveals nothing twice."""
    response = redirect(request, BASE)
    while True:
        try:
            once.put(request, response, OUTCOME, staff.account_id, outcome)
            return response
        except ValueError:  # too large for the cookie: fewer of the (masked) hits
            hits = outcome.get("hits") or []
            if not hits:
                raise
            outcome = {**outcome, "hits": hits[:len(hits) // 2]}


def _export(op: str, o: ExportOutcome) -> dict[str, Any]:
    return {"op": op, "allowed": o.allowed, "event_id": o.event_id,
            "request_id": o.request_id, "status": o.status, "record_count": o.record_count,
            **_denial(o)}


def _reveal(gate: AccessGate, caller: Caller, v: dict[str, str]) -> dict[str, Any]:
    # `access reveal`
    o = gate.reveal(caller, waybill_no=v.get("waybill_no", "").strip().upper(),
                    purpose=v.get("purpose", ""), fields=[v.get("field", "")])
    return {"op": "reveal", "allowed": o.allowed, "event_id": o.event_id,
            "values": dict(o.values.by_field), **_denial(o)}


def _search(gate: AccessGate, caller: Caller, v: dict[str, str]) -> dict[str, Any]:
    # `access search`: the number never in a URL or a log
    s = gate.search_by_phone(caller, phone=v.get("phone", "").strip(),
                             purpose=v.get("purpose", ""), last4=v.get("last4") == "yes")
    return {"op": "search", "allowed": s.allowed, "event_id": s.event_id, "total": s.total,
            "withheld": s.withheld, **_denial(s),
            "hits": [[h.waybill_no, h.status, h.party, h.name, h.phone,
                      h.destination_station_id or "—"] for h in s.hits]}


def _break_glass(gate: AccessGate, caller: Caller, v: dict[str, str]) -> dict[str, Any]:
    # `access break-glass`
    confirmed(v)
    b = gate.break_glass_reveal(caller, waybill_no=v.get("waybill_no", "").strip().upper(),
                                fields=[v.get("field", "")],
                                justification=v.get("justification", ""))
    return {"op": "break_glass", "allowed": b.allowed, "event_id": b.event_id,
            "record_id": b.record_id, "values": dict(b.values.by_field), **_denial(b)}


def _export_request(gate: AccessGate, caller: Caller, v: dict[str, str]) -> dict[str, Any]:
    # `access export request`
    scope = {"waybills": [w.upper() for w in v.get("waybills", "").split()]}
    return _export("export", gate.request_export(
        caller, purpose=v.get("purpose", ""), fields=v.get("fields", "").split(), scope=scope))


def _export_approve(gate: AccessGate, caller: Caller, v: dict[str, str]) -> dict[str, Any]:
    # `access export approve`
    confirmed(v)
    return _export("export", gate.approve_export(caller, request_id=v.get("request_id", "")))


def _export_reject(gate: AccessGate, caller: Caller, v: dict[str, str]) -> dict[str, Any]:
    # `access export approve --reject`
    return _export("export", gate.approve_export(caller, request_id=v.get("request_id", ""),
                                                 approve=False))


ATTEMPTS = {"reveal": _reveal, "search": _search, "break-glass": _break_glass,
            "export-request": _export_request, "export-approve": _export_approve,
            "export-reject": _export_reject}


def _export_run(gate: AccessGate, caller: Caller, v: dict[str, str]) -> dict[str, Any] | Response:
    """`access export run`: the records as the requester's download (the command writes
    them to a new owner-only file); a refusal goes back to the page."""
    confirmed(v)
    e = gate.run_export(caller, request_id=v.get("request_id", ""))
    if not e.allowed:
        return _export("export", e)
    body = json.dumps([r.as_dict() for r in e.records], ensure_ascii=False)
    return Response(body, media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="{e.request_id}.json"',
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


@router.post("/access/{op}", response_class=HTMLResponse)
async def access_action(op: str, request: Request, session: SessionDep,
                        staff: OfficerStaff) -> Response:
    form = await checked_form(request)
    v = {k: x for k, x in form.items() if isinstance(x, str)}
    gate, caller = _gate(request, session), _caller(request, session, staff)
    try:
        if op == "export-run":
            out = _export_run(gate, caller, v)
        elif op in ATTEMPTS:
            out = ATTEMPTS[op](gate, caller, v)
        else:
            raise InvalidInput("unknown action")
    except DomainError as exc:
        _ = gettext_for(locale_of(request))
        return _page(request, session, staff, errors=[localised(exc, _)],
                     status_code=exc.status_code)
    return out if isinstance(out, Response) else _done(request, staff, out)
