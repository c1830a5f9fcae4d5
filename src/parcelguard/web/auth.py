"""Staff log-in to the portals: password (Argon2id, identity) plus a TOTP code, a
session cookie holding an identity log-in session token, and log-out.

Enterprise staff log-ins (and failures of known enterprise accounts) are recorded as
``login``/``login_failed`` access events in the enterprise's log, where the monitor
looks for credential stuffing and shared accounts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from parcelguard.access.caller import clean_ip
from parcelguard.core import tenancy
from parcelguard.core.errors import DomainError, PermissionDenied, Unauthenticated
from parcelguard.core.http import API, SessionDep
from parcelguard.core.ids import new_id
from parcelguard.identity import lockout
from parcelguard.identity import repository as identity_repo
from parcelguard.identity import service as identity
from parcelguard.identity.models import Account, Organization
from parcelguard.identity.permissions import Principal
from parcelguard.ledger.ingest import record_events
from parcelguard.web import totp
from parcelguard.web.models import WebTotp
from parcelguard.web.render import page, redirect, runtime
from parcelguard.web.security import checked_form, set_cookie
from parcelguard.web.settings import LoginSettings, WebSettings

SESSION_COOKIE: Final = "pg_session"

# Which portal each account role works in.
PORTAL_OF_ROLE: Final = {
    "courier": "courier",
    "enterprise_admin": "enterprise", "security_officer": "enterprise",
    "customer_service": "enterprise",
    "supervisor_admin": "supervisor", "supervisor_analyst": "supervisor",
    "police_investigator": "police",
    "auditor": "auditor",
    "cac_officer": "cac",
}


class LoginRequired(DomainError):
    """No (valid) session: the handler redirects to the log-in page."""

    status_code = 401
    code = "login_required"


@dataclass(frozen=True)
class Staff:
    principal: Principal
    account_id: str
    username: str
    display_name: str
    employee_id: str | None
    org_name: str

    @property
    def portal(self) -> str:
        return PORTAL_OF_ROLE.get(self.principal.role, "")


def _staff(session: Session, principal: Principal) -> Staff:
    acc = session.get(Account, principal.account_id) if principal.account_id else None
    if acc is None:
        raise LoginRequired("log in again")
    org = session.get(Organization, acc.org_id)
    return Staff(principal, acc.id, acc.username, acc.display_name or acc.username,
                 acc.employee_id, org.name if org else acc.org_id)


def staff_dep(request: Request, session: SessionDep) -> Staff:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired("log in first")
    try:
        principal = identity.resolve_session(session, token=token, clock=runtime(request).clock,
                                             kind="portal")
    except Unauthenticated:
        raise LoginRequired("session expired") from None
    if principal.org_kind == "enterprise":
        tenancy.enter(session, principal.org_id)  # the guard: core/tenancy.py
    staff = _staff(session, principal)
    request.state.staff = staff
    return staff


StaffDep = Annotated[Staff, Depends(staff_dep)]


def require_portal(staff: Staff, portal: str) -> Staff:
    if staff.portal != portal:
        raise PermissionDenied(f"this portal is not for the role {staff.principal.role}")
    return staff


def _portal(portal: str) -> Callable[[Staff], Staff]:
    def dep(staff: StaffDep) -> Staff:
        return require_portal(staff, portal)
    return dep


# The signed-in staff member of each portal (403 for another role's account).
CourierStaff = Annotated[Staff, Depends(_portal("courier"))]
OfficerStaff = Annotated[Staff, Depends(_portal("enterprise"))]
SupervisorStaff = Annotated[Staff, Depends(_portal("supervisor"))]
PoliceStaff = Annotated[Staff, Depends(_portal("police"))]
AuditorStaff = Annotated[Staff, Depends(_portal("auditor"))]
CacStaff = Annotated[Staff, Depends(_portal("cac"))]


router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix=API, tags=["identity"])


# Longer inputs are cut before hashing: nobody's password is a megabyte, and Argon2
# over one would be a cheap way to burn the server's CPU.
MAX_USERNAME: Final = 100
MAX_PASSWORD: Final = 1024
MAX_CODE: Final = 12


@dataclass(frozen=True)
class LoginOutcome:
    """What one log-in attempt came to: a session, or why not (the same reason for an
    unknown username as for a wrong password)."""

    status: int  # 200, 401 or 429
    reason: str  # ok | wrong_credentials | wrong_code | no_second_factor | locked
    account: Account | None = None
    session_token: str | None = None
    retry_after: int | None = None
    enrol: dict[str, str] | None = None


def _limits(request: Request) -> lockout.LoginLimits:
    s = runtime(request).settings.section(LoginSettings)
    return lockout.LoginLimits(
        account_failures=s.account_failures, source_failures=s.source_failures,
        window=timedelta(minutes=s.window_minutes),
        lockout=timedelta(seconds=s.lockout_seconds),
        max_lockout=timedelta(minutes=s.max_lockout_minutes))


def _record_login(session: Session, acc: Account, request: Request, *, ok: bool,
                  at: datetime, channel: str) -> None:
    org = session.get(Organization, acc.org_id)
    if org is None or org.kind != "enterprise":
        return  # only enterprises have a log; the regulator's staff are not supervised here
    record_events(session, [{
        "event_id": new_id("ev"), "kind": "access", "occurred_at": at.isoformat(),
        "enterprise_id": org.id, "actor_type": "employee" if acc.employee_id else "system",
        "actor_id": acc.employee_id or acc.id, "action": "login" if ok else "login_failed",
        "fields": [], "record_count": 0, "purpose": "other",
        "outcome": "allowed" if ok else "denied", "channel": channel,
        "ip": clean_ip(request.client.host if request.client else None)}],
        clock_now=lambda: at)


def staff_login(session: Session, request: Request, *, username: str, password: str,
                code: str, kind: identity.SessionKind) -> LoginOutcome:
    """The one log-in of people, for the portal form (``kind="portal"``) and the API
    (``kind="api"``): lock-out check, password, TOTP code, then a session of that kind.

    Every failure counts against the username and the source address and, for an
    enterprise account, is a ``login_failed`` access event in its log. On the API a
    second factor must already be enrolled (that happens at the portal's first log-in).
    """
    rt = runtime(request)
    now = rt.clock.now()
    source = clean_ip(request.client.host if request.client else None)
    channel = "api" if kind == "api" else "web"
    known = identity_repo.find_account_by_username(session, username)

    def failed(reason: str, *, count: bool = True, retry_after: int | None = None,
               enrol: dict[str, str] | None = None) -> LoginOutcome:
        if count:
            lockout.record_failure(session, username=username, source=source, now=now,
                                   limits=_limits(request))
        if known is not None:
            _record_login(session, known, request, ok=False, at=now, channel=channel)
        return LoginOutcome(429 if reason == "locked" else 401, reason,
                            retry_after=retry_after, enrol=enrol)

    wait = lockout.locked_for(session, username=username, source=source, now=now)
    if wait is not None:
        return failed("locked", count=False, retry_after=max(1, int(wait.total_seconds())))
    try:
        acc = identity.authenticate(session, username=username, password=password,
                                    clock=rt.clock)
    except Unauthenticated:
        return failed("wrong_credentials")
    kms = request.app.state.vault.vault.kms
    if kind == "api":
        row = session.get(WebTotp, acc.id)
        if row is None or row.confirmed_at is None:
            return failed("no_second_factor", count=False)
        enrolment = None
    else:
        enrolment = totp.enrol(session, kms, account_id=acc.id, at=now)
    if not totp.verify(session, kms, account_id=acc.id, code=code, at=now,
                       drift_steps=rt.settings.section(WebSettings).totp_drift_steps):
        enrol = None
        if enrolment is not None and not enrolment.confirmed:
            # first portal log-in: show the secret so the person can set up the app
            enrol = {"secret": enrolment.secret, "uri": totp.provisioning_uri(
                enrolment.secret, username=acc.username,
                issuer=rt.settings.section(WebSettings).totp_issuer)}
        return failed("wrong_code", enrol=enrol)
    lockout.record_success(session, username=username)
    _record_login(session, acc, request, ok=True, at=now, channel=channel)
    hours = (rt.settings.api.session_hours if kind == "api"
             else rt.settings.section(WebSettings).session_hours)
    issued = identity.start_session(session, account=acc, clock=rt.clock, kind=kind,
                                    lifetime=timedelta(hours=hours))
    return LoginOutcome(200, "ok", account=acc, session_token=issued.secret)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    _ = request
    return page(request, "login.html", title="Staff log-in", error=None, enrol=None,
                username="")


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, session: SessionDep) -> Response:
    form = await checked_form(request)
    username = str(form.get("username", ""))[:MAX_USERNAME]
    out = staff_login(session, request, username=username,
                      password=str(form.get("password", ""))[:MAX_PASSWORD],
                      code=str(form.get("code", ""))[:MAX_CODE], kind="portal")
    if out.account is None or out.session_token is None:
        error = None if out.enrol and not form.get("code") else out.reason
        refused = page(request, "login.html", status_code=out.status, title="Staff log-in",
                       error=error, enrol=out.enrol, username=username)
        if out.retry_after:
            refused.headers["Retry-After"] = str(out.retry_after)
        return refused
    rt = runtime(request)
    portal = PORTAL_OF_ROLE.get(out.account.role, "")
    response = redirect(request, f"/{portal}" if portal else "/")
    set_cookie(response, request, rt.settings.section(WebSettings).cookie_secure, SESSION_COOKIE,
               out.session_token, max_age=rt.settings.section(WebSettings).session_hours * 3600)
    return response


class LoginIn(BaseModel):
    username: str = Field(max_length=MAX_USERNAME)
    password: str = Field(max_length=MAX_PASSWORD)
    code: str = Field(max_length=MAX_CODE, description="The current TOTP code (6 digits) "
                      "of the authenticator enrolled at the first portal log-in.")


class SessionOut(BaseModel):
    token: str
    org_id: str
    role: str


@api_router.post("/sessions", response_model=SessionOut, responses={
    401: {"description": "wrong username, password or code; or no second factor enrolled"},
    429: {"description": "too many failed log-ins for this username or from this "
                         "address; see Retry-After"}})
def api_login(body: LoginIn, request: Request, session: SessionDep) -> Response:
    """Log a person in with username, password and TOTP code; returns a bearer session
    token for the API (not usable as a portal cookie). Machines use API keys."""
    out = staff_login(session, request, username=body.username, password=body.password,
                      code=body.code, kind="api")
    if out.account is None or out.session_token is None:
        detail = {"wrong_credentials": "wrong username or password",
                  "wrong_code": "wrong or already used one-time code",
                  "no_second_factor": "no second factor enrolled: log in once at the "
                                      "portal (/login) to set up the authenticator",
                  "locked": "too many failed log-ins; retry later"}[out.reason]
        headers = {"Retry-After": str(out.retry_after)} if out.retry_after else None
        return JSONResponse({"error": "locked" if out.status == 429 else "unauthenticated",
                             "detail": detail}, status_code=out.status, headers=headers)
    return JSONResponse(SessionOut(token=out.session_token, org_id=out.account.org_id,
                                   role=out.account.role).model_dump())


@router.post("/logout")
async def logout(request: Request, session: SessionDep) -> RedirectResponse:
    await checked_form(request)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        identity.end_session(session, token=token, clock=runtime(request).clock)
    response = redirect(request, "/")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
