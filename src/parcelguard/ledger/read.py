"""What other packages may read of the ledger: plain values, never the ORM rows
(``ledger/models.py`` is the ledger's own). Events come back as their log position
and canonical leaf (the reader decodes what it needs), in bulk from one query per
chunk of ids, never one call per event: the monitor and triangulation read millions.

Two reads are query fragments rather than values (``waybill_reach_by_group`` takes
one, ``finished_parcels`` returns one): a count or a sweep that joins a ledger table
with another package's table stays one query instead of loading either side.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.orm import Session

from parcelguard.core.bulk import raw
from parcelguard.ledger.models import (
    LedgerArchive,
    LedgerEvent,
    LedgerHead,
    LedgerSigningKey,
    ParcelState,
)
from parcelguard.ledger.parcels import FINAL_STATUSES

_CHUNK = 500  # ids per IN list: far below every backend's parameter limit


# -- the logs -----------------------------------------------------------------------


def log_sizes(session: Session) -> dict[str, int]:
    """Enterprise -> the size of its log, for every enterprise with one."""
    # iter(): a Result has keys(), so dict() would take it for a mapping
    return dict(iter(session.execute(select(LedgerHead.enterprise_id, LedgerHead.size))))


def log_size_or_zero(session: Session, enterprise_id: str) -> int:
    """The size of the enterprise's log, 0 when it has none."""
    return int(session.scalar(select(LedgerHead.size).where(
        LedgerHead.enterprise_id == enterprise_id)) or 0)


def archive_count(session: Session, enterprise_id: str) -> int:
    """How many prefixes of the enterprise's log were archived (retention)."""
    return int(session.scalar(select(func.count()).select_from(LedgerArchive)
                              .where(LedgerArchive.enterprise_id == enterprise_id)) or 0)


def log_of_origin(session: Session, origin: str) -> tuple[str, str] | None:
    """(enterprise id, verifier key) of the log registered under ``origin``."""
    row = session.scalars(select(LedgerSigningKey)
                          .where(LedgerSigningKey.origin == origin)).first()
    return None if row is None else (row.enterprise_id, row.verifier_key)


# -- events ---------------------------------------------------------------------------


def leaves_from(session: Session, enterprise_id: str, start: int, limit: int) -> list[bytes]:
    """Up to ``limit`` leaves of the enterprise's log from position ``start`` on.

    One DBAPI query below SQLAlchemy: the monitor reads every leaf this way, and
    SQLAlchemy's result processing cost as much again as the query (1.4 against 0.7
    us a leaf, 20,000-leaf batches on SQLite)."""
    return [leaf for (leaf,) in raw(  # bytes on both drivers
        session.connection(),
        f"SELECT leaf FROM {LedgerEvent.__tablename__} WHERE enterprise_id = {{p}} "
        "AND seq >= {p} ORDER BY seq LIMIT {p}", (enterprise_id, start, limit))]


def events(session: Session, enterprise_id: str, *, kind: str, since_us: int | None = None,
           until_us: int | None = None) -> list[tuple[int, str, int, bytes]]:
    """(position, event id, occurred at (UTC us), leaf) of the enterprise's events of
    ``kind`` that occurred in [since_us, until_us), in log order."""
    stmt = select(LedgerEvent.seq, LedgerEvent.event_id, LedgerEvent.occurred_at_us,
                  LedgerEvent.leaf).where(LedgerEvent.enterprise_id == enterprise_id,
                                          LedgerEvent.kind == kind)
    if since_us is not None:
        stmt = stmt.where(LedgerEvent.occurred_at_us >= since_us)
    if until_us is not None:
        stmt = stmt.where(LedgerEvent.occurred_at_us < until_us)
    return [(s, e, t, bytes(leaf)) for s, e, t, leaf in
            session.execute(stmt.order_by(LedgerEvent.seq))]


def positions_in(session: Session, enterprise_id: str, *, since_us: int, until_us: int,
                 kind: str | None = None, below: int | None = None) -> list[int]:
    """Positions of the events (of ``kind``) that occurred in [since_us, until_us),
    below position ``below``, in order."""
    stmt = select(LedgerEvent.seq).where(
        LedgerEvent.enterprise_id == enterprise_id,
        LedgerEvent.occurred_at_us >= since_us, LedgerEvent.occurred_at_us < until_us)
    if kind:
        stmt = stmt.where(LedgerEvent.kind == kind)
    if below is not None:
        stmt = stmt.where(LedgerEvent.seq < below)
    return list(session.scalars(stmt.order_by(LedgerEvent.seq)))


def last_position_before(session: Session, enterprise_id: str, until_us: int) -> int | None:
    """The position of the last event that occurred before ``until_us``."""
    last = session.scalar(select(func.max(LedgerEvent.seq)).where(
        LedgerEvent.enterprise_id == enterprise_id, LedgerEvent.occurred_at_us < until_us))
    return None if last is None else int(last)


def _of_kind(enterprise_id: str, kind: str | None) -> list[ColumnElement[bool]]:
    where = [LedgerEvent.enterprise_id == enterprise_id]
    if kind is not None:
        where.append(LedgerEvent.kind == kind)
    return where


def leaves_by_event_ids(session: Session, enterprise_id: str, event_ids: Iterable[str], *,
                        chunk: int = _CHUNK) -> list[tuple[int, bytes]]:
    """(position, leaf) of the events named by id (unknown ids are left out), in
    log order."""
    ids = sorted(set(event_ids))
    out: list[tuple[int, bytes]] = []
    for i in range(0, len(ids), chunk):
        out += [(int(s), bytes(leaf)) for s, leaf in session.execute(
            select(LedgerEvent.seq, LedgerEvent.leaf).where(
                LedgerEvent.enterprise_id == enterprise_id,
                LedgerEvent.event_id.in_(ids[i:i + chunk])))]
    out.sort(key=lambda r: r[0])
    return out


def leaves_by_waybills(session: Session, enterprise_id: str, waybills: Iterable[str], *,
                       kind: str | None = None) -> list[tuple[int, bytes]]:
    """(position, leaf) of the events (of ``kind``) about any of ``waybills``, in log
    order."""
    wanted = sorted(set(waybills))
    out: list[tuple[int, bytes]] = []
    for i in range(0, len(wanted), _CHUNK):
        out += [(int(s), bytes(leaf)) for s, leaf in session.execute(
            select(LedgerEvent.seq, LedgerEvent.leaf).where(
                *_of_kind(enterprise_id, kind),
                LedgerEvent.waybill_no.in_(wanted[i:i + _CHUNK])))]
    out.sort(key=lambda r: r[0])
    return out


def leaves_by_subjects(session: Session, enterprise_id: str, subject_ids: Iterable[str], *,
                       kind: str | None = None, since_us: int | None = None,
                       until_us: int | None = None) -> list[tuple[int, bytes]]:
    """(position, leaf) of the events (of ``kind``) whose subject (an access event's
    actor, a roster event's employee) is one of ``subject_ids``, optionally in
    [since_us, until_us), in log order."""
    ids = sorted(set(subject_ids))
    out: list[tuple[int, bytes]] = []
    for i in range(0, len(ids), _CHUNK):
        stmt = select(LedgerEvent.seq, LedgerEvent.leaf).where(
            *_of_kind(enterprise_id, kind), LedgerEvent.subject_id.in_(ids[i:i + _CHUNK]))
        if since_us is not None:
            stmt = stmt.where(LedgerEvent.occurred_at_us >= since_us)
        if until_us is not None:
            stmt = stmt.where(LedgerEvent.occurred_at_us < until_us)
        out += [(int(s), bytes(leaf)) for s, leaf in session.execute(stmt)]
    out.sort(key=lambda r: r[0])
    return out


def positions_of(session: Session, enterprise_id: str,
                 event_ids: Iterable[str]) -> dict[str, int]:
    """Log positions of events named by id (unknown ids are left out)."""
    ids = sorted(set(event_ids))
    out: dict[str, int] = {}
    for i in range(0, len(ids), _CHUNK):
        out.update((eid, int(seq)) for eid, seq in session.execute(
            select(LedgerEvent.event_id, LedgerEvent.seq).where(
                LedgerEvent.enterprise_id == enterprise_id,
                LedgerEvent.event_id.in_(ids[i:i + _CHUNK]))))
    return out


def waybill_reach(session: Session, enterprise_id: str, *,
                  kind: str) -> tuple[dict[str, int], int]:
    """(subject -> how many distinct waybills their events of ``kind`` name, how many
    distinct waybills those events name in all): one grouped scan and one count."""
    named = and_(*_of_kind(enterprise_id, kind), LedgerEvent.waybill_no.is_not(None))
    distinct = func.count(LedgerEvent.waybill_no.distinct())
    by_subject = {sid: int(n) for sid, n in session.execute(
        select(LedgerEvent.subject_id, distinct).where(named)
        .group_by(LedgerEvent.subject_id)) if sid is not None}
    population = int(session.scalar(select(distinct).where(named)) or 0)
    return by_subject, population


def waybill_reach_by_group(session: Session, enterprise_id: str, *, kind: str,
                           groups: Select[str, str | None]) -> dict[str, int]:
    """Group -> how many distinct waybills the events of ``kind`` of its members
    name. ``groups`` selects (member subject id, group) pairs, e.g. a roster's
    (employee, station); it is joined in the one grouped query."""
    sub = groups.subquery()
    member, group = list(sub.c)[:2]
    distinct = func.count(LedgerEvent.waybill_no.distinct())
    return {str(g): int(n) for g, n in session.execute(
        select(group, distinct).join(sub, member == LedgerEvent.subject_id)
        .where(*_of_kind(enterprise_id, kind), LedgerEvent.waybill_no.is_not(None),
               group.is_not(None))
        .group_by(group)) if g is not None}


# -- the parcel projection ------------------------------------------------------------


def finished_parcels() -> Select[str, str, int | None]:
    """(enterprise id, waybill, when its final step happened (UTC us)) of every parcel
    the projection has delivered or closed, as a query for a caller that joins it with
    its own table (the binding sweep)."""
    return select(ParcelState.enterprise_id, ParcelState.waybill_no,
                  ParcelState.step_at_us).where(ParcelState.status.in_(FINAL_STATUSES))
