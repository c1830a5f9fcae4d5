"""Suspending PI access: an employee or an API key is cut off at the gate from the
moment the suspension is recorded (interventions and sanctions, issue 6).

``suspend``/``lift`` are system calls confined to one enterprise (event handlers of
the reactions call them); ``suspend_as``/``lift_as`` check the principal's
``pi:suspend`` permission first (API, CLI). Reasons are shown to staff and kept, so
they may not carry PI.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from parcelguard.access.models import AccessSuspension
from parcelguard.access.policy import looks_like_pi
from parcelguard.access.repository import AccessRepository
from parcelguard.core.clock import Clock
from parcelguard.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from parcelguard.core.ids import new_id
from parcelguard.identity import read as identity_read
from parcelguard.identity.permissions import Principal
from parcelguard.logistics import read as logistics_read


def _check_reason(reason: str) -> str:
    text = " ".join(reason.split())
    if not 3 <= len(text) <= 500:
        raise InvalidInput("reason: 3-500 characters")
    if looks_like_pi(text):
        raise InvalidInput("reason: no phone numbers, ID numbers or e-mail addresses")
    return text


def suspend(session: Session, *, enterprise_id: str, reason: str, by: str, clock: Clock,
            employee_id: str | None = None, api_key_id: str | None = None,
            until: datetime | None = None, held_by: str | None = None) -> AccessSuspension:
    """Suspend one employee's or API key's PI access now (until ``until`` or until
    lifted). Exactly one of ``employee_id`` and ``api_key_id``. ``held_by``: the
    measure (an intervention id) that alone may lift it."""
    if (employee_id is None) == (api_key_id is None):
        raise InvalidInput("suspend either an employee or an API key")
    if employee_id is not None and logistics_read.employee_of(
            session, enterprise_id, employee_id) is None:
        raise NotFound.of("employee %(id)s not found", id=employee_id)
    if api_key_id is not None:
        key = identity_read.api_key(session, api_key_id)
        if key is None or key.org_id != enterprise_id:
            raise NotFound(f"API key {api_key_id} not found")
    now = clock.now()
    if until is not None and (until.tzinfo is None or until <= now):
        raise InvalidInput("until must be a future time with an offset")
    row = AccessSuspension(id=new_id("sus"), enterprise_id=enterprise_id,
                           employee_id=employee_id, api_key_id=api_key_id,
                           reason=_check_reason(reason), suspended_by=by, starts_at=now,
                           until=until, held_by=held_by)
    session.add(row)
    session.flush()
    return row


def lift(session: Session, *, enterprise_id: str, suspension_id: str, by: str,
         clock: Clock) -> AccessSuspension:
    row = AccessRepository(session, enterprise_id).suspension(suspension_id)
    if row is None:
        raise NotFound(f"suspension {suspension_id} not found")
    if row.lifted_at is not None:
        raise Conflict("this suspension was already lifted")
    row.lifted_at, row.lifted_by = clock.now(), by
    session.flush()
    return row


def _own(principal: Principal) -> str:
    principal.require("pi:suspend")
    if principal.org_kind != "enterprise":
        raise PermissionDenied("suspensions belong to an enterprise")
    return principal.account_id or principal.api_key_id or "unknown"


def suspend_as(session: Session, principal: Principal, *, reason: str, clock: Clock,
               employee_id: str | None = None, api_key_id: str | None = None,
               until: datetime | None = None) -> AccessSuspension:
    by = _own(principal)
    return suspend(session, enterprise_id=principal.org_id, reason=reason, by=by, clock=clock,
                   employee_id=employee_id, api_key_id=api_key_id, until=until)


def lift_as(session: Session, principal: Principal, *, suspension_id: str,
            clock: Clock) -> AccessSuspension:
    by = _own(principal)
    row = AccessRepository(session, principal.org_id).suspension(suspension_id)
    if row is not None and row.held_by is not None:
        raise Conflict("this suspension is part of an intervention and is lifted only with "
                       "it (an ordered one by the supervision department)")
    return lift(session, enterprise_id=principal.org_id, suspension_id=suspension_id, by=by,
                clock=clock)
