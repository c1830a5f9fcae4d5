"""Consumer portal, no account needed: ship a parcel (the privacy notice shown
prominently, consent choices one purpose at a time), track it (masked), and exercise
PI rights (consent status and withdrawal, data-subject requests). Complaints and
evaluations are in ``consumer_channel``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.consent import service as consent
from parcelguard.consent import subject_requests as dsr
from parcelguard.consent.notice import render_html
from parcelguard.consent.repository import ConsentRepository
from parcelguard.core.errors import DomainError
from parcelguard.core.http import SessionDep
from parcelguard.ledger import parcels as projection
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.logistics.models import Parcel
from parcelguard.waybill.masking import mask_address, mask_name, mask_phone
from parcelguard.web import consumers
from parcelguard.web.i18n import gettext_for
from parcelguard.web.render import Nav, locale_of, page, runtime
from parcelguard.web.security import checked_form

router = APIRouter(prefix="/consumer", include_in_schema=False)
NAV = [Nav("/consumer", "Home"), Nav("/consumer/ship", "Ship a parcel"),
       Nav("/consumer/track", "Track"), Nav("/consumer/report", "Report or complain"),
       Nav("/consumer/follow", "Follow up"), Nav("/consumer/rights", "My PI rights")]
OPTIONAL_PURPOSES = ("location_tracking", "marketing")


def _view(request: Request, template: str, title: str, **ctx: Any) -> HTMLResponse:
    return page(request, template, title=title, nav=NAV, **ctx)


@router.get("", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    return _view(request, "consumer/home.html", "Consumer services")


# -- ship -------------------------------------------------------------------------------


def _notice(session: Session, enterprise_id: str, locale: str) -> dict[str, Any] | None:
    """The carrier's notice in force, rendered for the visitor, and the purposes it
    asks consent for (each its own checkbox: separate consent is never bundled)."""
    version = ConsentRepository(session, enterprise_id).latest_version()
    if version is None:
        return None
    content = version.content
    loc = locale if locale in content.get("locales", {}) else next(iter(content["locales"]))
    purposes = []
    for key in sorted(version.fingerprints):
        if key in OPTIONAL_PURPOSES:
            purposes.append({"key": key, "label": key, "partner": None})
        elif key.startswith("partner_sharing:"):
            partner = content["purposes"][key].get("partner", {})
            purposes.append({"key": key, "label": "partner_sharing",
                             "partner": partner.get("name", key.partition(":")[2])})
    return {"version": version.version, "html": Markup(_demote(render_html(content, loc))),  # noqa: S704 - render_html escapes every text
            "purposes": purposes}


def _demote(fragment: str) -> str:
    """The notice's headings one level down: the page has its own h1, and a second
    one would break the outline screen readers navigate by."""
    for level in (3, 2, 1):
        fragment = fragment.replace(f"<h{level}>", f"<h{level + 1}>").replace(
            f"</h{level}>", f"</h{level + 1}>")
    return fragment


def _ship_form(request: Request, session: Session, carrier: str | None, *,
               error: str | None = None, values: dict[str, str] | None = None,
               status_code: int = 200) -> HTMLResponse:
    carriers = consumers.enterprises(session)
    chosen = carrier if any(c.id == carrier for c in carriers) else None
    notice = _notice(session, chosen, locale_of(request)) if chosen else None
    return page(request, "consumer/ship.html", title="Ship a parcel", nav=NAV,
                status_code=status_code, carriers=carriers, carrier=chosen, notice=notice,
                error=error, values=values or {})


@router.get("/ship", response_class=HTMLResponse)
def ship_form(request: Request, session: SessionDep, carrier: str | None = None) -> HTMLResponse:
    return _ship_form(request, session, carrier)


_PARTY_FIELDS = ("name", "phone", "address")


@router.post("/ship", response_class=HTMLResponse)
async def ship(request: Request, session: SessionDep) -> HTMLResponse:
    form = await checked_form(request)
    carrier = str(form.get("carrier", ""))
    values = {f"{p}_{f}": str(form.get(f"{p}_{f}", "")).strip()
              for p in ("sender", "recipient") for f in _PARTY_FIELDS}
    _ = gettext_for(locale_of(request))
    if carrier not in {c.id for c in consumers.enterprises(session)}:
        return _ship_form(request, session, None, error=_("Choose a carrier."), status_code=422)
    if form.get("acknowledge") != "yes":
        # The notice must be shown and acknowledged before collection (PIPL Art. 17).
        return _ship_form(request, session, carrier, values=values, status_code=422,
                          error=_("Please read the privacy notice and tick the box to "
                                  "confirm before shipping."))
    rt = runtime(request)
    chosen = [p for p in form.getlist("purpose") if isinstance(p, str)]
    sender, recipient = consumers.new_subject_id(), consumers.new_subject_id()
    principal = consumers.portal_principal(carrier)
    nested = session.begin_nested()  # a refused parcel leaves nothing half-written
    try:
        waybill = consumers.new_waybill_no(session, carrier)
        register_parcels(session, request.app.state.vault, enterprise_id=carrier, parcels=[
            ParcelIn(waybill_no=waybill, created_at=rt.clock.now(),
                     sender=PartyIn(sender, values["sender_name"], values["sender_phone"],
                                    values["sender_address"]),
                     recipient=PartyIn(recipient, values["recipient_name"],
                                       values["recipient_phone"],
                                       values["recipient_address"]))])
        consent.acknowledge_notice(session, principal, subject_id=sender, channel="web",
                                   clock=rt.clock)
        for purpose in chosen:
            consent.grant_consent(session, principal, subject_id=sender, purpose=purpose,
                                  channel="web", clock=rt.clock)
    except DomainError as exc:
        nested.rollback()
        return _ship_form(request, session, carrier, values=values, status_code=422,
                          error=_(exc.message))
    nested.commit()
    masked = {"recipient_name": mask_name(values["recipient_name"]),
              "recipient_phone": mask_phone(values["recipient_phone"]),
              "recipient_address": mask_address(values["recipient_address"])}
    return _view(request, "consumer/shipped.html", "Parcel registered", waybill=waybill,
                 masked=masked, purposes=chosen)


# -- track ------------------------------------------------------------------------------


@router.get("/track", response_class=HTMLResponse)
def track_form(request: Request) -> HTMLResponse:
    return _view(request, "consumer/track.html", "Track a parcel", result=None, error=None)


@router.post("/track", response_class=HTMLResponse)
async def track(request: Request, session: SessionDep) -> HTMLResponse:
    form = await checked_form(request)
    waybill, phone = str(form.get("waybill_no", "")), str(form.get("phone", ""))
    party = consumers.identify(session, request.app.state.vault, waybill_no=waybill,
                               phone=phone)
    if party is None:
        _ = gettext_for(locale_of(request))
        return page(request, "consumer/track.html", title="Track a parcel", nav=NAV,
                    status_code=404, result=None,
                    error=_("No parcel matches this waybill number and phone number."))
    parcel = session.scalars(select(Parcel).where(Parcel.waybill_no == party.waybill_no)).one()
    # The parcel projection: its status is the last step's, whatever order the
    # carrier's events arrived in (assignees are staff ids, not for the consumer).
    view = projection.view(session, parcel.enterprise_id, parcel.waybill_no)
    result = {"waybill_no": parcel.waybill_no,
              "status": view.status if view and view.status else "created",
              "status_at": view.status_at if view and view.status_at else parcel.created_at,
              "role": party.role, "phone": mask_phone(phone),
              "region": parcel.destination_region,
              "steps": [{"step": s.step, "at": s.at} for s in view.history] if view else []}
    return _view(request, "consumer/track.html", "Track a parcel", result=result, error=None)


# -- PI rights ---------------------------------------------------------------------------


def _rights(request: Request, session: Session, party: consumers.Party, *,
            message: str | None = None, error: str | None = None) -> HTMLResponse:
    rt = runtime(request)
    now = rt.clock.now()
    status = consent.subject_status(session, party.enterprise_id, party.subject_id, now)
    requests_ = dsr.list_requests(session, consumers.portal_principal(party.enterprise_id),
                                  clock=rt.clock, subject_id=party.subject_id)
    token = consumers.sign(request.app.state.web_key, party, now)
    return _view(request, "consumer/rights.html", "My PI rights", party=party, token=token,
                 status=status, requests=requests_, message=message, error=error)


@router.get("/rights", response_class=HTMLResponse)
def rights_form(request: Request) -> HTMLResponse:
    return _view(request, "consumer/rights_verify.html", "My PI rights", error=None)


@router.post("/rights", response_class=HTMLResponse)
async def rights(request: Request, session: SessionDep) -> HTMLResponse:
    form = await checked_form(request)
    _ = gettext_for(locale_of(request))
    now = runtime(request).clock.now()
    token = form.get("token")
    if isinstance(token, str) and token:
        party = consumers.unsign(request.app.state.web_key, token, now)
    else:
        party = consumers.identify(session, request.app.state.vault,
                                   waybill_no=str(form.get("waybill_no", "")),
                                   phone=str(form.get("phone", "")))
    if party is None:
        return page(request, "consumer/rights_verify.html", title="My PI rights", nav=NAV,
                    status_code=403, error=_("We could not confirm that you are a party to "
                                             "this parcel, or the page expired."))
    action = str(form.get("action", ""))
    principal = consumers.portal_principal(party.enterprise_id)
    rt = runtime(request)
    try:
        if action == "withdraw":
            consent.withdraw_consent(session, principal, subject_id=party.subject_id,
                                     purpose=str(form.get("purpose", "")), channel="web",
                                     clock=rt.clock)
            return _rights(request, session, party, message=_("Consent withdrawn. It "
                                                               "applies from now on."))
        if action == "request":
            row = dsr.open_request(session, principal, subject_id=party.subject_id,
                                   kind=str(form.get("kind", "")), channel="web", clock=rt.clock)
            return _rights(request, session, party,
                           message=_("Request received. Reference: %(id)s", id=row.id))
    except DomainError as exc:
        return _rights(request, session, party, error=_(exc.message))
    return _rights(request, session, party)
