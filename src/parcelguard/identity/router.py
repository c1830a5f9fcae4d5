"""HTTP API of identity: log-in sessions."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from pydantic import BaseModel

from parcelguard.core.http import API, SessionDep, runtime_dep
from parcelguard.identity import service as identity

router = APIRouter(prefix=API, tags=["identity"])


class LoginIn(BaseModel):
    username: str
    password: str


@router.post("/sessions")
def login(body: LoginIn, request: Request, session: SessionDep) -> dict[str, str]:
    """Log in with username and password; returns a bearer session token."""
    rt = runtime_dep(request)
    acc = identity.authenticate(session, username=body.username, password=body.password,
                                clock=rt.clock)
    issued = identity.start_session(session, account=acc, clock=rt.clock,
                                    lifetime=timedelta(hours=rt.settings.api.session_hours))
    return {"token": issued.secret, "org_id": acc.org_id, "role": acc.role}
