"""The conduct rules on evaluation windows (pure)."""

from __future__ import annotations

import pytest

from parcelguard.conduct import rules
from parcelguard.conduct.settings import ConductSettings
from parcelguard.core.errors import InvalidInput

S = ConductSettings()


def kinds(evals: list[tuple[int, list[str]]], signals: int = 0) -> list[str]:
    w = rules.window(evals, leak_signals=signals, low_rating=S.low_rating)
    return [v.kind for v in rules.decide(w, S)]


def test_consistently_good_service_is_rewarded() -> None:
    assert kinds([(5, ["on_time"])] * 9 + [(4, [])]) == ["reward"]
    assert kinds([(5, [])] * 5) == []  # too few evaluations yet


def test_a_privacy_tag_blocks_the_reward_and_warns_with_training() -> None:
    assert kinds([(5, [])] * 11 + [(4, ["label_exposed"])]) == ["warning", "training"]


def test_a_leak_signal_alone_blocks_the_reward_but_does_not_sanction() -> None:
    assert kinds([(5, [])] * 12, signals=1) == []


def test_a_low_mean_warns() -> None:
    assert kinds([(2, ["late"])] * 3 + [(3, [])] * 3) == ["warning"]


def test_repeated_privacy_tags_suspend() -> None:
    evals = [(3, ["personal_phone_call"])] * 3 + [(5, [])] * 3
    assert kinds(evals) == ["suspension", "warning", "training"]


def test_low_ratings_with_an_evidence_link_are_proposed_for_the_police() -> None:
    low = [(1, ["rude"])] * 5
    assert kinds(low) == ["warning"]  # low ratings alone: a service problem
    assert kinds(low, signals=1)[0] == "police_referral"


def test_ratings_and_tags_without_evidence_lead_to_review_not_the_police() -> None:
    """Issue 15: a courier was referred on low ratings plus one consumer tag, with no
    evidence event at all."""
    got = kinds([(1, ["data_misuse"])] + [(2, [])] * 2)
    assert "police_referral" not in got
    assert got[0] == "review"
    assert kinds([(1, ["data_misuse"])] + [(2, [])] * 2, signals=1)[0] == "police_referral"


def test_evaluations_are_checked() -> None:
    with pytest.raises(InvalidInput):
        rules.check_evaluation(6, [])
    with pytest.raises(InvalidInput, match="unknown tags"):
        rules.check_evaluation(3, ["sold_my_data_lol"])
    assert rules.check_evaluation(4, ["polite", "on_time", "polite"]) == ["on_time", "polite"]
