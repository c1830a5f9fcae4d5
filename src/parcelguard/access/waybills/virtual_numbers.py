"""Virtual numbers as PI access: binding an assignment's courier, resolving the real
number behind a virtual one, calls, and the expiry sweep that reads parcel states.

The binding storage, the number pool and the provider side are ``waybill.virtual``
(plain values in, no parcel or roster reads); this module reads the assignment, the
parcel and the roster and hands plain values down.

Only the bound courier, inside the assignment window, with the assignment not
revoked and the employee active, may call through the number or resolve the real
one; each resolution, allowed or denied, is a ``reveal`` access event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from parcelguard.access.waybills.audit import Actor, Channel, record_access
from parcelguard.access.waybills.parcels import check_waybill_no, parcel_of
from parcelguard.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from parcelguard.logistics import read as logistics_read
from parcelguard.logistics.read import (
    AssignmentInfo,
    EmployeeInfo,
    ParcelInfo,
    covering_assignments,
)
from parcelguard.vault.service import VaultService
from parcelguard.waybill.read import BindingInfo, binding_info, live_binding
from parcelguard.waybill.telephony import BindingMode, CallReceipt, Telephony, courier_endpoint
from parcelguard.waybill.virtual import (
    DEFAULT_GRACE,
    bind_courier,
    binding_refusal,
    date_finished,
    sweep,
)


def bind_for_assignment(session: Session, telephony: Telephony, *, assignment: AssignmentInfo,
                        at: datetime, mode: BindingMode = BindingMode.AXN_EXT
                        ) -> BindingInfo:
    """Bind the assigned delivery courier to the parcel's recipient for the
    assignment window. An existing binding (the printed label's) keeps its number
    and gets the new courier, who replaces any earlier one; ``mode`` applies only
    when the parcel has no binding yet."""
    if assignment.purpose != "delivery":
        raise InvalidInput("virtual numbers are bound for delivery assignments only")
    if assignment.revoked:
        raise Conflict("the assignment was revoked")
    ent, waybill_no = assignment.enterprise_id, assignment.waybill_no
    parcel = parcel_of(session, ent, waybill_no)
    return binding_info(bind_courier(
        session, telephony, enterprise_id=ent, waybill_no=waybill_no,
        recipient_subject_id=parcel.recipient_subject_id, courier_id=assignment.employee_id,
        assignment_id=assignment.id, window_starts_at=assignment.starts_at,
        window_ends_at=assignment.ends_at, at=at, mode=mode))


# -- resolution and calls -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Resolution:
    """The answer to "what is the real number behind this parcel's virtual one?".
    ``phone`` is set only when allowed and is hidden from repr."""

    allowed: bool
    reason: str  # ok, or why not (stable codes, see docs/waybill.md)
    event_id: str | None
    phone: str | None = field(default=None, repr=False)


def _courier_check(session: Session, b: BindingInfo | None, employee: EmployeeInfo | None,
                   enterprise_id: str, at: datetime) -> str:
    if employee is None or employee.enterprise_id != enterprise_id:
        return "unknown_employee"
    if employee.status != "active":
        return "employee_inactive"
    reason = binding_refusal(b, employee.id, at)
    if reason == "ok" and b is not None and not covering_assignments(
            session, enterprise_id=enterprise_id, employee_id=employee.id,
            waybill_no=b.waybill_no, purpose="delivery", at=at):
        return "assignment_revoked"  # offboarding or reassignment revokes it
    return reason


def _recipient_phone(session: Session, vault: VaultService, parcel: ParcelInfo) -> str | None:
    (phone,) = vault.open(session, parcel.enterprise_id, [
        (parcel.recipient_subject_id, parcel.id, "recipient_phone", parcel.recipient_phone_ct)])
    return phone


def resolve(session: Session, vault: VaultService, *, enterprise_id: str, employee_id: str,
            waybill_no: str, at: datetime, channel: Channel = "pda",
            device_id: str | None = None) -> Resolution:
    """The recipient's real number, for the bound courier inside the assignment
    window only. Every call records a ``reveal`` access event (recipient_phone,
    purpose delivery), allowed or denied; a denial changes nothing else."""
    check_waybill_no(waybill_no)
    try:
        parcel: ParcelInfo | None = parcel_of(session, enterprise_id, waybill_no)
    except NotFound:
        parcel = None  # still an attempt: probing waybill numbers is worth recording
    employee = logistics_read.employee(session, employee_id)
    if parcel is None:
        reason = "not_found"
    else:
        b = live_binding(session, enterprise_id, waybill_no)
        reason = _courier_check(session, b, employee, enterprise_id, at)
    phone = _recipient_phone(session, vault, parcel) if parcel and reason == "ok" else None
    if reason == "ok" and phone is None:
        reason = "erased"
    station = employee.station_id if employee is not None else None
    event_id = record_access(
        session, enterprise_id=enterprise_id,
        actor=Actor("employee", employee_id, station, channel, device_id),
        action="reveal", fields=["recipient_phone"], waybill_no=waybill_no,
        allowed=reason == "ok", purpose="delivery", at=at)
    return Resolution(allowed=reason == "ok", reason=reason, event_id=event_id, phone=phone)


def place_call(session: Session, vault: VaultService, telephony: Telephony, *,
               enterprise_id: str, employee_id: str, waybill_no: str,
               at: datetime) -> CallReceipt:
    """Connect the bound courier to the recipient through the virtual number. The
    real number goes to the provider for this call only; the receipt the courier's
    client gets names the virtual number alone. Refused (403) outside the binding."""
    parcel = parcel_of(session, enterprise_id, check_waybill_no(waybill_no))
    b = live_binding(session, enterprise_id, waybill_no)
    reason = _courier_check(session, b, logistics_read.employee(session, employee_id),
                            enterprise_id, at)
    if reason != "ok":
        raise PermissionDenied(f"call refused: {reason}")
    assert b is not None
    phone = _recipient_phone(session, vault, parcel)
    if phone is None:
        raise PermissionDenied("call refused: erased")
    return telephony.place_call(binding_id=b.id, caller=courier_endpoint(employee_id),
                                number=b.number, extension=b.extension, callee_phone=phone)


# -- expiry -------------------------------------------------------------------------


def expire_bindings(session: Session, now: datetime, *, telephony: Telephony,
                    grace: timedelta = DEFAULT_GRACE) -> int:
    """The sweep: date the bindings of parcels that reached their end (delivered or
    closed, in the parcel projection) to that moment plus ``grace``, then unbind
    every binding due at ``now``. Returns how many were expired. Idempotent."""
    date_finished(session, grace)
    return sweep(session, now, telephony=telephony)
