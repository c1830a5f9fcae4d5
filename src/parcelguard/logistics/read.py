"""What other packages may read of logistics: plain values, never the ORM rows
(``logistics/models.py`` is logistics' own): parcels (their sealed PI stays sealed:
ciphertexts and blind indexes, decrypted only by the gate through the vault), the
roster, stations and assignments.

A look-up that loads whole rows loads them as ORM rows first, so the tenant guard
(``core/tenancy.py``) still sees every row a request loads; bulk reads (audits,
impact, retention, triangulation) select only the columns they need in one query and
return tuples. Writes stay in ``logistics/service.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select, union, union_all
from sqlalchemy.orm import Session

from parcelguard.logistics.models import Assignment, Employee, Parcel, Station

_CHUNK = 1_000  # ids per IN list: far below every backend's parameter limit


# -- parcels ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParcelInfo:
    """A parcel as stored: ids, routing, the pseudonymous subjects, the vault
    ciphertexts of each PI field (``<party>_<field>_ct``) and the phone blind indexes.
    Holds no plaintext PI."""

    id: str
    enterprise_id: str
    waybill_no: str
    origin_station_id: str | None
    destination_station_id: str | None
    destination_region: str | None
    created_at: datetime
    sender_subject_id: str
    recipient_subject_id: str
    sender_name_ct: bytes | None
    sender_phone_ct: bytes | None
    sender_address_ct: bytes | None
    sender_id_number_ct: bytes | None
    recipient_name_ct: bytes | None
    recipient_phone_ct: bytes | None
    recipient_address_ct: bytes | None
    sender_minor: bool | None
    guardian_consent_at: datetime | None
    recipient_phone_bi: bytes | None
    recipient_phone_last4_bi: bytes | None
    sender_phone_bi: bytes | None

    def __repr__(self) -> str:
        return f"ParcelInfo(id={self.id!r}, waybill_no={self.waybill_no!r}, <sealed>)"


def _parcel(p: Parcel) -> ParcelInfo:
    return ParcelInfo(
        id=p.id, enterprise_id=p.enterprise_id, waybill_no=p.waybill_no,
        origin_station_id=p.origin_station_id, destination_station_id=p.destination_station_id,
        destination_region=p.destination_region, created_at=p.created_at,
        sender_subject_id=p.sender_subject_id, recipient_subject_id=p.recipient_subject_id,
        sender_name_ct=p.sender_name_ct, sender_phone_ct=p.sender_phone_ct,
        sender_address_ct=p.sender_address_ct, sender_id_number_ct=p.sender_id_number_ct,
        recipient_name_ct=p.recipient_name_ct, recipient_phone_ct=p.recipient_phone_ct,
        recipient_address_ct=p.recipient_address_ct, sender_minor=p.sender_minor,
        guardian_consent_at=p.guardian_consent_at, recipient_phone_bi=p.recipient_phone_bi,
        recipient_phone_last4_bi=p.recipient_phone_last4_bi, sender_phone_bi=p.sender_phone_bi)


def parcel(session: Session, enterprise_id: str, waybill_no: str) -> ParcelInfo | None:
    """The enterprise's parcel with this waybill number."""
    row = session.scalars(select(Parcel).where(
        Parcel.enterprise_id == enterprise_id, Parcel.waybill_no == waybill_no)).first()
    return None if row is None else _parcel(row)


def parcels_by_id(session: Session, parcel_ids: Iterable[str]) -> dict[str, ParcelInfo]:
    """Parcel id -> parcel, for any enterprise (the caller checks the owner)."""
    ids = list(parcel_ids)
    return {p.id: _parcel(p) for p in session.scalars(select(Parcel).where(Parcel.id.in_(ids)))}


def parcels_by_waybills(session: Session, enterprise_id: str,
                        waybills: Sequence[str]) -> list[ParcelInfo]:
    """The enterprise's parcels among ``waybills``, by waybill number."""
    rows: list[Parcel] = []
    for i in range(0, len(waybills), _CHUNK):
        rows += session.scalars(select(Parcel).where(
            Parcel.enterprise_id == enterprise_id,
            Parcel.waybill_no.in_(waybills[i:i + _CHUNK])))
    return [_parcel(p) for p in sorted(rows, key=lambda p: p.waybill_no)]


def subject_parcels(session: Session, enterprise_id: str, subject_id: str, *,
                    for_update: bool = False) -> list[ParcelInfo]:
    """Parcels on which the person is sender or recipient, oldest first; locked
    (``for_update``) where the caller decides on them before changing the person."""
    stmt = select(Parcel).where(
        Parcel.enterprise_id == enterprise_id,
        or_(Parcel.sender_subject_id == subject_id,
            Parcel.recipient_subject_id == subject_id)).order_by(Parcel.created_at, Parcel.id)
    if for_update:
        stmt = stmt.with_for_update()
    return [_parcel(p) for p in session.scalars(stmt)]


def parcels_by_phone(session: Session, enterprise_id: str, *, full: bytes | None,
                     last4: bytes | None, station_id: str | None,
                     limit: int) -> tuple[list[ParcelInfo], int]:
    """Parcels whose recipient (or, for a full number, sender) phone matches a blind
    index, newest first: up to ``limit`` of them and how many there are."""
    ent = Parcel.enterprise_id == enterprise_id
    if full is not None:
        cond = or_(Parcel.recipient_phone_bi == full, Parcel.sender_phone_bi == full)
    else:
        cond = Parcel.recipient_phone_last4_bi == last4
    where = [ent, cond]
    if station_id is not None:
        where.append(Parcel.destination_station_id == station_id)
    total = session.scalar(select(func.count()).select_from(Parcel).where(*where))
    rows = [_parcel(p) for p in session.scalars(select(Parcel).where(*where).order_by(
        Parcel.created_at.desc(), Parcel.id).limit(limit))]
    return rows, int(total or 0)


def _window(enterprise_id: str, station_id: object, created_from: datetime,
            created_to: datetime) -> list[ColumnElement[bool]]:
    return [Parcel.enterprise_id == enterprise_id, Parcel.destination_station_id == station_id,
            Parcel.created_at >= created_from, Parcel.created_at < created_to]


def count_in_window(session: Session, enterprise_id: str, *, station_id: object,
                    created_from: datetime, created_to: datetime) -> int:
    """How many parcels for a destination station were created in [from, to)."""
    return int(session.scalar(select(func.count()).select_from(Parcel).where(
        *_window(enterprise_id, station_id, created_from, created_to))) or 0)


def parcels_in_window(session: Session, enterprise_id: str, *, station_id: object,
                      created_from: datetime, created_to: datetime) -> list[ParcelInfo]:
    """The parcels for a destination station created in [from, to), by waybill."""
    return [_parcel(p) for p in session.scalars(select(Parcel).where(
        *_window(enterprise_id, station_id, created_from, created_to))
        .order_by(Parcel.waybill_no))]


def parties(session: Session, enterprise_id: str,
            waybills: Sequence[str]) -> list[tuple[str, str, str]]:
    """(waybill, sender subject, recipient subject) of the enterprise's parcels among
    ``waybills`` (a bulk read: one query per thousand)."""
    out: list[tuple[str, str, str]] = []
    for i in range(0, len(waybills), _CHUNK):
        out += [(wb, s, r) for wb, s, r in session.execute(
            select(Parcel.waybill_no, Parcel.sender_subject_id, Parcel.recipient_subject_id)
            .where(Parcel.enterprise_id == enterprise_id,
                   Parcel.waybill_no.in_(waybills[i:i + _CHUNK])))]
    return out


def parties_of_subjects(session: Session, enterprise_id: str, subject_ids: Sequence[str], *,
                        for_update: bool = False) -> list[tuple[str, str, str]]:
    """(waybill, sender subject, recipient subject) of every parcel on which one of
    ``subject_ids`` is a party, each once; locked with ``for_update``."""
    rows: list[tuple[str, str, str]] = []
    for column in (Parcel.sender_subject_id, Parcel.recipient_subject_id):
        stmt = (select(Parcel.waybill_no, Parcel.sender_subject_id, Parcel.recipient_subject_id)
                .where(Parcel.enterprise_id == enterprise_id, column.in_(subject_ids)))
        if for_update:
            stmt = stmt.with_for_update()
        rows += [(wb, snd, rcp) for wb, snd, rcp in session.execute(stmt)]
    return list(dict.fromkeys(rows))


def idle_subjects(session: Session, enterprise_id: str, cutoff: datetime, *,
                  excluding: Select[Any]) -> list[str]:
    """People (sender or recipient) whose newest parcel was created before ``cutoff``,
    leaving out the subject ids ``excluding`` selects (one query), sorted."""
    roles = union_all(
        select(Parcel.sender_subject_id.label("subject"), Parcel.created_at.label("at"))
        .where(Parcel.enterprise_id == enterprise_id),
        select(Parcel.recipient_subject_id.label("subject"), Parcel.created_at.label("at"))
        .where(Parcel.enterprise_id == enterprise_id)).subquery()
    return list(session.scalars(
        select(roles.c.subject).where(roles.c.subject.not_in(excluding))
        .group_by(roles.c.subject).having(func.max(roles.c.at) < cutoff)
        .order_by(roles.c.subject)))


def holdings(session: Session, enterprise_id: str) -> tuple[int, int]:
    """(parcels, distinct people) whose PI the enterprise holds."""
    parcels = int(session.scalar(select(func.count()).select_from(Parcel).where(
        Parcel.enterprise_id == enterprise_id)) or 0)
    both = union(select(Parcel.sender_subject_id.label("s")).where(
        Parcel.enterprise_id == enterprise_id), select(Parcel.recipient_subject_id).where(
        Parcel.enterprise_id == enterprise_id)).subquery()
    return parcels, int(session.scalar(select(func.count()).select_from(both)) or 0)


def own_waybills(session: Session, enterprise_id: str, waybills: Sequence[str]) -> set[str]:
    """Those of ``waybills`` that are the enterprise's parcels."""
    own: set[str] = set()
    for i in range(0, len(waybills), 500):
        own.update(session.scalars(select(Parcel.waybill_no).where(
            Parcel.enterprise_id == enterprise_id, Parcel.waybill_no.in_(waybills[i:i + 500]))))
    return own


def waybill_taken(session: Session, waybill_no: str) -> bool:
    """Whether any enterprise has a parcel with this waybill number."""
    return session.scalar(select(Parcel.id).where(Parcel.waybill_no == waybill_no)) is not None


def some_waybill(session: Session, enterprise_id: str, *,
                 excluding: Select[Any]) -> str | None:
    """One of the enterprise's waybill numbers not among those ``excluding`` selects."""
    return session.scalar(select(Parcel.waybill_no).where(
        Parcel.enterprise_id == enterprise_id, Parcel.waybill_no.not_in(excluding)).limit(1))


def first_parcel_by_sender(session: Session, enterprise_id: str, start: datetime,
                           end: datetime) -> dict[str, Any]:
    """Sender subject -> their first parcel's creation time in [start, end) (as the
    backend returns the aggregate: possibly naive, or text on SQLite)."""
    return dict(session.execute(
        select(Parcel.sender_subject_id, func.min(Parcel.created_at))
        .where(Parcel.enterprise_id == enterprise_id, Parcel.created_at >= start,
               Parcel.created_at < end)
        .group_by(Parcel.sender_subject_id)).all())


def sealed_fields(session: Session, enterprise_id: str, fields: Sequence[str], *,
                  before: datetime, batch: int) -> Iterator[tuple[Any, ...]]:
    """(parcel id, sender subject, recipient subject, *the ``<field>_ct`` of each of
    ``fields``) of every parcel created before ``before``, by id, streamed ``batch``
    rows at a time (one query)."""
    cols = [getattr(Parcel, f"{f}_ct") for f in fields]
    stmt = (select(Parcel.id, Parcel.sender_subject_id, Parcel.recipient_subject_id, *cols)
            .where(Parcel.enterprise_id == enterprise_id, Parcel.created_at < before)
            .order_by(Parcel.id))
    for row in session.execute(stmt).yield_per(batch):
        yield tuple(row)


# -- the roster and stations ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EmployeeInfo:
    id: str
    enterprise_id: str
    station_id: str | None
    role: str
    shift_start: str | None
    shift_end: str | None
    shift_tz: str | None
    background_check: str
    trained_at: datetime | None
    status: str  # active | left
    hired_at: datetime
    left_at: datetime | None


def _employee(e: Employee) -> EmployeeInfo:
    return EmployeeInfo(id=e.id, enterprise_id=e.enterprise_id, station_id=e.station_id,
                        role=e.role, shift_start=e.shift_start, shift_end=e.shift_end,
                        shift_tz=e.shift_tz, background_check=e.background_check,
                        trained_at=e.trained_at, status=e.status, hired_at=e.hired_at,
                        left_at=e.left_at)


def employee(session: Session, employee_id: str | None) -> EmployeeInfo | None:
    """The roster employee, of any enterprise (the caller checks the owner)."""
    row = session.get(Employee, employee_id) if employee_id else None
    return None if row is None else _employee(row)


def employee_of(session: Session, enterprise_id: str,
                employee_id: str | None) -> EmployeeInfo | None:
    """The enterprise's roster employee, None for another enterprise's."""
    found = employee(session, employee_id)
    return found if found is not None and found.enterprise_id == enterprise_id else None


def roster(session: Session, enterprise_id: str) -> list[EmployeeInfo]:
    """Every employee on the enterprise's roster, past and present."""
    return [_employee(e) for e in session.scalars(
        select(Employee).where(Employee.enterprise_id == enterprise_id))]


def active_employee_ids(session: Session, enterprise_id: str, ids: Sequence[str]) -> set[str]:
    """Those of ``ids`` that are active employees of the enterprise."""
    return set(session.scalars(select(Employee.id).where(
        Employee.enterprise_id == enterprise_id, Employee.id.in_(ids),
        Employee.status == "active")))


def station_of_employees(session: Session, enterprise_id: str) -> dict[str, str]:
    """Employee id -> their station, for the enterprise's employees with one."""
    return {str(eid): str(st) for eid, st in session.execute(
        select(Employee.id, Employee.station_id).where(
            Employee.enterprise_id == enterprise_id)) if st is not None}


def employee_stations(enterprise_id: str) -> Select[str, str | None]:
    """The enterprise's roster as (employee id, station id) pairs, as a query for a
    caller that must join them with its own table in one query (a bulk count). Scoped
    here too: an actor id in one carrier's log must never pick up the station of
    another carrier's employee of the same id."""
    return select(Employee.id.label("employee_id"), Employee.station_id.label("station_id")
                  ).where(Employee.enterprise_id == enterprise_id)


def owner_of(session: Session, kind: str, target_id: str) -> str | None:
    """The enterprise an ``employee`` or ``station`` id belongs to, if any."""
    if kind == "employee":
        return session.scalar(select(Employee.enterprise_id).where(Employee.id == target_id))
    if kind == "station":
        return session.scalar(select(Station.enterprise_id).where(Station.id == target_id))
    raise ValueError(f"no such roster kind {kind!r}")


def station_ids(session: Session, enterprise_id: str) -> list[str]:
    """The enterprise's station ids, sorted."""
    return list(session.scalars(select(Station.id).where(
        Station.enterprise_id == enterprise_id).order_by(Station.id)))


# -- assignments ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AssignmentInfo:
    id: str
    enterprise_id: str
    employee_id: str
    waybill_no: str
    purpose: str
    starts_at: datetime
    ends_at: datetime
    revoked: bool


def assignment_info(a: Assignment) -> AssignmentInfo:
    return AssignmentInfo(id=a.id, enterprise_id=a.enterprise_id, employee_id=a.employee_id,
                          waybill_no=a.waybill_no, purpose=a.purpose, starts_at=a.starts_at,
                          ends_at=a.ends_at, revoked=bool(a.revoked))


def assignment(session: Session, assignment_id: str) -> AssignmentInfo | None:
    """The assignment, of any enterprise (the caller checks the owner)."""
    row = session.get(Assignment, assignment_id)
    return None if row is None else assignment_info(row)


def assignments(session: Session, enterprise_id: str, employee_id: str,
                waybill_no: str) -> list[AssignmentInfo]:
    """All of the employee's assignments on the parcel, revoked or not."""
    return [assignment_info(a) for a in session.scalars(select(Assignment).where(
        Assignment.enterprise_id == enterprise_id, Assignment.employee_id == employee_id,
        Assignment.waybill_no == waybill_no))]


def covering_assignments(session: Session, *, enterprise_id: str, employee_id: str,
                         waybill_no: str, purpose: str, at: datetime) -> list[AssignmentInfo]:
    """Assignments that grant ``employee_id`` access to ``waybill_no`` for ``purpose``
    at ``at`` (the access gate's first question)."""
    return [assignment_info(a) for a in session.scalars(select(Assignment).where(
        Assignment.enterprise_id == enterprise_id, Assignment.employee_id == employee_id,
        Assignment.waybill_no == waybill_no, Assignment.purpose == purpose,
        Assignment.starts_at <= at, Assignment.ends_at > at, Assignment.revoked.is_(False)))]


def delivery_courier(session: Session, enterprise_id: str, waybill_no: str) -> str | None:
    """The employee of the parcel's latest unrevoked delivery assignment."""
    return session.scalar(select(Assignment.employee_id).where(
        Assignment.enterprise_id == enterprise_id, Assignment.waybill_no == waybill_no,
        Assignment.purpose == "delivery", Assignment.revoked.is_(False))
        .order_by(Assignment.starts_at.desc()).limit(1))


def assignees(session: Session, enterprise_id: str, waybill_no: str) -> set[str]:
    """Everyone the parcel was ever assigned to."""
    return set(session.scalars(select(Assignment.employee_id).where(
        Assignment.enterprise_id == enterprise_id, Assignment.waybill_no == waybill_no)))


def assignment_windows(session: Session, enterprise_id: str, *,
                       employee_id: str | None = None, overlapping: tuple[datetime, datetime]
                       | None = None) -> list[tuple[str, str, str, datetime, datetime]]:
    """(employee, waybill, purpose, starts_at, ends_at) of the enterprise's unrevoked
    assignments (of one employee; overlapping a [start, end) period): a bulk read."""
    where = [Assignment.enterprise_id == enterprise_id, Assignment.revoked.is_(False)]
    if employee_id is not None:
        where.append(Assignment.employee_id == employee_id)
    if overlapping is not None:
        where += [Assignment.starts_at < overlapping[1], Assignment.ends_at > overlapping[0]]
    return [(e, w, p, s, t) for e, w, p, s, t in session.execute(
        select(Assignment.employee_id, Assignment.waybill_no, Assignment.purpose,
               Assignment.starts_at, Assignment.ends_at).where(*where))]
