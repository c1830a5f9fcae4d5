"""Staff: who works where and when, with the benign roster churn of a real carrier.

Staffing follows the simulated load (a courier handles ~170 pickups and deliveries a
day, a sorting shift ~1,500 parcels) so per-employee volumes look like a real
network's. The churn (leavers, transfers, new hires waiting for their background
check, a spare PDA) is deliberate: it is what a naive detector mistakes for abuse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from random import Random

from parcelguard.simulation.model import TZ_NAME, Employee
from parcelguard.simulation.network import Network
from parcelguard.simulation.sink import EventSink
from parcelguard.simulation.timeline import DAY, HOUR, MINUTE, Timeline, at

COURIER_DAILY_LOAD = 170
SORTER_SHIFT_LOAD = 1_500


@dataclass(slots=True, eq=False)
class Staff:
    """Mutable working record of an employee while the world is generated."""

    id: str
    enterprise_id: str
    role: str
    station_id: str  # at window start
    shift: tuple[float, float]  # local hours; end < start means an overnight shift
    device: str
    office_ip: str | None  # workstation staff; couriers get a mobile IP per day
    hired_t: int
    check: str = "passed"  # status at window start
    trained: bool = True
    ips_by_day: dict[int, str] = field(default_factory=dict)
    active_from_day: int | None = None  # None: already working
    check_changes: list[tuple[int, str]] = field(default_factory=list)
    trained_t: int | None = None
    left_t: int | None = None
    transfer: tuple[int, str] | None = None  # (calendar day from which, new station id)
    swap: tuple[int, str] | None = None  # (time from which, spare PDA) on one day
    in_snapshot: bool = True  # emitted in the roster sync at window start

    def station_on(self, day: int) -> str:
        if self.transfer is not None and day >= self.transfer[0]:
            return self.transfer[1]
        return self.station_id

    def device_at(self, t: int) -> str:
        swap = self.swap
        if swap is not None and swap[0] <= t < (swap[0] // DAY + 1) * DAY:
            return swap[1]
        return self.device

    def ip_at(self, t: int) -> str | None:
        return self.office_ip if self.office_ip is not None else self.ips_by_day.get(t // DAY)

    def shift_dict(self) -> dict[str, str]:
        return {"start": _hhmm(self.shift[0]), "end": _hhmm(self.shift[1]), "tz": TZ_NAME}


def hash_minutes(key: str) -> int:
    """0-39 minutes derived from an id: a stable jitter that needs no RNG draw, so
    emitting the roster does not shift any other random stream."""
    return sum(map(ord, key)) * 37 % 40


def _hhmm(hours: float) -> str:
    h = int(hours)
    return f"{h % 24:02d}:{round((hours - h) * 60):02d}"


def mobile_ip(rng: Random) -> str:
    """An address in 100.64.0.0/10, the carrier-grade NAT space PDAs on 4G/5G get."""
    return f"100.{rng.randint(64, 127)}.{rng.randrange(256)}.{rng.randint(1, 254)}"


class Roster:
    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self.staff: list[Staff] = []
        self.by_ent_role: dict[tuple[str, str], list[Staff]] = {}
        self.by_station_role: dict[tuple[str, str], list[Staff]] = {}
        self._couriers: dict[tuple[str, int], list[Staff]] = {}
        self._serial: dict[str, int] = {}

    def new_id(self, net: Network) -> str:
        n = self._serial.get(net.enterprise.id, 0) + 1
        self._serial[net.enterprise.id] = n
        return f"emp-{net.number:02d}-{n:04d}"

    def add(self, s: Staff) -> Staff:
        self.staff.append(s)
        self.by_ent_role.setdefault((s.enterprise_id, s.role), []).append(s)
        self.by_station_role.setdefault((s.station_id, s.role), []).append(s)
        return s

    def of(self, enterprise_id: str, role: str) -> list[Staff]:
        return self.by_ent_role.get((enterprise_id, role), [])

    def at_station(self, station_id: str, role: str) -> list[Staff]:
        return self.by_station_role.get((station_id, role), [])

    def index_couriers(self) -> None:
        """Who delivers from which outlet on which day (after churn is decided)."""
        tl = self.timeline
        self._couriers.clear()
        for s in self.staff:
            if s.role != "courier":
                continue
            for day in range(tl.first_day, tl.last_day + 1):
                if s.active_from_day is not None and day < s.active_from_day:
                    continue
                if s.left_t is not None and day > s.left_t // DAY:
                    continue
                self._couriers.setdefault((s.station_on(day), day), []).append(s)

    def couriers_on(self, station_id: str, day: int) -> list[Staff]:
        tl = self.timeline
        day = min(max(day, tl.first_day), tl.last_day)
        return self._couriers.get((station_id, day), [])

    def employees(self) -> list[Employee]:
        tl = self.timeline
        out = []
        for s in self.staff:
            check = s.check_changes[-1][1] if s.check_changes else s.check
            station = s.transfer[1] if s.transfer is not None else s.station_id
            out.append(Employee(
                id=s.id, enterprise_id=s.enterprise_id, station_id=station, role=s.role,
                shift_start=_hhmm(s.shift[0]), shift_end=_hhmm(s.shift[1]), tz=TZ_NAME,
                hired_at=tl.dt(s.hired_t), background_check=check,
                trained=s.trained or s.trained_t is not None,
                left_at=tl.dt(s.left_t) if s.left_t is not None else None,
            ))
        return out


def hire(roster: Roster, rng: Random, net: Network, role: str, station_id: str, *,
         shift: tuple[float, float], host: int) -> Staff:
    """Add an employee already working at window start (callers adjust the rest)."""
    tl = roster.timeline
    # tenure: most staff have been there a year or more, couriers turn over faster
    tenure_days = rng.randint(20, 400) if role == "courier" else rng.randint(60, 2500)
    hired_t = tl.w0 - tenure_days * DAY + at(0, rng.uniform(9, 11))
    station_no = int(station_id.rsplit("-", 1)[1])
    if role == "courier":
        device, office_ip = f"pda-{net.number:02d}-{rng.getrandbits(32):08x}", None
    else:
        device = f"ws-{station_id}-{host:03d}"
        office_ip = f"10.{net.number}.{station_no}.{host}"
    s = Staff(id=roster.new_id(net), enterprise_id=net.enterprise.id, role=role,
              station_id=station_id, shift=shift, device=device, office_ip=office_ip,
              hired_t=hired_t)
    if role == "courier":
        s.ips_by_day = {d: mobile_ip(rng) for d in range(tl.first_day, tl.last_day + 1)}
    return roster.add(s)


def staff_network(roster: Roster, rng: Random, net: Network, loads: dict[str, float],
                  complaints_per_day: float) -> None:
    """Hire the standing staff of one carrier, sized by its daily loads."""
    for outlet in net.outlets:
        n = max(3, math.ceil(loads.get(outlet.id, 0.0) / COURIER_DAILY_LOAD))
        for i in range(n):
            # two common courier rotas; the later one covers evening deliveries
            start = 8.0 if rng.random() < 0.7 else 9.0
            hire(roster, rng, net, "courier", outlet.id, shift=(start, start + 12), host=i + 1)
    for hub in net.hubs:
        per_shift = max(2, math.ceil(loads.get(hub.id, 0.0) / 2 / SORTER_SHIFT_LOAD))
        host = 1
        for shift in ((8.0, 20.0), (20.0, 8.0)):
            for _ in range(per_shift):
                hire(roster, rng, net, "sorter", hub.id, shift=shift, host=host)
                host += 1
        for _ in range(rng.randint(2, 3)):
            hire(roster, rng, net, "warehouse", hub.id, shift=(8.0, 20.0), host=host)
            host += 1
    hq = net.hq.id
    host = 200
    n_cs = max(2, math.ceil(complaints_per_day / 12))
    for i in range(n_cs):
        shift = (9.0, 18.0) if i % 2 == 0 else (12.0, 21.0)  # evening cover
        hire(roster, rng, net, "customer_service", hq, shift=shift, host=host)
        host += 1
    for role, count, shift in (("security", 2, (9.0, 18.0)), ("it", 2, (9.5, 18.5)),
                               ("admin", rng.randint(1, 2), (9.0, 18.0))):
        for _ in range(count):
            hire(roster, rng, net, role, hq, shift=shift, host=host)
            host += 1


def add_churn(roster: Roster, rng: Random, net: Network) -> None:
    """Benign roster changes during the window (decided before any work is simulated
    so the daily courier lists already reflect them)."""
    tl = roster.timeline
    couriers = list(roster.of(net.enterprise.id, "courier"))
    rng.shuffle(couriers)
    staffed = {o.id: len(roster.at_station(o.id, "courier")) for o in net.outlets}

    def take(keep: int) -> Staff | None:
        """A courier whose outlet still has ``keep`` others on the rota without them."""
        for i in range(len(couriers) - 1, -1, -1):
            station = couriers[i].station_id
            if staffed[station] > keep:
                staffed[station] -= 1
                return couriers.pop(i)
        return None

    last = tl.days - 1
    # Leavers: the first leaves after the baseline day, so the after_leaving scenario
    # always has someone whose account outlives their job.
    for i in range(1 + (rng.random() < 0.5)):
        s = take(keep=2) or (take(keep=1) if i == 0 else None)
        if s is None:
            break
        day = tl.window_day(0 if i == 0 else rng.randint(0, last))
        # HR closes the file after the last shift, and after any late delivery
        s.left_t = at(day, s.shift[1] + rng.uniform(1.0, 2.0))
    if tl.days >= 2 and len(net.outlets) > 1 and rng.random() < 0.8:
        s = take(keep=2)
        if s is not None:
            k = rng.randint(1, last)
            others = [o for o in net.outlets if o.id != s.station_id]
            s.transfer = (tl.window_day(k) // DAY, rng.choice(others).id)
    for _ in range(rng.randint(1, 2)):
        if not couriers:
            break
        s = couriers.pop()  # a spare PDA does not take anyone off the rota
        day = tl.window_day(rng.randint(0, last))
        spare = f"pda-{net.number:02d}-{rng.getrandbits(32):08x}"
        s.swap = (at(day, rng.uniform(11.5, 14.5)), spare)
    # New hires still waiting for their background check: they do not touch PI until
    # it passes and they finish training, then join the next day's rota.
    for _ in range(rng.randint(1, 2)):
        outlet = rng.choice(net.outlets)
        s = hire(roster, rng, net, "courier", outlet.id, shift=(8.0, 20.0),
                 host=90 + rng.randrange(9))
        s.hired_t = tl.w0 - rng.randint(2, 9) * DAY + at(0, rng.uniform(9, 11))
        s.check, s.trained = "pending", False
        k = rng.randint(0, tl.days)  # == days: still pending when the window closes
        if k < tl.days:
            t = at(tl.window_day(k), rng.uniform(10, 16))
            if rng.random() < 0.15:
                s.check_changes.append((t, "failed"))
                s.left_t = t + rng.randint(1 * HOUR, 3 * HOUR)
                s.active_from_day = 10**9  # never works
            else:
                s.check_changes.append((t, "passed"))
                s.trained_t = t + rng.randint(1 * HOUR, 3 * HOUR)
                s.active_from_day = tl.window_day(k) // DAY + 1
        else:
            s.active_from_day = 10**9


def emit_roster_events(sink: EventSink, roster: Roster) -> None:
    """The roster sync at window start, then every change at its own time."""
    tl = roster.timeline
    for s in roster.staff:
        ent, sid = s.enterprise_id, s.id
        t0 = tl.w0 if s.in_snapshot else s.hired_t
        sink.employee(t0, ent, sid, "hired", role=s.role, station_id=s.station_id,
                      shift=s.shift_dict())
        sink.employee(t0, ent, sid, "background_check", background_check=s.check)
        if s.trained:
            sink.employee(t0, ent, sid, "training_completed")
        for t, status in s.check_changes:
            sink.employee(t, ent, sid, "background_check", background_check=status)
        if s.trained_t is not None:
            sink.employee(s.trained_t, ent, sid, "training_completed")
        if s.transfer is not None:
            day, station = s.transfer
            # effective from the morning rota; HR books it just before
            t = at(day * DAY, 7.0) + (hash_minutes(sid) * MINUTE)
            sink.employee(t, ent, sid, "transferred", role=s.role, station_id=station)
        if s.left_t is not None:
            sink.employee(s.left_t, ent, sid, "left", station_id=s.station_on(s.left_t // DAY))

