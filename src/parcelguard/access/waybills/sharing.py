"""Sharing a parcel's PI with a partner carrier or outlet: the partner registry,
processing contracts, the partner's legal basis and the record of every share.

``AccessGate.share`` is the one place a share happens: it checks the caller (role
table, standing, suspension) and the people (erased, deletion pending), then the
partner's basis below, decrypts, seals the payload to the partner's key
(``waybill.partner_payload``, HPKE) and records one ``share`` access event and one
``waybill_shares`` row per attempt, allowed or refused.

Legal basis, by the partner's relationship to the enterprise:

* ``third_party`` (a separate processor: a partner carrier, a franchise outlet that
  decides for itself) needs each person's **separate consent** for that named
  partner (PIPL Art. 23): ``consent_decision(..., "partner_sharing:<partner>")`` for
  the sender when sender fields go, for the recipient when recipient fields go.
* ``entrusted`` (processes on the enterprise's behalf, Art. 21) needs a recorded
  **processing contract** in force that covers every field shared.

Either way a **PI impact assessment** (Arts. 55-56) covering the fields must have been
recorded for the partner first: without one the share is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from sqlalchemy.orm import Session

from parcelguard.access.policy import looks_like_pi
from parcelguard.access.waybills.parcels import check_waybill_no
from parcelguard.consent.rules import PARTNER_ID_RE
from parcelguard.consent.service import consent_decision
from parcelguard.core.errors import InvalidInput, NotFound
from parcelguard.ledger.contract import PURPOSES
from parcelguard.waybill import read as waybill_read
from parcelguard.waybill import service as waybill_service
from parcelguard.waybill.partner_payload import (
    LAST_MILE_FIELDS,
    SHAREABLE_FIELDS,
    key_id,
    parse_public_key,
)
from parcelguard.waybill.read import AssessmentInfo, ContractInfo, PartnerInfo

__all__ = ["LAST_MILE_FIELDS", "RELATIONSHIPS", "SHAREABLE_FIELDS", "ShareResult",
           "add_partner", "check_share_request", "list_partners", "partner_basis",
           "record_assessment", "record_contract", "record_share"]

RELATIONSHIPS: Final = ("third_party", "entrusted")


# -- partners and contracts ---------------------------------------------------------


def add_partner(session: Session, *, enterprise_id: str, partner_id: str, name: str,
                relationship: str, public_key: bytes, at: datetime) -> PartnerInfo:
    """Register a partner and its public key."""
    if not PARTNER_ID_RE.match(partner_id):
        raise InvalidInput("partner id: 1-48 of a-z, 0-9, '.', '_', '-', starting with a "
                           "letter or digit (the id the privacy notice names)")
    if relationship not in RELATIONSHIPS:
        raise InvalidInput(f"relationship must be one of {', '.join(RELATIONSHIPS)}")
    if not name.strip() or len(name) > 200:
        raise InvalidInput("partner name: 1-200 characters")
    raw = parse_public_key(public_key)
    return waybill_service.store_partner(
        session, enterprise_id=enterprise_id, partner_id=partner_id, name=name.strip(),
        relationship=relationship, public_key=raw, key_id=key_id(raw), at=at)


def list_partners(session: Session, enterprise_id: str) -> list[PartnerInfo]:
    return waybill_read.partners(session, enterprise_id)


def _check_fields(fields: Sequence[str]) -> list[str]:
    chosen = list(dict.fromkeys(fields))
    if not chosen:
        raise InvalidInput("choose at least one field to share")
    bad = [f for f in chosen if f not in SHAREABLE_FIELDS]
    if bad:
        raise InvalidInput(f"fields not shareable: {', '.join(bad)[:120]}; choose from "
                           f"{', '.join(SHAREABLE_FIELDS)}")
    return chosen


def record_contract(session: Session, *, enterprise_id: str, partner_id: str, reference: str,
                    fields: Sequence[str], starts_at: datetime, ends_at: datetime,
                    at: datetime, recorded_by: str) -> ContractInfo:
    """Record an entrusted-processing contract (Art. 21) with an entrusted partner."""
    partner = waybill_read.partner(session, enterprise_id, partner_id)
    if partner is None:
        raise NotFound(f"partner {partner_id} not found")
    if partner.relationship != "entrusted":
        raise InvalidInput("a third-party processor needs each person's separate consent "
                           "(Art. 23); processing contracts cover entrusted partners")
    if not reference.strip() or len(reference) > 100:
        raise InvalidInput("contract reference: 1-100 characters")
    if ends_at <= starts_at:
        raise InvalidInput("a contract must end after it starts")
    return waybill_service.store_contract(
        session, enterprise_id=enterprise_id, partner_id=partner_id,
        reference=reference.strip(), fields=_check_fields(fields), starts_at=starts_at,
        ends_at=ends_at, at=at, recorded_by=recorded_by)


def record_assessment(session: Session, *, enterprise_id: str, partner_id: str,
                      fields: Sequence[str], conclusion: str, at: datetime,
                      assessed_by: str) -> AssessmentInfo:
    """Record the impact assessment made before giving ``fields`` to the partner
    (PIPL Arts. 55-56). The conclusion states lawfulness and necessity, the effect on
    the people and the risks, and whether the protection measures fit them."""
    if waybill_read.partner(session, enterprise_id, partner_id) is None:
        raise NotFound(f"partner {partner_id} not found")
    text = " ".join(conclusion.split())
    if not 20 <= len(text) <= 2000:
        raise InvalidInput("conclusion: 20-2000 characters stating necessity, risks to the "
                           "people and the measures against them")
    if looks_like_pi(text):
        raise InvalidInput("conclusion: no phone numbers, ID numbers or e-mail addresses")
    return waybill_service.store_assessment(
        session, enterprise_id=enterprise_id, partner_id=partner_id,
        fields=_check_fields(fields), conclusion=text, at=at, assessed_by=assessed_by)


def _assessed(session: Session, enterprise_id: str, partner_id: str,
              fields: Sequence[str], at: datetime) -> bool:
    return any(set(fields) <= set(a.fields) for a in waybill_read.assessments_until(
        session, enterprise_id, partner_id, at))


def _contract_covers(session: Session, enterprise_id: str, partner_id: str,
                     fields: Sequence[str], at: datetime) -> bool:
    return any(set(fields) <= set(c.fields) for c in waybill_read.contracts_in_force(
        session, enterprise_id, partner_id, at))


# -- one share ----------------------------------------------------------------------


def check_share_request(*, fields: Sequence[str], waybill_no: str, partner_id: str,
                        purpose: str) -> list[str]:
    """The fields to share, de-duplicated. Bad input (no or unshareable fields, a
    malformed waybill number or partner id, an unknown purpose) raises InvalidInput
    before anything is looked up or recorded."""
    chosen = _check_fields(fields)
    check_waybill_no(waybill_no)
    if not PARTNER_ID_RE.match(partner_id):
        raise InvalidInput("partner id: 1-48 of a-z, 0-9, '.', '_', '-'")
    if purpose not in PURPOSES:
        raise InvalidInput(f"purpose must be one of {', '.join(PURPOSES)}")
    return chosen


def partner_basis(session: Session, partner: PartnerInfo | None, subjects: Mapping[str, str],
                  fields: Sequence[str], at: datetime) -> tuple[str, str | None]:
    """(reason, basis) of sharing ``fields`` with ``partner``; reason "ok" when the
    share is lawful. ``subjects``: party (sender/recipient) -> subject id, for the
    parties whose fields go. Refusals: ``unknown_partner``,
    ``no_impact_assessment``, ``no_processing_contract``,
    ``<party>_consent_<consent reason>``."""
    if partner is None or not partner.active:
        return "unknown_partner", None
    # PIPL Arts. 55-56: the assessment comes before any providing or entrusting
    if not _assessed(session, partner.enterprise_id, partner.partner_id, fields, at):
        return "no_impact_assessment", None
    if partner.relationship == "entrusted":
        if _contract_covers(session, partner.enterprise_id, partner.partner_id, fields, at):
            return "ok", "processing_contract"
        return "no_processing_contract", None
    purpose = f"partner_sharing:{partner.partner_id}"
    for role, subject in subjects.items():
        decision = consent_decision(session, partner.enterprise_id, subject, purpose, at)
        if not decision.allowed:
            return f"{role}_consent_{decision.reason}", None
    return "ok", "separate_consent"


@dataclass(frozen=True, slots=True)
class ShareResult:
    """The record of one share attempt. ``reason``: ok, the gate's refusal code, or
    the partner-basis refusal (see ``partner_basis``); ``payload`` only when allowed."""

    allowed: bool
    reason: str
    share_id: str
    event_id: str
    basis: str | None = None
    payload: bytes | None = field(default=None, repr=False)


def record_share(session: Session, *, share_id: str, enterprise_id: str, partner_id: str,
                 waybill_no: str, fields: Sequence[str], reason: str, basis: str | None,
                 payload: bytes | None, actor_id: str, event_id: str,
                 at: datetime) -> ShareResult:
    """Keep the enterprise's record of what it gave (or refused) to whom and on which
    basis: the values never, the payload's hash when one was sealed."""
    allowed = reason == "ok"
    waybill_service.store_share(
        session, share_id=share_id, enterprise_id=enterprise_id, partner_id=partner_id,
        waybill_no=waybill_no, fields=fields, allowed=allowed, basis=basis, reason=reason,
        actor_id=actor_id[:64], at=at,
        payload_sha256=hashlib.sha256(payload).hexdigest() if payload else None)
    return ShareResult(allowed=allowed, reason=reason, share_id=share_id, event_id=event_id,
                       basis=basis, payload=payload)
