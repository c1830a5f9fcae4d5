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

from parcelguard.access.subjects import requests as fulfilment
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
    TOKEN_MINUTES,
    ConsumerProof,
    Refusal,
    party_of,
    session_token,
)
from parcelguard.web.i18n import gettext_for, localised
from parcelguard.web.render import Nav, flash, locale_of, page, redirect, runtime
from parcelguard.web.security import checked_form, set_cookie
from parcelguard.web.settings import WebSettings

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
                          error=localised(exc, _))
    nested.commit()
    shown = {"waybill": waybill, "purposes": chosen,
             "recipient_name": mask_name(values["recipient_name"]),
             "recipient_phone": mask_phone(values["recipient_phone"]),
             "recipient_address": mask_address(values["recipient_address"])}
    # Post/redirect/get: a reload of the answer must not ship a second parcel. Only the
    # waybill number and the label's masked view travel, signed, in a short cookie.
    response = redirect(request, "/consumer/shipped")
    set_cookie(response, request, rt.settings.section(WebSettings).cookie_secure, SHIPPED_COOKIE,
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


# The proof's state between the redirects (post/redirect/get): the challenge of the
# code form while the code is awaited, then the signed session token (the party,
# pseudonymous, for TOKEN_MINUTES). Both HttpOnly, SameSite=Strict, never in a URL.
CHALLENGE_COOKIE = "pg_challenge"
SESSION_COOKIE = "pg_consumer"
PROOF_PAGES = {"/consumer/track": ("Track a parcel", "consumer/track.html"),
               "/consumer/rights": ("My PI rights", "consumer/rights_verify.html")}


def _start(request: Request, action: str, *, error: str | None = None,
           status_code: int = 200, typed: dict[str, str] | None = None,
           **ctx: Any) -> HTMLResponse:
    title, template = PROOF_PAGES[action]
    return page(request, template, title=title, nav=NAV, status_code=status_code,
                result=None, error=error, typed=typed or {}, **ctx)


def session_party(request: Request) -> consumers.Party | None:
    """The party of this visitor's verified session (the cookie), while valid."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 1000:
        return None
    return party_of(_proof(request).key, token, runtime(request).clock.now())


def _code_form(request: Request, action: str, challenge: str, *, error: str | None = None,
               sent: str | None = None, status_code: int = 200) -> HTMLResponse:
    request.state.page_path = f"{action}/code"  # the language switch reopens this form
    return page(request, "consumer/code.html", title=PROOF_PAGES[action][0], nav=NAV,
                status_code=status_code, action=action, challenge=challenge, sent=sent,
                error=error)


def _code_page(request: Request, action: str) -> Response:
    """GET: the code form while a code is awaited (after the redirect that follows
    "send me a code"); a reload sends no second SMS."""
    raw = request.cookies.get(CHALLENGE_COOKIE, "")
    kind, _sep, challenge = raw.partition("|")
    if kind != action or not challenge:
        return redirect(request, action)
    return _code_form(request, action, challenge,
                      sent=gettext_for(locale_of(request))(SENT, n=CODE_DIGITS))


def _proven(request: Request, session: Session, form: FormData, *,
                  action: str) -> consumers.Party | Response:
    """The verified party an action form is from, or the answer to give instead.
    "waybill + phone" sends a code and redirects to the code form; the right code
    opens the session (a cookie) and redirects to the page; a wrong code shows the
    code form again; an expired session the start form."""
    _ = gettext_for(locale_of(request))
    rt = runtime(request)
    proof = _proof(request)
    mode = rt.settings.section(WebSettings).cookie_secure
    token, challenge = form.get("token"), form.get("challenge")
    if "waybill_no" in form:
        typed = {"waybill_no": str(form.get("waybill_no", ""))[:64],
                 "phone": str(form.get("phone", ""))[:32]}
        sent = proof.request_code(session, waybill_no=typed["waybill_no"],
                                  phone=typed["phone"], source=_source(request),
                                  clock=rt.clock)
        if isinstance(sent, Refusal):
            return _start(request, action, status_code=sent.status_code,
                          error=_(sent.message), typed=typed)
        response = redirect(request, f"{action}/code")
        set_cookie(response, request, mode, CHALLENGE_COOKIE, f"{action}|{sent}",
                   max_age=proof.limits.code_minutes * 60)
        return response
    if isinstance(challenge, str) and challenge:
        found = proof.verify_code(session, challenge=challenge, code=str(form.get("code", "")),
                                  source=_source(request), clock=rt.clock)
        if not isinstance(found, consumers.Party):
            return _code_form(request, action, challenge, status_code=found.status_code,
                              error=_(found.message))
        response = redirect(request, action)
        set_cookie(response, request, mode, SESSION_COOKIE,
                   session_token(proof.key, found, rt.clock.now()),
                   max_age=TOKEN_MINUTES * 60)
        response.delete_cookie(CHALLENGE_COOKIE, path="/")
        return response
    party = party_of(proof.key, token, rt.clock.now()) if isinstance(token, str) and token \
        else session_party(request)
    if party is None:
        return _start(request, action, status_code=403,
                      error=_("This page expired. Confirm who you are again."))
    return party


def _leave(request: Request) -> Response:
    """Forget the verified parcel on this device (a shared screen)."""
    response = redirect(request, "/consumer")
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CHALLENGE_COOKIE, path="/")
    flash(request, response, "This device no longer shows your parcel.")
    return response


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


def _track(request: Request, session: Session, party: consumers.Party | None) -> HTMLResponse:
    result = None
    if party is not None:
        result = {"waybill_no": party.waybill_no, "role": party.role,
                  **parcel_state(session, party)}
    return _view(request, "consumer/track.html", "Track a parcel", result=result, error=None,
                 typed={})


@router.get("/track", response_class=HTMLResponse)
def track_form(request: Request, session: SessionDep) -> HTMLResponse:
    return _track(request, session, session_party(request))


@router.get("/track/code", response_class=HTMLResponse)
def track_code(request: Request) -> Response:
    return _code_page(request, "/consumer/track")


@router.post("/track", response_class=HTMLResponse)
async def track(request: Request, session: SessionDep) -> Response:
    form = await checked_form(request)
    if form.get("action") == "leave":
        return _leave(request)
    party = _proven(request, session, form, action="/consumer/track")
    if isinstance(party, Response):
        return party
    return redirect(request, "/consumer/track")


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
            error: str | None = None, confirm_deletion: bool = False,
            export: dict[str, Any] | None = None, typed: dict[str, str] | None = None,
            messages: list[str] | None = None, status_code: int = 200) -> HTMLResponse:
    rt = runtime(request)
    now = rt.clock.now()
    status = consent.subject_status(session, party.enterprise_id, party.subject_id, now)
    requests_ = dsr.list_requests(session, consumers.portal_principal(party.enterprise_id),
                                  clock=rt.clock, subject_id=party.subject_id)
    token = session_token(_proof(request).key, party, now)
    fields = [f"{party.role}_{f}" for f in ("name", "phone", "address")]
    return page(request, "consumer/rights.html", title="My PI rights", nav=NAV,
                status_code=status_code, party=party, token=token,
                purposes=_purposes(status, party), requests=requests_,
                messages=messages or [], error=error, confirm_deletion=confirm_deletion,
                export=export, correctable=fields, typed=typed or {})


@router.get("/rights", response_class=HTMLResponse)
def rights_form(request: Request, session: SessionDep, confirm: str | None = None) -> Response:
    party = session_party(request)
    if party is None:
        return _view(request, "consumer/rights_verify.html", "My PI rights", error=None,
                     typed={})
    return _rights(request, session, party, confirm_deletion=confirm == "deletion")


@router.get("/rights/code", response_class=HTMLResponse)
def rights_code(request: Request) -> Response:
    return _code_page(request, "/consumer/rights")


@router.get("/rights/copy/{request_id}", response_class=HTMLResponse)
def rights_copy(request_id: str, request: Request, session: SessionDep) -> Response:
    """The copy of one's information (Art. 45), after the redirect that follows asking
    for it: handed over once, by this GET, which completes the request (and records
    the export in the carrier's log). A reload finds the request done and shows no
    copy: it is never kept, and asking again opens a new request."""
    party = session_party(request)
    if party is None:
        return redirect(request, "/consumer/rights")
    rt = runtime(request)
    principal = consumers.portal_principal(party.enterprise_id)
    row = next((r for r in dsr.list_requests(session, principal, clock=rt.clock,
                                             subject_id=party.subject_id)
                if r.id == request_id and r.kind == "access"), None)
    _ = gettext_for(locale_of(request))
    if row is None or DsrStatus(row.status) not in OPEN_STATUSES:
        return _rights(request, session, party, messages=[_(
            "That copy was already shown and is not kept. Ask again for a new copy.")])
    try:
        export = fulfilment.fulfil_access(session, principal, request.app.state.vault,
                                          request_id=row.id, clock=rt.clock, by_subject=True)
    except DomainError as exc:
        return _rights(request, session, party, error=localised(exc, _),
                       status_code=exc.status_code)
    return _rights(request, session, party, export=export.data, messages=[_(
        "Here is a copy of your information. It is shown only to you and is not kept "
        "on this page.")])


def _done(request: Request, message: str, **values: str) -> Response:
    """Post/redirect/get: the rights page again, with what was done said once."""
    response = redirect(request, "/consumer/rights")
    flash(request, response, message, values)
    return response


def _ask(request: Request, session: Session, party: consumers.Party,
         form: FormData) -> Response:
    """A data-subject request from the verified person, fulfilled to them where it can
    be at once: the copy is shown to them (never to staff), a correction is applied;
    a deletion is explained and confirmed first, then handled by the carrier within
    the legal deadline."""
    _ = gettext_for(locale_of(request))
    rt = runtime(request)
    vault = request.app.state.vault
    principal = consumers.portal_principal(party.enterprise_id)
    kind = str(form.get("kind", ""))
    if kind == "deletion" and form.get("confirm") != "yes":
        return redirect(request, "/consumer/rights?confirm=deletion")
    typed = {"field": str(form.get("field", "")), "value": str(form.get("value", ""))[:300]}
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
        if kind == "correction":
            field = typed["field"]
            if field not in {f"{party.role}_{f}" for f in ("name", "phone", "address")}:
                raise InvalidInput("choose what to correct")
            fulfilment.fulfil_correction(session, principal, vault, request_id=row.id,
                                         waybill_no=party.waybill_no, field=field,
                                         value=typed["value"], clock=rt.clock,
                                         by_subject=True)
    except DomainError as exc:
        nested.rollback()
        return _rights(request, session, party, error=localised(exc, _), typed=typed,
                       status_code=exc.status_code)
    nested.commit()
    if kind == "access":
        return redirect(request, f"/consumer/rights/copy/{row.id}")
    if kind == "correction":
        return _done(request, "Corrected. Reference: %(id)s", id=row.id)
    return _done(request, "Request received. Reference: %(id)s", id=row.id)


@router.post("/rights", response_class=HTMLResponse)
async def rights(request: Request, session: SessionDep) -> Response:
    form = await checked_form(request)
    action = str(form.get("action", ""))
    if action == "leave":
        return _leave(request)
    party = _proven(request, session, form, action="/consumer/rights")
    if isinstance(party, Response):
        return party
    _ = gettext_for(locale_of(request))
    if action == "request":
        return _ask(request, session, party, form)
    if action == "withdraw":
        try:
            consent.withdraw_consent(session, consumers.portal_principal(party.enterprise_id),
                                     subject_id=party.subject_id,
                                     purpose=str(form.get("purpose", "")), channel="web",
                                     clock=runtime(request).clock)
        except DomainError as exc:
            return _rights(request, session, party, error=localised(exc, _),
                           status_code=exc.status_code)
        return _done(request, "Consent withdrawn. It applies from now on.")
    return redirect(request, "/consumer/rights")
