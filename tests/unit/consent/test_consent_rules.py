"""Pure consent rules: every purpose, withdrawal immediacy, notice changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parcelguard.consent.rules import (
    DELIVERY,
    Basis,
    ConsentAction,
    ConsentEvent,
    ConsentState,
    NoticeTerms,
    Purpose,
    PurposeKind,
)
from parcelguard.core.errors import Conflict, InvalidInput

T0 = datetime(2026, 11, 11, 8, 0, tzinfo=UTC)
MARKETING = Purpose(PurposeKind.MARKETING)
LOCATION = Purpose(PurposeKind.LOCATION_TRACKING)
PARTNER_B = Purpose.parse("partner_sharing:partner-b")
PARTNER_C = Purpose.parse("partner_sharing:partner-c")

V1_FP = {"delivery": "d1", "location_tracking": "l1", "marketing": "m1",
         "partner_sharing:partner-b": "pb1"}


def notice(version: int, at: datetime, **changes: str | None) -> NoticeTerms:
    fps = {**V1_FP, **changes}
    return NoticeTerms(version, at, {k: v for k, v in fps.items() if v is not None})


class History:
    """Builds a ConsentState one recorded event at a time, like the service does."""

    def __init__(self, *notices: NoticeTerms) -> None:
        self.notices = list(notices) or [notice(1, T0)]
        self.events: list[ConsentEvent] = []

    def add(self, purpose: Purpose, action: ConsentAction, at: datetime,
            version: int | None = 1) -> None:
        self.events.append(ConsentEvent(purpose, action, at, version, len(self.events)))

    def state(self, *, restricted_since: datetime | None = None,
              erased_at: datetime | None = None) -> ConsentState:
        return ConsentState(self.notices, list(self.events),
                            restricted_since=restricted_since, erased_at=erased_at)


@pytest.mark.parametrize(("text", "kind", "basis", "sensitive"), [
    ("delivery", PurposeKind.DELIVERY, Basis.CONTRACT, False),
    ("partner_sharing:partner-b", PurposeKind.PARTNER_SHARING, Basis.SEPARATE_CONSENT, False),
    ("location_tracking", PurposeKind.LOCATION_TRACKING, Basis.SEPARATE_CONSENT, True),
    ("marketing", PurposeKind.MARKETING, Basis.CONSENT, False),
])
def test_each_purpose_has_its_legal_basis(text: str, kind: PurposeKind, basis: Basis,
                                          sensitive: bool) -> None:
    p = Purpose.parse(text)
    assert (p.kind, p.basis, p.sensitive) == (kind, basis, sensitive)
    assert str(p) == text
    assert p.needs_consent is (basis is not Basis.CONTRACT)


@pytest.mark.parametrize(("text", "message"), [
    ("shipping", "unknown purpose"),
    ("partner_sharing", "needs the partner"),
    ("marketing:partner-b", "takes no"),
    ("partner_sharing:Bad Partner!", "partner id"),
    ("", "unknown purpose"),
])
def test_bad_purposes_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        Purpose.parse(text)


def test_delivery_needs_only_an_acknowledged_notice() -> None:
    h = History()
    assert h.state().decide(DELIVERY, T0 + timedelta(hours=1)).reason == "not_acknowledged"
    h.add(DELIVERY, ConsentAction.ACKNOWLEDGE, T0 + timedelta(hours=1))
    st = h.state()
    assert st.allows(DELIVERY, T0 + timedelta(hours=1))
    # an acknowledgement is not a consent to anything optional
    assert not st.allows(MARKETING, T0 + timedelta(hours=2))
    assert not st.allows(LOCATION, T0 + timedelta(hours=2))


def test_nothing_is_allowed_before_a_notice_is_published() -> None:
    st = History(notice(1, T0)).state()
    assert st.decide(DELIVERY, T0 - timedelta(seconds=1)).reason == "no_notice"
    with pytest.raises(Conflict, match="no privacy notice"):
        st.check_acknowledge(1, T0 - timedelta(seconds=1))


def test_withdrawal_takes_effect_at_the_instant_it_is_recorded() -> None:
    h = History()
    granted, withdrawn = T0 + timedelta(minutes=5), T0 + timedelta(hours=3)
    h.add(MARKETING, ConsentAction.GRANT, granted)
    h.add(MARKETING, ConsentAction.WITHDRAW, withdrawn, None)
    st = h.state()
    assert not st.allows(MARKETING, granted - timedelta(microseconds=1))
    assert st.allows(MARKETING, granted)
    assert st.allows(MARKETING, withdrawn - timedelta(microseconds=1))  # history stays true
    assert st.decide(MARKETING, withdrawn).reason == "withdrawn"
    assert not st.allows(MARKETING, withdrawn + timedelta(days=365))


def test_a_withdrawal_in_the_same_instant_as_the_grant_wins_by_order() -> None:
    h = History()
    h.add(MARKETING, ConsentAction.GRANT, T0)
    h.add(MARKETING, ConsentAction.WITHDRAW, T0, None)
    assert not h.state().allows(MARKETING, T0)


def test_separate_consents_do_not_cover_each_other() -> None:
    h = History()
    h.add(MARKETING, ConsentAction.GRANT, T0)
    h.add(PARTNER_B, ConsentAction.GRANT, T0)
    st = h.state()
    assert st.allows(MARKETING, T0)
    assert st.allows(PARTNER_B, T0)
    assert st.decide(LOCATION, T0).reason == "no_consent"  # sensitive: its own consent
    assert st.decide(PARTNER_C, T0).reason == "not_in_notice"  # another partner: never


def test_consent_to_an_unnamed_partner_is_refused() -> None:
    st = History().state()
    with pytest.raises(InvalidInput, match="not named in notice version 1"):
        st.check_grant(PARTNER_C, 1, T0)
    st.check_grant(PARTNER_B, 1, T0)  # named: fine


def test_a_changed_purpose_needs_fresh_consent() -> None:
    later = T0 + timedelta(days=30)
    # v2 adds a data type to marketing (new fingerprint); location terms are unchanged
    h = History(notice(1, T0), notice(2, later, marketing="m2"))
    h.add(MARKETING, ConsentAction.GRANT, T0 + timedelta(days=1))
    h.add(LOCATION, ConsentAction.GRANT, T0 + timedelta(days=1))
    st = h.state()
    assert st.allows(MARKETING, later - timedelta(seconds=1))
    assert st.decide(MARKETING, later).reason == "terms_changed"
    assert st.allows(LOCATION, later)  # untouched terms: the old consent still counts
    with pytest.raises(Conflict, match="not the one in force"):
        st.check_grant(MARKETING, 1, later)  # consent to a superseded text is refused
    st.check_grant(MARKETING, 2, later)
    h.add(MARKETING, ConsentAction.GRANT, later, 2)
    assert h.state().allows(MARKETING, later)


def test_a_partner_dropped_from_the_notice_is_no_longer_allowed() -> None:
    later = T0 + timedelta(days=30)
    h = History(notice(1, T0), notice(2, later, **{"partner_sharing:partner-b": None}))
    h.add(PARTNER_B, ConsentAction.GRANT, T0)
    assert h.state().allows(PARTNER_B, later - timedelta(seconds=1))
    assert h.state().decide(PARTNER_B, later).reason == "not_in_notice"


def test_delivery_acknowledgement_survives_only_unchanged_delivery_terms() -> None:
    v2_at, v3_at = T0 + timedelta(days=10), T0 + timedelta(days=20)
    h = History(notice(1, T0), notice(2, v2_at, marketing="m2"),
                notice(3, v3_at, delivery="d3"))
    h.add(DELIVERY, ConsentAction.ACKNOWLEDGE, T0 + timedelta(days=1))
    st = h.state()
    assert st.allows(DELIVERY, v2_at)  # a marketing change does not touch delivery
    assert st.decide(DELIVERY, v3_at).reason == "not_acknowledged"


def test_recording_rules_refuse_illegal_records() -> None:
    st = History().state()
    with pytest.raises(InvalidInput, match="contract necessity"):
        st.check_grant(DELIVERY, 1, T0)
    with pytest.raises(InvalidInput, match="nothing to withdraw"):
        st.check_withdraw(DELIVERY, T0)
    with pytest.raises(Conflict, match="nothing to withdraw"):
        st.check_withdraw(MARKETING, T0)
    with pytest.raises(InvalidInput, match="does not declare"):
        History(NoticeTerms(1, T0, {"delivery": "d1"})).state().check_grant(MARKETING, 1, T0)
    h = History()
    h.add(MARKETING, ConsentAction.GRANT, T0 + timedelta(hours=1))
    with pytest.raises(Conflict, match="already in force"):
        h.state().check_grant(MARKETING, 1, T0 + timedelta(hours=2))
    with pytest.raises(Conflict, match="cannot be dated before"):
        h.state().check_withdraw(MARKETING, T0)


def test_a_pending_deletion_restricts_everything_but_delivery() -> None:
    h = History()
    h.add(DELIVERY, ConsentAction.ACKNOWLEDGE, T0)
    h.add(MARKETING, ConsentAction.GRANT, T0)
    since = T0 + timedelta(days=2)
    st = h.state(restricted_since=since)
    assert st.allows(MARKETING, since - timedelta(seconds=1))
    assert st.decide(MARKETING, since).reason == "restricted"
    assert st.allows(DELIVERY, since)  # parcels under way still get delivered
    with pytest.raises(Conflict, match="deletion request"):
        st.check_grant(LOCATION, 1, since)


def test_nothing_is_allowed_or_recorded_after_erasure() -> None:
    h = History()
    h.add(DELIVERY, ConsentAction.ACKNOWLEDGE, T0)
    h.add(MARKETING, ConsentAction.GRANT, T0)
    erased = T0 + timedelta(days=1)
    st = h.state(erased_at=erased)
    assert {st.decide(p, erased).reason for p in (DELIVERY, MARKETING)} == {"erased"}
    with pytest.raises(Conflict, match="erased"):
        st.check_acknowledge(1, erased)
