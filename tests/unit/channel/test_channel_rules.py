"""Pure channel rules: attachments by magic bytes, receipt codes and secrets, the
criminal thresholds (insiders at half), lifecycles and deadlines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parcelguard.channel import attachments, receipts, rules, thresholds
from parcelguard.core.errors import Conflict, InvalidInput
from parcelguard.incidents.grading import assess_criminal

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"x" * 64
ALLOWED = ["image/png", "image/jpeg", "application/pdf", "text/plain"]


@pytest.mark.parametrize(("declared", "data"), [("image/png", PNG), ("image/jpeg", JPEG),
                                                ("image/jpg", JPEG), ("application/pdf", PDF),
                                                ("text/plain", "诈骗电话记录\n".encode())])
def test_known_types_are_accepted_by_their_bytes(declared: str, data: bytes) -> None:
    ok = attachments.check(declared, data, allowed=ALLOWED, max_bytes=1024)
    assert ok.content_type == declared.replace("jpg", "jpeg")
    assert "bytes" in repr(ok)
    assert str(data[:4]) not in repr(ok)


@pytest.mark.parametrize(("declared", "data"), [
    ("image/png", b"MZ\x90\x00 an executable renamed"),  # Windows PE
    ("image/png", JPEG),  # the declared type must agree with the bytes
    ("text/plain", b"\x7fELF\x02\x01"),  # binary is not text
    ("application/x-sh", b"#!/bin/sh\nrm -rf /\n"),  # not an accepted type at all
    ("text/plain", b""),
])
def test_anything_else_is_refused(declared: str, data: bytes) -> None:
    with pytest.raises(InvalidInput):
        attachments.check(declared, data, allowed=ALLOWED, max_bytes=1024)


def test_size_and_count_limits() -> None:
    with pytest.raises(InvalidInput, match="larger than"):
        attachments.check("text/plain", b"a" * 1025, allowed=ALLOWED, max_bytes=1024)
    with pytest.raises(InvalidInput, match="larger than"):
        attachments.decode_b64("QUFB" * 1000, limit=1024)  # refused before decoding
    with pytest.raises(InvalidInput, match="at most 5"):
        attachments.check_count(4, 2, max_count=5)


def test_receipt_codes_and_secrets() -> None:
    code = receipts.new_receipt_code()
    assert receipts.RECEIPT_RE.match(code)
    assert receipts.normalise_receipt(code.lower().replace("-", " ")) == code
    assert receipts.normalise_receipt("not a code") is None
    secret = receipts.new_secret()
    stored = receipts.hash_secret(secret)
    assert stored.startswith("$argon2id$")
    assert secret not in stored
    assert receipts.verify_secret(stored, secret)
    assert not receipts.verify_secret(stored, secret + "x")
    # an unknown receipt has no hash: same work, never true
    assert not receipts.verify_secret(None, secret)


def _by_cat(checks: list[thresholds.ThresholdCheck]) -> dict[str, thresholds.ThresholdCheck]:
    return {c.category: c for c in checks}


def test_insiders_reach_the_threshold_at_half() -> None:
    outsider = _by_cat(thresholds.assess({"other": 2_600}, insider=False))["other"]
    insider = _by_cat(thresholds.assess({"other": 2_600}, insider=True))["other"]
    assert not outsider.reached
    assert outsider.applied == 5_000
    assert insider.reached
    assert insider.applied == 2_500
    assert _by_cat(thresholds.assess({"location": 25}, insider=True))["location"].reached
    assert _by_cat(thresholds.assess({"other": 25_000}, insider=True))[
        "other"].especially_serious


def test_records_of_several_kinds_add_up_proportionally() -> None:
    checks = _by_cat(thresholds.assess({"location": 30, "other": 2_000}, insider=False))
    assert not checks["location"].reached
    assert not checks["other"].reached
    assert checks["combined"].reached  # 30/50 + 2000/5000 = 1.0
    with pytest.raises(ValueError, match="unknown"):
        thresholds.assess({"phone_numbers": 1}, insider=False)


def test_report_lifecycle_and_deadlines() -> None:
    t0 = datetime(2026, 11, 11, tzinfo=UTC)
    due = rules.deadlines(t0, ack_hours=24, answer_days=45)
    assert due.ack_due == t0 + timedelta(hours=24)
    assert due.answer_due == t0 + timedelta(days=30)  # never beyond the Postal Law's 30 days
    assert rules.acknowledge("received") == "acknowledged"
    with pytest.raises(Conflict):
        rules.acknowledge("acknowledged")
    with pytest.raises(Conflict):
        rules.close("acknowledged")
    assert rules.overdue(None, t0, t0 + timedelta(seconds=1))
    assert not rules.overdue(t0, t0, t0 + timedelta(days=1))


def test_referral_and_data_request_lifecycles() -> None:
    assert rules.accept_referral("sent") == "accepted"
    with pytest.raises(Conflict):
        rules.conclude_referral("sent", "case_filed")
    with pytest.raises(InvalidInput):
        rules.conclude_referral("accepted", "whatever")
    assert rules.decide_data_request("refused", "ordered") == "ordered"
    with pytest.raises(Conflict):
        rules.decide_data_request("approved", "refused")
    with pytest.raises(InvalidInput, match="names waybills or actor ids"):
        rules.check_scope({"from": "2026-11-01T00:00:00+08:00"})
    with pytest.raises(InvalidInput, match="unknown scope"):
        rules.check_scope({"everything": True})


def test_the_package_decides_as_the_incident_does_on_exact_shares() -> None:
    """The referral package's verdict (crime_suspected) is the one that proposed the
    referral: shares that add up to exactly one reach the threshold (a float sum of
    3/50 + 282/500 + 1,880/5,000 fell just short, so the police read "no crime
    suspected" on a referral proposed for crossing it)."""
    checks = _by_cat(thresholds.assess({"location": 3, "accommodation": 282, "other": 1_880},
                                       insider=False))
    assert checks["combined"].reached
    assert (checks["combined"].count, checks["combined"].applied) == (5_000, 5_000)
    short = _by_cat(thresholds.assess({"location": 3, "accommodation": 282, "other": 1_879},
                                      insider=False))["combined"]
    assert not short.reached
    assert short.count < short.applied  # never shown as 5,000 of 5,000 when short
    assert short.as_dict()["share_of_threshold"] == 0.9998
    for insider in (False, True):  # every mix exactly at one, and one record short
        half = 2 if insider else 1
        for loc in range(50 // half + 1):
            for acc in range(0, 500 // half + 1, 7):
                # the applied "other" threshold x (1 - loc/applied - acc/applied)
                other = 5_000 // half - 100 * loc - 10 * acc
                if other < 0:
                    continue
                for o in (other, other - 1):
                    counts = {k: v for k, v in (("location", loc), ("accommodation", acc),
                                                ("other", o)) if v > 0}
                    assert thresholds.crime_suspected(thresholds.assess(
                        counts, insider=insider)) is assess_criminal(
                        counts, insider=insider).crossed, counts
