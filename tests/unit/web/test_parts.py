"""Pure pieces of the web layer: consumer session tokens, deadline timers, the
notice's heading levels."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

from parcelguard.web.consumer_proof import TOKEN_MINUTES, party_of, session_token, signing_key
from parcelguard.web.consumers import Party
from parcelguard.web.portals.consumer import _demote
from parcelguard.web.sections import due_cell

T0 = datetime(2026, 11, 11, 9, tzinfo=UTC)
KEY = b"k" * 32
PARTY = Party("ent-01", "sub-0123456789abcdef", "SF0000000000018", "recipient")


def test_a_signed_party_round_trips_until_it_expires() -> None:
    token = session_token(KEY, PARTY, T0)
    assert party_of(KEY, token, T0 + timedelta(minutes=1)) == PARTY
    assert party_of(KEY, token, T0 + timedelta(minutes=TOKEN_MINUTES + 1)) is None


def test_a_tampered_or_foreign_token_is_refused() -> None:
    token = session_token(KEY, PARTY, T0)
    other = session_token(KEY, Party("ent-02", PARTY.subject_id, PARTY.waybill_no, "sender"),
                          T0)
    assert party_of(b"x" * 32, token, T0) is None  # another deployment's key
    assert party_of(KEY, token[:-4] + "AAAA", T0) is None
    assert party_of(KEY, "not base64 at all!", T0) is None
    assert party_of(KEY, other, T0) != PARTY


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


def test_the_token_key_lives_in_the_home_shared_by_every_worker(tmp_path: Path) -> None:
    first = signing_key(tmp_path / "home")  # one worker creates it
    second = signing_key(tmp_path / "home")  # another, or a restart, reads the same
    assert first == second
    assert len(first) == 32
    [path] = (tmp_path / "home" / "keys").iterdir()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    token = session_token(first, PARTY, T0)
    assert party_of(second, token, T0) == PARTY
