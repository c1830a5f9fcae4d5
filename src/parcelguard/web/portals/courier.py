"""Courier portal (phone-sized): today's assignments with their masked labels, a
purpose-bound reveal through the access gate, calls through the virtual number, and
the courier's own conduct decisions with an appeal against a sanction (``conduct
appeal``).

Nothing here decides access: the gate (``AccessGate``) and the virtual-number
binding do, and both record every attempt, allowed or refused, in the ledger.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.access.caller import Caller, caller_for_principal
from parcelguard.access.reasons import Denied
from parcelguard.access.service import AccessGate
from parcelguard.access.waybills import virtual_numbers
from parcelguard.conduct import rules as conduct_rules
from parcelguard.conduct import service as conduct
from parcelguard.core.errors import DomainError
from parcelguard.core.http import SessionDep
from parcelguard.ledger import parcels as projection
from parcelguard.logistics.models import Assignment, Parcel
from parcelguard.waybill.virtual import display_number, live_binding
from parcelguard.web import once
from parcelguard.web.actions import act
from parcelguard.web.auth import CourierStaff, Staff
from parcelguard.web.i18n import gettext_for
from parcelguard.web.render import Nav, locale_of, page, redirect, runtime
from parcelguard.web.security import checked_form

router = APIRouter(prefix="/courier", include_in_schema=False)
NAV = [Nav("/courier", "Today's assignments")]
REVEAL_FIELDS = ("recipient_phone", "recipient_name", "recipient_address")
PURPOSES = ("delivery", "pickup")


def _caller(request: Request, session: Session, staff: Staff) -> Caller:
    return caller_for_principal(session, staff.principal, channel="web",
                                ip=request.client.host if request.client else None)


def assignments_today(session: Session, staff: Staff, now: datetime) -> list[dict[str, Any]]:
    """The courier's assignments whose window touches the last and next 12 hours."""
    if staff.employee_id is None:
        return []
    rows = session.execute(select(Assignment, Parcel).join(
        Parcel, (Parcel.waybill_no == Assignment.waybill_no)
        & (Parcel.enterprise_id == Assignment.enterprise_id)).where(
        Assignment.enterprise_id == staff.principal.org_id,
        Assignment.employee_id == staff.employee_id, Assignment.revoked.is_(False),
        Assignment.ends_at > now - timedelta(hours=12),
        Assignment.starts_at < now + timedelta(hours=12)).order_by(Assignment.starts_at)).all()
    status = projection.statuses(session, staff.principal.org_id,
                                 [a.waybill_no for a, _ in rows])
    out = []
    for a, p in rows:
        b = live_binding(session, a.enterprise_id, a.waybill_no)
        out.append({"waybill_no": a.waybill_no, "purpose": a.purpose, "starts_at": a.starts_at,
                    "ends_at": a.ends_at, "active": a.starts_at <= now < a.ends_at,
                    "status": status.get(a.waybill_no, "created"),
                    "destination": p.destination_station_id or p.destination_region or "—",
                    "virtual_number": display_number(b) if b is not None else None})
    return out


OUTCOME = "pg_courier"  # the last action's outcome, shown once after the redirect


def my_decisions(session: Session, staff: Staff) -> list[dict[str, Any]]:
    """The courier's own rewards and sanctions (the conduct service shows an employee
    theirs only); an active sanction can be appealed."""
    if staff.employee_id is None or not staff.principal.can("conduct:appeal"):
        return []
    return [{"id": d.id, "kind": d.kind, "status": d.status, "decided_at": d.decided_at,
             "appealable": d.kind in conduct_rules.SANCTIONS and d.status == "active"}
            for d in conduct.list_decisions(session, staff.principal)[:50]]


def _home(request: Request, session: Session, staff: Staff, *, status_code: int = 200,
          **extra: Any) -> HTMLResponse:
    now = runtime(request).clock.now()
    shown: dict[str, Any] = {"result": None, "call": None, "error": None, "typed": {}}
    outcome = once.take(request, OUTCOME, staff.account_id)
    if outcome is not None:
        shown |= _localised(request, outcome)
    response = page(request, "courier/home.html", title="Today's assignments", nav=NAV,
                    status_code=status_code,
                    assignments=assignments_today(session, staff, now), fields=REVEAL_FIELDS,
                    purposes=PURPOSES, decisions=my_decisions(session, staff),
                    **{**shown, **extra})
    once.drop(request, response, OUTCOME)
    return response


def _localised(request: Request, outcome: dict[str, Any]) -> dict[str, Any]:
    """An outcome carried over the redirect, in the language of the page showing it
    (the visitor may have switched language in between)."""
    zh = locale_of(request) == "zh-CN"
    _ = gettext_for(locale_of(request))
    out: dict[str, Any] = {}
    if isinstance(outcome.get("result"), dict):
        r = dict(outcome["result"])
        r["message"] = r.pop("message_zh", "") if zh else r.pop("message_en", "")
        out["result"] = r
    if isinstance(outcome.get("call"), dict):
        c = dict(outcome["call"])
        c["message"] = _(c["message"]) if c.get("message") else ""
        out["call"] = c
    return out


def _done(request: Request, staff: Staff, outcome: dict[str, Any]) -> Response:
    """Post/redirect/get: the action is done (and recorded); its outcome goes, sealed
    and for once, to the page the courier came from, so a reload reveals nothing twice."""
    response = redirect(request, "/courier")
    once.put(request, response, OUTCOME, staff.account_id, outcome)
    return response


@router.get("", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, staff: CourierStaff) -> HTMLResponse:
    return _home(request, session, staff)


def _denial(decision: object) -> dict[str, str]:
    if isinstance(decision, Denied):
        return {"message_zh": decision.message_zh, "message_en": decision.message_en}
    return {"message_zh": "", "message_en": ""}


@router.post("/reveal", response_class=HTMLResponse)
async def reveal(request: Request, session: SessionDep, staff: CourierStaff) -> Response:
    form = await checked_form(request)
    waybill = str(form.get("waybill_no", "")).strip().upper()
    field = str(form.get("field", ""))
    purpose = str(form.get("purpose", "delivery"))
    if field not in REVEAL_FIELDS or purpose not in PURPOSES:
        # nothing was done: the form again, with what was typed
        return _home(request, session, staff, status_code=422,
                     typed={"waybill_no": waybill[:64]},
                     error=gettext_for(locale_of(request))("Choose a field and a purpose."))
    out = AccessGate(session, request.app.state.vault, runtime(request).clock).reveal(
        _caller(request, session, staff), waybill_no=waybill, purpose=purpose, fields=[field])
    result = {"waybill_no": waybill, "field": field, "allowed": out.allowed,
              "event_id": out.event_id,
              "value": out.values.by_field.get(field) if out.allowed else None,
              **({"message_zh": "", "message_en": ""} if out.allowed
                 else _denial(out.decision))}
    return _done(request, staff, {"result": result})


@router.post("/call", response_class=HTMLResponse)
async def call(request: Request, session: SessionDep, staff: CourierStaff) -> Response:
    form = await checked_form(request)
    waybill = str(form.get("waybill_no", "")).strip().upper()
    if staff.employee_id is None:
        return _home(request, session, staff, status_code=409,
                     error=gettext_for(locale_of(request))("Calls are not available."))
    try:
        receipt = virtual_numbers.place_call(session, request.app.state.vault,
                                     request.app.state.telephony,
                                     enterprise_id=staff.principal.org_id,
                                     employee_id=staff.employee_id, waybill_no=waybill,
                                     at=runtime(request).clock.now())
    except DomainError as exc:
        # the refused attempt is recorded like an allowed one: redirect all the same
        return _done(request, staff, {"call": {"waybill_no": waybill, "ok": False,
                                               "message": exc.message}})
    return _done(request, staff, {"call": {"waybill_no": waybill, "ok": receipt.connected,
                                           "dialled": receipt.dialled, "message": ""}})


@router.post("/label")
async def label(request: Request, session: SessionDep, staff: CourierStaff) -> Response:
    """The masked privacy label (PDF) through the gate: one print_label event."""
    form = await checked_form(request)
    waybill = str(form.get("waybill_no", "")).strip().upper()
    purpose = str(form.get("purpose", "delivery"))
    out = AccessGate(session, request.app.state.vault, runtime(request).clock).print_label(
        _caller(request, session, staff), waybill_no=waybill, purpose=purpose,
        telephony=request.app.state.telephony)
    if not out.allowed or out.label is None:
        return _done(request, staff, {"result": {
            "waybill_no": waybill, "field": "label", "allowed": False,
            "event_id": out.event_id, "value": None, **_denial(out.decision)}})
    return Response(out.label.pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{waybill}.pdf"'})


@router.post("/appeal", response_class=HTMLResponse)
async def appeal(request: Request, session: SessionDep, staff: CourierStaff) -> Response:
    """Appeal one's own sanction, as ``conduct appeal`` does on the employee's behalf."""
    typed: dict[str, str] = {}

    def run(v: dict[str, str]) -> str:
        typed["grounds"] = v.get("grounds", "")[:1000]
        conduct.appeal(session, staff.principal, v.get("decision_id", ""),
                       grounds=v.get("grounds", ""), clock=runtime(request).clock)
        return "Appeal filed; the security officer decides it."

    def again(errors: list[str] | None = None, status_code: int = 200,
              **_: Any) -> HTMLResponse:
        # refused: the page again with the reason and the grounds as typed
        return _home(request, session, staff, status_code=status_code,
                     error=errors[0] if errors else None, typed=typed)

    return await act(request, run, again)
