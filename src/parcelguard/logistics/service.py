"""Logistics use cases: stations, the roster, assignments and parcel steps.

Every change that supervision needs to see is also recorded as an event in the
enterprise's log (``employee`` events for the roster, ``parcel`` events for steps and
assignments), in the same transaction as the row change.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from parcelguard.core.clock import Clock
from parcelguard.core.errors import Conflict, InvalidInput, NotFound
from parcelguard.core.ids import new_id
from parcelguard.identity.permissions import Principal
from parcelguard.ledger import parcels as projection
from parcelguard.ledger.contract import ID_RULE, PI_FIELDS, ROLES, is_contract_id
from parcelguard.ledger.ingest import record_events
from parcelguard.logistics.models import Assignment, Employee, Parcel, Station
from parcelguard.logistics.rules import ASSIGNMENT_PURPOSES, Window, next_status

REGION_RE = re.compile(r"^\d{6}$")
HHMM_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
CHECK_RESULTS = ("passed", "failed", "pending")


def _iso(t: datetime) -> str:
    return t.isoformat()


def _own(principal: Principal, enterprise_id: str) -> None:
    principal.require("logistics:write")
    if enterprise_id != principal.org_id:
        # Same answer as for a missing enterprise: never confirm other tenants exist.
        raise NotFound(f"enterprise {enterprise_id} not found")


def create_station(session: Session, principal: Principal, *, station_id: str | None = None,
                   name: str, region_code: str, clock: Clock) -> Station:
    _own(principal, principal.org_id)
    if not REGION_RE.match(region_code):
        raise InvalidInput("region code must be a 6-digit administrative division code")
    if station_id is not None and not is_contract_id(station_id):
        raise InvalidInput(f"station id: {ID_RULE}")
    st = Station(id=station_id or new_id("st"), enterprise_id=principal.org_id, name=name,
                 region_code=region_code, created_at=clock.now())
    session.add(st)
    session.flush()
    return st


def _employee(session: Session, principal: Principal, employee_id: str) -> Employee:
    emp = session.get(Employee, employee_id)
    if emp is None or emp.enterprise_id != principal.org_id:
        raise NotFound(f"employee {employee_id} not found")
    return emp


def _station(session: Session, principal: Principal, station_id: str) -> Station:
    st = session.get(Station, station_id)
    if st is None or st.enterprise_id != principal.org_id:
        raise NotFound(f"station {station_id} not found")
    return st


def _roster_event(emp: Employee, change: str, at: datetime, **extra: Any) -> dict[str, Any]:
    return {"event_id": new_id("ev"), "kind": "employee", "occurred_at": _iso(at),
            "enterprise_id": emp.enterprise_id, "employee_id": emp.id, "change": change,
            **extra}


def hire_employee(session: Session, principal: Principal, *, role: str, station_id: str,
                  shift_start: str, shift_end: str, shift_tz: str = "Asia/Shanghai",
                  employee_id: str | None = None, clock: Clock) -> Employee:
    """Add an employee to the roster. PI access waits for a passed background check."""
    _own(principal, principal.org_id)
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    if not (HHMM_RE.match(shift_start) and HHMM_RE.match(shift_end)):
        raise InvalidInput("shift times are HH:MM, 24-hour")
    if employee_id is not None and not is_contract_id(employee_id):
        raise InvalidInput(f"employee id: {ID_RULE}")
    _station(session, principal, station_id)
    now = clock.now()
    emp = Employee(id=employee_id or new_id("emp"), enterprise_id=principal.org_id,
                   station_id=station_id, role=role, shift_start=shift_start,
                   shift_end=shift_end, shift_tz=shift_tz, background_check="pending",
                   status="active", hired_at=now)
    session.add(emp)
    session.flush()
    record_events(session, [_roster_event(
        emp, "hired", now, role=role, station_id=station_id, background_check="pending",
        shift={"start": shift_start, "end": shift_end, "tz": shift_tz})], clock_now=clock.now)
    return emp


def record_background_check(session: Session, principal: Principal, *, employee_id: str,
                            result: str, clock: Clock) -> Employee:
    _own(principal, principal.org_id)
    if result not in CHECK_RESULTS:
        raise InvalidInput(f"background check result must be one of {', '.join(CHECK_RESULTS)}")
    emp = _employee(session, principal, employee_id)
    emp.background_check = result
    record_events(session, [_roster_event(emp, "background_check", clock.now(),
                                          background_check=result)], clock_now=clock.now)
    return emp


def record_training(session: Session, principal: Principal, *, employee_id: str,
                    clock: Clock) -> Employee:
    _own(principal, principal.org_id)
    emp = _employee(session, principal, employee_id)
    emp.trained_at = clock.now()
    record_events(session, [_roster_event(emp, "training_completed", clock.now())],
                  clock_now=clock.now)
    return emp


def employee_left(session: Session, principal: Principal, *, employee_id: str,
                  clock: Clock) -> Employee:
    """Offboard: the employee's open assignments end now, so nothing still grants
    access after the last day (court cases show left accounts stay in use)."""
    _own(principal, principal.org_id)
    emp = _employee(session, principal, employee_id)
    if emp.status == "left":
        raise Conflict(f"employee {employee_id} has already left")
    now = clock.now()
    emp.status, emp.left_at = "left", now
    for a in session.scalars(select(Assignment).where(
            Assignment.employee_id == emp.id, Assignment.ends_at > now,
            Assignment.revoked.is_(False))):
        a.revoked = True
    record_events(session, [_roster_event(emp, "left", now)], clock_now=clock.now)
    return emp


def _parcel(session: Session, principal: Principal, waybill_no: str) -> Parcel:
    p = session.scalars(select(Parcel).where(Parcel.waybill_no == waybill_no)).first()
    if p is None or p.enterprise_id != principal.org_id:
        raise NotFound(f"waybill {waybill_no} not found")
    return p


def assign(session: Session, principal: Principal, *, waybill_no: str, employee_id: str,
           purpose: str, window: Window, clock: Clock) -> Assignment:
    """Make an employee responsible for a parcel for a purpose and a time window;
    recorded as a ``parcel`` event with step ``assigned``."""
    _own(principal, principal.org_id)
    if purpose not in ASSIGNMENT_PURPOSES:
        raise InvalidInput(f"purpose must be one of {', '.join(ASSIGNMENT_PURPOSES)}")
    parcel = _parcel(session, principal, waybill_no)
    emp = _employee(session, principal, employee_id)
    if emp.status != "active":
        raise Conflict(f"employee {employee_id} is not active")
    next_status(current_status(session, parcel), "assigned")
    a = Assignment(id=new_id("asg"), enterprise_id=principal.org_id, employee_id=emp.id,
                   waybill_no=waybill_no, purpose=purpose, starts_at=window.starts_at,
                   ends_at=window.ends_at, revoked=False)
    session.add(a)
    session.flush()
    record_events(session, [{
        "event_id": new_id("ev"), "kind": "parcel", "occurred_at": _iso(clock.now()),
        "enterprise_id": principal.org_id, "waybill_no": waybill_no, "step": "assigned",
        "station_id": emp.station_id, "assignee_id": emp.id, "assignment_purpose": purpose,
        "assignment_until": _iso(window.ends_at),
        "destination_region": parcel.destination_region}], clock_now=clock.now)
    return a


def current_status(session: Session, parcel: Parcel) -> str:
    """The parcel's status in the projection; a registered parcel whose stream has
    reported no step yet is ``created``."""
    return projection.status_of(session, parcel.enterprise_id, parcel.waybill_no) or "created"


def record_step(session: Session, principal: Principal, *, waybill_no: str, step: str,
                station_id: str | None = None, clock: Clock) -> Parcel:
    """Move a parcel through its lifecycle; illegal moves are refused. The step is
    an event like any carrier's, and the projection takes the new state from it."""
    _own(principal, principal.org_id)
    if step == "assigned":
        raise InvalidInput("use assign() to assign a parcel")
    parcel = _parcel(session, principal, waybill_no)
    if station_id is not None:
        _station(session, principal, station_id)
    now = clock.now()
    next_status(current_status(session, parcel), step)
    record_events(session, [{
        "event_id": new_id("ev"), "kind": "parcel", "occurred_at": _iso(now),
        "enterprise_id": principal.org_id, "waybill_no": waybill_no, "step": step,
        "station_id": station_id, "destination_region": parcel.destination_region}],
        clock_now=clock.now)
    return parcel


def reseal_parcel_field(session: Session, *, enterprise_id: str, parcel_id: str, field: str,
                        ciphertext: bytes, phone_indexes: tuple[bytes, bytes] | None = None
                        ) -> None:
    """Replace one PI field of a parcel with a new vault ciphertext (a data subject's
    correction, sealed by the caller); a phone field takes its new blind indexes
    (``VaultService.phone_indexes``: full, last four)."""
    if field not in PI_FIELDS:
        raise InvalidInput(f"field must be one of {', '.join(PI_FIELDS)}")
    parcel = session.get(Parcel, parcel_id)
    if parcel is None or parcel.enterprise_id != enterprise_id:
        raise NotFound(f"parcel {parcel_id} not found")
    setattr(parcel, f"{field}_ct", ciphertext)
    if field == "recipient_phone" and phone_indexes is not None:
        parcel.recipient_phone_bi, parcel.recipient_phone_last4_bi = phone_indexes
    elif field == "sender_phone" and phone_indexes is not None:
        parcel.sender_phone_bi = phone_indexes[0]
    session.flush()


def clear_phone_indexes(session: Session, enterprise_id: str, subject_ids: Sequence[str]) -> None:
    """Clear the phone blind indexes of the people's own parties on the enterprise's
    parcels (after their keys were shredded: the indexes are keyed by the enterprise,
    not the person, so a known phone number would still find the parcels)."""
    session.execute(update(Parcel).where(
        Parcel.enterprise_id == enterprise_id,
        Parcel.recipient_subject_id.in_(subject_ids)).values(
        recipient_phone_bi=None, recipient_phone_last4_bi=None))
    session.execute(update(Parcel).where(
        Parcel.enterprise_id == enterprise_id,
        Parcel.sender_subject_id.in_(subject_ids)).values(sender_phone_bi=None))
