"""What every gate operation shares: the facts about the caller, the data subjects
of a parcel, decrypting the allowed fields, and the one access event per attempt.

The order inside an operation is always: gather facts -> ``policy.decide`` ->
decrypt only if allowed -> record exactly one access event (allowed or denied) in
the enterprise's log, in the caller's transaction. A denial is an answer, not an
exception, so the boundary commits and the denied attempt stays in the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from parcelguard.access.caller import Caller
from parcelguard.access.policy import (
    ASSIGNMENT_PURPOSE,
    MOVEMENT_PURPOSES,
    Actor,
    Allowed,
    Cover,
    Decision,
    Denied,
    SubjectFacts,
    classify_cover,
)
from parcelguard.access.repository import AccessRepository, epoch_us
from parcelguard.core.clock import Clock
from parcelguard.core.ids import new_id
from parcelguard.ledger import parcels as projection
from parcelguard.ledger.contract import PI_FIELDS, PURPOSES
from parcelguard.ledger.ingest import record_events
from parcelguard.ledger.parcels import FINAL_STATUSES
from parcelguard.logistics.identifiers import is_valid_waybill_no
from parcelguard.logistics.read import EmployeeInfo, ParcelInfo, covering_assignments
from parcelguard.vault.service import OpenItem, VaultService


@dataclass(frozen=True)
class Outcome:
    """The gate's answer to one attempt and the access event that records it."""

    decision: Decision
    event_id: str | None

    @property
    def allowed(self) -> bool:
        return self.decision.allowed

    @property
    def reason(self) -> str:
        return self.decision.reason

    @property
    def message(self) -> str:
        return self.decision.message if isinstance(self.decision, Denied) else ""

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"allowed": self.allowed, "reason": self.reason,
                             "event_id": self.event_id}
        if isinstance(self.decision, Denied):
            d |= {"message": self.decision.message, "message_zh": self.decision.message_zh,
                  "message_en": self.decision.message_en}
        return d


@dataclass(frozen=True)
class Values:
    """Decrypted PI for the authorised caller. ``repr`` never shows them, so a log
    line, a traceback or a failed test assertion cannot leak what was revealed."""

    by_field: Mapping[str, str | None] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Values(fields={sorted(self.by_field)}, <PI hidden>)"


def subject_of(parcel: ParcelInfo, pi_field: str) -> str:
    return parcel.sender_subject_id if pi_field.startswith("sender_") \
        else parcel.recipient_subject_id


def known_fields(fields: Iterable[str]) -> list[str]:
    """Field names safe to put in an event (the contract's enum), sorted."""
    return sorted(set(fields) & set(PI_FIELDS))


class GateBase:
    """Shared machinery of ``AccessGate`` and its export desk."""

    def __init__(self, session: Session, vault: VaultService, clock: Clock) -> None:
        self.session = session
        self.vault = vault
        self.clock = clock

    def repo(self, caller: Caller) -> AccessRepository:
        return AccessRepository(self.session, caller.enterprise_id)

    # -- facts ------------------------------------------------------------------------

    def actor(self, caller: Caller, at: datetime) -> tuple[Actor | None, EmployeeInfo | None]:
        """The roster employee behind the caller and their standing at ``at``. An API
        key has no employee, but its suspension still counts."""
        repo = self.repo(caller)
        emp = repo.employee(caller.employee_id)
        suspended = repo.suspended(employee_id=caller.employee_id,
                                   api_key_id=caller.api_key_id, at=at)
        if emp is None:
            return None, None
        return Actor(role=emp.role, status=emp.status, background_check=emp.background_check,
                     suspended=suspended, has_station=emp.station_id is not None), emp

    def parcel(self, caller: Caller, waybill_no: str) -> ParcelInfo | None:
        if not is_valid_waybill_no(waybill_no):
            return None
        return self.repo(caller).parcel(waybill_no)

    def cover(self, caller: Caller, emp: EmployeeInfo | None, parcel: ParcelInfo | None,
              purpose: str, at: datetime) -> Cover:
        """``logistics.covering_assignments`` decides; when nothing covers, the
        employee's other assignments on the parcel explain why."""
        wanted = ASSIGNMENT_PURPOSE.get(purpose)
        if emp is None or parcel is None or wanted is None:
            return Cover.NONE
        if covering_assignments(self.session, enterprise_id=caller.enterprise_id,
                                employee_id=emp.id, waybill_no=parcel.waybill_no,
                                purpose=wanted, at=at):
            if wanted in MOVEMENT_PURPOSES and projection.status_as_of(
                    self.session, caller.enterprise_id, parcel.waybill_no,
                    epoch_us(at)) in FINAL_STATUSES:
                return Cover.PARCEL_FINISHED
            return Cover.COVERED
        why = classify_cover(self.repo(caller).assignments(emp.id, parcel.waybill_no),
                             purpose, epoch_us(at))
        return Cover.NONE if why is Cover.COVERED else why

    def subjects(self, caller: Caller, parcel: ParcelInfo | None, fields: Iterable[str],
                 at: datetime) -> tuple[SubjectFacts, ...]:
        """Erasure and pending-deletion facts about the people whose fields are
        touched (consent is not asked for contract purposes: recipients never saw
        the sender's notice, and delivery rests on the contract, PIPL Art. 13)."""
        if parcel is None:
            return ()
        ids = sorted({subject_of(parcel, f) for f in fields})
        erased, restricted = self.repo(caller).blocked_subjects(ids, at)
        return tuple(SubjectFacts(erased=s in erased, restricted=s in restricted) for s in ids)

    # -- after the decision -----------------------------------------------------------

    def open(self, caller: Caller, parcels: list[ParcelInfo],
             fields: list[str]) -> list[dict[str, str | None]]:
        """Decrypt ``fields`` of each parcel (one vault call). Only ever called after
        an Allowed decision, with exactly the fields that were allowed."""
        items: list[OpenItem] = [(subject_of(p, f), p.id, f, getattr(p, f"{f}_ct"))
                                 for p in parcels for f in fields]
        if not items:
            return [{} for _ in parcels]
        values = self.vault.open(self.session, caller.enterprise_id, items)
        out: list[dict[str, str | None]] = []
        it = iter(values)
        for _ in parcels:
            out.append({f: next(it) for f in fields})
        return out

    def record(self, caller: Caller, *, at: datetime, action: str, purpose: str,
               fields: Iterable[str], decision: Decision | Allowed, record_count: int = 0,
               waybill_no: str | None = None, station_id: str | None = None) -> str:
        """Append the attempt's one access event; returns its id. Unvalidated input
        never reaches the ledger: an unknown purpose is recorded as ``other``, unknown
        field names are left out and a malformed waybill number becomes null."""
        event_id = new_id("ev")
        record_events(self.session, [{
            "event_id": event_id, "kind": "access", "occurred_at": at.isoformat(),
            "enterprise_id": caller.enterprise_id, "actor_type": caller.actor_type,
            "actor_id": caller.actor_id, "station_id": station_id, "action": action,
            "fields": known_fields(fields),
            "waybill_no": waybill_no if waybill_no and is_valid_waybill_no(waybill_no)
            else None,
            "record_count": record_count if decision.allowed else 0,
            "purpose": purpose if purpose in PURPOSES else "other",
            "outcome": "allowed" if decision.allowed else "denied",
            "device_id": caller.device_id, "ip": caller.ip, "channel": caller.channel}],
            clock_now=self.clock.now)
        return event_id
