"""Grading at and around each CAC threshold; the criminal thresholds of the SPC/SPP
2017 interpretation (Art. 5), insiders at half."""

from __future__ import annotations

import pytest

from parcelguard.incidents.grading import (
    DataCategory,
    Grade,
    GradeThresholds,
    assess_criminal,
    grade_for,
    reportable_to_cac,
)
from parcelguard.incidents.settings import IncidentSettings

CAC = GradeThresholds(relatively_major=1_000_000, major=10_000_000,
                      particularly_major=100_000_000)


@pytest.mark.parametrize(("people", "grade"), [
    (0, Grade.GENERAL),
    (1, Grade.GENERAL),
    (999_999, Grade.GENERAL),
    (1_000_000, Grade.RELATIVELY_MAJOR),
    (1_000_001, Grade.RELATIVELY_MAJOR),
    (9_999_999, Grade.RELATIVELY_MAJOR),
    (10_000_000, Grade.MAJOR),
    (10_000_001, Grade.MAJOR),
    (99_999_999, Grade.MAJOR),
    (100_000_000, Grade.PARTICULARLY_MAJOR),
    (100_000_001, Grade.PARTICULARLY_MAJOR),
])
def test_grades_at_and_around_each_threshold(people: int, grade: Grade) -> None:
    assert grade_for(people, CAC) is grade


def test_the_settings_defaults_are_the_cac_figures() -> None:
    s = IncidentSettings()
    assert (s.relatively_major_people, s.major_people, s.particularly_major_people) == (
        CAC.relatively_major, CAC.major, CAC.particularly_major)


def test_thresholds_come_from_the_caller() -> None:
    small = GradeThresholds(relatively_major=10, major=100, particularly_major=1_000)
    assert [grade_for(n, small) for n in (9, 10, 99, 100, 999, 1_000)] == [
        Grade.GENERAL, Grade.RELATIVELY_MAJOR, Grade.RELATIVELY_MAJOR, Grade.MAJOR,
        Grade.MAJOR, Grade.PARTICULARLY_MAJOR]


@pytest.mark.parametrize("bad", [(0, 10, 100), (10, 10, 100), (10, 100, 50)])
def test_thresholds_must_rise(bad: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError, match="rising"):
        GradeThresholds(*bad)


def test_negative_people_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        grade_for(-1, CAC)


def test_relatively_major_and_above_go_to_the_cac() -> None:
    assert [reportable_to_cac(g) for g in Grade] == [False, True, True, True]
    assert Grade.PARTICULARLY_MAJOR.zh == "特别重大"


# -- criminal thresholds ---------------------------------------------------------------

TIERS = [(DataCategory.LOCATION, 50), (DataCategory.COMMUNICATIONS, 50),
         (DataCategory.CREDIT, 50), (DataCategory.PROPERTY, 50),
         (DataCategory.ACCOMMODATION, 500), (DataCategory.CALL_LOGS, 500),
         (DataCategory.HEALTH, 500), (DataCategory.TRANSACTION, 500),
         (DataCategory.OTHER, 5_000)]


@pytest.mark.parametrize(("category", "threshold"), TIERS, ids=str)
def test_each_category_crosses_at_its_threshold(category: DataCategory,
                                                threshold: int) -> None:
    assert not assess_criminal({category: threshold - 1}, insider=False).crossed
    assert assess_criminal({category: threshold}, insider=False).crossed


@pytest.mark.parametrize(("category", "threshold"), TIERS, ids=str)
def test_insiders_cross_at_half(category: DataCategory, threshold: int) -> None:
    half = threshold // 2
    assert not assess_criminal({category: half - 1}, insider=True).crossed
    got = assess_criminal({category: half}, insider=True)
    assert got.crossed
    assert got.insider
    assert "Art. 5(8)" in got.basis


def test_waybill_records_are_other_records_insider_2500() -> None:
    assert not assess_criminal({"other": 2_499}, insider=True).crossed
    assert assess_criminal({"other": 2_500}, insider=True).crossed
    assert not assess_criminal({"other": 4_999}, insider=False).crossed


def test_proportions_of_several_categories_add_up() -> None:
    # Art. 5(6): 25 location records (half of 50) and 2,500 other (half of 5,000)
    assert assess_criminal({"location": 25, "other": 2_500}, insider=False).crossed
    assert not assess_criminal({"location": 24, "other": 2_500}, insider=False).crossed


def test_ten_times_is_especially_serious() -> None:
    assert not assess_criminal({"other": 49_999}, insider=False).especially_serious
    assert assess_criminal({"other": 50_000}, insider=False).especially_serious
    assert assess_criminal({"other": 25_000}, insider=True).especially_serious


def test_gains_count_alone() -> None:
    assert assess_criminal({}, insider=False, gains_rmb=5_000).crossed
    assert not assess_criminal({}, insider=False, gains_rmb=4_999).crossed
    assert assess_criminal({}, insider=True, gains_rmb=2_500).crossed


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        assess_criminal({"other": -1}, insider=False)
    with pytest.raises(ValueError, match="passport"):
        assess_criminal({"passport": 1}, insider=False)


@pytest.mark.parametrize(("category", "threshold"), TIERS, ids=str)
def test_especially_serious_at_ten_times_exactly(category: DataCategory,
                                                 threshold: int) -> None:
    for insider, factor in ((False, 1), (True, 2)):
        line = threshold * 10 // factor
        below = assess_criminal({category: line - 1}, insider=insider)
        at = assess_criminal({category: line}, insider=insider)
        assert (below.especially_serious, at.especially_serious) == (False, True)


def test_the_basis_states_exact_figures_never_rounded_up() -> None:
    """Issue 15: 24,999 insider records read "10.00 of the standard"."""
    got = assess_criminal({"other": 24_999}, insider=True)
    assert not got.especially_serious
    assert "24,999 distinct other records against a threshold of 2,500" in got.basis
    assert "especially serious not reached (24,999 < 25,000)" in got.basis
    assert "10.00" not in got.basis
    assert got.ratio < 10
    mixed = assess_criminal({"other": 2_499, "location": 24}, insider=False)
    assert not mixed.crossed  # 2,499/5,000 + 24/50 = 0.9798
    assert "combined share of the thresholds 0.9798..." in mixed.basis
