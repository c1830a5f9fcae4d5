"""The caller of an HTTP request, from a bearer API key or session token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from parcelguard.core import tenancy
from parcelguard.core.errors import Unauthenticated
from parcelguard.core.http import SessionDep, runtime_dep
from parcelguard.identity import service as identity
from parcelguard.identity.permissions import Principal


def authenticate(request: Request, session: Session) -> Principal:
    """The caller, from ``Authorization: Bearer <API key or session token>``; the
    session (the request's transaction) is marked with the caller's enterprise. Also
    the authenticator behind ``core.http.CallerDep`` (identity/plugin.py)."""
    rt = runtime_dep(request)
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("send 'Authorization: Bearer <API key or session token>'")
    if token.startswith(identity.API_KEY_PREFIX):
        principal = identity.authenticate_api_key(session, secret=token, clock=rt.clock)
    else:
        principal = identity.resolve_session(session, token=token, clock=rt.clock, kind="api")
    if principal.org_kind == "enterprise":
        tenancy.enter(session, principal.org_id)  # the guard: core/tenancy.py
    return principal


def principal_dep(request: Request, session: SessionDep) -> Principal:
    """The caller as identity's own ``Principal``, for routers of the rows above."""
    return authenticate(request, session)


PrincipalDep = Annotated[Principal, Depends(principal_dep)]
