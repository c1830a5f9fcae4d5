"""The casting and recording kit the scenario generators share."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from random import Random

from parcelguard.simulation.network import Network
from parcelguard.simulation.parcels import ParcelPlan
from parcelguard.simulation.roster import Roster, Staff
from parcelguard.simulation.sink import Event, EventSink
from parcelguard.simulation.timeline import Timeline

FULL_RECIPIENT = ("recipient_name", "recipient_phone", "recipient_address")
PHONE_ADDRESS = ("recipient_phone", "recipient_address")


@dataclass(frozen=True, slots=True)
class Who:
    """Who acts, from where: everything an access event says about its source."""

    actor_type: str
    actor_id: str
    station: str | None
    device: str | None
    ip: str | None
    channel: str

    @classmethod
    def staff(cls, s: Staff, t: int, channel: str, *, station: str | None = None,
              device: str | None = None, ip: str | None = None) -> Who:
        """An employee on their own device and network unless told otherwise."""
        return cls("employee", s.id, station or s.station_id, device or s.device_at(t),
                   ip or s.ip_at(t), channel)


@dataclass(slots=True, eq=False)
class Case:
    """One scenario instance while it is generated: its carrier, actors and events."""

    kind: str
    net: Network
    actors: set[str] = field(default_factory=set)
    events: list[tuple[int, Event]] = field(default_factory=list)
    hire: Staff | None = None  # prepared before the roster is emitted


class Ctx:
    """What a scenario generator may use, plus the recording of its events."""

    def __init__(self, rng: Random, sink: EventSink, roster: Roster) -> None:
        self.rng = rng
        # Event counts shrink with the world so a toy test world is not mostly abuse;
        # the default world (~6,000 parcels per carrier a day) gets full strength.
        self.scale = 1.0
        self.sink = sink
        self.roster = roster
        self.tl: Timeline = roster.timeline
        self.cast: set[str] = set()
        self.plans: dict[str, list[ParcelPlan]] = {}
        self._created: dict[str, list[int]] = {}

    def access(self, case: Case, t: int, who: Who, action: str, *,
               fields: Iterable[str] = (), waybill: str | None = None, records: int = 0,
               purpose: str = "other", outcome: str = "allowed") -> None:
        """Emit one malicious access and record it as the case's ground truth."""
        ev = self.sink.access(t, case.net.enterprise.id, who.actor_type, who.actor_id, action,
                              station_id=who.station, fields=list(fields), waybill_no=waybill,
                              record_count=records, purpose=purpose, outcome=outcome,
                              device_id=who.device, ip=who.ip, channel=who.channel)
        if ev is not None:  # a tail running past the window end is simply not there
            case.events.append((t, ev))
            case.actors.add(who.actor_id)

    def count(self, lo: int, hi: int, floor: int) -> int:
        """A scenario's number of events, drawn from [lo, hi] and scaled to the world."""
        return max(floor, round(self.rng.randint(lo, hi) * self.scale))

    def abuse_day(self) -> int:
        """Start (seconds) of a random day after the baseline day."""
        return self.tl.window_day(self.rng.randint(1, self.tl.days - 1))

    def abuse_days(self) -> list[int]:
        """Starts of every day after the baseline day."""
        return [self.tl.window_day(k) for k in range(1, self.tl.days)]

    def uncast(self, net: Network, role: str, station_id: str | None = None,
               *, strict: bool = True) -> list[Staff]:
        """Staff not yet in a scenario, never anyone leaving or waiting for a check
        (their accesses would read as another kind of abuse). Strictly, also nobody
        transferring or on a spare PDA, so a scenario never borrows the benign signal
        of another; tiny worlds fall back to the relaxed pool."""
        return [
            s for s in self.roster.of(net.enterprise.id, role)
            if s.id not in self.cast and s.left_t is None and s.active_from_day is None
            and s.check == "passed" and (station_id is None or s.station_id == station_id)
            and not (strict and (s.transfer is not None or s.swap is not None))
        ]

    def ordinary(self, net: Network, role: str, station_id: str | None = None) -> Staff:
        """Cast one uncast employee of the role (optionally at a station)."""
        pool = (self.uncast(net, role, station_id)
                or self.uncast(net, role, station_id, strict=False))
        if not pool:
            raise ValueError(f"{net.enterprise.id} has too few {role} staff to inject abuse; "
                             "simulate more stations or parcels")
        s = self.rng.choice(pool)
        self.cast.add(s.id)
        return s

    def victims(self, net: Network, before: int, n: int,
                keep: Callable[[ParcelPlan], bool] | None = None,
                actor: Staff | None = None) -> list[ParcelPlan]:
        """Up to n distinct parcels of the carrier that exist at ``before``, in random
        order, never one ever assigned to ``actor`` (a reveal inside an assignment is
        legitimate and must not be counted as abuse). Rejection sampling over the
        time-sorted prefix keeps this cheap when a scenario asks hundreds of times; a
        full scan covers the rare thin pools."""
        if actor is not None:
            actor_id, inner = actor.id, keep
            keep = (lambda p: actor_id not in p.assignees) if inner is None else (
                lambda p: actor_id not in p.assignees and inner(p))
        plans = self.plans[net.enterprise.id]
        if net.enterprise.id not in self._created:
            self._created[net.enterprise.id] = [p.created_t for p in plans]
        end = bisect_left(self._created[net.enterprise.id], before)
        rng = self.rng
        picked: dict[int, ParcelPlan] = {}
        for _ in range(30 * n):
            if len(picked) >= n or end == 0:
                break
            i = int(rng.random() * end)
            if i not in picked and (keep is None or keep(plans[i])):
                picked[i] = plans[i]
        if len(picked) < n:
            pool = [i for i in range(end) if i not in picked and (keep is None or keep(plans[i]))]
            for i in rng.sample(pool, min(n - len(picked), len(pool))):
                picked[i] = plans[i]
        return list(picked.values())

    def spread(self, t0: int, duration: int, n: int) -> list[int]:
        """n human-paced times in [t0, t0 + duration), sorted."""
        return sorted(t0 + int(self.rng.random() * duration) for _ in range(n))
