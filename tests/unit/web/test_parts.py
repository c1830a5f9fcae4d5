"""Pure pieces of the web layer: consumer proof tokens, deadline timers, the notice's
heading levels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from parcelguard.web.consumers import TOKEN_MINUTES, Party, sign, unsign
from parcelguard.web.portals.consumer import _demote
from parcelguard.web.sections import due_cell

T0 = datetime(2026, 11, 11, 9, tzinfo=UTC)
KEY = b"k" * 32
PARTY = Party("ent-01", "sub-0123456789abcdef", "SF0000000000018", "recipient")


def test_a_signed_party_round_trips_until_it_expires() -> None:
    token = sign(KEY, PARTY, T0)
    assert unsign(KEY, token, T0 + timedelta(minutes=1)) == PARTY
    assert unsign(KEY, token, T0 + timedelta(minutes=TOKEN_MINUTES + 1)) is None


def test_a_tampered_or_foreign_token_is_refused() -> None:
    token = sign(KEY, PARTY, T0)
    other = sign(KEY, Party("ent-02", PARTY.subject_id, PARTY.waybill_no, "sender"), T0)
    assert unsign(b"x" * 32, token, T0) is None  # another process's key
    assert unsign(KEY, token[:-4] + "AAAA", T0) is None
    assert unsign(KEY, "not base64 at all!", T0) is None
    assert unsign(KEY, other, T0) != PARTY


def test_deadline_timers() -> None:
    due = T0 + timedelta(hours=4)
    left = due_cell(due, None, T0 + timedelta(hours=3, minutes=30))
    assert (left.text, left.args, left.cls) == ("%(h)s h left", {"h": "0.5"}, "warn")
    late = due_cell(due, None, T0 + timedelta(hours=10))
    assert (late.args, late.cls) == ({"h": "6.0"}, "overdue")
    assert due_cell(due, T0 + timedelta(hours=5), T0 + timedelta(hours=9)).text == "late"
    assert due_cell(due, T0 + timedelta(hours=1), T0 + timedelta(hours=9)).text == "on time"
    assert due_cell(None, None, T0).text == "—"


def test_the_notice_sits_below_the_page_heading() -> None:
    fragment = "<section><h1>Notice</h1><h2>1.</h2><h3>Delivery</h3></section>"
    assert _demote(fragment) == "<section><h2>Notice</h2><h3>1.</h3><h4>Delivery</h4></section>"
