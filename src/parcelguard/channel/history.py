"""Reading access history from the ledger for triangulation and evidence.

Only ``ledger_events``' own columns are filtered on (enterprise, kind, subject,
waybill); the few fields beyond them (actor type, action, outcome) come from the
canonical leaf, parsed only for the rows a question selects. Baselines are one
grouped scan of the enterprise's access events: a few hundred milliseconds for a
day of a large carrier, so a run over many clusters loads it once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

import msgspec
from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.orm import Session

from parcelguard.channel.triangulate import AccessRow, Baseline, Triangulation, triangulate_rows
from parcelguard.ledger.models import LedgerEvent
from parcelguard.logistics.models import Assignment, Employee

_CHUNK = 500  # waybills or ids per IN list: far below every backend's parameter limit
_US = 1_000_000


def _access(enterprise_id: str) -> list[ColumnElement[bool]]:
    return [LedgerEvent.enterprise_id == enterprise_id, LedgerEvent.kind == "access"]


def load_baseline(session: Session, enterprise_id: str) -> Baseline:
    """Distinct waybills accessed by each actor, each station's staff and anyone."""
    waybill_access = and_(*_access(enterprise_id), LedgerEvent.waybill_no.is_not(None))
    distinct = func.count(LedgerEvent.waybill_no.distinct())
    by_actor = {sid: int(n) for sid, n in session.execute(
        select(LedgerEvent.subject_id, distinct).where(waybill_access)
        .group_by(LedgerEvent.subject_id)) if sid is not None}
    population = int(session.scalar(select(distinct).where(waybill_access)) or 0)
    by_station = {st: int(n) for st, n in session.execute(
        select(Employee.station_id, distinct)
        .join(Employee, Employee.id == LedgerEvent.subject_id)
        .where(waybill_access, Employee.station_id.is_not(None))
        .group_by(Employee.station_id)) if st is not None}
    station_of = {str(eid): str(st) for eid, st in session.execute(
        select(Employee.id, Employee.station_id).where(
            Employee.enterprise_id == enterprise_id)) if st is not None}
    return Baseline(population=population, by_actor=by_actor, by_station=by_station,
                    station_of=station_of)


def _row(seq: int, leaf: bytes) -> AccessRow:
    doc = msgspec.json.decode(leaf)
    return AccessRow(
        seq=seq, event_id=doc["event_id"], occurred_at_us=_us(doc["occurred_at"]),
        actor_type=doc.get("actor_type") or "external", actor_id=doc.get("actor_id") or "",
        action=doc.get("action") or "", outcome=doc.get("outcome") or "denied",
        waybill_no=doc.get("waybill_no"), record_count=int(doc.get("record_count") or 0))


def _us(value: str) -> int:
    return int(datetime.fromisoformat(value).timestamp() * _US)


def _rows(session: Session, stmt: Select[int, bytes]) -> Iterator[AccessRow]:
    for seq, leaf in session.execute(stmt):
        yield _row(int(seq), bytes(leaf))


def accesses_to(session: Session, enterprise_id: str,
                waybills: Sequence[str]) -> list[AccessRow]:
    """Every access event, allowed or denied, to any of ``waybills``, in log order."""
    out: list[AccessRow] = []
    wanted = sorted(set(waybills))
    for i in range(0, len(wanted), _CHUNK):
        out += _rows(session, select(LedgerEvent.seq, LedgerEvent.leaf).where(
            *_access(enterprise_id), LedgerEvent.waybill_no.in_(wanted[i:i + _CHUNK])))
    out.sort(key=lambda r: r.seq)
    return out


def accesses_by(session: Session, enterprise_id: str, actor_ids: Iterable[str], *,
                since_us: int | None = None, until_us: int | None = None) -> list[AccessRow]:
    """Every access event of the given actors (optionally in a time range)."""
    ids = sorted(set(actor_ids))
    out: list[AccessRow] = []
    for i in range(0, len(ids), _CHUNK):
        stmt = select(LedgerEvent.seq, LedgerEvent.leaf).where(
            *_access(enterprise_id), LedgerEvent.subject_id.in_(ids[i:i + _CHUNK]))
        if since_us is not None:
            stmt = stmt.where(LedgerEvent.occurred_at_us >= since_us)
        if until_us is not None:
            stmt = stmt.where(LedgerEvent.occurred_at_us < until_us)
        out += _rows(session, stmt)
    out.sort(key=lambda r: r.seq)
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


def uncovered(session: Session, enterprise_id: str, employee_id: str,
              rows: Sequence[AccessRow]) -> list[AccessRow]:
    """The employee's allowed waybill reads that no assignment of theirs covered at
    that moment: what the job never required (the basis of the record counts)."""
    windows: dict[str, list[tuple[int, int]]] = {}
    for wb, start, end, revoked in session.execute(
            select(Assignment.waybill_no, Assignment.starts_at, Assignment.ends_at,
                   Assignment.revoked).where(Assignment.enterprise_id == enterprise_id,
                                             Assignment.employee_id == employee_id)):
        if not revoked:
            windows.setdefault(wb, []).append((int(start.timestamp() * _US),
                                               int(end.timestamp() * _US)))
    return [r for r in rows if r.actor_id == employee_id and r.outcome == "allowed"
            and r.waybill_no is not None
            and not any(a <= r.occurred_at_us <= b for a, b in windows.get(r.waybill_no, ()))]


def rank_leak_sources(session: Session, *, enterprise_id: str, waybills: Iterable[str],
                      baseline: Baseline | None = None, top: int | None = None
                      ) -> Triangulation:
    """Triangulate a cluster against the enterprise's log. A ``baseline`` (from
    ``load_baseline``) can be reused across clusters of one enterprise."""
    cluster = sorted(set(waybills))
    base = baseline or load_baseline(session, enterprise_id)
    rows = accesses_to(session, enterprise_id, cluster)
    return triangulate_rows(enterprise_id, cluster, rows, base, top=top)
