"""Parcel intake: PI is encrypted the moment it is collected.

Each PI field is sealed by the vault under its data subject's key and bound to
(enterprise, parcel, field); phone numbers also get keyed blind indexes so staff can
find a parcel by full number or last four digits without decrypting anything.
Built for bulk: one vault call and one bulk insert per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy.orm import Session

from parcelguard.core.bulk import bulk_insert
from parcelguard.core.errors import InvalidInput
from parcelguard.core.ids import new_id
from parcelguard.ledger.ingest import record_events
from parcelguard.logistics.identifiers import (
    is_child,
    is_valid_resident_id,
    is_valid_waybill_no,
)
from parcelguard.logistics.models import Parcel
from parcelguard.vault.blind_index import normalize_phone, phone_full_index, phone_last4_index
from parcelguard.vault.service import SealItem, VaultService


@dataclass(frozen=True, slots=True)
class PartyIn:
    """A sender or recipient as collected. ``repr`` hides every PI value."""

    subject_id: str
    name: str
    phone: str
    address: str
    id_number: str | None = None  # senders only: verified at pickup, never printed

    def __repr__(self) -> str:
        return f"PartyIn(subject_id={self.subject_id!r}, <PI hidden>)"


@dataclass(frozen=True, slots=True)
class ParcelIn:
    waybill_no: str
    sender: PartyIn
    recipient: PartyIn
    created_at: datetime
    origin_station_id: str | None = None
    destination_station_id: str | None = None
    destination_region: str | None = None
    # A parent's or guardian's consent, given at pickup, to collecting a child
    # sender's PI (PIPL Art. 31); required when the ID number shows an age under 14.
    guardian_consent: bool = False


# Ages count on the local calendar day of collection (China Standard Time).
_CST = timezone(timedelta(hours=8))


class GuardianConsentRequired(InvalidInput):
    code = "guardian_consent_required"


def _child(p: ParcelIn) -> bool | None:
    """Whether the sender is under 14 on the day of collection (None: no ID taken)."""
    if p.sender.id_number is None:
        return None
    return is_child(p.sender.id_number.upper(), p.created_at.astimezone(_CST).date())


_FIELDS = ("sender_name", "sender_phone", "sender_address", "sender_id_number",
           "recipient_name", "recipient_phone", "recipient_address")
_COLUMNS = ("id", "enterprise_id", "waybill_no", "origin_station_id", "destination_station_id",
            "destination_region", "created_at", "sender_subject_id",
            "recipient_subject_id", *(f"{f}_ct" for f in _FIELDS), "recipient_phone_bi",
            "recipient_phone_last4_bi", "sender_phone_bi", "sender_minor",
            "guardian_consent_at")


def _check(p: ParcelIn, i: int) -> None:
    # Errors name the parcel's position and the rule, never the value.
    if not is_valid_waybill_no(p.waybill_no):
        raise InvalidInput(f"parcel {i}: waybill number fails its check digit")
    if p.destination_region is not None and not (len(p.destination_region) == 6
                                                 and p.destination_region.isdigit()):
        raise InvalidInput(f"parcel {i}: destination region must be a 6-digit code")
    for role, party in (("sender", p.sender), ("recipient", p.recipient)):
        if not party.name.strip() or not party.address.strip():
            raise InvalidInput(f"parcel {i}: {role} name and address are required")
        try:
            digits = normalize_phone(party.phone)
        except ValueError:
            digits = ""  # a letter or other stray character: the same refusal
        if len(digits) < 7:
            raise InvalidInput(f"parcel {i}: {role} phone is not a phone number")
    if p.sender.id_number is not None and not is_valid_resident_id(p.sender.id_number):
        raise InvalidInput(f"parcel {i}: sender ID number fails the GB 11643 check")
    if p.created_at.tzinfo is None:
        raise InvalidInput(f"parcel {i}: created_at needs a timezone")
    try:
        child = _child(p)
    except ValueError:
        raise InvalidInput(f"parcel {i}: sender ID number holds no valid birth date") from None
    if child and not p.guardian_consent:
        # The age and the number stay out of the message: "under 14" is all it says.
        raise GuardianConsentRequired(
            f"parcel {i}: the sender is under 14, so their PI is sensitive (PIPL Art. 31): "
            "collect it only with a parent's or guardian's consent")


def register_parcels(session: Session, vault: VaultService, *, enterprise_id: str,
                     parcels: Sequence[ParcelIn], record_created: bool = True) -> list[str]:
    """Store parcels with their PI sealed; returns their ids. With
    ``record_created`` a ``created`` parcel event goes to the enterprise's log for
    each (the simulation brings its own events and passes False)."""
    for i, p in enumerate(parcels):
        _check(p, i)
    ids = [new_id("pcl") for _ in parcels]
    items: list[SealItem] = []
    for pid, p in zip(ids, parcels, strict=True):
        s, r = p.sender, p.recipient
        items += [(s.subject_id, pid, "sender_name", s.name),
                  (s.subject_id, pid, "sender_phone", s.phone),
                  (s.subject_id, pid, "sender_address", s.address),
                  (r.subject_id, pid, "recipient_name", r.name),
                  (r.subject_id, pid, "recipient_phone", r.phone),
                  (r.subject_id, pid, "recipient_address", r.address)]
        if s.id_number is not None:
            items.append((s.subject_id, pid, "sender_id_number", s.id_number))
    sealed = vault.seal(session, enterprise_id, items)
    by_parcel: dict[str, dict[str, bytes]] = {}
    for (_, pid, field, _), sealed_value in zip(items, sealed, strict=True):
        by_parcel.setdefault(pid, {})[field] = sealed_value
    bik = vault.blind_index_key(session, enterprise_id)
    rows = []
    for pid, p in zip(ids, parcels, strict=True):
        fields, child = by_parcel[pid], _child(p)
        rows.append((pid, enterprise_id, p.waybill_no, p.origin_station_id,
                     p.destination_station_id, p.destination_region,
                     p.created_at, p.sender.subject_id, p.recipient.subject_id,
                     *(fields.get(f) for f in _FIELDS),
                     phone_full_index(bik, p.recipient.phone),
                     phone_last4_index(bik, p.recipient.phone),
                     phone_full_index(bik, p.sender.phone), child,
                     p.created_at if child else None))
    conn = session.connection()
    # Timestamps go through the column type so SQLite and PostgreSQL store them alike.
    utc = Parcel.__table__.c.created_at.type
    bind = utc.bind_processor(conn.dialect)
    if bind is not None:
        rows = [(*r[:6], bind(r[6]), *r[7:-1], bind(r[-1]) if r[-1] else None)
                for r in rows]
    bulk_insert(conn, Parcel.__tablename__, _COLUMNS, rows)
    if record_created:
        record_events(session, [{
            "event_id": new_id("ev"), "kind": "parcel", "occurred_at": p.created_at.isoformat(),
            "enterprise_id": enterprise_id, "waybill_no": p.waybill_no, "step": "created",
            "station_id": p.origin_station_id, "destination_region": p.destination_region}
            for p in parcels], clock_now=lambda: parcels[0].created_at)
    return ids
