"""Consumer portal, no account needed: ship a parcel (the privacy notice shown
prominently, consent choices one purpose at a time), track it (masked), and exercise
PI rights (consent status and withdrawal, data-subject requests). Complaints and
evaluations are in ``consumer_channel``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from parcelguard.access import subject_requests as fulfilment
from parcelguard.consent import service as consent
from parcelguard.consent import subject_requests as dsr
from parcelguard.consent.dsr import OPEN_STATUSES, DsrStatus
from parcelguard.consent.notice import render_html
from parcelguard.consent.repository import ConsentRepository
from parcelguard.core.errors import DomainError, InvalidInput
from parcelguard.core.http import SessionDep
from parcelguard.ledger import parcels as projection
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.logistics.models import Parcel
from parcelguard.vault.blind_index import normalize_phone
from parcelguard.waybill.masking import mask_address, mask_name, mask_phone
from parcelguard.web import consumers
from parcelguard.web.consumer_proof import (
    CODE_DIGITS,
    SENT,
    ConsumerProof,
    Refusal,
    party_of,
    session_token,
)
from parcelguard.web.i18n import gettext_for
from parcelguard.web.render import Nav, locale_of, page, redirect, runtime
from parcelguard.web.security import checked_form, set_cookie

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


_PHONE_ERRORS = {
    "sender": "The sender's phone number is not valid: use digits (spaces, dashes and a "
              "leading + are fine).",
    "recipient": "The recipient's phone number is not valid: use digits (spaces, dashes and "
                 "a leading + are fine)."}


def _bad_phone(values: dict[str, str]) -> str | None:
    """The message for the first unusable phone number typed, or None. Checked here
    so the visitor gets the form back in their language with what they typed."""
    for who in ("sender", "recipient"):
        try:
            ok = len(normalize_phone(values[f"{who}_phone"])) >= 7
        except ValueError:
            ok = False
        if not ok:
            return _PHONE_ERRORS[who]
    return None


@router.post("/ship", response_class=HTMLResponse)
async def ship(request: Request, session: SessionDep) -> Response:
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
    bad_phone = _bad_phone(values)
    if bad_phone is not None:
        return _ship_form(request, session, carrier, values=values, status_code=422,
                          error=_(bad_phone))
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
    shown = {"waybill": waybill, "purposes": chosen,
             "recipient_name": mask_name(values["recipient_name"]),
             "recipient_phone": mask_phone(values["recipient_phone"]),
             "recipient_address": mask_address(values["recipient_address"])}
    # Post/redirect/get: a reload of the answer must not ship a second parcel. Only the
    # waybill number and the label's masked view travel, signed, in a short cookie.
    response = redirect(request, "/consumer/shipped")
    set_cookie(response, request, rt.settings.web.cookie_secure, SHIPPED_COOKIE,
               _shipped_signer(request).dumps(shown), max_age=SHIPPED_SECONDS)
    return response


SHIPPED_COOKIE = "pg_shipped"
SHIPPED_SECONDS = 600


def _shipped_signer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_proof(request).key, salt="consumer-shipped")


@router.get("/shipped", response_class=HTMLResponse)
def shipped(request: Request) -> Response:
    try:
        shown = _shipped_signer(request).loads(request.cookies.get(SHIPPED_COOKIE, ""),
                                               max_age=SHIPPED_SECONDS)
    except BadSignature:
        return redirect(request, "/consumer/ship")
    return _view(request, "consumer/shipped.html", "Parcel registered", waybill=shown["waybill"],
                 masked=shown, purposes=shown["purposes"])


# -- proving who one is ------------------------------------------------------------------


def _source(request: Request) -> str | None:
    # Only a keyed hash of it is kept, for the per-source throttle.
    return request.client.host if request.client else None


def _proof(request: Request) -> ConsumerProof:
    proof: ConsumerProof = request.app.state.consumer_proof
    return proof


def _proven(request: Request, session: Session, form: FormData, *, action: str,
                  title: str, start: str) -> consumers.Party | HTMLResponse:
    """The party this form is from, or the page to show instead: the code form after
    "waybill + phone", the same form again after a wrong code, the start form when the
    session expired. ``start``: the template asking for waybill + phone."""
    _ = gettext_for(locale_of(request))
    rt = runtime(request)
    proof = _proof(request)
    token, challenge = form.get("token"), form.get("challenge")
    if isinstance(token, str) and token:
        party = party_of(proof.key, token, rt.clock.now())
        if party is not None:
            return party
        return page(request, start, title=title, nav=NAV, status_code=403, result=None,
                    error=_("This page expired. Confirm who you are again."))
    if isinstance(challenge, str) and challenge:
        found = proof.verify_code(session, challenge=challenge, code=str(form.get("code", "")),
                                  source=_source(request), clock=rt.clock)
        if isinstance(found, consumers.Party):
            return found
        return page(request, "consumer/code.html", title=title, nav=NAV,
                    status_code=found.status_code, action=action, challenge=challenge,
                    sent=None, error=_(found.message))
    sent = proof.request_code(session, waybill_no=str(form.get("waybill_no", "")),
                              phone=str(form.get("phone", "")), source=_source(request),
                              clock=rt.clock)
    if isinstance(sent, Refusal):
        return page(request, start, title=title, nav=NAV, status_code=sent.status_code,
                    result=None, error=_(sent.message))
    return page(request, "consumer/code.html", title=title, nav=NAV, action=action,
                challenge=sent, error=None, sent=_(SENT, n=CODE_DIGITS))


# -- track ------------------------------------------------------------------------------


def parcel_state(session: Session, party: consumers.Party) -> dict[str, Any]:
    """The parcel's status as the consumer sees it, from the parcel projection: the
    last step's, whatever order the carrier's events arrived in (assignees are staff
    ids, not for the consumer)."""
    parcel = session.scalars(select(Parcel).where(Parcel.waybill_no == party.waybill_no)).one()
    view = projection.view(session, parcel.enterprise_id, parcel.waybill_no)
    return {"status": view.status if view and view.status else "created",
            "status_at": view.status_at if view and view.status_at else parcel.created_at,
            "region": parcel.destination_region,
            "steps": [{"step": st.step, "at": st.at} for st in view.history] if view else []}


@router.get("/track", response_class=HTMLResponse)
def track_form(request: Request) -> HTMLResponse:
    return _view(request, "consumer/track.html", "Track a parcel", result=None, error=None)


@router.post("/track", response_class=HTMLResponse)
async def track(request: Request, session: SessionDep) -> HTMLResponse:
    form = await checked_form(request)
    party = _proven(request, session, form, action="/consumer/track",
                          title="Track a parcel", start="consumer/track.html")
    if isinstance(party, HTMLResponse):
        return party
    now = runtime(request).clock.now()
    result = {"waybill_no": party.waybill_no, "role": party.role,
              "token": session_token(_proof(request).key, party, now),
              **parcel_state(session, party)}
    return _view(request, "consumer/track.html", "Track a parcel", result=result, error=None)


# -- PI rights ---------------------------------------------------------------------------


def _purposes(status: consent.ConsentStatus, party: consumers.Party) -> list[dict[str, Any]]:
    """The consent table as this party should read it. A recipient never acknowledges
    the carrier's notice - the sender does, when shipping - yet the recipient's name,
    phone and address are used to deliver: that rests on the shipping contract
    (PIPL Art. 13(1)(2)), so "not acknowledged" means "allowed, to deliver to you"."""
    rows = []
    for p in status.purposes:
        row = {"purpose": p.purpose, "basis": p.basis, "allowed": p.allowed, "note": None}
        if party.role == "recipient" and p.purpose == "delivery" \
                and p.reason == "not_acknowledged":
            row |= {"allowed": True, "note": "needed to deliver the parcel sent to you"}
        rows.append(row)
    return rows


def _rights(request: Request, session: Session, party: consumers.Party, *,
            message: str | None = None, error: str | None = None,
            confirm_deletion: bool = False, export: dict[str, Any] | None = None,
            status_code: int = 200) -> HTMLResponse:
    rt = runtime(request)
    now = rt.clock.now()
    status = consent.subject_status(session, party.enterprise_id, party.subject_id, now)
    requests_ = dsr.list_requests(session, consumers.portal_principal(party.enterprise_id),
                                  clock=rt.clock, subject_id=party.subject_id)
    token = session_token(_proof(request).key, party, now)
    fields = [f"{party.role}_{f}" for f in ("name", "phone", "address")]
    return page(request, "consumer/rights.html", title="My PI rights", nav=NAV,
                status_code=status_code, party=party, token=token,
                purposes=_purposes(status, party), requests=requests_, message=message,
                error=error, confirm_deletion=confirm_deletion, export=export,
                correctable=fields)


@router.get("/rights", response_class=HTMLResponse)
def rights_form(request: Request) -> HTMLResponse:
    return _view(request, "consumer/rights_verify.html", "My PI rights", error=None)


def _ask(request: Request, session: Session, party: consumers.Party,
         form: FormData) -> HTMLResponse:
    """A data-subject request from the verified person, fulfilled to them where it can
    be at once: the copy is shown to them here (never to staff), a correction is
    applied; a deletion is explained and confirmed first, then handled by the carrier
    within the legal deadline."""
    _ = gettext_for(locale_of(request))
    rt = runtime(request)
    vault = request.app.state.vault
    principal = consumers.portal_principal(party.enterprise_id)
    kind = str(form.get("kind", ""))
    if kind == "deletion" and form.get("confirm") != "yes":
        return _rights(request, session, party, confirm_deletion=True)
    nested = session.begin_nested()  # a refused correction leaves no request behind
    try:
        # An access or correction request opened for the person elsewhere (at a
        # counter, by phone) is the one fulfilled here; a second deletion is refused.
        opened = [r for r in dsr.list_requests(session, principal, clock=rt.clock,
                                               subject_id=party.subject_id)
                  if r.kind == kind and DsrStatus(r.status) in OPEN_STATUSES]
        if opened and kind != "deletion":
            row = opened[0]
        else:
            row = dsr.open_request(session, principal, subject_id=party.subject_id,
                                   kind=kind, channel="web", clock=rt.clock)
        if kind == "access":
            export = fulfilment.fulfil_access(session, principal, vault, request_id=row.id,
                                              clock=rt.clock, by_subject=True)
            nested.commit()
            return _rights(request, session, party, export=export.data,
                           message=_("Here is a copy of your information. It is shown "
                                     "only to you and is not kept on this page."))
        if kind == "correction":
            field = str(form.get("field", ""))
            if field not in {f"{party.role}_{f}" for f in ("name", "phone", "address")}:
                raise InvalidInput("choose what to correct")
            fulfilment.fulfil_correction(session, principal, vault, request_id=row.id,
                                         waybill_no=party.waybill_no, field=field,
                                         value=str(form.get("value", "")), clock=rt.clock,
                                         by_subject=True)
            nested.commit()
            return _rights(request, session, party, message=_(
                "Corrected. Reference: %(id)s", id=row.id))
    except DomainError as exc:
        nested.rollback()
        return _rights(request, session, party, error=_(exc.message),
                       status_code=exc.status_code)
    nested.commit()
    return _rights(request, session, party,
                   message=_("Request received. Reference: %(id)s", id=row.id))


@router.post("/rights", response_class=HTMLResponse)
async def rights(request: Request, session: SessionDep) -> HTMLResponse:
    form = await checked_form(request)
    party = _proven(request, session, form, action="/consumer/rights",
                          title="My PI rights", start="consumer/rights_verify.html")
    if isinstance(party, HTMLResponse):
        return party
    _ = gettext_for(locale_of(request))
    action = str(form.get("action", ""))
    if action == "request":
        return _ask(request, session, party, form)
    if action == "withdraw":
        try:
            consent.withdraw_consent(session, consumers.portal_principal(party.enterprise_id),
                                     subject_id=party.subject_id,
                                     purpose=str(form.get("purpose", "")), channel="web",
                                     clock=runtime(request).clock)
        except DomainError as exc:
            return _rights(request, session, party, error=_(exc.message),
                           status_code=exc.status_code)
        return _rights(request, session, party,
                       message=_("Consent withdrawn. It applies from now on."))
    return _rights(request, session, party)
