"""The gate's policy: who may see which PI field, for which purpose, and why not.

Pure Python (no database, no framework): the service gathers the facts of one
attempt into an ``Attempt`` and ``decide`` answers ``Allowed`` or ``Denied`` with a
stable reason code and a message the person at the counter understands, in Chinese
and English. Messages are templates filled only with purpose and field *names* and
numbers, never with a PI value.

Least privilege (GB/T 35273-2020 §7): by default nobody sees anything beyond the
masked waybill. The tables below open exactly what each roster role needs for each
purpose, and a reveal additionally needs an active assignment covering
(employee, waybill, purpose, now).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Final

from parcelguard.access.reasons import Allowed, Decision, Denied, deny
from parcelguard.ledger.contract import PI_FIELDS, PURPOSES

__all__ = ["Allowed", "Decision", "Denied", "decide", "deny"]

# -- the tables -----------------------------------------------------------------------

SENDER: Final = frozenset({"sender_name", "sender_phone", "sender_address"})
RECIPIENT: Final = frozenset({"recipient_name", "recipient_phone", "recipient_address"})
NAMES_PHONES: Final = frozenset({"sender_name", "sender_phone", "recipient_name",
                                 "recipient_phone"})
ID_NUMBER: Final = "sender_id_number"
# Everything but the sender's ID number, which is seen only at pickup verification
# (real-name delivery) and is never printed (Express Delivery Interim Regs Art. 22).
ALL_BUT_ID: Final = SENDER | RECIPIENT

# roster role -> purpose -> PI fields a reveal may return.
REVEAL: Final[Mapping[str, Mapping[str, frozenset[str]]]] = {
    "courier": {"pickup": SENDER | {ID_NUMBER}, "delivery": RECIPIENT},
    "customer_service": {"customer_service": NAMES_PHONES,
                         "complaint_handling": NAMES_PHONES},
}
# roster role -> purposes for which it may print the (masked) privacy waybill.
LABEL: Final[Mapping[str, frozenset[str]]] = {
    "courier": frozenset({"pickup", "delivery"}),
    "sorter": frozenset({"sorting"}),
}
# roster role -> purposes for which it may search parcels by phone number.
SEARCH: Final[Mapping[str, frozenset[str]]] = {
    "customer_service": frozenset({"customer_service", "complaint_handling"}),
    "security": frozenset({"security"}),
}
# roster role -> purpose -> fields a bulk export may carry.
EXPORT: Final[Mapping[str, Mapping[str, frozenset[str]]]] = {
    "customer_service": {"complaint_handling": NAMES_PHONES},
    "security": {"security": ALL_BUT_ID, "law_enforcement": ALL_BUT_ID},
}
# roster role -> purpose -> fields it may give a partner carrier; the partner's
# basis (separate consent, Art. 23, or an entrusted-processing contract, Art. 21) is
# then checked by sharing.partner_basis.
SHARE: Final[Mapping[str, Mapping[str, frozenset[str]]]] = {
    "admin": {"delivery": RECIPIENT},
}
# Break-glass: roster role -> the purpose its access events carry. Security staff
# investigate incidents ("security"); customer service uses it for emergencies no
# assignment foresaw, e.g. a recipient who must be reached now ("other").
BREAK_GLASS: Final[Mapping[str, str]] = {"security": "security", "customer_service": "other"}
BREAK_GLASS_FIELDS: Final = ALL_BUT_ID

# The gate's purposes that rest on the parcel contract (PIPL Art. 13(1)(2)): no consent
# and no acknowledgement of the sender's notice (recipients never see it), but never
# for an erased person, and while a deletion request is open only delivery goes on.
CONTRACT_PURPOSES: Final = frozenset({"pickup", "sorting", "delivery", "customer_service",
                                      "complaint_handling"})
# Moving a parcel already under way: what an open deletion request does not stop.
MOVEMENT_PURPOSES: Final = frozenset({"pickup", "sorting", "delivery"})
# Legal obligations (Art. 13(1)(3)): police requests, audits, security investigations.
OBLIGATION_PURPOSES: Final = frozenset({"law_enforcement", "audit", "security"})
# Complaint handling happens on a customer-service ticket: the assignment that covers
# it has purpose customer_service (assignments know only four purposes).
ASSIGNMENT_PURPOSE: Final[Mapping[str, str]] = {
    "pickup": "pickup", "sorting": "sorting", "delivery": "delivery",
    "customer_service": "customer_service", "complaint_handling": "customer_service"}

# Bulk export (GB/T 35273 §7.1: internal approval for bulk copy/download). Insiders
# who sell data reach the criminal threshold at half the SPC/SPP 2017 figures, i.e.
# 25 records of location data; anything above 20 records needs a second person.
EXPORT_APPROVAL_THRESHOLD: Final = 20
# The threshold counts cumulatively: records a requester exported (or may export)
# without approval in this window count towards it, so slicing a bulk export into
# 20-record pieces needs approval from the second piece on.
EXPORT_CUMULATIVE_WINDOW: Final = timedelta(days=7)
# One export never exceeds half the 5,000 "other records" threshold for insiders
# (SPC/SPP 2017 Art. 5): a single approval cannot authorise that much.
EXPORT_MAX_RECORDS: Final = 2_500
# An approval is for now, not for whenever: it lapses if the export is not run.
EXPORT_APPROVAL_TTL: Final = timedelta(hours=24)
# A search shows a handful of masked hits; browsing is what exports (approved) are for.
SEARCH_MAX_HITS: Final = 20
JUSTIFICATION_MIN_CHARS: Final = 20
JUSTIFICATION_MAX_CHARS: Final = 1_000

PERMISSION: Final[Mapping[str, str]] = {
    "reveal": "pi:reveal", "search": "pi:search", "export": "pi:export",
    "print_label": "pi:print_label", "share": "pi:share", "break_glass": "pi:break_glass",
    "approve_export": "pi:approve_export",
}


class Op(StrEnum):
    """What the caller attempts. Break-glass is a reveal in the ledger."""

    REVEAL = "reveal"
    SEARCH = "search"
    EXPORT = "export"
    PRINT_LABEL = "print_label"
    SHARE = "share"
    BREAK_GLASS = "break_glass"


class Cover(StrEnum):
    """How the caller's assignments relate to (waybill, purpose, now)."""

    COVERED = "covered"
    NONE = "none"
    OTHER_PURPOSE = "other_purpose"
    NOT_STARTED = "not_started"
    EXPIRED = "expired"
    REVOKED = "revoked"
    # Covered, but the parcel was already delivered or closed at that moment: moving
    # it needs nobody's PI any more (the post-delivery look-up court cases describe).
    PARCEL_FINISHED = "parcel_finished"


@dataclass(frozen=True, slots=True)
class AssignmentFacts:
    purpose: str
    starts_at_us: int
    ends_at_us: int
    revoked: bool


def classify_cover(assignments: list[AssignmentFacts], purpose: str, at_us: int) -> Cover:
    """Why (or whether) the assignments cover ``purpose`` at ``at_us``: the most
    specific explanation wins, so a courier hears "ended" rather than "not yours"."""
    wanted = ASSIGNMENT_PURPOSE.get(purpose)
    same = [a for a in assignments if a.purpose == wanted]
    if any(not a.revoked and a.starts_at_us <= at_us < a.ends_at_us for a in same):
        return Cover.COVERED
    if any(a.revoked and a.starts_at_us <= at_us for a in same):
        return Cover.REVOKED
    if any(a.ends_at_us <= at_us for a in same):
        return Cover.EXPIRED
    if same:
        return Cover.NOT_STARTED
    return Cover.OTHER_PURPOSE if assignments else Cover.NONE


# -- decisions ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Actor:
    """The roster employee behind the caller, as of now."""

    role: str
    status: str  # active | left
    background_check: str  # passed | pending | failed
    suspended: bool = False
    has_station: bool = True


@dataclass(frozen=True, slots=True)
class SubjectFacts:
    """One data subject whose PI the attempt touches. ``consent``: the consent
    decision's reason code when the purpose needs consent ("ok" or a refusal)."""

    erased: bool = False
    restricted: bool = False
    consent: str | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    op: Op
    purpose: str
    fields: frozenset[str]
    permitted: bool  # the account holds the op's pi:* permission
    actor: Actor | None  # None: no roster employee behind the caller
    parcel_found: bool = True
    cover: Cover | None = None  # None: the op is not assignment-bound
    subjects: tuple[SubjectFacts, ...] = ()
    record_count: int = 0  # exports: records in scope
    last4: bool = False  # searches: by the last four digits
    justification: str | None = None  # break-glass


def _check_actor(a: Attempt) -> Denied | None:
    if not a.permitted:
        return deny("no_permission")
    actor = a.actor
    if actor is None:
        return deny("no_employee")
    checks = (
        (actor.status != "active", "employee_left"),
        (actor.background_check == "failed", "background_check_failed"),
        (actor.background_check != "passed", "background_check_pending"),
        (actor.suspended, "suspended"),
        (a.purpose not in PURPOSES, "unknown_purpose"),
        (not a.fields <= set(PI_FIELDS), "unknown_field"),
    )
    return next((deny(code) for failed, code in checks if failed), None)


def _check_fields(a: Attempt, allowed: frozenset[str]) -> Denied | None:
    if not a.fields:
        return deny("no_fields")
    if ID_NUMBER in a.fields and ID_NUMBER not in allowed:
        return deny("id_number_pickup_only")
    extra = a.fields - allowed
    return deny("field_not_allowed", purpose=a.purpose, fields=extra) if extra else None


def _reveal(a: Attempt, role: str) -> Denied | None:
    if role not in REVEAL:
        return deny("role_masked_only")
    if a.purpose not in REVEAL[role]:
        return deny("role_purpose", purpose=a.purpose)
    return _check_fields(a, REVEAL[role][a.purpose])


def _label(a: Attempt, role: str) -> Denied | None:
    return None if a.purpose in LABEL.get(role, ()) else deny("role_purpose", purpose=a.purpose)


def _search(a: Attempt, role: str) -> Denied | None:
    if role not in SEARCH:
        return deny("search_role")
    if a.purpose not in SEARCH[role]:
        return deny("search_purpose", purpose=a.purpose)
    if a.last4 and not (a.actor is not None and a.actor.has_station):
        return deny("search_needs_station")
    return None


def _export(a: Attempt, role: str) -> Denied | None:
    if a.purpose not in EXPORT.get(role, {}):
        return deny("export_role", purpose=a.purpose)
    if a.record_count > EXPORT_MAX_RECORDS:
        return deny("export_too_large", n=EXPORT_MAX_RECORDS)
    return _check_fields(a, EXPORT[role][a.purpose])


def _share(a: Attempt, role: str) -> Denied | None:
    if a.purpose not in SHARE.get(role, {}):
        return deny("role_purpose", purpose=a.purpose)
    return _check_fields(a, SHARE[role][a.purpose])


def _break_glass(a: Attempt, role: str) -> Denied | None:
    if role not in BREAK_GLASS:
        return deny("break_glass_role")
    return justification_problem(a.justification) or _check_fields(a, BREAK_GLASS_FIELDS)


_ROLE_CHECKS: Final[Mapping[Op, Callable[[Attempt, str], Denied | None]]] = {
    Op.REVEAL: _reveal, Op.PRINT_LABEL: _label, Op.SEARCH: _search, Op.EXPORT: _export,
    Op.SHARE: _share, Op.BREAK_GLASS: _break_glass}


_COVER_REASON: Final = {Cover.NONE: "no_assignment", Cover.OTHER_PURPOSE: "other_purpose",
                        Cover.NOT_STARTED: "assignment_not_started",
                        Cover.EXPIRED: "assignment_expired", Cover.REVOKED: "assignment_revoked",
                        Cover.PARCEL_FINISHED: "parcel_finished"}


def subject_refusal(purpose: str, s: SubjectFacts) -> Denied | None:
    """Why one person's PI may not be used for ``purpose``, consent aside: erased
    people have nothing left to use; an open deletion request restricts processing
    to storage and moving the parcel already under way (PIPL Art. 47; the consent
    module's "delivery"), which legal obligations (police, audit, security) are not
    stopped by. Customer service and complaints wait until the request is closed."""
    if s.erased:
        return deny("subject_erased")
    if s.restricted and purpose not in MOVEMENT_PURPOSES | OBLIGATION_PURPOSES:
        return deny("subject_restricted")
    return None


def _check_subjects(a: Attempt) -> Denied | None:
    # Erased first: when both apply, "deleted" is the more final answer.
    for s in sorted(a.subjects, key=lambda s: not s.erased):
        refusal = subject_refusal(a.purpose, s)
        if refusal is not None:
            return refusal
    # "other" is no basis the contract or the law provides, so only consent could
    # carry it (no table grants it today; this keeps a future entry honest).
    # Break-glass rests on Art. 13(1)(3)/(4) instead. Sharing needs separate consent
    # (Art. 23) or an entrusted-processing contract (Art. 21): sharing.partner_basis
    # decides that per partner, after these checks.
    if a.purpose == "other" and a.op is not Op.BREAK_GLASS and any(
            s.consent != "ok" for s in a.subjects):
        return deny("no_legal_basis")
    return None


def decide(a: Attempt) -> Decision:
    """Allowed, or Denied with the first reason in this order: who the caller is
    (permission, employee, left, background check, suspension), what they ask
    (purpose, fields, role table), the parcel (exists, assignment covers now), the
    person (erased, deletion pending, consent). Checking the caller and the role table
    before the parcel means a refused caller learns nothing about which waybills exist."""
    denied = _check_actor(a)
    if denied is None:
        assert a.actor is not None
        denied = _ROLE_CHECKS[a.op](a, a.actor.role)
    if denied is None and not a.parcel_found:
        denied = deny("parcel_not_found")
    if denied is None and a.cover is not None and a.cover is not Cover.COVERED:
        denied = deny(_COVER_REASON[a.cover], purpose=a.purpose)
    if denied is None:
        denied = _check_subjects(a)
    return denied or Allowed()


# -- bulk exports ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExportState:
    status: str  # pending | approved | rejected | exported
    requester_account_id: str | None
    requester_employee_id: str
    expires_at_us: int | None


def export_run_refusal(state: ExportState, *, caller_employee_id: str | None,
                       at_us: int) -> Denied | None:
    """Why an export request cannot be run now (the caller's own standing and the
    role table are checked again by ``decide``)."""
    if caller_employee_id != state.requester_employee_id:
        return deny("export_not_yours")
    refusal = {"rejected": "export_rejected", "exported": "export_done",
               "pending": "export_needs_approval"}.get(state.status)
    if refusal is not None:
        return deny(refusal, n=EXPORT_APPROVAL_THRESHOLD)
    if state.expires_at_us is not None and at_us >= state.expires_at_us:
        return deny("export_expired")
    return None


def approval_refusal(state: ExportState, *, permitted: bool, approver_account_id: str | None,
                     approver_employee_id: str | None, approver: Actor | None) -> Denied | None:
    """Why this caller may not decide on this export request. The second person must
    be a different account *and* a different employee (two accounts of one person
    are still one person), an active employee whose background check passed, and
    approving is a person's act: API keys cannot."""
    if not permitted:
        return deny("no_permission")
    same_account = approver_account_id is not None \
        and approver_account_id == state.requester_account_id
    if same_account or approver_employee_id == state.requester_employee_id:
        return deny("self_approval")
    if approver_account_id is None:
        return deny("approver_not_allowed")
    # The second person is a vetted employee: an account with no roster record (a bare
    # admin login) has no background check and cannot vouch for a bulk copy.
    if (approver_employee_id is None or approver is None or approver.status != "active"
            or approver.background_check != "passed" or approver.suspended):
        return deny("approver_not_allowed")
    if state.status != "pending":
        return deny("not_pending")
    return None


# -- break-glass justifications --------------------------------------------------------

# Waybill numbers are the natural thing to cite and are not PI; drop them before
# looking for digit runs (a 2-4 letter prefix and 13 digits, logistics.identifiers).
_WAYBILL_RE: Final = re.compile(r"[A-Z]{2,4}\d{13}")
# parcelguard's own record ids (core.ids.new_id: prefix_ + 26 base32 chars) can hold
# seven digits in a row by chance; they name records, not people.
_OWN_ID_RE: Final = re.compile(r"\b[a-z]{2,6}_[0-9a-z]{26}\b")
# ISO dates and times ("2026-11-02 09:30") are not phone numbers either.
_DATE_RE: Final = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?")
# Digits split by spaces, dashes, dots or brackets are read as one number.
_DIGIT_GAPS: Final = re.compile(r"(?<=\d)[\s\-.()/]+(?=\d)")
# Seven or more digits: a landline, a mobile (11) or an ID number (18) - all PI.
_LONG_NUMBER: Final = re.compile(r"\d{7,}")
_HAN_DIGITS: Final = re.compile(r"[零〇一二三四五六七八九壹贰叁肆伍陆柒捌玖幺两]{7,}")
_EMAIL: Final = re.compile(r"[^\s@]+@[^\s@]+\.[A-Za-z]{2,}")


def justification_problem(text: str | None) -> Denied | None:
    """Why a break-glass justification is unacceptable, or None. It must explain the
    need in words (at least 20 characters) and carry no PI itself: the record is kept
    and reviewed, and a phone or ID number in it would be a new copy of the PI."""
    norm = unicodedata.normalize("NFKC", text or "").strip()
    if len(norm) < JUSTIFICATION_MIN_CHARS:
        return deny("justification_missing", n=JUSTIFICATION_MIN_CHARS)
    if len(norm) > JUSTIFICATION_MAX_CHARS:
        return deny("justification_too_long", n=JUSTIFICATION_MAX_CHARS)
    return deny("justification_pi") if looks_like_pi(norm) else None


def looks_like_pi(text: str) -> bool:
    """True when free text holds something shaped like a phone number, an ID number
    or an e-mail address (waybill numbers are fine)."""
    norm = unicodedata.normalize("NFKC", text)
    for harmless in (_DATE_RE, _OWN_ID_RE, _WAYBILL_RE):
        norm = harmless.sub(" ", norm)
    scrubbed = _DIGIT_GAPS.sub("", norm)
    return bool(_LONG_NUMBER.search(scrubbed) or _HAN_DIGITS.search(scrubbed)
                or _EMAIL.search(scrubbed))
