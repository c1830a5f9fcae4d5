"""Counters that slow down guessing and flooding, kept in the database so every
process behind a load balancer sees the same counts.

A counter is keyed by a hash of (scope, enterprise, value): the value is a receipt
code or the keyed hash of a source address, never the address itself. Failures are
counted in a fixed window; reaching the limit locks the key for the lockout period,
during which even a correct secret is refused (otherwise the lock would be an
oracle for the right answer).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from parcelguard.channel.models import ChannelThrottle


def throttle_key(scope: str, enterprise_id: str, value: str) -> str:
    return hashlib.sha256(f"{scope}\x00{enterprise_id}\x00{value}".encode()).hexdigest()


@dataclass(frozen=True)
class Limit:
    max_count: int
    window: timedelta
    lockout: timedelta


def _row(session: Session, key: str) -> ChannelThrottle | None:
    return session.get(ChannelThrottle, key, with_for_update=True)


def locked(session: Session, key: str, now: datetime) -> bool:
    row = session.get(ChannelThrottle, key)
    return row is not None and row.locked_until is not None and row.locked_until > now


def count(session: Session, key: str, now: datetime, window: timedelta) -> int:
    """How many were counted in the current window."""
    row = session.get(ChannelThrottle, key)
    if row is None or now - row.window_start >= window:
        return 0
    return row.count


def hit(session: Session, key: str, now: datetime, limit: Limit) -> bool:
    """Count one more; True when this reached the limit and locked the key."""
    row = _row(session, key)
    if row is None:
        row = ChannelThrottle(key=key, window_start=now, count=0, locked_until=None)
        session.add(row)
    elif now - row.window_start >= limit.window:
        row.window_start, row.count = now, 0
    row.count += 1
    reached = row.count >= limit.max_count
    if reached:
        row.locked_until = now + limit.lockout
    session.flush()
    return reached


def reset(session: Session, key: str) -> None:
    row = session.get(ChannelThrottle, key)
    if row is not None:
        row.count, row.locked_until = 0, None
        session.flush()
