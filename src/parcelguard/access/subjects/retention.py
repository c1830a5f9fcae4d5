"""The retention sweeper: PI is kept no longer than the privacy notice says (PIPL Art.
19, Art. 47(1)(ii)), then crypto-shredded.

What the vault holds of a person (name, phone, address, ID number) serves the
purposes whose data types include it; it may be kept for the longest of their
periods as the enterprise's published notice states them (the default notice: 365
days for delivery and marketing). The period runs from the person's newest parcel's
collection. A person any of whose parcels is still being carried is held (the
contract is being performed), as the data-subject deletion holds it. Location tracks
(90 days) are not in the vault: parcelguard keeps only the carrier's own scan events,
network logs the Cybersecurity Law keeps at least six months (ledger/retention.py).

Each shredded batch is one ``delete`` access event in the enterprise's log (ids and
field names only), so the monitor and the regulator see the sweep. Re-running is a
no-op for people already erased (their tombstone is the idempotence key).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from parcelguard.consent.dsr import OPEN_PARCEL_STATUSES
from parcelguard.consent.notice import load_template
from parcelguard.consent.repository import ConsentRepository
from parcelguard.core.ids import new_id
from parcelguard.ledger import parcels as projection
from parcelguard.ledger.ingest import record_events
from parcelguard.logistics import read as logistics_read
from parcelguard.logistics import service as logistics
from parcelguard.vault import read as vault_read
from parcelguard.vault.service import VaultService

# The PI the vault holds, by the notice's data-type codes.
VAULT_DATA_TYPES = frozenset({"name", "phone", "address", "id_number"})
REASON = "retention period ended"
_FIELDS = ("sender_name", "sender_phone", "sender_address", "sender_id_number",
           "recipient_name", "recipient_phone", "recipient_address")


@dataclass(frozen=True)
class Period:
    days: int
    source: str  # "notice v3" or "the default notice (none published)"


@dataclass
class SweepResult:
    enterprise_id: str
    period: Period
    cutoff: datetime
    due: int = 0  # people past the period, not yet erased
    shredded: int = 0
    held_open: int = 0  # a parcel still being carried
    keys_destroyed: int = 0
    event_ids: list[str] = field(default_factory=list)


def vault_period(session: Session, enterprise_id: str) -> Period:
    """The longest period the notice gives any purpose that uses PI the vault holds."""
    latest = ConsentRepository(session, enterprise_id).latest_version()
    if latest is not None:
        purposes: dict[str, Any] = latest.content.get("purposes", {})
        source = f"notice v{latest.version}"
    else:
        purposes = load_template()["terms"]["purposes"]
        source = "the default notice (none published)"
    days = [t["retention_days"] for t in purposes.values()
            if isinstance(t, dict) and "retention_days" in t
            and VAULT_DATA_TYPES & set(t.get("data_types", ()))]
    if not days:
        raise ValueError(f"{source} names no retention period for the PI the vault holds")
    return Period(max(days), source)


def _due(session: Session, enterprise_id: str, cutoff: datetime) -> list[str]:
    """People whose newest parcel was collected before the cutoff and not yet erased."""
    return logistics_read.idle_subjects(session, enterprise_id, cutoff,
                                        excluding=vault_read.erased_subjects_query(enterprise_id))


def sweep(session: Session, vault: VaultService, *, enterprise_id: str, now: datetime,
          batch: int = 500, progress: Callable[[int, int], None] | None = None) -> SweepResult:
    """Crypto-shred everyone past the period (see the module docstring). ``progress``
    is called with (done, total) after each batch; the caller commits."""
    period = vault_period(session, enterprise_id)
    cutoff = now - timedelta(days=period.days)
    result = SweepResult(enterprise_id, period, cutoff)
    subjects = _due(session, enterprise_id, cutoff)
    result.due = len(subjects)
    for start in range(0, len(subjects), batch):
        chunk = subjects[start:start + batch]
        # One read of the chunk's parcels and their states (locked on PostgreSQL, so
        # no parcel is re-opened between the check and the shred), not one per person.
        rows = logistics_read.parties_of_subjects(session, enterprise_id, chunk,
                                                  for_update=True)
        status = projection.statuses(session, enterprise_id, [r[0] for r in rows],
                                     for_update=True)
        fields_of: dict[str, set[str]] = {s: set() for s in chunk}
        waybills_of: dict[str, set[str]] = {s: set() for s in chunk}
        held: set[str] = set()
        for waybill, sender, recipient in rows:
            for subject, role in ((sender, "sender"), (recipient, "recipient")):
                if subject not in fields_of:
                    continue
                fields_of[subject] |= {f for f in _FIELDS if f.startswith(role)}
                waybills_of[subject].add(waybill)
                if status.get(waybill, "created") in OPEN_PARCEL_STATUSES:
                    held.add(subject)
        result.held_open += len(held)
        shredded = [s for s in chunk if s not in held]
        fields: set[str] = set()
        waybills: set[str] = set()
        for subject in shredded:
            result.keys_destroyed += vault.erase_subject(
                session, enterprise_id, subject, reason=f"{REASON} ({period.days} days, "
                f"{period.source})", at=now)
            fields |= fields_of[subject]
            waybills |= waybills_of[subject]
        if shredded:
            # Blind indexes are keyed by the enterprise, not the person: clear them too,
            # or a known phone number would still find the parcels.
            logistics.clear_phone_indexes(session, enterprise_id, shredded)
            event_id = new_id("ev")
            record_events(session, [{
                "event_id": event_id, "kind": "access", "occurred_at": now.isoformat(),
                "enterprise_id": enterprise_id, "actor_type": "system",
                "actor_id": "retention-sweeper", "action": "delete", "fields": sorted(fields),
                "record_count": len(waybills), "purpose": "other", "outcome": "allowed",
                "channel": "api"}], clock_now=lambda: now)
            result.event_ids.append(event_id)
            result.shredded += len(shredded)
        session.flush()
        if progress is not None:
            progress(min(start + batch, len(subjects)), len(subjects))
    return result
