"""Bulk export: request -> (second person's approval) -> run once, then it is gone.

GB/T 35273-2020 §7 asks for internal approval before bulk copying or downloading PI.
Here an export that takes the requester past ``EXPORT_APPROVAL_THRESHOLD`` records
exported without approval in ``EXPORT_CUMULATIVE_WINDOW`` (so slices add up) waits
for a second person (a different account and employee with ``pi:approve_export``); the
approver sees how many records it will return, and the run returns at most that
many. An approval lapses after ``EXPORT_APPROVAL_TTL``.

Access events: running an export is one ``export`` event with the number of
records it returned. A refused request, approval or run is one denied ``export``
event. An accepted request or approval touches no PI, so it is recorded in
``access_export_requests`` only, not as an access (which would count an export
that has not happened).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from parcelguard.access.caller import Caller
from parcelguard.access.models import ExportRequest
from parcelguard.access.policy import (
    EXPORT_APPROVAL_THRESHOLD,
    EXPORT_APPROVAL_TTL,
    EXPORT_CUMULATIVE_WINDOW,
    EXPORT_MAX_RECORDS,
    Actor,
    Allowed,
    Attempt,
    Decision,
    ExportState,
    Op,
    SubjectFacts,
    approval_refusal,
    decide,
    deny,
    export_run_refusal,
    subject_refusal,
)
from parcelguard.access.repository import epoch_us
from parcelguard.access.trail import GateBase, Outcome, Values, subject_of
from parcelguard.core.errors import InvalidInput
from parcelguard.core.ids import new_id
from parcelguard.logistics.identifiers import is_valid_waybill_no
from parcelguard.logistics.read import ParcelInfo


@dataclass(frozen=True)
class ExportRecord:
    waybill_no: str
    values: Values

    def as_dict(self) -> dict[str, Any]:
        return {"waybill_no": self.waybill_no, **self.values.by_field}


@dataclass(frozen=True)
class ExportOutcome(Outcome):
    request_id: str | None = None
    status: str | None = None
    # Records in scope (request, approval) or returned (run): the "how many" answer.
    record_count: int = 0
    needs_approval: bool = False
    expires_at: datetime | None = None
    withheld: int = 0  # run: records left out (person erased or deletion pending)
    records: tuple[ExportRecord, ...] = ()

    def summary(self) -> dict[str, Any]:
        return {**self.as_dict(), "request_id": self.request_id, "status": self.status,
                "record_count": self.record_count, "needs_approval": self.needs_approval,
                "expires_at": self.expires_at.isoformat() if self.expires_at else None,
                "withheld": self.withheld}


def check_scope(scope: dict[str, Any]) -> dict[str, Any]:
    """A normalised export scope, or InvalidInput. Either ``{"waybills": [...]}`` or
    ``{"station_id", "created_from", "created_to"}`` (timezone-aware, from < to)."""
    if "waybills" in scope:
        waybills = scope["waybills"]
        if (not isinstance(waybills, list) or not waybills
                or len(waybills) > EXPORT_MAX_RECORDS):
            raise InvalidInput(f"waybills: a list of 1-{EXPORT_MAX_RECORDS} waybill numbers")
        if not all(isinstance(w, str) and is_valid_waybill_no(w) for w in waybills):
            # The message names the rule, not the value: a mistyped entry may be PI.
            raise InvalidInput("waybills: every entry must be a valid waybill number")
        return {"waybills": sorted(set(waybills))}
    try:
        station = str(scope["station_id"])
        start = datetime.fromisoformat(str(scope["created_from"]))
        end = datetime.fromisoformat(str(scope["created_to"]))
    except (KeyError, ValueError):
        raise InvalidInput("scope: give waybills, or station_id with created_from and "
                           "created_to (RFC 3339 times)") from None
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise InvalidInput("scope: created_from and created_to need offsets and "
                           "created_from < created_to")
    return {"station_id": station, "created_from": start.isoformat(),
            "created_to": end.isoformat()}


def _state(req: ExportRequest) -> ExportState:
    return ExportState(req.status, req.requester_account_id, req.requester_employee_id,
                       epoch_us(req.expires_at) if req.expires_at else None)


class ExportDesk(GateBase):
    """The export half of the gate; ``AccessGate`` delegates to it."""

    def _deny(self, caller: Caller, at: datetime, decision: Decision, *, purpose: str,
              fields: list[str], station: str | None,
              req: ExportRequest | None = None) -> ExportOutcome:
        event_id = self.record(caller, at=at, action="export", purpose=purpose, fields=fields,
                               decision=decision, station_id=station)
        return ExportOutcome(decision, event_id, req.id if req else None,
                             req.status if req else None, req.record_count if req else 0,
                             req.needs_approval if req else False,
                             req.expires_at if req else None)

    def _load(self, caller: Caller, request_id: str) -> tuple[
            datetime, ExportRequest | None, Actor | None, str | None]:
        """(now, the request if it is the caller's enterprise's, the caller's standing,
        their station) - what approving and running both start from."""
        at = self.clock.now()
        actor, emp = self.actor(caller, at)
        return (at, self.repo(caller).export_request(request_id), actor,
                emp.station_id if emp else None)

    def request(self, caller: Caller, *, purpose: str, fields: list[str],
                scope: dict[str, Any]) -> ExportOutcome:
        """Ask to export ``fields`` of the parcels in ``scope`` for ``purpose``. The
        answer says how many records it covers and whether a second person must
        approve (more than EXPORT_APPROVAL_THRESHOLD records)."""
        norm = check_scope(scope)
        at = self.clock.now()
        actor, emp = self.actor(caller, at)
        station = emp.station_id if emp else None
        attempt = Attempt(op=Op.EXPORT, purpose=purpose, fields=frozenset(fields),
                          permitted=caller.can("pi:export"), actor=actor)
        decision = decide(attempt)
        count = 0
        if decision.allowed:
            count = self.repo(caller).scope_count(norm)
            decision = decide(replace(attempt, record_count=count))
        if not decision.allowed or emp is None:
            return self._deny(caller, at, decision, purpose=purpose, fields=fields,
                              station=station)
        unapproved = self.repo(caller).unapproved_export_records(
            emp.id, since=at - EXPORT_CUMULATIVE_WINDOW, now=at)
        needs = count + unapproved > EXPORT_APPROVAL_THRESHOLD
        req = ExportRequest(
            id=new_id("exp"), enterprise_id=caller.enterprise_id,
            requester_employee_id=emp.id, requester_account_id=caller.account_id,
            purpose=purpose, fields=sorted(set(fields)), scope=norm, record_count=count,
            needs_approval=needs, status="pending" if needs else "approved", requested_at=at,
            expires_at=None if needs else at + EXPORT_APPROVAL_TTL)
        self.session.add(req)
        self.session.flush()
        return ExportOutcome(decision, None, req.id, req.status, count, needs, req.expires_at)

    def approve(self, caller: Caller, *, request_id: str, approve: bool = True) -> ExportOutcome:
        """The second person's decision. Refused (and recorded as a denied export
        attempt) for the requester themself, for callers without
        ``pi:approve_export``, for approvers who left, are unchecked or suspended, and
        for requests no longer pending."""
        at, req, actor, station = self._load(caller, request_id)
        if req is None:
            return self._deny(caller, at, deny("export_not_found"), purpose="other",
                              fields=[], station=station)
        refusal = approval_refusal(
            _state(req), permitted=caller.can("pi:approve_export"),
            approver_account_id=caller.account_id, approver_employee_id=caller.employee_id,
            approver=actor)
        if refusal is not None:
            return self._deny(caller, at, refusal, purpose=req.purpose, fields=req.fields,
                              station=station, req=req)
        req.status = "approved" if approve else "rejected"
        req.approver_account_id, req.approver_employee_id = caller.account_id, caller.employee_id
        req.decided_at = at
        req.expires_at = at + EXPORT_APPROVAL_TTL if approve else None
        self.session.flush()
        return ExportOutcome(Allowed(), None, req.id, req.status, req.record_count,
                             req.needs_approval, req.expires_at)

    def run(self, caller: Caller, *, request_id: str) -> ExportOutcome:
        """Run an approved (or below-threshold) export once, by its requester. The
        requester's standing is checked again; records of people erased or with a
        deletion request open are withheld; the outcome says how many it returns."""
        at, req, actor, station = self._load(caller, request_id)
        if req is None:
            return self._deny(caller, at, deny("export_not_found"), purpose="other",
                              fields=[], station=station)
        decision: Decision = decide(Attempt(
            op=Op.EXPORT, purpose=req.purpose, fields=frozenset(req.fields),
            permitted=caller.can("pi:export"), actor=actor, record_count=req.record_count))
        refusal = export_run_refusal(_state(req), caller_employee_id=caller.employee_id,
                                     at_us=epoch_us(at))
        if decision.allowed and refusal is not None:
            decision = refusal
        if decision.allowed and self.repo(caller).scope_count(req.scope) > req.record_count:
            decision = deny("export_scope_changed", n=req.record_count)
        if not decision.allowed:
            return self._deny(caller, at, decision, purpose=req.purpose, fields=req.fields,
                              station=station, req=req)
        parcels = self.repo(caller).scope_parcels(req.scope)
        usable = self._usable(caller, parcels, req.fields, req.purpose, at)
        opened = self.open(caller, usable, list(req.fields))
        records = tuple(ExportRecord(p.waybill_no, Values(v))
                        for p, v in zip(usable, opened, strict=True))
        event_id = self.record(caller, at=at, action="export", purpose=req.purpose,
                               fields=req.fields, decision=decision,
                               record_count=len(records), station_id=station)
        req.status, req.exported_at, req.exported_count = "exported", at, len(records)
        req.event_id, req.exported_waybills = event_id, [r.waybill_no for r in records]
        self.session.flush()
        return ExportOutcome(decision, event_id, req.id, req.status, len(records),
                             req.needs_approval, req.expires_at,
                             len(parcels) - len(records), records)

    def _usable(self, caller: Caller, parcels: list[ParcelInfo], fields: list[str], purpose: str,
                at: datetime) -> list[ParcelInfo]:
        subjects = {p.id: {subject_of(p, f) for f in fields} for p in parcels}
        erased, restricted = self.repo(caller).blocked_subjects(
            (s for ss in subjects.values() for s in ss), at)
        return [p for p in parcels if all(
            subject_refusal(purpose, SubjectFacts(erased=s in erased,
                                                  restricted=s in restricted)) is None
            for s in subjects[p.id])]

