"""Virtual-number bindings: the pool of host numbers, binding a parcel's recipient
(and, once assigned, its delivery courier), expiry after delivery.

Lifecycle of one parcel's binding::

    label printed ──▶ AXN binding, no courier (number + extension on the label)
    courier assigned ──▶ courier attached for the assignment window
                         (or a new AXB/AXN binding if no label was printed)
    delivered ──▶ expires_at = delivered + grace (default 15 days)
    sweep ──▶ expired_at set, provider unbinds, the number/extension is reused

This module is the bindings' storage and their provider side only: it takes plain
values (waybill number, recipient subject id, courier id, window) and reads no
parcel, assignment or roster. Reading those, resolving the real number and placing
calls are PI access and live in ``access/waybills/virtual_numbers.py``. Telephony calls are
made inside the caller's transaction: a provider binding left behind by a
rolled-back transaction names a binding id that does not exist, so no call is ever
routed through it, and the next sweep of a real provider reconciles it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from parcelguard.core.errors import Conflict
from parcelguard.core.ids import new_id
from parcelguard.ledger import read as ledger_read
from parcelguard.ledger.parcels import utc_of_us
from parcelguard.waybill.models import VirtualBinding, VirtualNumber
from parcelguard.waybill.read import BindingInfo
from parcelguard.waybill.telephony import (
    EXTENSION_DIGITS,
    BindingMode,
    Telephony,
    courier_endpoint,
    dialled,
    recipient_endpoint,
)

# Common practice: the number stays reachable 15 days after the trade (DOMAIN.md).
DEFAULT_GRACE: Final = timedelta(days=15)
_EXTENSIONS: Final = 10**EXTENSION_DIGITS
_LEASE_TRIES: Final = 5
_RANDOM_EXTENSION_TRIES: Final = 32


def is_live(b: VirtualBinding | BindingInfo, at: datetime) -> bool:
    return b.expired_at is None and (b.expires_at is None or at < b.expires_at)


def live_binding(session: Session, enterprise_id: str, waybill_no: str) -> VirtualBinding | None:
    return session.scalars(select(VirtualBinding).where(
        VirtualBinding.enterprise_id == enterprise_id, VirtualBinding.waybill_no == waybill_no,
        VirtualBinding.expired_at.is_(None))).first()


def display_number(b: VirtualBinding | BindingInfo) -> str:
    """The number as printed on the label and dialled by the courier."""
    return dialled(b.number, b.extension)


# -- the pool -----------------------------------------------------------------------


def _lease(session: Session, telephony: Telephony, enterprise_id: str, mode: BindingMode,
           at: datetime) -> str:
    for _ in range(_LEASE_TRIES):
        number = telephony.lease_number(enterprise_id=enterprise_id, mode=mode)
        if session.get(VirtualNumber, number) is None:
            session.add(VirtualNumber(number=number, enterprise_id=enterprise_id,
                                      mode=mode.value, leased_at=at))
            session.flush()
            return number
    raise Conflict("the telephony provider keeps offering numbers that are already leased")


def _pool(session: Session, enterprise_id: str, mode: BindingMode) -> list[str]:
    return list(session.scalars(select(VirtualNumber.number).where(
        VirtualNumber.enterprise_id == enterprise_id, VirtualNumber.mode == mode.value)
        .order_by(VirtualNumber.leased_at, VirtualNumber.number)))


def _free_extension(session: Session, number: str) -> str | None:
    used = set(session.scalars(select(VirtualBinding.extension).where(
        VirtualBinding.number == number, VirtualBinding.expired_at.is_(None))))
    if len(used) >= _EXTENSIONS:
        return None
    # Random rather than sequential: a courier who knows one parcel's extension
    # should not be able to guess the next parcel's.
    for _ in range(_RANDOM_EXTENSION_TRIES):
        ext = f"{secrets.randbelow(_EXTENSIONS):0{EXTENSION_DIGITS}d}"
        if ext not in used:
            return ext
    return next(e for i in range(_EXTENSIONS)
                if (e := f"{i:0{EXTENSION_DIGITS}d}") not in used)


def _axn_slot(session: Session, telephony: Telephony, enterprise_id: str,
              at: datetime) -> tuple[str, str]:
    for number in _pool(session, enterprise_id, BindingMode.AXN_EXT):
        ext = _free_extension(session, number)
        if ext is not None:
            return number, ext
    number = _lease(session, telephony, enterprise_id, BindingMode.AXN_EXT, at)
    ext = _free_extension(session, number)
    assert ext is not None  # a freshly leased number has every extension free
    return number, ext


def _axb_number(session: Session, telephony: Telephony, enterprise_id: str, *,
                courier_id: str, recipient_subject_id: str, at: datetime) -> str:
    busy = set(session.scalars(select(VirtualBinding.number).where(
        VirtualBinding.enterprise_id == enterprise_id, VirtualBinding.mode == "axb",
        VirtualBinding.expired_at.is_(None),
        or_(VirtualBinding.courier_id == courier_id,
            VirtualBinding.recipient_subject_id == recipient_subject_id))))
    for number in _pool(session, enterprise_id, BindingMode.AXB):
        if number not in busy:
            return number
    return _lease(session, telephony, enterprise_id, BindingMode.AXB, at)


# -- binding ------------------------------------------------------------------------


def _retire(b: VirtualBinding, telephony: Telephony, at: datetime) -> None:
    b.expired_at = at
    telephony.unbind(binding_id=b.id)


def _current(session: Session, telephony: Telephony, enterprise_id: str, waybill_no: str,
             at: datetime) -> VirtualBinding | None:
    """The live binding; one past its expiry but not yet swept is retired here."""
    b = live_binding(session, enterprise_id, waybill_no)
    if b is not None and not is_live(b, at):
        _retire(b, telephony, at)
        session.flush()
        return None
    return b


def _push(telephony: Telephony, b: VirtualBinding) -> None:
    """Tell the provider the binding's current parties."""
    courier = courier_endpoint(b.courier_id) if b.courier_id else None
    recipient = recipient_endpoint(b.recipient_subject_id)
    if b.mode == BindingMode.AXB:
        assert courier is not None, "an AXB binding always has its courier"
        telephony.bind_axb(binding_id=b.id, number=b.number, party_a=courier, party_b=recipient)
    else:
        assert b.extension is not None
        telephony.bind_axn(binding_id=b.id, number=b.number, extension=b.extension,
                           party_a=courier, party_b=recipient)


def binding_for_label(session: Session, telephony: Telephony, *, enterprise_id: str,
                      waybill_no: str, recipient_subject_id: str,
                      at: datetime) -> VirtualBinding:
    """The parcel's live binding, or a new AXN-extension one without a courier: a
    label is printed before anyone is assigned, and its number must keep working
    for whichever courier is assigned later."""
    b = _current(session, telephony, enterprise_id, waybill_no, at)
    if b is not None:
        return b
    number, ext = _axn_slot(session, telephony, enterprise_id, at)
    b = VirtualBinding(id=new_id("vb"), enterprise_id=enterprise_id, waybill_no=waybill_no,
                       mode=BindingMode.AXN_EXT.value, number=number, extension=ext,
                       recipient_subject_id=recipient_subject_id, bound_at=at)
    session.add(b)
    session.flush()
    _push(telephony, b)
    return b


def bind_courier(session: Session, telephony: Telephony, *, enterprise_id: str,
                 waybill_no: str, recipient_subject_id: str, courier_id: str,
                 assignment_id: str, window_starts_at: datetime, window_ends_at: datetime,
                 at: datetime, mode: BindingMode = BindingMode.AXN_EXT) -> VirtualBinding:
    """Bind a delivery courier to the parcel's recipient for a window. An existing
    binding (the printed label's) keeps its number and gets the new courier, who
    replaces any earlier one; ``mode`` applies only when the parcel has no binding
    yet. The caller has checked the assignment behind ``assignment_id``."""
    b = _current(session, telephony, enterprise_id, waybill_no, at)
    if b is not None and b.mode == BindingMode.AXB and b.courier_id != courier_id:
        # An AXB number belongs to the old pair; the new courier may already be
        # paired on it elsewhere, so the pair gets a binding of its own.
        _retire(b, telephony, at)
        session.flush()
        mode, b = BindingMode.AXB, None
    if b is None:
        ext: str | None = None
        if mode is BindingMode.AXB:
            number = _axb_number(session, telephony, enterprise_id, courier_id=courier_id,
                                 recipient_subject_id=recipient_subject_id, at=at)
        else:
            number, ext = _axn_slot(session, telephony, enterprise_id, at)
        b = VirtualBinding(id=new_id("vb"), enterprise_id=enterprise_id, waybill_no=waybill_no,
                           mode=mode.value, number=number, extension=ext,
                           recipient_subject_id=recipient_subject_id, bound_at=at)
        session.add(b)
    b.courier_id, b.assignment_id = courier_id, assignment_id
    b.window_starts_at, b.window_ends_at = window_starts_at, window_ends_at
    session.flush()
    _push(telephony, b)
    return b


def list_bindings(session: Session, *, enterprise_id: str | None = None,
                  live_only: bool = True, limit: int = 100) -> list[VirtualBinding]:
    q = select(VirtualBinding).order_by(VirtualBinding.bound_at.desc()).limit(limit)
    if enterprise_id is not None:
        q = q.where(VirtualBinding.enterprise_id == enterprise_id)
    if live_only:
        q = q.where(VirtualBinding.expired_at.is_(None))
    return list(session.scalars(q))


# -- who may use it -----------------------------------------------------------------


def binding_refusal(b: VirtualBinding | BindingInfo | None, employee_id: str,
                    at: datetime) -> str:
    """Why ``employee_id`` may not use the binding at ``at`` ("ok" when they may):
    only its courier, inside the assignment window, while it is live. Whether the
    assignment still stands and the employee is active is for
    ``access/waybills/virtual_numbers.py`` to add."""
    if b is None:
        return "no_binding"
    if not is_live(b, at):
        return "expired"
    if b.courier_id != employee_id or b.window_starts_at is None or b.window_ends_at is None:
        return "not_bound_courier"
    if not b.window_starts_at <= at < b.window_ends_at:
        return "outside_window"
    return "ok"


# -- expiry -------------------------------------------------------------------------


def start_grace(b: VirtualBinding, ended_at: datetime, grace: timedelta) -> None:
    """Date the binding's end: the parcel reached its recipient (or was closed) at
    ``ended_at``; the number keeps working ``grace`` longer."""
    b.delivered_at, b.expires_at = ended_at, ended_at + grace


def date_ended(session: Session, ended: Iterable[tuple[VirtualBinding, datetime]],
               grace: timedelta) -> None:
    """Date the bindings of parcels that reached their end, each at its end time."""
    for b, ended_at in ended:
        start_grace(b, ended_at, grace)
    session.flush()


def date_finished(session: Session, grace: timedelta) -> None:
    """Date the bindings not yet dated whose parcels the parcel projection shows
    delivered or closed, each at its final step (one query joining the projection)."""
    ended = ledger_read.finished_parcels().subquery()
    finished = session.execute(
        select(VirtualBinding, ended.c.step_at_us)
        .join(ended, (ended.c.enterprise_id == VirtualBinding.enterprise_id)
              & (ended.c.waybill_no == VirtualBinding.waybill_no))
        .where(VirtualBinding.expired_at.is_(None),
               VirtualBinding.expires_at.is_(None))).all()
    # For a closed parcel its closing time stands in for delivery: it is never
    # earlier, so the recipient's grace period is never cut short.
    date_ended(session, [(b, utc_of_us(at_us)) for b, at_us in finished if at_us is not None],
               grace)


def sweep(session: Session, now: datetime, *, telephony: Telephony) -> int:
    """Unbind every binding due at ``now``; returns how many. Idempotent."""
    due = list(session.scalars(select(VirtualBinding).where(
        VirtualBinding.expired_at.is_(None), VirtualBinding.expires_at <= now)))
    for b in due:
        _retire(b, telephony, now)
    session.flush()
    return len(due)
