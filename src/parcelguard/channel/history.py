"""Reading access history from the ledger for triangulation and evidence.

Only ``ledger_events``' own columns are filtered on (enterprise, kind, subject,
waybill); the few fields beyond them (actor type, action, outcome) come from the
canonical leaf, parsed only for the rows a question selects. Baselines are one
grouped scan of the enterprise's access events: a few hundred milliseconds for a
day of a large carrier, so a run over many clusters loads it once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import msgspec
from sqlalchemy.orm import Session

from parcelguard.channel.triangulate import AccessRow, Baseline, Triangulation, triangulate_rows
from parcelguard.ledger import read as ledger_read
from parcelguard.logistics import read as logistics_read

_US = 1_000_000


def load_baseline(session: Session, enterprise_id: str) -> Baseline:
    """Distinct waybills accessed by each actor, each station's staff and anyone."""
    by_actor, population = ledger_read.waybill_reach(session, enterprise_id, kind="access")
    by_station = ledger_read.waybill_reach_by_group(
        session, enterprise_id, kind="access",
        groups=logistics_read.employee_stations(enterprise_id))
    station_of = logistics_read.station_of_employees(session, enterprise_id)
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


def accesses_to(session: Session, enterprise_id: str,
                waybills: Sequence[str]) -> list[AccessRow]:
    """Every access event, allowed or denied, to any of ``waybills``, in log order."""
    return [_row(seq, leaf) for seq, leaf in ledger_read.leaves_by_waybills(
        session, enterprise_id, waybills, kind="access")]


def accesses_by(session: Session, enterprise_id: str, actor_ids: Iterable[str], *,
                since_us: int | None = None, until_us: int | None = None) -> list[AccessRow]:
    """Every access event of the given actors (optionally in a time range)."""
    return [_row(seq, leaf) for seq, leaf in ledger_read.leaves_by_subjects(
        session, enterprise_id, actor_ids, kind="access", since_us=since_us,
        until_us=until_us)]


def positions_of(session: Session, enterprise_id: str,
                 event_ids: Iterable[str]) -> dict[str, int]:
    """Log positions of events named by id (unknown ids are left out)."""
    return ledger_read.positions_of(session, enterprise_id, event_ids)


def uncovered(session: Session, enterprise_id: str, employee_id: str,
              rows: Sequence[AccessRow]) -> list[AccessRow]:
    """The employee's allowed waybill reads that no assignment of theirs covered at
    that moment: what the job never required (the basis of the record counts)."""
    windows: dict[str, list[tuple[int, int]]] = {}
    for _, wb, _, start, end in logistics_read.assignment_windows(
            session, enterprise_id, employee_id=employee_id):
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
