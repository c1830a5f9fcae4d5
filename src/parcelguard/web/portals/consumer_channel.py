"""Consumer portal, the social-supervision half: report or complain (anonymous or
named) and follow up with the receipt code and secret; rate the courier through the
one-time evaluation link sent after delivery."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from parcelguard.channel import intake
from parcelguard.channel.models import ChannelReport
from parcelguard.channel.settings import ChannelSettings
from parcelguard.conduct import service as conduct
from parcelguard.conduct.rules import TAGS
from parcelguard.core.errors import DomainError
from parcelguard.core.http import SessionDep
from parcelguard.web import consumers
from parcelguard.web.consumer_proof import ConsumerProof, Refusal
from parcelguard.web.i18n import gettext_for, localised
from parcelguard.web.portals.consumer import NAV
from parcelguard.web.render import flash, locale_of, page, redirect, runtime
from parcelguard.web.security import checked_form, set_cookie
from parcelguard.web.settings import WebSettings

router = APIRouter(prefix="/consumer", include_in_schema=False)
REPORT_KINDS = ("pi_leak", "scam_call", "misconduct")


def _source(request: Request) -> str | None:
    # Only a keyed hash of it is stored, for the intake throttle.
    return request.client.host if request.client else None


def _report_form(request: Request, session: Session, *, error: str | None = None,
                 values: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    return page(request, "consumer/report.html", title="Report or complain", nav=NAV,
                status_code=status_code,
                carriers=consumers.enterprises(session), kinds=REPORT_KINDS, error=error,
                values=values or {})


@router.get("/report", response_class=HTMLResponse)
def report_form(request: Request, session: SessionDep) -> HTMLResponse:
    return _report_form(request, session)


@router.post("/report", response_class=HTMLResponse)
async def report(request: Request, session: SessionDep) -> HTMLResponse:
    form = await checked_form(request)
    _ = gettext_for(locale_of(request))
    values = {k: str(form.get(k, "")).strip() for k in (
        "carrier", "kind", "body", "name", "contact", "waybills", "scam_caller")}
    anonymous = form.get("identity") != "named"
    rt = runtime(request)
    try:
        filed = intake.file_report(
            session, request.app.state.vault, rt.settings.section(ChannelSettings),
            enterprise_id=values["carrier"], source=_source(request), clock=rt.clock,
            report=intake.ReportIn(
                kind=values["kind"], body=values["body"], anonymous=anonymous,
                reporter_name=None if anonymous else values["name"] or None,
                reporter_contact=None if anonymous else values["contact"] or None,
                identity_consent=not anonymous and form.get("identity_consent") == "yes",
                wants_police=form.get("wants_police") == "yes",
                waybills=[w for w in values["waybills"].replace(",", " ").split() if w],
                scam_caller=values["scam_caller"] or None))
    except DomainError as exc:
        return _report_form(request, session, error=localised(exc, _), values=values,
                            status_code=exc.status_code)
    return page(request, "consumer/filed.html", title="Report received", nav=NAV, filed=filed)


def _find_report(request: Request, session: Session, auth: dict[str, str]) -> Any:
    """The report a receipt code and secret open, or a ``Refusal``. The receipt alone
    finds its carrier (GlobaLeaks-style); a receipt that names no report is a guess,
    counted against the source like a wrong proof."""
    rt = runtime(request)
    proof: ConsumerProof = request.app.state.consumer_proof
    carrier = intake.carrier_of_receipt(session, auth["receipt"])
    refused = proof.source_refusal(session, _source(request), rt.clock,
                                   failed=carrier is None)
    if refused is not None:
        return refused
    if carrier is None:
        return Refusal(401, intake.WRONG)
    try:
        found = intake.authenticate(
            session, request.app.state.vault, rt.settings.section(ChannelSettings),
            enterprise_id=carrier, receipt_code=auth["receipt"], secret=auth["secret"],
            source=_source(request), clock=rt.clock)
    except DomainError as exc:
        return Refusal(exc.status_code, exc.message)
    if isinstance(found, intake.Refusal):
        return Refusal(found.status_code, found.message)
    return found


# The reporter's session after the receipt and secret were right: the report's id,
# signed, in a 30-minute cookie, so the thread is a page of its own (post/redirect/get)
# and the secret is never written back into a page.
REPORTER_COOKIE = "pg_reporter"
REPORTER_SECONDS = 30 * 60


def _reporter_signer(request: Request) -> URLSafeTimedSerializer:
    proof: ConsumerProof = request.app.state.consumer_proof
    return URLSafeTimedSerializer(proof.key, salt="reporter-session")


def _session_report(request: Request, session: Session) -> Any:
    try:
        report_id = _reporter_signer(request).loads(
            request.cookies.get(REPORTER_COOKIE, ""), max_age=REPORTER_SECONDS)
    except BadSignature:
        return None
    return session.get(ChannelReport, str(report_id))


def _follow_page(request: Request, session: Session, *, view: Any = None,
                 error: str | None = None, status_code: int = 200) -> HTMLResponse:
    return page(request, "consumer/follow.html", title="Follow up", nav=NAV,
                status_code=status_code, view=view, error=error)


@router.get("/follow", response_class=HTMLResponse)
def follow_form(request: Request, session: SessionDep) -> HTMLResponse:
    report = _session_report(request, session)
    view = intake.reporter_view(session, request.app.state.vault, report) if report else None
    return _follow_page(request, session, view=view)


@router.post("/follow", response_class=HTMLResponse)
async def follow(request: Request, session: SessionDep) -> Response:
    form = await checked_form(request)
    _ = gettext_for(locale_of(request))
    rt = runtime(request)
    response = redirect(request, "/consumer/follow")
    if form.get("action") == "leave":
        response.delete_cookie(REPORTER_COOKIE, path="/")
        return response
    auth = {k: str(form.get(k, "")).strip() for k in ("receipt", "secret")}
    if auth["receipt"] or auth["secret"]:
        found = _find_report(request, session, auth)
        if isinstance(found, Refusal):
            return _follow_page(request, session, status_code=found.status_code,
                                error=_(found.message))
        set_cookie(response, request, rt.settings.section(WebSettings).cookie_secure,
                   REPORTER_COOKIE,
                   _reporter_signer(request).dumps(found.id), max_age=REPORTER_SECONDS)
    else:
        found = _session_report(request, session)
        if found is None:
            return _follow_page(request, session, status_code=403,
                                error=_("This page expired. Enter the receipt code and the "
                                        "secret again."))
    message = str(form.get("message", "")).strip()
    if message:
        try:
            intake.reporter_message(session, request.app.state.vault,
                                    rt.settings.section(ChannelSettings),
                                    found, body=message, clock=rt.clock)
        except DomainError as exc:
            view = intake.reporter_view(session, request.app.state.vault, found)
            return _follow_page(request, session, view=view, error=localised(exc, _),
                                status_code=exc.status_code)
    return response


# -- evaluations ---------------------------------------------------------------------------


def _evaluation(request: Request, token: str, *, error: str | None = None,
                status_code: int = 200) -> HTMLResponse:
    return page(request, "consumer/evaluate.html", title="Rate your courier", nav=NAV,
                status_code=status_code, token=token, error=error, tags=TAGS)


@router.get("/evaluate/{token}", response_class=HTMLResponse)
def evaluate_form(token: str, request: Request) -> HTMLResponse:
    # The link is checked when the rating is sent: looking it up first would tell a
    # link guesser which tokens exist.
    return _evaluation(request, token)


@router.post("/evaluate/{token}", response_class=HTMLResponse)
async def evaluate(token: str, request: Request, session: SessionDep) -> Response:
    form = await checked_form(request)
    _ = gettext_for(locale_of(request))
    rating = str(form.get("rating", ""))
    try:
        conduct.submit_evaluation(session, token=token,
                                  # ASCII digits only: "²".isdigit() is true, int("²") fails.
                                  rating=int(rating) if rating.isascii() and rating.isdigit()
                                  else 0,
                                  tags=[t for t in form.getlist("tag") if isinstance(t, str)],
                                  clock=runtime(request).clock)
    except DomainError as exc:
        return _evaluation(request, token, error=localised(exc, _),
                           status_code=exc.status_code)
    # Post/redirect/get: the page after a rating says it was recorded, once.
    response = redirect(request, f"/consumer/evaluate/{token}")
    flash(request, response, RATED)
    return response


RATED = "Thank you. Your rating was recorded; the link cannot be used again."
