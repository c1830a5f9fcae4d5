"""The access gate: reveal, search, export, print and share all pass here.

``AccessGate`` is built per transaction (session, vault, clock). Every method
answers with an outcome carrying the decision (``Allowed`` or ``Denied`` with a
reason code and a message the caller understands) and the id of the one access
event it recorded. Denials are answers, not exceptions: the boundary commits them.

Break-glass: an employee whose role allows it may reveal a parcel's PI without an
assignment, with a written justification (>= 20 characters, no phone/ID-like
content). It is always flagged: a ``BreakGlassRecord`` row for review, the access
event's purpose (``security`` for security staff, ``other`` for everyone else; see
``policy.BREAK_GLASS``) and a ``BreakGlassUsed`` domain event on the outcome.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from parcelguard.access.caller import Caller
from parcelguard.access.events import BreakGlassUsed
from parcelguard.access.exports import ExportDesk, ExportOutcome
from parcelguard.access.models import BreakGlassRecord
from parcelguard.access.policy import (
    BREAK_GLASS,
    SEARCH_MAX_HITS,
    Attempt,
    Decision,
    Op,
    SubjectFacts,
    decide,
    deny,
    subject_refusal,
)
from parcelguard.access.trail import GateBase, Outcome, Values
from parcelguard.access.waybills.labels import LABEL_FIELDS, IssuedLabel, print_parcel_label
from parcelguard.access.waybills.sharing import (
    LAST_MILE_FIELDS,
    ShareResult,
    check_share_request,
    partner_basis,
    record_share,
)
from parcelguard.core.clock import Clock
from parcelguard.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from parcelguard.core.ids import new_id
from parcelguard.logistics.read import ParcelInfo
from parcelguard.vault.blind_index import normalize_phone, phone_full_index, phone_last4_index
from parcelguard.vault.service import VaultService
from parcelguard.waybill import read as waybill_read
from parcelguard.waybill.masking import mask_name, mask_phone
from parcelguard.waybill.partner_payload import seal_for_partner
from parcelguard.waybill.telephony import Telephony

# What a search hit shows, masked (the fields it decrypts to mask them).
SEARCH_FIELDS = ("recipient_name", "recipient_phone")
REVIEW_OUTCOMES = ("justified", "abuse")


@dataclass(frozen=True)
class RevealOutcome(Outcome):
    values: Values = field(default_factory=Values)


@dataclass(frozen=True)
class Hit:
    """One masked search hit: enough to pick the right parcel, no PI in clear."""

    waybill_no: str
    status: str
    party: str  # which party's number matched: recipient | sender
    name: str
    phone: str
    destination_station_id: str | None
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"waybill_no": self.waybill_no, "status": self.status, "party": self.party,
                "name": self.name, "phone": self.phone,
                "destination_station_id": self.destination_station_id,
                "created_at": self.created_at.isoformat()}


@dataclass(frozen=True)
class SearchOutcome(Outcome):
    hits: tuple[Hit, ...] = ()
    total: int = 0  # matching parcels; at most SEARCH_MAX_HITS are shown
    withheld: int = 0  # matches left out because the person's PI is erased or restricted


@dataclass(frozen=True)
class BreakGlassOutcome(RevealOutcome):
    record_id: str | None = None
    # Its domain event (nothing reacts to it yet; a reaction would emit it to the
    # outbox, core/outbox.py); the flagged record is the durable signal.
    events: tuple[object, ...] = ()


@dataclass(frozen=True)
class LabelOutcome(Outcome):
    label: IssuedLabel | None = None  # the PDF and its ids when allowed


@dataclass(frozen=True)
class ShareOutcome(Outcome):
    # The record of the attempt: the detailed reason (a partner-basis refusal names
    # the party and the consent reason), the basis, and the sealed payload if allowed.
    share: ShareResult


# Partner-basis refusals (sharing.partner_basis) -> the gate's reasons; consent
# refusals are "<party>_consent_<reason>" and map to no_consent.
_BASIS_REFUSALS = {"unknown_partner": "partner_unknown",
                   "no_impact_assessment": "partner_not_assessed",
                   "no_processing_contract": "partner_no_basis"}


class AccessGate(GateBase):
    """The one service through which PI leaves the vault for a person."""

    def __init__(self, session: Session, vault: VaultService, clock: Clock) -> None:
        super().__init__(session, vault, clock)
        self._exports = ExportDesk(session, vault, clock)

    # -- reveal -----------------------------------------------------------------------

    def reveal(self, caller: Caller, *, waybill_no: str, purpose: str,
               fields: list[str] | tuple[str, ...]) -> RevealOutcome:
        """Reveal ``fields`` of one parcel for ``purpose``. Allowed only when an active
        assignment covers (employee, waybill, purpose, now), the employee is active
        with a passed background check and not suspended, their role may see those
        fields for that purpose, and the people concerned were not erased (nor, unless
        the purpose moves the parcel already under way, asked for deletion)."""
        at = self.clock.now()
        wanted = frozenset(fields)
        actor, emp = self.actor(caller, at)
        parcel = self.parcel(caller, waybill_no)
        decision = decide(Attempt(
            op=Op.REVEAL, purpose=purpose, fields=wanted, permitted=caller.can("pi:reveal"),
            actor=actor, parcel_found=parcel is not None,
            cover=self.cover(caller, emp, parcel, purpose, at),
            subjects=self.subjects(caller, parcel, wanted, at)))
        values = Values()
        if decision.allowed and parcel is not None:
            values = Values(self.open(caller, [parcel], sorted(wanted))[0])
        event_id = self.record(caller, at=at, action="reveal", purpose=purpose, fields=wanted,
                               decision=decision, record_count=1, waybill_no=waybill_no,
                               station_id=emp.station_id if emp else None)
        return RevealOutcome(decision, event_id, values)

    # -- search -----------------------------------------------------------------------

    def search_by_phone(self, caller: Caller, *, phone: str, purpose: str,
                        last4: bool = False) -> SearchOutcome:
        """Find parcels by a phone number through its blind index, never by
        decrypting: the full number (recipient or sender), or the recipient's last
        four digits within the caller's own station. Returns at most
        ``SEARCH_MAX_HITS`` masked hits and the number of matches."""
        at = self.clock.now()
        actor, emp = self.actor(caller, at)
        decision: Decision = decide(Attempt(
            op=Op.SEARCH, purpose=purpose, fields=frozenset(SEARCH_FIELDS),
            permitted=caller.can("pi:search"), actor=actor, last4=last4))
        hits: list[Hit] = []
        total = withheld = 0
        if decision.allowed and emp is not None:
            try:
                full, tail = self._indexes(caller, phone, last4)
            except ValueError:
                decision = deny("invalid_query")
            else:
                rows, total = self.repo(caller).by_phone(
                    full=full, last4=tail, station_id=emp.station_id if last4 else None,
                    limit=SEARCH_MAX_HITS)
                hits, withheld = self._hits(caller, rows, full, purpose, at)
        # The fields the gate decrypted to mask the hits (a sender's, when their
        # number matched); the requested shape when nothing was shown.
        touched = {f"{h.party}_{f}" for h in hits for f in ("name", "phone")}
        event_id = self.record(caller, at=at, action="search", purpose=purpose,
                               fields=touched or SEARCH_FIELDS, decision=decision,
                               record_count=len(hits),
                               station_id=emp.station_id if emp else None)
        return SearchOutcome(decision, event_id, tuple(hits), total, withheld)

    def _indexes(self, caller: Caller, phone: str,
                 last4: bool) -> tuple[bytes | None, bytes | None]:
        if len(phone) > 40:
            raise ValueError("too long for a phone number")
        digits = normalize_phone(phone)  # ValueError (never quoting the value) if not digits
        key = self.vault.blind_index_key(self.session, caller.enterprise_id)
        if last4:
            if not re.fullmatch(r"\d{4}", digits):
                raise ValueError("a last-four search takes exactly four digits")
            return None, phone_last4_index(key, digits)
        return phone_full_index(key, digits), None

    def _hits(self, caller: Caller, rows: list[ParcelInfo], full: bytes | None, purpose: str,
              at: datetime) -> tuple[list[Hit], int]:
        parties = [("sender" if full is not None and p.recipient_phone_bi != full
                    else "recipient") for p in rows]
        subject = [p.sender_subject_id if party == "sender" else p.recipient_subject_id
                   for p, party in zip(rows, parties, strict=True)]
        erased, restricted = self.repo(caller).blocked_subjects(subject, at)
        keep = [i for i, s in enumerate(subject) if subject_refusal(
            purpose, SubjectFacts(erased=s in erased, restricted=s in restricted)) is None]
        hits: list[Hit] = []
        status = self.repo(caller).statuses(rows[i] for i in keep)
        for n, i in enumerate(keep):
            p, party = rows[i], parties[i]
            (vals,) = self.open(caller, [p], [f"{party}_name", f"{party}_phone"])
            name, phone = vals[f"{party}_name"], vals[f"{party}_phone"]
            hits.append(Hit(p.waybill_no, status[n], party, mask_name(name) if name else "",
                            mask_phone(phone) if phone else "", p.destination_station_id,
                            p.created_at))
        return hits, len(rows) - len(keep)

    # -- break-glass ------------------------------------------------------------------

    def break_glass_reveal(self, caller: Caller, *, waybill_no: str,
                           fields: list[str] | tuple[str, ...],
                           justification: str) -> BreakGlassOutcome:
        """Emergency reveal without an assignment. Needs ``pi:break_glass``, a role in
        ``policy.BREAK_GLASS`` and a justification; always flagged for review."""
        at = self.clock.now()
        wanted = frozenset(fields)
        actor, emp = self.actor(caller, at)
        purpose = BREAK_GLASS.get(actor.role, "other") if actor is not None else "other"
        parcel = self.parcel(caller, waybill_no)
        decision = decide(Attempt(
            op=Op.BREAK_GLASS, purpose=purpose, fields=wanted,
            permitted=caller.can("pi:break_glass"), actor=actor,
            parcel_found=parcel is not None, subjects=self.subjects(caller, parcel, wanted, at),
            justification=justification))
        values = Values()
        if decision.allowed and parcel is not None:
            values = Values(self.open(caller, [parcel], sorted(wanted))[0])
        station = emp.station_id if emp else None
        event_id = self.record(caller, at=at, action="reveal", purpose=purpose, fields=wanted,
                               decision=decision, record_count=1, waybill_no=waybill_no,
                               station_id=station)
        if not decision.allowed or parcel is None or emp is None:
            return BreakGlassOutcome(decision, event_id, values)
        record = BreakGlassRecord(
            id=new_id("bg"), enterprise_id=caller.enterprise_id, employee_id=emp.id,
            account_id=caller.account_id, waybill_no=parcel.waybill_no,
            fields=sorted(wanted), purpose=purpose,
            justification=unicodedata.normalize("NFKC", justification).strip(),
            event_id=event_id, flagged=True, at=at)
        self.session.add(record)
        self.session.flush()
        used = BreakGlassUsed(caller.enterprise_id, record.id, event_id, emp.id, station,
                              parcel.waybill_no, tuple(sorted(wanted)), purpose, at)
        return BreakGlassOutcome(decision, event_id, values, record.id, (used,))

    def review_break_glass(self, caller: Caller, *, record_id: str,
                           outcome: str) -> BreakGlassRecord:
        """Close a break-glass use as ``justified`` or ``abuse`` (the latter is for
        conduct and incidents to act on). Needs ``pi:review``; nobody reviews their
        own use."""
        if not caller.can("pi:review"):
            raise PermissionDenied("your account may not review break-glass uses")
        if outcome not in REVIEW_OUTCOMES:
            raise InvalidInput(f"outcome must be one of {', '.join(REVIEW_OUTCOMES)}")
        rec = self.repo(caller).break_glass(record_id)
        if rec is None:
            raise NotFound(f"break-glass record {record_id} not found")
        if rec.reviewed_at is not None:
            raise Conflict("this break-glass use was already reviewed")
        if caller.employee_id == rec.employee_id or (
                caller.account_id is not None and caller.account_id == rec.account_id):
            raise Conflict("a break-glass use is reviewed by someone other than its user")
        rec.reviewed_by, rec.reviewed_at = caller.actor_id, self.clock.now()
        rec.review_outcome = outcome
        self.session.flush()
        return rec

    # -- labels and sharing ------------------------------------------------------------

    def print_label(self, caller: Caller, *, waybill_no: str, purpose: str,
                    telephony: Telephony, font_path: Path | None = None) -> LabelOutcome:
        """Print the masked privacy waybill of an assigned parcel (sorters for
        sorting, couriers for pickup and delivery). The gate decides and records the
        one ``print_label`` event; the label comes from ``labels.print_parcel_label``."""
        at = self.clock.now()
        actor, emp = self.actor(caller, at)
        parcel = self.parcel(caller, waybill_no)
        decision = decide(Attempt(
            op=Op.PRINT_LABEL, purpose=purpose, fields=frozenset(LABEL_FIELDS),
            permitted=caller.can("pi:print_label"), actor=actor,
            parcel_found=parcel is not None,
            cover=self.cover(caller, emp, parcel, purpose, at),
            subjects=self.subjects(caller, parcel, LABEL_FIELDS, at)))
        printed = None
        if decision.allowed and parcel is not None:
            printed = print_parcel_label(self.session, self.vault, telephony, parcel=parcel,
                                         issued_by=caller.actor_id, at=at,
                                         font_path=font_path)
        event_id = self.record(caller, at=at, action="print_label", purpose=purpose,
                               fields=LABEL_FIELDS, decision=decision, record_count=1,
                               waybill_no=waybill_no,
                               station_id=emp.station_id if emp else None)
        return LabelOutcome(decision, event_id,
                            printed.issued(waybill_no, event_id) if printed else None)

    def share(self, caller: Caller, *, waybill_no: str, partner_id: str,
              purpose: str = "delivery",
              fields: Sequence[str] = LAST_MILE_FIELDS) -> ShareOutcome:
        """Give a parcel's PI to a partner carrier, sealed to the partner's key. One
        decision: the caller (role table, standing, suspension) and the people
        (erased, deletion pending), then the partner's legal basis (separate consent
        or processing contract, ``sharing.partner_basis``). Bad input raises
        InvalidInput and records nothing; every attempt past it is one ``share``
        access event and one ``waybill_shares`` row, allowed or refused."""
        chosen = check_share_request(fields=fields, waybill_no=waybill_no,
                                     partner_id=partner_id, purpose=purpose)
        at = self.clock.now()
        wanted = frozenset(chosen)
        actor, emp = self.actor(caller, at)
        parcel = self.parcel(caller, waybill_no)
        decision: Decision = decide(Attempt(
            op=Op.SHARE, purpose=purpose, fields=wanted, permitted=caller.can("pi:share"),
            actor=actor, parcel_found=parcel is not None,
            subjects=self.subjects(caller, parcel, wanted, at)))
        detail, basis = decision.reason, None
        partner = waybill_read.partner(self.session, caller.enterprise_id, partner_id)
        if decision.allowed and parcel is not None:
            subjects = {party: getattr(parcel, f"{party}_subject_id")
                        for party in ("sender", "recipient")
                        if any(f.startswith(f"{party}_") for f in wanted)}
            detail, basis = partner_basis(self.session, partner, subjects, sorted(wanted), at)
            if detail != "ok":
                decision = deny(_BASIS_REFUSALS.get(detail, "no_consent"))
        share_id, payload = new_id("shr"), None
        if decision.allowed and parcel is not None and partner is not None:
            (values,) = self.open(caller, [parcel], sorted(wanted))
            clear = {f: v for f, v in values.items() if v is not None}
            if len(clear) < len(values):  # erased since the decision
                decision, detail, basis = deny("subject_erased"), "subject_erased", None
            else:
                payload = seal_for_partner(
                    clear, public_key=partner.public_key,
                    header={"share_id": share_id, "enterprise_id": caller.enterprise_id,
                            "partner_id": partner_id, "waybill_no": waybill_no,
                            "sealed_at": at.isoformat()})
        event_id = self.record(caller, at=at, action="share", purpose=purpose, fields=wanted,
                               decision=decision, record_count=1, waybill_no=waybill_no,
                               station_id=emp.station_id if emp else None)
        result = record_share(self.session, share_id=share_id,
                              enterprise_id=caller.enterprise_id, partner_id=partner_id,
                              waybill_no=waybill_no, fields=sorted(wanted), reason=detail,
                              basis=basis, payload=payload, actor_id=caller.actor_id,
                              event_id=event_id, at=at)
        return ShareOutcome(decision, event_id, result)

    # -- exports (see exports.py) -----------------------------------------------------

    def request_export(self, caller: Caller, *, purpose: str, fields: list[str],
                       scope: dict[str, Any]) -> ExportOutcome:
        return self._exports.request(caller, purpose=purpose, fields=fields, scope=scope)

    def approve_export(self, caller: Caller, *, request_id: str,
                       approve: bool = True) -> ExportOutcome:
        return self._exports.approve(caller, request_id=request_id, approve=approve)

    def run_export(self, caller: Caller, *, request_id: str) -> ExportOutcome:
        return self._exports.run(caller, request_id=request_id)

