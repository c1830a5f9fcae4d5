"""The gate's pure policy: every refusal has its reason, and messages carry no PI."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parcelguard.access import policy
from parcelguard.access.policy import (
    Actor,
    AssignmentFacts,
    Attempt,
    Cover,
    ExportState,
    Op,
    SubjectFacts,
    approval_refusal,
    classify_cover,
    decide,
    export_run_refusal,
    justification_problem,
)
from parcelguard.access.reasons import PURPOSE_NAMES, REASONS, deny

COURIER = Actor(role="courier", status="active", background_check="passed")
DELIVERY = Attempt(op=Op.REVEAL, purpose="delivery",
                   fields=frozenset({"recipient_name", "recipient_phone"}), permitted=True,
                   actor=COURIER, cover=Cover.COVERED, subjects=(SubjectFacts(),))
GOOD = "收件人来电称包裹被冒领，需要核实收件信息以便报警处理"


def reason(a: Attempt) -> str:
    return decide(a).reason


def test_an_assigned_courier_may_see_the_recipient() -> None:
    assert decide(DELIVERY).allowed


@pytest.mark.parametrize(("change", "expected"), [
    ({"permitted": False}, "no_permission"),
    ({"actor": None}, "no_employee"),
    ({"actor": replace(COURIER, status="left")}, "employee_left"),
    ({"actor": replace(COURIER, background_check="pending")}, "background_check_pending"),
    ({"actor": replace(COURIER, background_check="failed")}, "background_check_failed"),
    ({"actor": replace(COURIER, suspended=True)}, "suspended"),
    ({"purpose": "curiosity"}, "unknown_purpose"),
    ({"fields": frozenset({"salary"})}, "unknown_field"),
    ({"fields": frozenset()}, "no_fields"),
    ({"purpose": "sorting"}, "role_purpose"),
    ({"fields": frozenset({"sender_phone"})}, "field_not_allowed"),
    ({"fields": frozenset({"sender_id_number"})}, "id_number_pickup_only"),
    ({"actor": replace(COURIER, role="warehouse")}, "role_masked_only"),
    ({"actor": replace(COURIER, role="it")}, "role_masked_only"),
    ({"parcel_found": False}, "parcel_not_found"),
    ({"cover": Cover.NONE}, "no_assignment"),
    ({"cover": Cover.OTHER_PURPOSE}, "other_purpose"),
    ({"cover": Cover.NOT_STARTED}, "assignment_not_started"),
    ({"cover": Cover.EXPIRED}, "assignment_expired"),
    ({"cover": Cover.REVOKED}, "assignment_revoked"),
    ({"subjects": (SubjectFacts(erased=True),)}, "subject_erased"),
])
def test_every_reveal_refusal_has_its_reason(change: dict[str, object], expected: str) -> None:
    assert reason(replace(DELIVERY, **change)) == expected  # type: ignore[arg-type]


def test_the_courier_hears_a_sentence_they_understand() -> None:
    d = decide(replace(DELIVERY, cover=Cover.NONE))
    assert not d.allowed
    assert d.message_zh == "这件快递不在你的派送任务中"
    assert d.message_en == "This parcel is not assigned to you for delivery"


def test_who_the_caller_is_is_checked_before_the_parcel() -> None:
    # A refused caller learns nothing about which waybills exist.
    a = replace(DELIVERY, permitted=False, parcel_found=False, cover=Cover.NONE)
    assert reason(a) == "no_permission"


def test_the_sender_id_number_is_seen_at_pickup_only() -> None:
    pickup = replace(DELIVERY, purpose="pickup", fields=frozenset({"sender_id_number"}))
    assert decide(pickup).allowed
    cs = Actor(role="customer_service", status="active", background_check="passed")
    assert reason(replace(pickup, purpose="customer_service", actor=cs)) == \
        "id_number_pickup_only"


def test_a_pending_deletion_stops_all_but_moving_the_parcel() -> None:
    restricted = (SubjectFacts(restricted=True),)
    assert decide(replace(DELIVERY, subjects=restricted)).allowed
    cs = Actor(role="customer_service", status="active", background_check="passed")
    a = replace(DELIVERY, actor=cs, purpose="customer_service", subjects=restricted)
    assert reason(a) == "subject_restricted"
    both = (SubjectFacts(restricted=True), SubjectFacts(erased=True))
    assert reason(replace(a, subjects=both)) == "subject_erased"


def test_search_is_for_customer_service_and_security_only() -> None:
    s = Attempt(op=Op.SEARCH, purpose="customer_service", fields=frozenset(
        {"recipient_name", "recipient_phone"}), permitted=True,
        actor=Actor("customer_service", "active", "passed"))
    assert decide(s).allowed
    assert reason(replace(s, actor=COURIER, purpose="delivery")) == "search_role"
    assert reason(replace(s, purpose="delivery")) == "search_purpose"
    nowhere = Actor("customer_service", "active", "passed", has_station=False)
    assert reason(replace(s, actor=nowhere, last4=True)) == "search_needs_station"
    assert decide(replace(s, actor=nowhere)).allowed  # a full number needs no station


def test_export_limits() -> None:
    sec = Actor("security", "active", "passed")
    e = Attempt(op=Op.EXPORT, purpose="security", fields=frozenset({"recipient_phone"}),
                permitted=True, actor=sec, record_count=policy.EXPORT_MAX_RECORDS)
    assert decide(e).allowed
    assert reason(replace(e, record_count=policy.EXPORT_MAX_RECORDS + 1)) == \
        "export_too_large"
    assert reason(replace(e, purpose="delivery")) == "export_role"
    assert reason(replace(e, fields=frozenset({"sender_id_number"}))) == \
        "id_number_pickup_only"


PENDING = ExportState("pending", "acc-1", "emp-1", None)


def test_export_runs_need_approval_and_lapse() -> None:
    run = export_run_refusal
    assert run(PENDING, caller_employee_id="emp-1", at_us=0).reason == "export_needs_approval"
    ok = replace(PENDING, status="approved", expires_at_us=100)
    assert run(ok, caller_employee_id="emp-1", at_us=99) is None
    assert run(ok, caller_employee_id="emp-1", at_us=100).reason == "export_expired"
    assert run(ok, caller_employee_id="emp-2", at_us=0).reason == "export_not_yours"
    assert run(replace(ok, status="exported"), caller_employee_id="emp-1",
               at_us=0).reason == "export_done"
    assert run(replace(ok, status="rejected"), caller_employee_id="emp-1",
               at_us=0).reason == "export_rejected"


@pytest.mark.parametrize(("kw", "expected"), [
    ({"permitted": False}, "no_permission"),
    ({"approver_account_id": "acc-1"}, "self_approval"),
    ({"approver_employee_id": "emp-1"}, "self_approval"),
    ({"approver_account_id": None}, "approver_not_allowed"),
    ({"approver": replace(COURIER, status="left")}, "approver_not_allowed"),
    ({"approver": replace(COURIER, suspended=True)}, "approver_not_allowed"),
    ({"approver": None}, "approver_not_allowed"),
    ({"approver": replace(COURIER, background_check="pending")}, "approver_not_allowed"),
])
def test_approval_refusals(kw: dict[str, object], expected: str) -> None:
    args: dict[str, object] = {"permitted": True, "approver_account_id": "acc-2",
                               "approver_employee_id": "emp-2", "approver": COURIER}
    refusal = approval_refusal(PENDING, **{**args, **kw})  # type: ignore[arg-type]
    assert refusal is not None
    assert refusal.reason == expected
    assert approval_refusal(PENDING, **args) is None  # type: ignore[arg-type]
    done = replace(PENDING, status="approved")
    assert approval_refusal(done, **args).reason == "not_pending"  # type: ignore[arg-type,union-attr]


def test_an_account_without_a_vetted_employee_may_not_approve() -> None:
    """Issue 15: an admin account with no employee record or background check could
    approve a bulk export."""
    refusal = approval_refusal(PENDING, permitted=True, approver_account_id="acc-admin",
                               approver_employee_id=None, approver=None)
    assert refusal is not None
    assert refusal.reason == "approver_not_allowed"


@pytest.mark.parametrize(("text", "expected"), [
    ("", "justification_missing"),
    ("急用", "justification_missing"),
    ("x" * 1001, "justification_too_long"),
    ("请核实收件人 138 1234 5678 的包裹去向，情况紧急", "justification_pi"),
    ("请核实身份证 11010519491231002X 的寄件人身份", "justification_pi"),
    ("收件人手机一三八一二三四五六七八，请尽快联系核实", "justification_pi"),
    ("联系 someone@example.com 核实包裹去向，情况紧急", "justification_pi"),
])
def test_justifications_are_words_not_pi(text: str, expected: str) -> None:
    refusal = justification_problem(text)
    assert refusal is not None
    assert refusal.reason == expected
    assert "138" not in refusal.message
    assert "@" not in refusal.message


def test_a_justification_may_cite_the_waybill() -> None:
    assert justification_problem(GOOD + " 运单 SF0000000000017") is None


def test_break_glass_purpose_follows_the_role() -> None:
    bg = Attempt(op=Op.BREAK_GLASS, purpose="security", fields=frozenset({"recipient_phone"}),
                 permitted=True, actor=Actor("security", "active", "passed"),
                 justification=GOOD)
    assert decide(bg).allowed
    assert reason(replace(bg, actor=COURIER)) == "break_glass_role"
    assert reason(replace(bg, justification=None)) == "justification_missing"
    assert reason(replace(bg, fields=frozenset({"sender_id_number"}))) == \
        "id_number_pickup_only"
    assert policy.BREAK_GLASS == {"security": "security", "customer_service": "other"}


def test_label_printing_is_for_assigned_sorting_and_couriers() -> None:
    label = Attempt(op=Op.PRINT_LABEL, purpose="sorting", fields=frozenset(), permitted=True,
                    actor=Actor("sorter", "active", "passed"), cover=Cover.COVERED)
    assert decide(label).allowed
    assert reason(replace(label, cover=Cover.NONE)) == "no_assignment"
    assert reason(replace(label, purpose="delivery")) == "role_purpose"


def test_the_other_purpose_has_no_basis_without_consent() -> None:
    # No table grants "other"; the subject rule is the second line of defence.
    assert policy._check_subjects(replace(DELIVERY, purpose="other")).reason == \
        "no_legal_basis"  # type: ignore[union-attr]


def _a(purpose: str, start: int, end: int, revoked: bool = False) -> AssignmentFacts:
    return AssignmentFacts(purpose, start, end, revoked)


def test_classify_cover_explains_the_most_specific_reason() -> None:
    assert classify_cover([], "delivery", 5) is Cover.NONE
    assert classify_cover([_a("pickup", 0, 10)], "delivery", 5) is Cover.OTHER_PURPOSE
    assert classify_cover([_a("delivery", 0, 10)], "delivery", 5) is Cover.COVERED
    assert classify_cover([_a("delivery", 0, 10)], "delivery", 10) is Cover.EXPIRED
    assert classify_cover([_a("delivery", 6, 10)], "delivery", 5) is Cover.NOT_STARTED
    assert classify_cover([_a("delivery", 0, 10, True)], "delivery", 5) is Cover.REVOKED
    assert classify_cover([_a("customer_service", 0, 10)], "complaint_handling",
                          5) is Cover.COVERED


@given(st.sampled_from(sorted(REASONS)), st.sampled_from(sorted(PURPOSE_NAMES)),
       st.integers(0, 10**4))
def test_every_message_is_a_filled_template(code: str, purpose: str, n: int) -> None:
    d = deny(code, purpose=purpose, n=n, fields=frozenset({"recipient_phone"}))
    for text in (d.message_zh, d.message_en):
        assert text
        assert "{" not in text
        assert "}" not in text
