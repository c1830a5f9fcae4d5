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
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from parcelguard.access.caller import clean_ip
from parcelguard.core.errors import DomainError, PermissionDenied, Unauthenticated
from parcelguard.core.http import SessionDep
from parcelguard.core.ids import new_id
from parcelguard.identity import repository as identity_repo
from parcelguard.identity import service as identity
from parcelguard.identity.models import Account, Organization
from parcelguard.identity.permissions import Principal
from parcelguard.ledger.ingest import record_events
from parcelguard.web import totp
from parcelguard.web.render import page, redirect, runtime
from parcelguard.web.security import checked_form, set_cookie

SESSION_COOKIE: Final = "pg_session"

# Which portal each account role works in.
PORTAL_OF_ROLE: Final = {
    "courier": "courier",
    "enterprise_admin": "enterprise", "security_officer": "enterprise",
    "customer_service": "enterprise",
    "supervisor_admin": "supervisor", "supervisor_analyst": "supervisor",
    "police_investigator": "police",
    "auditor": "auditor",
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
        principal = identity.resolve_session(session, token=token, clock=runtime(request).clock)
    except Unauthenticated:
        raise LoginRequired("session expired") from None
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


router = APIRouter(include_in_schema=False)


def _record_login(session: Session, acc: Account, request: Request, *, ok: bool,
                  at: datetime) -> None:
    org = session.get(Organization, acc.org_id)
    if org is None or org.kind != "enterprise":
        return  # only enterprises have a log; the regulator's staff are not supervised here
    record_events(session, [{
        "event_id": new_id("ev"), "kind": "access", "occurred_at": at.isoformat(),
        "enterprise_id": org.id, "actor_type": "employee" if acc.employee_id else "system",
        "actor_id": acc.employee_id or acc.id, "action": "login" if ok else "login_failed",
        "fields": [], "record_count": 0, "purpose": "other",
        "outcome": "allowed" if ok else "denied", "channel": "web",
        "ip": clean_ip(request.client.host if request.client else None)}],
        clock_now=lambda: at)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    _ = request
    return page(request, "login.html", title="Staff log-in", error=None, enrol=None,
                username="")


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, session: SessionDep) -> Response:
    form = await checked_form(request)
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    code = str(form.get("code", ""))
    rt = runtime(request)
    now = rt.clock.now()
    kms = request.app.state.vault.vault.kms
    try:
        acc = identity.authenticate(session, username=username, password=password,
                                    clock=rt.clock)
    except Unauthenticated:
        known = identity_repo.find_account_by_username(session, username)
        if known is not None:
            _record_login(session, known, request, ok=False, at=now)
        return page(request, "login.html", status_code=401, title="Staff log-in",
                    error="wrong_credentials", enrol=None, username=username)
    enrolment = totp.enrol(session, kms, account_id=acc.id, at=now)
    if not totp.verify(session, kms, account_id=acc.id, code=code, at=now,
                       drift_steps=rt.settings.web.totp_drift_steps):
        _record_login(session, acc, request, ok=False, at=now)
        enrol = None
        if not enrolment.confirmed:  # first log-in: show the secret to set up the app
            enrol = {"secret": enrolment.secret, "uri": totp.provisioning_uri(
                enrolment.secret, username=acc.username, issuer=rt.settings.web.totp_issuer)}
        return page(request, "login.html", status_code=401, title="Staff log-in",
                    error=None if enrol and not code else "wrong_code", enrol=enrol,
                    username=username)
    _record_login(session, acc, request, ok=True, at=now)
    issued = identity.start_session(session, account=acc, clock=rt.clock,
                                    lifetime=timedelta(hours=rt.settings.web.session_hours))
    portal = PORTAL_OF_ROLE.get(acc.role, "")
    response = redirect(request, f"/{portal}" if portal else "/")
    set_cookie(response, request, rt.settings.web.cookie_secure, SESSION_COOKIE,
               issued.secret, max_age=rt.settings.web.session_hours * 3600)
    return response


@router.post("/logout")
async def logout(request: Request, session: SessionDep) -> RedirectResponse:
    await checked_form(request)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        identity.end_session(session, token=token, clock=runtime(request).clock)
    response = redirect(request, "/")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
