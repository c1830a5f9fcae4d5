"""Log-in lock-out on real SQLite and PostgreSQL: the limit locks, each further lock
of the same key lasts twice as long, a success clears the username but not the
source, and only hashes of usernames and addresses are stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.identity import lockout
from parcelguard.identity.models import LoginThrottle

T0 = datetime(2026, 12, 6, 9, tzinfo=UTC)
LIMITS = lockout.LoginLimits(account_failures=5, source_failures=8,
                             window=timedelta(minutes=15), lockout=timedelta(seconds=60),
                             max_lockout=timedelta(minutes=10))


def _fail(session: Session, n: int, at: datetime, username: str = "alice",
          source: str | None = "198.51.100.7") -> None:
    for _ in range(n):
        lockout.record_failure(session, username=username, source=source, now=at,
                               limits=LIMITS)


def test_locks_back_off_and_clear(session: Session) -> None:
    _fail(session, 4, T0)
    assert lockout.locked_for(session, username="alice", source=None, now=T0) is None
    _fail(session, 1, T0)
    assert lockout.locked_for(session, username="Alice ", source=None, now=T0) == \
        timedelta(seconds=60)
    later = T0 + timedelta(seconds=61)
    assert lockout.locked_for(session, username="alice", source=None, now=later) is None
    _fail(session, 5, later, source="203.0.113.9")
    assert lockout.locked_for(session, username="alice", source=None, now=later) == \
        timedelta(seconds=120)  # the second lock: twice as long
    lockout.record_success(session, username="alice")
    assert lockout.locked_for(session, username="alice", source=None, now=later) is None
    # the first source saw 5 failures, the second 5: neither reached 8
    assert lockout.locked_for(session, username="bob", source="198.51.100.7",
                              now=later) is None
    _fail(session, 3, later, username="carol")
    wait = lockout.locked_for(session, username="dave", source="198.51.100.7", now=later)
    assert wait == timedelta(seconds=60)  # the source: 5 + 3 failures, whatever the names
    keys = list(session.scalars(select(LoginThrottle.key)))
    assert all(len(k) == 64 and "alice" not in k and "198.51" not in k for k in keys)


def test_unknown_usernames_lock_like_known_ones(session: Session) -> None:
    _fail(session, 5, T0, username="no.such.person", source="192.0.2.1")
    assert lockout.locked_for(session, username="no.such.person", source=None,
                              now=T0) == timedelta(seconds=60)


def test_lock_is_capped(session: Session) -> None:
    at = T0
    for _ in range(8):
        _fail(session, 5, at, username="erin", source=None)
        wait = lockout.locked_for(session, username="erin", source=None, now=at)
        assert wait is not None
        assert wait <= LIMITS.max_lockout
        at += wait + timedelta(seconds=1)
    assert wait == LIMITS.max_lockout
