"""Fulfilling data-subject requests (PIPL Arts. 45-47): the parts that touch the
person's PI on parcels. The request itself (opening, tracking, deadlines, the
lifecycle) is ``consent.subject_requests``; fulfilment reads parcels and decrypts,
so it is PI access and lives here.

* access: an export of the person's own PI, decrypted with `VaultService.open` and
  returned to the caller only - never stored, logged or put in an event. The one
  caller is the consumer portal, inside the person's verified session: the copy goes
  to the person, never to staff (tests/unit/test_decrypt_sites.py holds it there).
  Only the fields of the person's own role are included: a recipient sees the
  recipient fields of a parcel, never its sender's.
* correction: re-seal one field with the new value under the person's key (and
  recompute its blind index when it is a phone number).
* deletion: crypto-shred the person's keys with `VaultService.erase_subject`, unless
  the retention rule in `consent.dsr.retention_hold` applies; then the request is
  deferred with the reason, and the person's processing is restricted meanwhile.

Each fulfilment touches PI, so each is recorded as an access event in the
enterprise's log (ids and field names only) for the monitor and the regulator: an
insider could otherwise use requests to harvest PI unseen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from parcelguard.access.repository import AccessRepository
from parcelguard.consent import subject_requests as consent_requests
from parcelguard.consent.dsr import (
    OPEN_STATUSES,
    DsrKind,
    DsrStatus,
    SubjectParcel,
    retention_hold,
)
from parcelguard.consent.read import RequestInfo, request_info
from parcelguard.consent.repository import ConsentRepository
from parcelguard.consent.service import actor_of, own_enterprise, subject_status
from parcelguard.consent.subject_requests import begin_fulfilment, save_lifecycle
from parcelguard.core.clock import Clock
from parcelguard.core.errors import Conflict, InvalidInput, NotFound
from parcelguard.core.ids import new_id
from parcelguard.identity.permissions import Principal
from parcelguard.ledger.ingest import record_events
from parcelguard.logistics import service as logistics
from parcelguard.logistics.identifiers import is_valid_resident_id
from parcelguard.logistics.read import ParcelInfo
from parcelguard.vault.blind_index import normalize_phone
from parcelguard.vault.service import OpenItem, VaultService

ROLE_FIELDS = {"sender": ("name", "phone", "address", "id_number"),
               "recipient": ("name", "phone", "address")}
CORRECTABLE = tuple(f"{role}_{f}" for role, fs in ROLE_FIELDS.items() for f in fs)
_MAX_VALUE = {"name": 100, "phone": 32, "address": 300, "id_number": 18}


def _roles(parcel: ParcelInfo, subject_id: str) -> list[str]:
    return [r for r, s in (("sender", parcel.sender_subject_id),
                           ("recipient", parcel.recipient_subject_id)) if s == subject_id]


def _event(principal: Principal, ent: str, *, action: str, fields: list[str], count: int,
           at: datetime, waybill_no: str | None = None,
           by_subject: str | None = None) -> dict[str, Any]:
    actor = actor_of(principal)
    # The person acting on their own data (self-service on the consumer portal) is the
    # actor, not the portal's service account: the monitor must not see an employee.
    actor_type = "consumer" if by_subject else "employee" if principal.account_id else "system"
    ev: dict[str, Any] = {
        "event_id": new_id("ev"), "kind": "access", "occurred_at": at.isoformat(),
        "enterprise_id": ent, "actor_type": actor_type,
        "actor_id": by_subject or actor or "operator-cli", "action": action,
        "fields": sorted(set(fields)),
        # The event contract has no data-subject-request purpose yet; customer service
        # is who handles them (flagged for the contract owners).
        "record_count": count, "purpose": "customer_service", "outcome": "allowed",
        "channel": "web" if by_subject else "api"}
    if waybill_no is not None:
        ev["waybill_no"] = waybill_no
    return ev


# -- access -----------------------------------------------------------------------


@dataclass(frozen=True)
class SubjectExport:
    """The person's own PI held by one enterprise. Holds plaintext: hand it to the
    person and drop it; ``repr`` never shows it."""

    data: dict[str, Any]

    def __repr__(self) -> str:
        return f"SubjectExport(subject_id={self.data.get('subject_id')!r}, <PI hidden>)"


def open_or_reuse(session: Session, principal: Principal, *, subject_id: str, kind: DsrKind,
                  channel: str, clock: Clock) -> str:
    """The person's open request of ``kind``, or a new one (taken at the counter or
    the hotline, after staff verified who they are): its id."""
    for r in consent_requests.list_requests(session, principal, clock=clock,
                                            subject_id=subject_id):
        if r.kind == kind.value and DsrStatus(r.status) in OPEN_STATUSES:
            return r.id
    return consent_requests.open_request(session, principal, subject_id=subject_id,
                                         kind=kind.value, channel=channel, clock=clock).id


def fulfil_access(session: Session, principal: Principal, vault: VaultService, *,
                  request_id: str, clock: Clock, by_subject: bool = False) -> SubjectExport:
    """Decrypt and return the person's own PI (Art. 45) and complete the request.
    ``by_subject``: the verified person is fetching it themselves (the event names
    them as the actor)."""
    now = clock.now()
    row, lc = begin_fulfilment(session, principal, request_id, DsrKind.ACCESS, now)
    ent, subject = row.enterprise_id, row.subject_id
    repo = ConsentRepository(session, ent)
    access_repo = AccessRepository(session, ent)
    parcels = access_repo.subject_parcels(subject)
    items: list[OpenItem] = []
    slots: list[tuple[int, str, str]] = []  # (parcel index, role, field)
    for i, p in enumerate(parcels):
        for role in _roles(p, subject):
            for f in ROLE_FIELDS[role]:
                items.append((subject, p.id, f"{role}_{f}", getattr(p, f"{role}_{f}_ct")))
                slots.append((i, role, f))
    erased = repo.erased_at(subject) is not None
    values = vault.open(session, ent, items) if items and not erased else [None] * len(items)
    records: list[dict[str, Any]] = [
        {"waybill_no": p.waybill_no, "status": status, "created_at": p.created_at.isoformat(),
         "roles": {}} for p, status in zip(parcels, access_repo.statuses(parcels), strict=True)]
    for (i, role, f), value in zip(slots, values, strict=True):
        records[i]["roles"].setdefault(role, {})[f] = value
    lc.complete(now, f"export of {len(parcels)} parcel record(s) handed to the requester")
    save_lifecycle(row, lc, principal, now)
    status = subject_status(session, ent, subject, now)
    export = {
        "subject_id": subject, "enterprise_id": ent, "request_id": row.id,
        "generated_at": now.isoformat(), "erased": erased, "parcels": records,
        "consents": {"notice_version": status.notice_version,
                     "purposes": [vars(p) for p in status.purposes],
                     "history": [{**h, "at": h["at"].isoformat()} for h in status.history]},
        "requests": [{"id": r.id, "kind": r.kind, "status": r.status,
                      "received_at": r.received_at.isoformat()}
                     for r in repo.requests(subject_id=subject)]}
    if items and not erased:
        record_events(session, [_event(principal, ent, action="export",
                                       fields=[f"{r}_{f}" for _, r, f in slots],
                                       count=len(parcels), at=now,
                                       by_subject=subject if by_subject else None)],
                      clock_now=clock.now)
    return SubjectExport(export)


# -- correction -------------------------------------------------------------------


def _check_value(field: str, value: str) -> str:
    kind = field.split("_", 1)[1]
    cleaned = value.strip()
    # Messages name the rule, never the value.
    if not cleaned or len(cleaned) > _MAX_VALUE[kind]:
        raise InvalidInput(f"{field}: 1-{_MAX_VALUE[kind]} characters")
    if kind == "phone":
        try:
            digits = normalize_phone(cleaned)
        except ValueError as exc:
            raise InvalidInput(f"{field}: {exc}") from None
        if len(digits) < 7:
            raise InvalidInput(f"{field}: not a phone number (too few digits)")
    if kind == "id_number" and not is_valid_resident_id(cleaned.upper()):
        raise InvalidInput(f"{field}: fails the GB 11643 check")
    return cleaned.upper() if kind == "id_number" else cleaned


def fulfil_correction(session: Session, principal: Principal, vault: VaultService, *,
                      request_id: str, waybill_no: str, field: str, value: str,
                      clock: Clock, by_subject: bool = False) -> RequestInfo:
    """Replace one of the person's own fields on one parcel (Art. 46). Everything is
    checked before anything is written; the value is never stored in the clear.
    ``by_subject``: as for ``fulfil_access``."""
    if field not in CORRECTABLE:
        raise InvalidInput(f"field must be one of {', '.join(CORRECTABLE)}")
    cleaned = _check_value(field, value)
    now = clock.now()
    row, lc = begin_fulfilment(session, principal, request_id, DsrKind.CORRECTION, now)
    ent, subject = row.enterprise_id, row.subject_id
    repo = ConsentRepository(session, ent)
    parcel = AccessRepository(session, ent).parcel(waybill_no)
    role = field.split("_", 1)[0]
    if parcel is None or subject not in (parcel.sender_subject_id, parcel.recipient_subject_id):
        raise NotFound(f"waybill {waybill_no} not found among this person's parcels")
    if role not in _roles(parcel, subject):
        raise InvalidInput(f"this person is not the {role} of waybill {waybill_no}; they may "
                           "correct only their own fields")
    if repo.erased_at(subject) is not None:
        raise Conflict("this person's PI was erased; there is nothing to correct")
    [sealed] = vault.seal(session, ent, [(subject, parcel.id, field, cleaned)])
    indexes = (vault.phone_indexes(session, ent, cleaned)
               if field in ("recipient_phone", "sender_phone") else None)
    logistics.reseal_parcel_field(session, enterprise_id=ent, parcel_id=parcel.id, field=field,
                                  ciphertext=sealed, phone_indexes=indexes)
    lc.complete(now, f"corrected {field} on waybill {waybill_no}")
    save_lifecycle(row, lc, principal, now)
    session.flush()
    record_events(session, [_event(principal, ent, action="update", fields=[field], count=1,
                                   at=now, waybill_no=waybill_no,
                                   by_subject=subject if by_subject else None)],
                  clock_now=clock.now)
    return request_info(row)


# -- deletion ---------------------------------------------------------------------


def fulfil_deletion(session: Session, principal: Principal, vault: VaultService, *,
                    request_id: str, clock: Clock) -> RequestInfo:
    """Erase the person (Art. 47) by destroying their keys, or defer with the reason
    when the retention rule holds; a deferred request can be fulfilled again later."""
    now = clock.now()
    row, lc = begin_fulfilment(session, principal, request_id, DsrKind.DELETION, now)
    ent, subject = row.enterprise_id, row.subject_id
    repo = ConsentRepository(session, ent)
    if repo.erased_at(subject) is not None:
        lc.complete(now, "already erased; nothing left to delete")
        return request_info(save_lifecycle(row, lc, principal, now))
    # Locked so a parcel cannot be re-opened between the check and the shred.
    access_repo = AccessRepository(session, ent)
    parcels = access_repo.subject_parcels(subject, for_update=True)
    held = [SubjectParcel(role, status, p.created_at)
            for p, status in zip(parcels, access_repo.statuses(parcels, for_update=True),
                                 strict=True)
            for role in _roles(p, subject)]
    hold = retention_hold(held, now)
    if hold is not None:
        lc.defer(now, hold.reason, hold.until)
        return request_info(save_lifecycle(row, lc, principal, now))
    keys = vault.erase_subject(session, ent, subject, reason=f"data-subject request {row.id}",
                               at=now)
    # Blind indexes are keyed by the enterprise, not the person: shredding the person's
    # key leaves them able to link a known phone number to these parcels. Clear them.
    if parcels:
        logistics.clear_phone_indexes(session, ent, [subject])
    lc.complete(now, f"crypto-shredded {keys} key(s); the PI on {len(parcels)} parcel "
                "record(s) can no longer be decrypted")
    save_lifecycle(row, lc, principal, now)
    fields = [f"{role}_{f}" for p in parcels for role in _roles(p, subject)
              for f in ROLE_FIELDS[role]]
    if parcels:
        record_events(session, [_event(principal, ent, action="delete", fields=fields,
                                       count=len(parcels), at=now)], clock_now=clock.now)
    return request_info(row)


def resume_deferred(session: Session, principal: Principal, vault: VaultService, *,
                    clock: Clock) -> list[RequestInfo]:
    """Try every deferred deletion again (a daily job): those whose hold has ended
    are erased now, the rest stay deferred with an updated reason."""
    ent = own_enterprise(principal, "dsr:handle")
    rows = ConsentRepository(session, ent).requests(status=DsrStatus.DEFERRED.value)
    return [fulfil_deletion(session, principal, vault, request_id=r.id, clock=clock)
            for r in rows]
