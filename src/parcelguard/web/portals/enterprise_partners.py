"""Partners and virtual numbers on the enterprise portal (``waybill partners
add|list|contract|assess``, ``waybill bindings``): the partners the enterprise gives
parcels' PI to, with their keys, contracts and impact assessments (the
administrator: ``partners:manage``), and the live virtual-number bindings with the
expiry sweep (``logistics:write``). ``access.sharing`` and ``waybill.virtual`` do
the work; no PI is shown (a binding's number is the virtual one)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.access.caller import caller_for_principal
from parcelguard.access.reasons import Denied
from parcelguard.access.service import AccessGate
from parcelguard.access.waybills import sharing, virtual_numbers
from parcelguard.core.errors import DomainError, InvalidInput, NotFound
from parcelguard.core.http import SessionDep
from parcelguard.waybill import virtual
from parcelguard.waybill.models import ImpactAssessment, ProcessingContract
from parcelguard.waybill.provider import telephony
from parcelguard.waybill.settings import WaybillSettings
from parcelguard.web.actions import CONFIRM, act, confirmed
from parcelguard.web.auth import OfficerStaff, Staff
from parcelguard.web.i18n import gettext_for, localised
from parcelguard.web.portals.enterprise_layout import show
from parcelguard.web.render import locale_of, runtime
from parcelguard.web.sections import Action, Cell, Input, Section
from parcelguard.web.security import checked_form

router = APIRouter(include_in_schema=False)  # mounted under /enterprise by enterprise.py


# The fields a partner is given, in the sets last-mile delivery uses.
FIELD_SETS = (("recipient_name recipient_phone recipient_address",
               "Recipient's name, phone and address"),
              ("recipient_name recipient_phone", "Recipient's name and phone"),
              ("recipient_address", "Recipient's address"))


def _fields(fields: list[str], tr: Any) -> str:
    return "; ".join(tr(f) for f in fields)


def _own(staff: Staff, permission: str) -> str:
    staff.principal.require(permission)
    return staff.principal.org_id


def _partners(request: Request, session: Session, staff: Staff, **kw: Any) -> HTMLResponse:
    ent = _own(staff, "logistics:read")
    tr = gettext_for(locale_of(request))
    rows = sharing.list_partners(session, ent)
    sec = Section("Partners", ["Partner", "Name", "Relationship", "Key id"],
                  html_id="partners", empty="No partners registered.",
                  intro="Carriers and outlets the enterprise gives parcels' personal "
                        "information to: a third party needs each person's separate "
                        "consent, an entrusted processor a processing contract; neither "
                        "gets anything without an impact assessment.")
    for p in rows:
        sec.add([p.partner_id, p.name, Cell(p.relationship, translate=True), p.key_id])
    contracts = Section("Processing contracts", ["Partner", "Reference", "Fields", "From",
                                                 "Until"], html_id="contracts",
                        empty="No processing contracts.")
    for c in session.scalars(select(ProcessingContract).where(
            ProcessingContract.enterprise_id == ent)):
        contracts.add([c.partner_id, c.reference, _fields(c.fields, tr), c.starts_at,
                       c.ends_at])
    assessments = Section("Impact assessments", ["Partner", "Fields", "Assessed",
                                                 "Conclusion"], html_id="assessments",
                          empty="No impact assessments.")
    for a in session.scalars(select(ImpactAssessment).where(
            ImpactAssessment.enterprise_id == ent)):
        assessments.add([a.partner_id, _fields(a.fields, tr), a.assessed_at, a.conclusion])
    if staff.principal.can("partners:manage"):
        ids = tuple((p.partner_id, f"{p.partner_id} · {p.name}") for p in rows)
        fields = Input("fields", "Fields", "select", FIELD_SETS)
        sec.forms.append(Action("/enterprise/partners/add", "Register a partner", inputs=(
            Input("partner_id", "Partner id (a-z, 0-9, '.', '_', '-')", required=True),
            Input("name", "Name, as in the privacy notice", required=True),
            Input("relationship", "Relationship", "select",
                  tuple((r, r) for r in sharing.RELATIONSHIPS)),
            Input("public_key", "The partner's X25519 public key (base64 or PEM)",
                  "textarea", required=True))))
        if ids:
            assessments.forms.append(Action("/enterprise/partners/assess",
                                            "Record an impact assessment", inputs=(
                Input("partner_id", "Partner", "select", ids), fields,
                Input("conclusion", "Necessity, risks to the people, and the measures "
                      "against them", "textarea", required=True))))
            contracts.forms.append(Action("/enterprise/partners/contract",
                                          "Record a processing contract", inputs=(
                Input("partner_id", "Partner", "select", ids),
                Input("reference", "Contract reference", required=True), fields,
                Input("starts", "From (ISO date-time with offset, e.g. "
                      "2026-12-01T00:00:00+08:00)", required=True),
                Input("ends", "Until (ISO date-time with offset)", required=True))))
    if staff.principal.can("pi:share") and rows:
        sec.forms.append(Action("/enterprise/partners/share", "Give a parcel's data to a "
                                "partner, sealed to its key", inputs=(
            Input("waybill_no", "Waybill number", required=True),
            Input("partner_id", "Partner", "select",
                  tuple((p.partner_id, f"{p.partner_id} · {p.name}") for p in rows)),
            Input("fields", "Fields", "select", FIELD_SETS), CONFIRM)))
    return show(request, "Partners", [sec, assessments, contracts], **kw)


@router.post("/partners/share", response_class=HTMLResponse)
async def partners_share(request: Request, session: SessionDep,
                         staff: OfficerStaff) -> Response:
    """Share a parcel's PI with a partner through the gate, as ``waybill share``: the
    answer to the post is the payload sealed to the partner's key, as a file (it is
    the partner's to open; nothing readable is shown). A refusal is recorded by the
    gate and shown on the page; the attempt is one access event either way."""
    form = await checked_form(request)
    v = {k: x for k, x in form.items() if isinstance(x, str)}
    locale = locale_of(request)
    _ = gettext_for(locale)
    try:
        staff.principal.require("pi:share")
        confirmed(v)
        caller = caller_for_principal(session, staff.principal, channel="web",
                                      ip=request.client.host if request.client else None)
        out = AccessGate(session, request.app.state.vault, runtime(request).clock).share(
            caller, waybill_no=v.get("waybill_no", "").strip().upper(),
            partner_id=v.get("partner_id", ""), fields=v.get("fields", "").split())
    except DomainError as exc:
        return _partners(request, session, staff, errors=[localised(exc, _)],
                         status_code=exc.status_code)
    if not out.allowed or out.share.payload is None:
        d = out.decision
        said = (d.message_zh if locale == "zh-CN" else d.message_en) \
            if isinstance(d, Denied) else ""
        return _partners(request, session, staff, status_code=403, errors=[_(
            "The share was refused: %(why)s The attempt is recorded as event %(event)s.",
            why=said, event=str(out.event_id))])
    return Response(out.share.payload, media_type="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="share-{out.share.share_id}.sealed"',
        "Cache-Control": "no-store"})


@router.get("/partners", response_class=HTMLResponse)
def partners_page(request: Request, session: SessionDep, staff: OfficerStaff) -> HTMLResponse:
    return _partners(request, session, staff)


def _when(text: str) -> datetime:
    try:
        t = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput("Not a date and time: use 2026-12-01T00:00:00+08:00.") from None
    if t.tzinfo is None:
        raise InvalidInput("Not a date and time: use 2026-12-01T00:00:00+08:00.")
    return t


@router.post("/partners/{op}", response_class=HTMLResponse)
async def partners_action(op: str, request: Request, session: SessionDep,
                          staff: OfficerStaff) -> Response:
    now = runtime(request).clock.now()
    who = staff.principal.account_id or staff.principal.role

    def run(v: dict[str, str]) -> str:
        ent = _own(staff, "partners:manage")
        partner = v.get("partner_id", "").strip()
        if op == "add":
            sharing.add_partner(session, enterprise_id=ent, partner_id=partner,
                                name=v.get("name", "").strip(),
                                relationship=v.get("relationship", ""),
                                public_key=v.get("public_key", "").strip().encode(), at=now)
            return "Partner registered."
        if op == "assess":
            sharing.record_assessment(session, enterprise_id=ent, partner_id=partner,
                                      fields=v.get("fields", "").split(),
                                      conclusion=v.get("conclusion", ""), at=now,
                                      assessed_by=who)
            return "Impact assessment recorded."
        if op == "contract":
            sharing.record_contract(session, enterprise_id=ent, partner_id=partner,
                                    reference=v.get("reference", "").strip(),
                                    fields=v.get("fields", "").split(),
                                    starts_at=_when(v.get("starts", "")),
                                    ends_at=_when(v.get("ends", "")), at=now, recorded_by=who)
            return "Processing contract recorded."
        raise NotFound(f"no action {op}")

    return await act(request, run, lambda **kw: _partners(request, session, staff, **kw))


def _bindings(request: Request, session: Session, staff: Staff, **kw: Any) -> HTMLResponse:
    ent = _own(staff, "logistics:read")
    sec = Section("Virtual-number bindings", ["Waybill", "Mode", "Virtual number", "Courier",
                                              "Window ends", "Expires"], html_id="bindings",
                  empty="No live bindings.",
                  intro="Each delivery's virtual number, bound to its courier for the "
                        "assignment window; unbound after delivery and the grace period.")
    for b in virtual.list_bindings(session, enterprise_id=ent, live_only=True, limit=500):
        sec.add([b.waybill_no, Cell(b.mode, translate=True), virtual.display_number(b),
                 b.courier_id, b.window_ends_at, b.expires_at])
    if staff.principal.can("logistics:write"):
        sec.forms.append(Action("/enterprise/bindings/expire", "Unbind those past delivery "
                                "and the grace period", secondary=True))
    return show(request, "Virtual-number bindings", [sec], **kw)


@router.get("/bindings", response_class=HTMLResponse)
def bindings_page(request: Request, session: SessionDep, staff: OfficerStaff) -> HTMLResponse:
    return _bindings(request, session, staff)


@router.post("/bindings/expire", response_class=HTMLResponse)
async def bindings_expire(request: Request, session: SessionDep,
                          staff: OfficerStaff) -> Response:
    """The expiry sweep, as ``waybill bindings --expire``."""
    rt = runtime(request)

    def run(v: dict[str, str]) -> tuple[str, dict[str, str]]:
        del v
        _own(staff, "logistics:write")
        n = virtual_numbers.expire_bindings(
            session, rt.clock.now(), telephony=telephony(rt.settings),
            grace=timedelta(days=rt.settings.section(WaybillSettings).binding_grace_days))
        return "%(n)s binding(s) expired.", {"n": str(n)}

    return await act(request, run, lambda **kw: _bindings(request, session, staff, **kw))
