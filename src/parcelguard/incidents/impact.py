"""An incident's impact, computed from its evidence events in the ledger.

- records: distinct waybills whose PI an allowed access touched, plus the record
  counts of allowed searches and exports (which name no waybill). Duplicates are
  not counted twice (SPC/SPP 2017 interpretation, Art. 11); denied attempts leak
  nothing and count for no impact, though they stay in the evidence.
- people: distinct data subjects of the touched fields (sender fields -> the
  sender, recipient fields -> the recipient), resolved through the parcels table;
  records of searches and exports are counted one person each (never more than
  the enterprise holds), an upper bound kept visible as ``unattributed_records``:
  grading errs towards reporting.
- data types: the PI fields touched; records by criminal category: waybill
  fields are "other" records, parcel-step events (tracks) are location data.
- insider: an employee's own account produced the evidence (the criminal
  thresholds halve, Art. 5(8)).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
from sqlalchemy import func, select, union
from sqlalchemy.orm import Session

from parcelguard.incidents.grading import DataCategory
from parcelguard.ledger.models import LedgerEvent
from parcelguard.logistics.models import Parcel

_CHUNK = 1_000
PI_ACTIONS = frozenset({"reveal", "search", "export", "print_label", "share"})


@dataclass
class Impact:
    people: int = 0
    records: int = 0
    unattributed_records: int = 0
    data_types: list[str] = field(default_factory=list)
    records_by_category: dict[str, int] = field(default_factory=dict)
    actor_ids: list[str] = field(default_factory=list)
    insider: bool = False
    first_at: datetime | None = None
    last_at: datetime | None = None
    found_event_ids: list[str] = field(default_factory=list)
    waybills: list[str] = field(default_factory=list)  # whose PI an allowed access touched


def _chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


def load_events(session: Session, enterprise_id: str,
                event_ids: Sequence[str]) -> list[dict[str, object]]:
    """The evidence events of one enterprise's log, decoded from their leaves (in
    log order). Ids that are not in the log are skipped: an alert's synthetic
    evidence (a witness finding) has no event."""
    out: list[tuple[int, dict[str, object]]] = []
    for chunk in _chunks(sorted(set(event_ids))):
        for seq, leaf in session.execute(select(LedgerEvent.seq, LedgerEvent.leaf).where(
                LedgerEvent.enterprise_id == enterprise_id,
                LedgerEvent.event_id.in_(chunk))):
            out.append((seq, orjson.loads(leaf)))
    return [doc for _, doc in sorted(out, key=lambda p: p[0])]


def _subjects(session: Session, enterprise_id: str,
              wanted: dict[str, set[str]]) -> set[str]:
    """Subject ids of (waybill -> parties touched)."""
    people: set[str] = set()
    waybills = sorted(wanted)
    for chunk in _chunks(waybills):
        for wb, sender, recipient in session.execute(
                select(Parcel.waybill_no, Parcel.sender_subject_id,
                       Parcel.recipient_subject_id).where(
                    Parcel.enterprise_id == enterprise_id, Parcel.waybill_no.in_(chunk))):
            parties = wanted[wb]
            if "sender" in parties:
                people.add(sender)
            if "recipient" in parties:
                people.add(recipient)
    return people


def _population(session: Session, enterprise_id: str) -> int:
    """Distinct people whose PI the enterprise holds (senders and recipients)."""
    both = union(select(Parcel.sender_subject_id.label("s")).where(
        Parcel.enterprise_id == enterprise_id), select(Parcel.recipient_subject_id).where(
        Parcel.enterprise_id == enterprise_id)).subquery()
    return int(session.scalar(select(func.count()).select_from(both)) or 0)


def compute(session: Session, enterprise_id: str, event_ids: Sequence[str]) -> Impact:
    events = load_events(session, enterprise_id, event_ids)
    imp = Impact(found_event_ids=[str(e["event_id"]) for e in events])
    touched: dict[str, set[str]] = {}  # waybill -> parties whose PI leaked
    fields: set[str] = set()
    tracks: set[str] = set()
    bulk = 0
    actors: set[str] = set()
    times: list[str] = []
    for ev in events:
        times.append(str(ev["occurred_at"]))
        if ev["kind"] == "parcel":
            tracks.add(str(ev["waybill_no"]))
            continue
        if ev["kind"] != "access":
            continue
        actors.add(str(ev["actor_id"]))
        if ev.get("actor_type") == "employee":
            imp.insider = True
        if ev.get("outcome") != "allowed" or ev.get("action") not in PI_ACTIONS:
            continue
        ev_fields = [str(f) for f in ev.get("fields") or []]  # type: ignore[attr-defined]
        fields.update(ev_fields)
        wb = ev.get("waybill_no")
        if isinstance(wb, str):
            parties = {f.partition("_")[0] for f in ev_fields} or {"recipient"}
            touched.setdefault(wb, set()).update(parties)
        else:
            bulk += int(ev.get("record_count") or 0)  # type: ignore[call-overload]
    people = _subjects(session, enterprise_id, touched)
    imp.records = len(touched) + bulk
    imp.unattributed_records = bulk
    imp.people = len(people) + (min(bulk, _population(session, enterprise_id) - len(people))
                                if bulk else 0)
    imp.data_types = sorted(fields)
    imp.waybills = sorted(touched)
    cats = {DataCategory.OTHER.value: imp.records, DataCategory.LOCATION.value: len(tracks)}
    imp.records_by_category = {k: v for k, v in cats.items() if v}
    imp.actor_ids = sorted(actors)
    if times:
        parsed = sorted(datetime.fromisoformat(t.upper().replace("Z", "+00:00"))
                        for t in times)
        imp.first_at, imp.last_at = parsed[0].astimezone(UTC), parsed[-1].astimezone(UTC)
    return imp
