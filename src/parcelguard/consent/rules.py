"""Pure consent rules: purposes and their legal bases, the consent state of one
person, and which recordings are legal. No database, no framework.

Legal bases (PIPL):

* ``delivery`` rests on contract necessity (Art. 13(1)(2)): no consent, but the
  person must have been given the notice (Art. 17), so it needs an acknowledgement.
* ``partner_sharing:<partner_id>``: giving PI to another processor needs the
  recipient named in the notice and a **separate consent** for that recipient
  (Art. 23). One consent per named partner, never a blanket one.
* ``location_tracking``: location and movement tracks are sensitive PI (Art. 28),
  so separate consent (Art. 29) after telling the necessity and impact (Art. 30).
* ``marketing``: optional consent (Art. 13(1)(1)); refusing it must not cost the
  delivery service (Art. 16).

A consent counts only while the notice terms it was given under still hold for its
purpose: when a new notice version changes a purpose's methods, data types or
recipient, the old consent no longer covers it and fresh consent is needed (Art. 14;
Art. 23 for a recipient that changes its purpose or methods). Withdrawal takes effect
at the instant it is recorded (Art. 15).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from parcelguard.core.errors import Conflict, InvalidInput


class PurposeKind(StrEnum):
    DELIVERY = "delivery"
    PARTNER_SHARING = "partner_sharing"
    LOCATION_TRACKING = "location_tracking"
    MARKETING = "marketing"


class Basis(StrEnum):
    CONTRACT = "contract_necessity"  # Art. 13(1)(2)
    SEPARATE_CONSENT = "separate_consent"  # Arts. 23, 29
    CONSENT = "consent"  # Art. 13(1)(1)


class ConsentAction(StrEnum):
    ACKNOWLEDGE = "acknowledge"  # the notice was shown and acknowledged (delivery)
    GRANT = "grant"
    WITHDRAW = "withdraw"


# How the person gave or withdrew consent, or was given the notice: part of the
# evidence (Art. 14 "voluntary, explicit, informed" has to be shown by the processor).
# ``sms``: recipients never see the sender's screen; they get the notice with the
# arrival text message, which is when their acknowledgement is recorded.
CHANNELS = ("app", "web", "pda", "counter", "phone", "sms", "api")

# Partner ids follow organisation ids (identity.ORG_ID_RE) so a partner carrier
# registered here is named by the same id; 48 chars keep "partner_sharing:" + id
# inside the 80-character purpose column.
PARTNER_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,47}$")

_BASIS = {
    PurposeKind.DELIVERY: Basis.CONTRACT,
    PurposeKind.PARTNER_SHARING: Basis.SEPARATE_CONSENT,
    PurposeKind.LOCATION_TRACKING: Basis.SEPARATE_CONSENT,
    PurposeKind.MARKETING: Basis.CONSENT,
}


@dataclass(frozen=True, slots=True)
class Purpose:
    """A processing purpose; ``partner_sharing`` always names its partner."""

    kind: PurposeKind
    partner_id: str | None = None

    def __post_init__(self) -> None:
        if (self.kind is PurposeKind.PARTNER_SHARING) != (self.partner_id is not None):
            raise InvalidInput("partner_sharing needs a partner id (partner_sharing:<id>); "
                               "other purposes take none")
        if self.partner_id is not None and not PARTNER_ID_RE.match(self.partner_id):
            raise InvalidInput("partner id: 1-48 of a-z, 0-9, '.', '_', '-', starting with "
                               "a letter or digit")

    @classmethod
    def parse(cls, text: str) -> Purpose:
        """``delivery``, ``location_tracking``, ``marketing`` or
        ``partner_sharing:<partner_id>``; anything else is refused with the list."""
        kind, sep, partner = text.partition(":")
        try:
            pk = PurposeKind(kind)
        except ValueError:
            raise InvalidInput(
                f"unknown purpose {text[:80]!r}; use delivery, location_tracking, marketing "
                "or partner_sharing:<partner_id>") from None
        if pk is PurposeKind.PARTNER_SHARING and not sep:
            raise InvalidInput("partner_sharing needs the partner: partner_sharing:<partner_id> "
                               "(Art. 23: consent is given per named recipient)")
        if pk is not PurposeKind.PARTNER_SHARING and sep:
            raise InvalidInput(f"purpose {kind} takes no ':<partner_id>' suffix")
        return cls(pk, partner if sep else None)

    def __str__(self) -> str:
        return f"{self.kind}:{self.partner_id}" if self.partner_id else str(self.kind)

    @property
    def basis(self) -> Basis:
        return _BASIS[self.kind]

    @property
    def needs_consent(self) -> bool:
        return self.basis is not Basis.CONTRACT

    @property
    def sensitive(self) -> bool:
        """Sensitive PI (Art. 28): location and movement tracks."""
        return self.kind is PurposeKind.LOCATION_TRACKING


DELIVERY = Purpose(PurposeKind.DELIVERY)


@dataclass(frozen=True, slots=True)
class NoticeTerms:
    """What one published notice version says, as far as consent is concerned:
    each declared purpose (``str(Purpose)``) with the fingerprint of its terms."""

    version: int
    published_at: datetime
    fingerprints: Mapping[str, str]

    def declares(self, purpose: Purpose) -> bool:
        return str(purpose) in self.fingerprints


@dataclass(frozen=True, slots=True)
class ConsentEvent:
    """One recorded acknowledgement, grant or withdrawal (``seq`` orders ties)."""

    purpose: Purpose
    action: ConsentAction
    at: datetime
    notice_version: int | None
    seq: int


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str  # a stable code; see ConsentState.decide


@dataclass
class ConsentState:
    """Everything needed to answer "may this person's PI be processed for this
    purpose at this instant?" for one person at one enterprise.

    ``restricted_since``: a deletion request is pending or deferred by a retention
    rule; from then on only storage and delivery of parcels under way go on
    (Art. 47 para. 2). ``erased_at``: the person's keys were destroyed.
    """

    notices: list[NoticeTerms]
    events: list[ConsentEvent] = field(default_factory=list)
    restricted_since: datetime | None = None
    erased_at: datetime | None = None

    def __post_init__(self) -> None:
        self.notices = sorted(self.notices, key=lambda n: n.version)
        self.events = sorted(self.events, key=lambda e: (e.at, e.seq))
        self._by_version = {n.version: n for n in self.notices}

    def notice_in_force(self, at: datetime) -> NoticeTerms | None:
        """The newest version published at or before ``at``."""
        current = None
        for n in self.notices:
            if n.published_at <= at:
                current = n
        return current

    def allows(self, purpose: Purpose, at: datetime) -> bool:
        return self.decide(purpose, at).allowed

    def decide(self, purpose: Purpose, at: datetime) -> Decision:
        """Allowed with reason ``ok``, or refused with one of: ``erased``,
        ``restricted``, ``no_notice``, ``not_in_notice``, ``not_acknowledged``,
        ``no_consent``, ``withdrawn``, ``terms_changed``."""
        reason = self._blocked(purpose, at) or self._unconsented(purpose, at)
        return Decision(reason is None, reason or "ok")

    def _blocked(self, purpose: Purpose, at: datetime) -> str | None:
        """Refusals that no consent record can lift."""
        if self.erased_at is not None and at >= self.erased_at:
            return "erased"
        if (self.restricted_since is not None and at >= self.restricted_since
                and purpose.kind is not PurposeKind.DELIVERY):
            return "restricted"
        notice = self.notice_in_force(at)
        if notice is None:
            return "no_notice"
        return None if notice.declares(purpose) else "not_in_notice"

    def _unconsented(self, purpose: Purpose, at: datetime) -> str | None:
        notice = self.notice_in_force(at)
        assert notice is not None  # _blocked ran first
        current_fp = notice.fingerprints[str(purpose)]
        past = [e for e in self.events if e.purpose == purpose and e.at <= at]
        if purpose.kind is PurposeKind.DELIVERY:
            # Any acknowledgement of a version whose delivery terms are today's will do.
            ok = any(e.action is ConsentAction.ACKNOWLEDGE
                     and self._fingerprint(e.notice_version, purpose) == current_fp
                     for e in past)
            return None if ok else "not_acknowledged"
        last = next((e for e in reversed(past) if e.action is not ConsentAction.ACKNOWLEDGE),
                    None)
        if last is None:
            return "no_consent"
        if last.action is ConsentAction.WITHDRAW:
            return "withdrawn"
        if self._fingerprint(last.notice_version, purpose) != current_fp:
            return "terms_changed"
        return None

    def _fingerprint(self, version: int | None, purpose: Purpose) -> str | None:
        notice = self._by_version.get(version) if version is not None else None
        return notice.fingerprints.get(str(purpose)) if notice is not None else None

    def granted(self, purpose: Purpose, at: datetime) -> bool:
        """True while the last grant/withdraw recorded up to ``at`` is a grant (whether
        or not today's notice terms still cover it): what a withdrawal can withdraw."""
        past = [e for e in self.events if e.purpose == purpose and e.at <= at
                and e.action is not ConsentAction.ACKNOWLEDGE]
        return bool(past) and past[-1].action is ConsentAction.GRANT

    # -- which recordings are legal -------------------------------------------

    def check_acknowledge(self, version: int, at: datetime) -> None:
        self._check_live(at)
        self._check_in_force(version, at)

    def check_grant(self, purpose: Purpose, version: int, at: datetime) -> None:
        self._check_live(at)
        if not purpose.needs_consent:
            raise InvalidInput("delivery rests on contract necessity (PIPL Art. 13(1)(2)) and "
                               "takes no consent: record an acknowledgement of the notice")
        notice = self._check_in_force(version, at)
        if not notice.declares(purpose):
            if purpose.kind is PurposeKind.PARTNER_SHARING:
                raise InvalidInput(
                    f"partner {purpose.partner_id} is not named in notice version {version}; "
                    "Art. 23 requires the recipient to be named before consent is asked")
            raise InvalidInput(f"notice version {version} does not declare purpose {purpose}")
        if self.restricted_since is not None and at >= self.restricted_since:
            raise Conflict("a deletion request for this person is pending or deferred; "
                           "no new consent is recorded until it is closed")
        if self.allows(purpose, at):
            raise Conflict(f"consent for {purpose} is already in force under version {version}")

    def check_withdraw(self, purpose: Purpose, at: datetime) -> None:
        self._check_live(at)
        if not purpose.needs_consent:
            raise InvalidInput("delivery rests on contract necessity, not consent, so there is "
                               "nothing to withdraw; to stop it cancel the shipment or ask "
                               "for deletion")
        if not self.granted(purpose, at):
            raise Conflict(f"no consent for {purpose} is in force; nothing to withdraw")

    def _check_live(self, at: datetime) -> None:
        if self.erased_at is not None:
            raise Conflict("this person's PI was erased; nothing can be recorded for them")
        latest = self.events[-1].at if self.events else None
        if latest is not None and at < latest:
            # A back-dated record would rewrite what the gate already decided.
            raise Conflict("a consent record cannot be dated before the person's latest one")

    def _check_in_force(self, version: int, at: datetime) -> NoticeTerms:
        notice = self.notice_in_force(at)
        if notice is None:
            raise Conflict("no privacy notice is published yet; publish one first")
        if version != notice.version:
            # Consent to a superseded notice is not informed consent (Art. 14).
            raise Conflict(f"notice version {version} is not the one in force "
                           f"(version {notice.version}); show and record that one")
        return notice


def purposes_of(fingerprints: Iterable[str]) -> list[Purpose]:
    """The purposes a notice version declares, in a stable order."""
    return sorted((Purpose.parse(p) for p in fingerprints),
                  key=lambda p: (list(PurposeKind).index(p.kind), p.partner_id or ""))
