"""Simulation time: integer seconds since local midnight of the start date.

Integers keep the hot loops cheap (no datetime arithmetic per event) and make day
and time-of-day a division away. Timestamps are formatted once per distinct second
and cached, because strftime on a million events costs seconds.
"""

from __future__ import annotations

from bisect import bisect
from datetime import datetime, timedelta
from itertools import accumulate
from random import Random

from parcelguard.simulation.model import CST

DAY = 86_400
HOUR = 3_600
MINUTE = 60

# Parcel creation by hour of day (merchants print e-waybills): quiet at night, a
# late-morning and an afternoon peak, a tail into the evening.
CREATION_BY_HOUR = (
    0.4, 0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1.5, 4.0, 7.0, 10.0, 10.5,
    6.5, 7.5, 9.5, 10.0, 9.0, 7.0, 5.0, 4.0, 3.0, 2.0, 1.4, 0.8,
)
_CREATION_CUM = tuple(accumulate(CREATION_BY_HOUR))


class Timeline:
    """Maps simulation seconds to RFC 3339 strings and datetimes."""

    def __init__(self, start: datetime, days: int, warmup_days: float = 2.0) -> None:
        local = start.astimezone(CST)
        self.anchor = local.replace(hour=0, minute=0, second=0, microsecond=0)
        self.w0 = int((local - self.anchor).total_seconds())  # window start
        self.w1 = self.w0 + days * DAY  # window end (exclusive)
        self.days = days
        # Parcels are created from this point on so the window opens on a network
        # already in steady state: a parcel takes one to two days from creation to
        # delivery, so with two days of warm-up day 1 already has full delivery rounds.
        self.warm0 = self.w0 - int(warmup_days * DAY)
        self.first_day = self.warm0 // DAY
        self.last_day = (self.w1 - 1) // DAY
        self._prefix: dict[int, str] = {}
        self._cache: dict[int, str] = {}

    def fmt(self, t: int) -> str:
        s = self._cache.get(t)
        if s is None:
            day, sod = divmod(t, DAY)
            prefix = self._prefix.get(day)
            if prefix is None:
                prefix = (self.anchor + timedelta(days=day)).strftime("%Y-%m-%dT")
                self._prefix[day] = prefix
            h, rem = divmod(sod, HOUR)
            s = f"{prefix}{h:02d}:{rem // MINUTE:02d}:{rem % MINUTE:02d}+08:00"
            self._cache[t] = s
        return s

    def dt(self, t: int) -> datetime:
        return self.anchor + timedelta(seconds=t)

    def window_day(self, k: int) -> int:
        """Start (seconds) of the k-th calendar day of the window, 0-based."""
        return (self.w0 // DAY + k) * DAY

    def creation_time(self, rng: Random, day_start: int) -> int:
        hour = bisect(_CREATION_CUM, rng.random() * _CREATION_CUM[-1])
        return day_start + hour * HOUR + int(rng.random() * HOUR)


def at(day_start: int, hh: float) -> int:
    """Seconds for a local time of day given in fractional hours."""
    return day_start + int(hh * HOUR)
