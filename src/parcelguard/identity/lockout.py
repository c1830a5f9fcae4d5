"""Lock-out with back-off for staff log-ins, per username and per source address.

Every failed log-in (wrong password, unknown username, wrong second factor) counts
against both keys in a fixed window. Reaching the limit locks the key; while it is
locked even the right password and code are refused, so the lock is no oracle for
them. Each further lock of a key lasts twice as long as the one before. Usernames
are counted whether or not an account has them, so a lock never tells which exist.

Counters live in the database, so every server process behind a load balancer sees
the same counts; keys are hashes, so neither usernames nor addresses are stored.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from parcelguard.identity.models import LoginThrottle


@dataclass(frozen=True)
class LoginLimits:
    account_failures: int
    source_failures: int
    window: timedelta
    lockout: timedelta
    max_lockout: timedelta


def _key(scope: str, value: str) -> str:
    return hashlib.sha256(f"login\x00{scope}\x00{value}".encode()).hexdigest()


def _keys(username: str, source: str | None) -> list[tuple[str, str]]:
    keys = [("username", _key("username", username.strip().casefold()))]
    if source:
        keys.append(("source", _key("source", source)))
    return keys


def locked_for(session: Session, *, username: str, source: str | None,
               now: datetime) -> timedelta | None:
    """How long the username or the source stays locked; None when neither is."""
    waits = []
    for _, key in _keys(username, source):
        row = session.get(LoginThrottle, key)
        if row is not None and row.locked_until is not None and row.locked_until > now:
            waits.append(row.locked_until - now)
    return max(waits) if waits else None


def record_failure(session: Session, *, username: str, source: str | None, now: datetime,
                   limits: LoginLimits) -> None:
    for scope, key in _keys(username, source):
        row = session.get(LoginThrottle, key, with_for_update=True)
        if row is None:
            row = LoginThrottle(key=key, failures=0, window_start=now, locked_until=None,
                                lockouts=0)
            session.add(row)
        elif now - row.window_start >= limits.window:
            row.window_start, row.failures = now, 0
        row.failures += 1
        limit = limits.account_failures if scope == "username" else limits.source_failures
        if row.failures >= limit:
            row.locked_until = now + min(limits.lockout * 2 ** min(row.lockouts, 16),
                                         limits.max_lockout)
            row.lockouts += 1
            row.failures, row.window_start = 0, now
    session.flush()


def record_success(session: Session, *, username: str) -> None:
    """A log-in with password and code clears the username's count and back-off. The
    source's count stays: an attacker with one account of their own must not be able
    to reset the counter of the address they guess from."""
    row = session.get(LoginThrottle, _key("username", username.strip().casefold()))
    if row is not None:
        row.failures, row.lockouts, row.locked_until = 0, 0, None
        session.flush()
