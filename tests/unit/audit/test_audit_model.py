"""Pure audit logic: the shipped rulebook, scoring, the rotation rule, periods, the
engagement lifecycle, and the OpenDP mechanism's stated epsilon."""

from __future__ import annotations

import copy
import json
from datetime import datetime

import pytest

from parcelguard.audit import dp, rulebook
from parcelguard.audit.controls import EVALUATORS, load_rulebook
from parcelguard.audit.model import (
    PERIOD_TZ,
    ControlResult,
    Measurement,
    aggregate,
    judge,
    move,
    parse_period,
    rotation_problem,
    weakest,
)
from parcelguard.core.errors import Conflict, InvalidInput

REQUIRED = {"pi-encryption", "notice-consent", "privacy-waybill", "reveal-assignment",
            "ledger-integrity", "background-check", "training", "emergency-plan",
            "incident-reporting", "complaint-handling", "sanctions", "audit-frequency",
            "pi-officer"}


def test_the_shipped_rulebook_covers_the_issue_list() -> None:
    rb = load_rulebook()
    assert set(rb.ids) >= REQUIRED
    for c in rb.controls:
        assert c.title_zh
        assert c.title_en
        assert c.legal_basis
        assert c.weight > 0
        assert c.check in ("automated", "attestation")
    assert rb.get("pi-officer").check == "attestation"
    assert len(rb.sha256) == 64


def _doc() -> dict[str, object]:
    loaded: dict[str, object] = json.loads(rulebook.DEFAULT_PATH.read_text(encoding="utf-8"))
    return loaded


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d["controls"].append(copy.deepcopy(d["controls"][0])), "duplicate id"),
    (lambda d: d["controls"][0].update(evaluator="nope"), "no evaluator named"),
    (lambda d: d["controls"][0].update(check="vibes"), "check must be one of"),
    (lambda d: d["controls"][0]["scoring"].update(fail_at=1.5), "bad side of pass_at"),
    (lambda d: d["controls"][0].update(weight=0), "weight must be positive"),
    (lambda d: d["controls"][0].update(legal_basis=[]), "legal_basis"),
    (lambda d: d["controls"][0].pop("title_zh"), "missing 'title_zh'"),
])
def test_a_broken_rulebook_is_refused_with_the_control_named(mutate, message) -> None:  # type: ignore[no-untyped-def]
    doc = _doc()
    mutate(doc)
    with pytest.raises(rulebook.RulebookError, match=message):
        rulebook.parse(doc, EVALUATORS)


def test_scoring_is_linear_between_thresholds_both_ways() -> None:
    rb = load_rulebook()
    higher = rb.get("reveal-assignment")  # pass 0.995, fail 0.9
    assert [judge(higher, Measurement(v, "")).status for v in (1.0, 0.95, 0.9)] == [
        "pass", "partial", "fail"]
    assert judge(higher, Measurement(0.9475, "")).score == pytest.approx(0.5)
    lower = rb.get("access-denials")  # pass 0.002, fail 0.02
    assert judge(lower, Measurement(0.011, "")).score == pytest.approx(0.5)
    assert judge(lower, Measurement(0.5, "")).status == "fail"
    assert judge(lower, Measurement.not_evaluable("no table")).score is None


def _r(cid: str, score: float | None, weight: float) -> ControlResult:
    status = "not_evaluable" if score is None else "pass" if score == 1 else "partial"
    return ControlResult(cid, 1, status, score, score, weight, "", {})  # type: ignore[arg-type]


def test_not_evaluable_controls_leave_the_mean_and_show_in_coverage() -> None:
    results = [_r("a", 1.0, 6), _r("b", 0.5, 2), _r("c", None, 2)]
    total = aggregate(results)
    assert total.score == pytest.approx(87.5)
    assert total.coverage == pytest.approx(0.8)
    assert aggregate([_r("c", None, 2)]).score is None
    assert [r.control_id for r in weakest([*results, _r("d", 0.8, 10)])] == ["d", "b"]


def test_rotation_rule_for_firm_and_lead() -> None:
    # "不得连续三次以上" with Civil Code Art. 1259 ("以上" includes the number): two in a
    # row is the most, the third is barred.
    same_firm = [("f1", "l1"), ("f1", "l2")]
    assert "audit firm f1" in (rotation_problem(same_firm, "f1", "l4") or "")
    assert rotation_problem(same_firm, "f2", "l4") is None
    same_lead = [("f1", "l1"), ("f2", "l1")]  # a lead moving between firms
    assert "lead auditor l1" in (rotation_problem(same_lead, "f4", "l1") or "")
    assert rotation_problem(same_firm[:1], "f1", "l1") is None  # a second in a row is allowed
    broken = [("f1", "l1"), ("f1", "l1"), ("f2", "l2"), ("f1", "l1")]
    assert rotation_problem(broken, "f1", "l1") is None  # only the last two count


def test_periods_are_calendar_periods_in_china() -> None:
    q4 = parse_period("2026-Q4")
    assert q4.start == datetime(2026, 10, 1, tzinfo=PERIOD_TZ)
    assert q4.end == datetime(2027, 1, 1, tzinfo=PERIOD_TZ)
    assert parse_period("2026-12").end == datetime(2027, 1, 1, tzinfo=PERIOD_TZ)
    assert parse_period("2026-11-09..2026-11-12").key == "2026-11-09..2026-11-12"
    for bad in ("2026-13", "2026-Q5", "last month", "2026-11-12..2026-11-09"):
        with pytest.raises(InvalidInput):
            parse_period(bad)


def test_the_engagement_lifecycle_refuses_illegal_moves() -> None:
    assert move("planned", "fieldwork") == "fieldwork"
    assert move("fieldwork", "delivered") == "delivered"
    for current, to in (("planned", "delivered"), ("delivered", "fieldwork"),
                        ("cancelled", "planned")):
        with pytest.raises(Conflict):
            move(current, to)


def test_the_dp_mechanism_states_opendps_own_epsilon() -> None:
    mech = dp.mechanism(epsilon=0.5, d_in=2)
    assert mech.epsilon == pytest.approx(0.5)
    assert mech.epsilon <= 0.5 + 1e-12
    assert mech.scale == pytest.approx(4.0)
    rel = mech.release({"a": 0, "b": 1000})
    assert set(rel.values) == {"a", "b"}
    assert rel.values["a"] >= 0
    assert abs(rel.values["b"] - 1000) < 200  # scale 4: a miss of 200 has odds ~e^-50


def test_budgets_are_kept_per_calendar_month() -> None:
    assert dp.months_of(parse_period("2026-Q4")) == ["2026-10", "2026-11", "2026-12"]
    assert dp.months_of(parse_period("2026-12")) == ["2026-12"]
    with pytest.raises(InvalidInput, match="whole calendar months"):
        dp.months_of(parse_period("2026-11-09..2026-11-12"))
