"""An incident's impact, computed from its evidence events in the ledger, as a court
would count it (SPC/SPP 2017 interpretation on infringing citizens' PI, Arts. 5, 11).

- A **record** is one waybill's PI, counted once however often it was revealed,
  printed, shared or exported (Art. 11: duplicates are not counted twice). Only
  allowed accesses that exposed PI fields count; denied attempts, accesses with no
  fields, roster events and the carrier's own parcel scans stay in the evidence but
  count for nothing (a track is location data only when it is illegally provided,
  and the contract carries no track field).
- Exports run through the access gate name the waybills they returned
  (``access_export_requests``), so they are de-duplicated with reveals exactly. An
  export known only by its count (fed by the enterprise's stream) is
  *unattributed*: for the criminal count only its largest single export is certain
  (its own records are distinct, overlaps with others cannot be ruled out); for
  grading, which errs towards reporting, they add up, to at most the parcels the
  enterprise holds.
- **Category** of a record: the most sensitive category of the fields exposed
  (``FIELD_CATEGORY``; every contract field is an "other" waybill record).
- **people**: distinct data subjects of the touched fields (sender fields -> the
  sender, recipient fields -> the recipient), through the parcels table.
- **insider**: PI in the evidence was exposed by staff acting in the enterprise's
  service (employees of the carrier, its outlets and franchisees, and partners:
  Art. 5(8) covers PI obtained "in performing duties or providing services");
  external clients are not, and neither is an incident whose staff events were only
  refused attempts or exposed no field.
- ``counted``: per category, the events that contributed at least one new record,
  so every figure on a referral traces back to its events.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import msgspec
from sqlalchemy.orm import Session

from parcelguard.access import read as access_read
from parcelguard.incidents.grading import DataCategory
from parcelguard.ledger import read as ledger_read
from parcelguard.logistics import read as logistics_read

_CHUNK = 1_000
PI_ACTIONS = frozenset({"reveal", "search", "export", "print_label", "share"})
# Who acts in the enterprise's service (Art. 5(8): halved thresholds).
INSIDER_ACTORS = frozenset({"employee", "partner"})
# The event contract's PI fields and the Art. 5 category a record exposing them is in.
FIELD_CATEGORY: Mapping[str, DataCategory] = dict.fromkeys((
    "sender_name", "sender_phone", "sender_address", "sender_id_number",
    "recipient_name", "recipient_phone", "recipient_address"), DataCategory.OTHER)
_CRIMINAL_ORDER = list(DataCategory)  # most sensitive first (the enum's order)


@dataclass
class Impact:
    people: int = 0
    records: int = 0  # for grading: distinct records, unattributed ones added up
    unattributed_records: int = 0
    data_types: list[str] = field(default_factory=list)
    # the court's count: distinct records certain from the evidence, by category
    records_by_category: dict[str, int] = field(default_factory=dict)
    actor_ids: list[str] = field(default_factory=list)
    insider: bool = False
    first_at: datetime | None = None
    last_at: datetime | None = None
    found_event_ids: list[str] = field(default_factory=list)
    waybills: list[str] = field(default_factory=list)  # whose PI an allowed access touched
    counted: dict[str, list[str]] = field(default_factory=dict)  # category -> event ids
    not_counted: dict[str, int] = field(default_factory=dict)  # reason -> events


def _chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


def load_events(session: Session, enterprise_id: str,
                event_ids: Sequence[str]) -> list[dict[str, object]]:
    """The evidence events of one enterprise's log, decoded from their leaves (in
    log order). Ids that are not in the log are skipped: an alert's synthetic
    evidence (a witness finding) has no event."""
    return [msgspec.json.decode(leaf) for _, leaf in ledger_read.leaves_by_event_ids(
        session, enterprise_id, event_ids, chunk=_CHUNK)]


def _gate_exports(session: Session, enterprise_id: str,
                  event_ids: Sequence[str]) -> dict[str, list[str]]:
    """Export event id -> the waybills that export returned (exports run by the gate)."""
    return access_read.exported_waybills(session, enterprise_id, event_ids)


def _subjects(session: Session, enterprise_id: str,
              wanted: dict[str, set[str]]) -> set[str]:
    """Subject ids of (waybill -> parties touched)."""
    people: set[str] = set()
    waybills = sorted(wanted)
    for wb, sender, recipient in logistics_read.parties(session, enterprise_id, waybills):
        parties = wanted[wb]
        if "sender" in parties:
            people.add(sender)
        if "recipient" in parties:
            people.add(recipient)
    return people


def _holdings(session: Session, enterprise_id: str) -> tuple[int, int]:
    """(parcels, distinct people) whose PI the enterprise holds."""
    return logistics_read.holdings(session, enterprise_id)


def category_of(fields: Iterable[str]) -> DataCategory:
    """The most sensitive Art. 5 category among the exposed fields."""
    cats = {FIELD_CATEGORY.get(f, DataCategory.OTHER) for f in fields}
    return min(cats, key=_CRIMINAL_ORDER.index)


@dataclass
class _Tally:
    """The evidence events folded into distinct records (see the module docstring)."""

    gate: dict[str, list[str]]  # export event id -> waybills the gate returned
    touched: dict[str, set[str]] = field(default_factory=dict)  # waybill -> parties
    record_cat: dict[str, DataCategory] = field(default_factory=dict)
    counted: dict[str, list[str]] = field(default_factory=dict)
    not_counted: Counter[str] = field(default_factory=Counter)
    unattributed: list[tuple[int, DataCategory, str]] = field(default_factory=list)
    fields: set[str] = field(default_factory=set)
    actors: set[str] = field(default_factory=set)
    insider: bool = False

    def add(self, ev: Mapping[str, object]) -> None:
        if ev["kind"] != "access":
            self.not_counted["carrier scan" if ev["kind"] == "parcel" else "roster"] += 1
            return
        self.actors.add(str(ev["actor_id"]))
        ev_fields = [str(f) for f in ev.get("fields") or []]  # type: ignore[attr-defined]
        if ev.get("outcome") != "allowed":
            self.not_counted["denied"] += 1
        elif ev.get("action") not in PI_ACTIONS or not ev_fields:
            self.not_counted["no PI fields exposed"] += 1
        else:
            self._records(ev, ev_fields)

    def _records(self, ev: Mapping[str, object], ev_fields: list[str]) -> None:
        # insiders' thresholds apply when staff exposed PI, not when one tried and was
        # refused or touched no field
        self.insider = self.insider or ev.get("actor_type") in INSIDER_ACTORS
        self.fields.update(ev_fields)
        eid, cat = str(ev["event_id"]), category_of(ev_fields)
        parties = {f.partition("_")[0] for f in ev_fields}
        wb = ev.get("waybill_no")
        waybills = [wb] if isinstance(wb, str) else self.gate.get(eid)
        if waybills is None:
            n = int(ev.get("record_count") or 0)  # type: ignore[call-overload]
            self.unattributed.append((n, cat, eid))
            return
        new = False
        for w in waybills:
            if w not in self.touched:
                new = True
                self.touched[w], self.record_cat[w] = set(parties), cat
                continue
            self.touched[w].update(parties)
            if _CRIMINAL_ORDER.index(cat) < _CRIMINAL_ORDER.index(self.record_cat[w]):
                self.record_cat[w], new = cat, True
        if new:
            self.counted.setdefault(cat.value, []).append(eid)

    def by_category(self) -> Counter[str]:
        """Distinct records certain from the evidence: the attributed ones, or the
        largest unattributed export if it alone is more (its records are distinct
        among themselves; overlaps with the rest cannot be ruled out)."""
        by_cat: Counter[str] = Counter(c.value for c in self.record_cat.values())
        if self.unattributed:
            n, cat, eid = max(self.unattributed, key=lambda u: u[0])
            if n > by_cat[cat.value]:
                by_cat[cat.value] = n
                self.counted.setdefault(cat.value, []).append(eid)
        return by_cat


def compute(session: Session, enterprise_id: str, event_ids: Sequence[str]) -> Impact:
    events = load_events(session, enterprise_id, event_ids)
    imp = Impact(found_event_ids=[str(e["event_id"]) for e in events])
    tally = _Tally(_gate_exports(session, enterprise_id, [
        str(e["event_id"]) for e in events
        if e["kind"] == "access" and e.get("action") == "export" and not e.get("waybill_no")]))
    for ev in events:
        tally.add(ev)
    touched = tally.touched
    parcels, population = _holdings(session, enterprise_id)
    people = _subjects(session, enterprise_id, touched)
    by_cat = tally.by_category()
    bulk = sum(n for n, _, _ in tally.unattributed)
    imp.unattributed_records = bulk
    imp.records = len(touched) + (min(bulk, max(0, parcels - len(touched))) if parcels
                                  else bulk)
    imp.people = len(people) + (min(bulk, max(0, population - len(people))) if bulk else 0)
    imp.data_types = sorted(tally.fields)
    imp.waybills = sorted(touched)
    imp.records_by_category = {k: v for k, v in sorted(by_cat.items()) if v}
    imp.counted, imp.not_counted = tally.counted, dict(sorted(tally.not_counted.items()))
    imp.actor_ids = sorted(tally.actors)
    imp.insider = tally.insider
    times = sorted(datetime.fromisoformat(str(e["occurred_at"]).upper().replace("Z", "+00:00"))
                   for e in events)
    if times:
        imp.first_at, imp.last_at = times[0].astimezone(UTC), times[-1].astimezone(UTC)
    return imp
