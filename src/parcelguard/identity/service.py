"""Identity use cases: organisations, accounts, API keys, log-in sessions."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.core.clock import Clock
from parcelguard.core.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from parcelguard.core.ids import new_id
from parcelguard.identity import repository as repo
from parcelguard.identity.models import (
    ORG_KINDS,
    Account,
    ApiKey,
    LoginSession,
    Organization,
)
from parcelguard.identity.passwords import (
    generate_password,
    hash_password,
    upgraded_hash,
    verify_nothing,
    verify_password,
)
from parcelguard.identity.permissions import Principal, check_role_for_org

ORG_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
API_KEY_PREFIX = "pgk_"
# Log-in session tokens carry their kind in the secret itself (so in its hash): an API
# session token is never a portal cookie and a portal cookie never an API bearer.
SESSION_PREFIXES: Final = {"api": "pgs_", "portal": "pgw_"}
REGION_RE = re.compile(r"^\d{6}$")


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def create_organization(
    session: Session, *, org_id: str, kind: str, name: str, clock: Clock,
    region_code: str | None = None, is_cii: bool = False,
) -> Organization:
    """Register an organisation. ``org_id`` is the stable id other systems use
    (an enterprise's ``enterprise_id`` in its event stream)."""
    if kind not in ORG_KINDS:
        raise InvalidInput(f"organisation kind must be one of {', '.join(ORG_KINDS)}")
    if not ORG_ID_RE.match(org_id):
        raise InvalidInput("organisation id: 1-64 of a-z, 0-9, '.', '_', '-', "
                           "starting with a letter or digit")
    if region_code is not None and not REGION_RE.match(region_code):
        raise InvalidInput("region code must be a 6-digit administrative division code")
    if session.get(Organization, org_id) is not None:
        raise Conflict(f"organisation {org_id} already exists")
    org = Organization(id=org_id, kind=kind, name=name, region_code=region_code,
                       is_cii=is_cii, created_at=clock.now())
    session.add(org)
    session.flush()
    return org


def ensure_enterprises(session: Session, enterprise_ids: set[str],
                       clock: Clock) -> dict[str, str]:
    """Register enterprises seen for the first time (operator ingest). Returns the
    ids it refuses, with the reason: one that is no valid organisation id, or that
    belongs to a non-enterprise organisation. (Reasons leave the id out: ingest
    reports them by line number.)"""
    refused = {org_id: "enterprise_id is not a valid organisation id (1-64 of a-z, 0-9, "
                       "'.', '_', '-', starting with a letter or digit)"
               for org_id in enterprise_ids if not ORG_ID_RE.match(org_id)}
    wanted = enterprise_ids - refused.keys()
    existing = {o.id: o.kind for o in session.scalars(
        select(Organization).where(Organization.id.in_(wanted)))} if wanted else {}
    for org_id, kind in existing.items():
        if kind != "enterprise":
            refused[org_id] = f"enterprise_id names a {kind} organisation, not an enterprise"
    for org_id in sorted(wanted - existing.keys()):
        create_organization(session, org_id=org_id, kind="enterprise", name=org_id, clock=clock)
    return refused


def create_account(
    session: Session, *, org_id: str, username: str, role: str, clock: Clock,
    password: str | None = None, display_name: str = "", employee_id: str | None = None,
) -> tuple[Account, str]:
    """Create an account; returns it with its password (generated when not given),
    which the caller shows once and never stores."""
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFound(f"organisation {org_id} not found")
    try:
        check_role_for_org(role, org.kind)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if not re.fullmatch(r"[A-Za-z0-9._@-]{3,100}", username):
        raise InvalidInput("username: 3-100 of letters, digits, '.', '_', '@', '-'")
    if repo.find_account_by_username(session, username) is not None:
        raise Conflict(f"username {username} is taken")
    secret = password or generate_password()
    try:
        pw_hash = hash_password(secret)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    acc = Account(id=new_id("acc"), org_id=org_id, username=username,
                  display_name=display_name, password_hash=pw_hash, role=role,
                  employee_id=employee_id, active=True, created_at=clock.now())
    session.add(acc)
    session.flush()
    return acc, secret


def principal_for_account(session: Session, account: Account) -> Principal:
    org = session.get(Organization, account.org_id)
    assert org is not None  # FK guarantees it
    return Principal(org_id=org.id, org_kind=org.kind, role=account.role, account_id=account.id)


def authenticate(session: Session, *, username: str, password: str, clock: Clock) -> Account:
    """The account for a username and password; one message for every failure so
    the answer never tells which usernames exist."""
    acc = repo.find_account_by_username(session, username)
    if acc is None or not acc.active:
        verify_nothing(password)  # same time as a real account's wrong password
        raise Unauthenticated("wrong username or password")
    if not verify_password(acc.password_hash, password):
        raise Unauthenticated("wrong username or password")
    upgraded = upgraded_hash(acc.password_hash, password)
    if upgraded is not None:
        acc.password_hash = upgraded
    acc.last_login_at = clock.now()
    return acc


@dataclass(frozen=True)
class IssuedSecret:
    id: str
    secret: str  # shown once


SessionKind = Literal["api", "portal"]


def start_session(session: Session, *, account: Account, clock: Clock,
                  lifetime: timedelta, kind: SessionKind) -> IssuedSecret:
    """A log-in session of one kind: ``api`` (a bearer token) or ``portal`` (the
    staff cookie). Only call this after both factors were checked."""
    token = SESSION_PREFIXES[kind] + secrets.token_urlsafe(32)
    now = clock.now()
    session.add(LoginSession(id=_sha256(token), account_id=account.id, created_at=now,
                             expires_at=now + lifetime))
    session.flush()
    return IssuedSecret(id=_sha256(token), secret=token)


def resolve_session(session: Session, *, token: str, clock: Clock,
                    kind: SessionKind) -> Principal:
    """The principal of a live session token of the given kind; anything else (a
    token of the other kind, an API key, an expired session) is Unauthenticated."""
    if not token.startswith(SESSION_PREFIXES[kind]):
        raise Unauthenticated("not an API session token" if kind == "api"
                              else "not a portal session token")
    ls = repo.find_session(session, _sha256(token))
    if ls is None or ls.revoked_at is not None or ls.expires_at <= clock.now():
        raise Unauthenticated("session expired or unknown; log in again")
    acc = session.get(Account, ls.account_id)
    if acc is None or not acc.active:
        raise Unauthenticated("account disabled")
    return principal_for_account(session, acc)


def end_session(session: Session, *, token: str, clock: Clock) -> None:
    ls = repo.find_session(session, _sha256(token))
    if ls is not None and ls.revoked_at is None:
        ls.revoked_at = clock.now()


def issue_api_key(session: Session, principal: Principal, *, name: str, role: str,
                  clock: Clock, org_id: str | None = None) -> IssuedSecret:
    """Issue an API key for the caller's organisation (or, for the supervision
    department's admin, for ``org_id``). The key is returned once."""
    principal.require("apikeys:manage")
    target = org_id or principal.org_id
    if target != principal.org_id and not principal.can("org:manage"):
        raise NotFound(f"organisation {target} not found")
    org = session.get(Organization, target)
    if org is None:
        raise NotFound(f"organisation {target} not found")
    try:
        check_role_for_org(role, org.kind)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(id=new_id("key"), org_id=target, name=name, role=role,
                 key_hash=_sha256(secret), prefix=secret[:10], created_at=clock.now())
    session.add(key)
    session.flush()
    return IssuedSecret(id=key.id, secret=secret)


def authenticate_api_key(session: Session, *, secret: str, clock: Clock) -> Principal:
    if not secret.startswith(API_KEY_PREFIX):
        raise Unauthenticated("not a parcelguard API key")
    key = repo.find_api_key_by_hash(session, _sha256(secret))
    if key is None or key.revoked_at is not None:
        raise Unauthenticated("API key unknown or revoked")
    key.last_used_at = clock.now()
    org = session.get(Organization, key.org_id)
    assert org is not None
    return Principal(org_id=org.id, org_kind=org.kind, role=key.role, api_key_id=key.id)


def revoke_api_key(session: Session, principal: Principal, *, key_id: str,
                   clock: Clock) -> None:
    principal.require("apikeys:manage")
    key = session.get(ApiKey, key_id)
    if key is None or key.org_id != principal.org_id:
        raise NotFound(f"API key {key_id} not found")
    key.revoked_at = clock.now()


SUPERVISOR_ORG_ID = "supervision"


@dataclass(frozen=True)
class InitResult:
    created: bool
    admin_username: str
    admin_password: str | None  # only when just created


def initialise(session: Session, *, clock: Clock) -> InitResult:
    """Create the supervision department and its admin account, once."""
    if session.get(Organization, SUPERVISOR_ORG_ID) is not None:
        return InitResult(created=False, admin_username="admin", admin_password=None)
    create_organization(session, org_id=SUPERVISOR_ORG_ID, kind="supervisor",
                        name="Network-logistics supervision department", clock=clock)
    _, password = create_account(session, org_id=SUPERVISOR_ORG_ID, username="admin",
                                 role="supervisor_admin", clock=clock,
                                 display_name="Supervision administrator")
    return InitResult(created=True, admin_username="admin", admin_password=password)
