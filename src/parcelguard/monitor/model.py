"""The monitor's view of an event and of what detectors emit. Pure, no I/O.

``Ev`` decodes only the fields detectors read and ignores the rest, which makes the
decode about as cheap as the ledger's strict one (~0.5 us an event); the contract
itself is enforced at ingest, not here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import msgspec

US = 1_000_000
MINUTE_US = 60 * US
HOUR_US = 3_600 * US
DAY_US = 86_400 * US

# Actions that read PI of one parcel; coverage by an assignment is checked for these.
WAYBILL_READS = frozenset({"reveal", "print_label", "share"})
# Actions that put PI in front of the actor (counted for volume, scraping, status).
PI_ACTIONS = frozenset({"reveal", "print_label", "share", "search", "export"})
LOGINS = frozenset({"login", "login_failed"})


class Shift(msgspec.Struct, gc=False):
    start: str | None = None
    end: str | None = None
    tz: str | None = None


class Ev(msgspec.Struct, gc=False, kw_only=True):
    """One event, as far as the monitor cares. Unknown fields are ignored."""

    kind: str
    event_id: str
    occurred_at: str
    enterprise_id: str
    actor_type: str | None = None
    actor_id: str | None = None
    action: str | None = None
    waybill_no: str | None = None
    record_count: int = 0
    outcome: str | None = None
    purpose: str | None = None
    device_id: str | None = None
    ip: str | None = None
    station_id: str | None = None
    channel: str | None = None
    step: str | None = None
    assignee_id: str | None = None
    assignment_until: str | None = None
    employee_id: str | None = None
    change: str | None = None
    role: str | None = None
    background_check: str | None = None
    shift: Shift | None = None


decoder = msgspec.json.Decoder(Ev)


class Annot(msgspec.Struct, gc=False, array_like=True, frozen=True):
    """What the waybill stage knows about one waybill access.

    ``station_match`` is None when the parcel or the actor's station is unknown."""

    covered: bool
    station_match: bool | None
    reprints: int


class AlertUpdate(msgspec.Struct, gc=False, kw_only=True):
    """A detector fired (``fire``) or added evidence to its open episode
    (``evidence``). Folded into alerts by ``alerts.AlertBook``."""

    enterprise_id: str
    detector: str
    subject_type: str
    subject_id: str
    fire: bool
    t_us: int
    first_us: int
    event_ids: list[str]
    score: float
    summary: str


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TIME_CACHE: dict[str, int] = {}
_MIDNIGHTS: dict[str, int] = {}
# Hits come from neighbours in time (events of the same second), so a small cache
# that is emptied when full serves as well as a big one; at 1 << 20 it held a
# string and an int per second of a long log (~100 MB after 12 days of events).
_CACHE_MAX = 1 << 14


def _parse(value: str) -> int:
    dt = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    if dt.tzinfo is None:
        raise ValueError("timestamp without offset")
    return (dt - _EPOCH) // timedelta(microseconds=1)


def epoch_us(value: str) -> int:
    """UTC microseconds of an RFC 3339 time. Most events share their second with a
    neighbour (cache), and the usual shape ``YYYY-MM-DDTHH:MM:SS+hh:mm`` is computed
    from a cached midnight: fromisoformat per distinct second would cost a third of
    the monitor's time."""
    us = TIME_CACHE.get(value)
    if us is None:
        if (len(value) == 25 and value[13] == ":" and value[16] == ":"
                and value[19] in "+-" and value[10] in "Tt"):
            key = value[:10] + value[19:]
            base = _MIDNIGHTS.get(key)
            if base is None:
                base = _MIDNIGHTS[key] = _parse(f"{value[:10]}T00:00:00{value[19:]}")
            us = base + (int(value[11:13]) * 3600 + int(value[14:16]) * 60
                         + int(value[17:19])) * US
        else:
            us = _parse(value)
        if len(TIME_CACHE) >= _CACHE_MAX:
            TIME_CACHE.clear()
        TIME_CACHE[value] = us
    return us


def rfc3339(us: int, offset_hours: int) -> str:
    """Format UTC microseconds as RFC 3339 in the configured local offset (seconds
    precision unless the instant has a fraction)."""
    tz = timezone(timedelta(hours=offset_hours))
    dt = _EPOCH + timedelta(microseconds=us)
    spec = "seconds" if us % US == 0 else "microseconds"
    return dt.astimezone(tz).isoformat(timespec=spec)


def hhmm_minutes(value: str | None) -> int | None:
    if not value or len(value) != 5 or value[2] != ":":
        return None
    try:
        return int(value[:2]) * 60 + int(value[3:])
    except ValueError:
        return None
