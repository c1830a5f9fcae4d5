"""The second world: one regional carrier over ``days`` days, in Shanghai time.

Network: a night-sorting hub, ``outlets`` delivery outlets, the last
``franchise_outlets`` of them franchised (their staff are the carrier's insiders all
the same), a customer-service centre with no station, a security desk, an audit
function and one e-commerce partner printing its own labels.

Rhythms (this generator's own): couriers on early (07:00-15:00) or late
(12:00-20:00) shifts with overtime days; sorters on the night shift (22:00-06:00)
at the hub; customer service in two day shifts, with complaint spikes on some days
(three times the workload, complaint handling on the waybills assigned to them);
staff days off; PDAs replaced mid-period; mobile IPs changing every day.

Every waybill read a legitimate worker makes rests on a form the contract allows:
an assignment (any purpose, with or without a station) or the work of their role at
their place (sorting and pickup at their own station, security, audit).
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import msgspec

CST = timezone(timedelta(hours=8))
H = 3_600
MIN = 60
DAY = 86_400
ENT = "ent-w2"
HUB = "w2-hub"
WAYBILL_FIELDS = ("recipient_name", "recipient_phone", "recipient_address")


@dataclass(frozen=True)
class Params:
    seed: int = 1
    days: int = 10
    outlets: int = 6
    franchise_outlets: int = 2
    couriers_per_outlet: int = 6
    parcels_per_outlet_day: int = 450
    sorters: int = 10
    cs_agents: int = 12
    complaint_spike_days: int = 2
    start: datetime = datetime(2026, 12, 1, tzinfo=CST)


@dataclass
class Person:
    id: str
    role: str
    station: str | None
    shift: tuple[int, int]  # local hours (end may pass midnight: 22 -> 30)
    device: str
    ip_base: str
    days_off: set[int] = field(default_factory=set)


@dataclass
class Truth:
    kind: str  # "scenario" | "lookalike"
    name: str
    actors: list[str]
    event_ids: list[str] = field(default_factory=list)
    start: int = 0
    end: int = 0


@dataclass
class World2:
    params: Params
    events: list[dict[str, Any]]
    truths: list[Truth]


class _Gen:
    def __init__(self, p: Params) -> None:
        self.p = p
        self.rng = random.Random(p.seed * 7919 + 15)
        self.t0 = int(p.start.timestamp())
        self.raw: list[tuple[int, int, dict[str, Any]]] = []
        self.seq = 0
        self.truths: list[Truth] = []
        self.people: dict[str, Person] = {}
        self.wb_count = 0

    # -- emitting ------------------------------------------------------------------

    def _emit(self, t: int, doc: dict[str, Any], truth: Truth | None = None) -> str:
        self.seq += 1
        eid = f"w2-{self.p.seed}-{self.seq:08x}"
        at = datetime.fromtimestamp(t, UTC).astimezone(CST).isoformat()
        self.raw.append((t, self.seq, {"event_id": eid, "occurred_at": at,
                                       "enterprise_id": ENT, **doc}))
        if truth is not None:
            truth.event_ids.append(eid)
            truth.start = min(truth.start, t) if truth.start else t
            truth.end = max(truth.end, t)
        return eid

    def parcel(self, t: int, wb: str, step: str, station: str | None, **kw: Any) -> str:
        return self._emit(t, {"kind": "parcel", "waybill_no": wb, "step": step,
                              "station_id": station, **kw})

    def assign(self, t: int, wb: str, who: Person, *, purpose: str | None, hours: float,
               station: str | None) -> None:
        until = datetime.fromtimestamp(t + int(hours * H), UTC).astimezone(CST).isoformat()
        self.parcel(t, wb, "assigned", station, assignee_id=who.id,
                    assignment_purpose=purpose, assignment_until=until)

    def access(self, t: int, who: Person | str, action: str, *, actor_type: str = "employee",
               wb: str | None = None, fields: tuple[str, ...] = (), records: int = 1,
               purpose: str = "other", outcome: str = "allowed", channel: str = "pda",
               device: str | None = None, ip: str | None = None, station: str | None = None,
               truth: Truth | None = None) -> str:
        if isinstance(who, Person):
            actor, station = who.id, who.station if station is None else station
            device = device or who.device
            ip = ip or self.ip(who, t)
        else:
            actor = who
        return self._emit(t, {
            "kind": "access", "actor_type": actor_type, "actor_id": actor,
            "station_id": station, "action": action, "fields": list(fields),
            "waybill_no": wb, "record_count": records, "purpose": purpose,
            "outcome": outcome, "device_id": device, "ip": ip, "channel": channel}, truth)

    def ip(self, who: Person, t: int) -> str:
        if who.role in ("courier",):  # mobile: a new carrier-NAT address every day
            day = (t - self.t0) // DAY
            return f"{who.ip_base}.{zlib.crc32(f'{who.id}|{day}'.encode()) % 200 + 20}"
        return f"{who.ip_base}.10"

    def roster(self, t: int, who: Person, check: str = "passed") -> None:
        start, end = who.shift
        self._emit(t, {"kind": "employee", "employee_id": who.id, "change": "hired",
                       "role": who.role, "station_id": who.station,
                       "shift": {"start": f"{start % 24:02d}:00", "end": f"{end % 24:02d}:00",
                                 "tz": "Asia/Shanghai"}})
        self._emit(t, {"kind": "employee", "employee_id": who.id,
                       "change": "background_check", "background_check": check})

    def new_wb(self) -> str:
        self.wb_count += 1
        return f"W2{self.p.seed:02d}{self.wb_count:09d}"

    def truth(self, kind: str, name: str, actors: list[str]) -> Truth:
        tr = Truth(kind, name, actors)
        self.truths.append(tr)
        return tr

    def at(self, day: int, hour: float) -> int:
        """Epoch seconds of a local time (hours may pass 24: the next morning)."""
        return self.t0 + day * DAY + int(hour * H)

    def in_shift(self, who: Person, day: int, extra: float = 0.0) -> int:
        start, end = who.shift
        return self.at(day, start + 0.2 + self.rng.random() * (end + extra - start - 0.4))

    def login(self, who: Person, day: int, channel: str) -> None:
        t = self.at(day, who.shift[0]) - self.rng.randint(2, 15) * MIN
        if self.rng.random() < 0.04:
            self.access(t - 40, who, "login_failed", outcome="denied", channel=channel)
        self.access(t, who, "login", channel=channel)


def _person(g: _Gen, pid: str, role: str, *, station: str | None, shift: tuple[int, int],
            net: str) -> Person:
    p = Person(pid, role, station, shift, f"dev-{pid}", net)
    p.days_off = {d for d in range(g.p.days) if g.rng.random() < 0.12}
    g.people[pid] = p
    return p


def _staff(g: _Gen) -> dict[str, list[Person]]:
    p, t = g.p, g.t0 - 2 * DAY
    out: dict[str, list[Person]] = {"courier": [], "sorter": [], "customer_service": [],
                                    "security": [], "admin": [], "it": []}
    for o in range(p.outlets):
        station = (f"w2-fr-{o:02d}" if o >= p.outlets - p.franchise_outlets
                   else f"w2-out-{o:02d}")
        for c in range(p.couriers_per_outlet):
            shift = (7, 15) if c % 2 == 0 else (12, 20)
            out["courier"].append(_person(g, f"w2c-{o:02d}-{c:02d}", "courier",
                                          station=station, shift=shift,
                                          net=f"10.{60 + o}.{c}"))
    for s in range(p.sorters):
        out["sorter"].append(_person(g, f"w2s-{s:02d}", "sorter", station=HUB,
                                     shift=(22, 30), net="172.20.1"))
    for a in range(p.cs_agents):
        shift = (8, 16) if a % 2 == 0 else (13, 21)
        out["customer_service"].append(_person(g, f"w2cs-{a:02d}", "customer_service",
                                               station=None, shift=shift, net="172.21.1"))
    for i in range(2):
        for role, key, net in (("security", "sec", 1), ("admin", "adm", 2), ("it", "it", 3)):
            out[role].append(_person(g, f"w2{key}-{i}", role, station=HUB, shift=(9, 18),
                                     net=f"172.22.{net}"))
    for people in out.values():
        for who in people:
            g.roster(t, who)
    return out


# -- benign work -------------------------------------------------------------------------


@dataclass
class _Days:
    """Who has a heavy day or overtime on which day (look-alikes)."""

    heavy: set[tuple[int, str]]
    overtime: set[tuple[int, str]]


def _pickup(g: _Gen, picker: Person, wb: str, origin: str, day: int) -> int:
    """Created and picked up at the outlet: half by the outlet's courier at the
    counter (pickup is their work at their station), half on an assigned pickup."""
    t = g.in_shift(picker, day)
    g.parcel(t - 20 * MIN, wb, "created", origin,
             destination_region=f"3101{g.rng.randint(10, 20):02d}")
    if g.rng.random() < 0.5:
        g.parcel(t, wb, "picked_up", origin)
        g.access(t + 30, picker, "print_label", wb=wb, fields=WAYBILL_FIELDS, purpose="pickup")
    else:
        g.assign(t - 5 * MIN, wb, picker, purpose="pickup", hours=4, station=origin)
        g.access(t, picker, "reveal", wb=wb, fields=("sender_phone",), purpose="pickup")
        g.parcel(t + 60, wb, "picked_up", origin)
    g.parcel(t + 2 * H, wb, "departed", origin)
    return t


def _sort(g: _Gen, sorters: list[Person], wb: str, day: int) -> None:
    """Night sorting at the hub; a damaged label makes the sorter read the address
    (sometimes on a sorting assignment, sometimes as the station's own work)."""
    sorter = g.rng.choice(sorters)
    ts = g.at(day, 22.3 + g.rng.random() * 7.2)
    g.parcel(ts - 10 * MIN, wb, "arrived", HUB)
    if g.rng.random() < 0.3:
        if g.rng.random() < 0.5:
            g.assign(ts - 60, wb, sorter, purpose="sorting", hours=2, station=HUB)
        g.access(ts, sorter, "reveal", wb=wb, fields=("recipient_address",),
                 purpose="sorting", channel="web")
    g.parcel(ts + 5 * MIN, wb, "departed", HUB)


def _deliver(g: _Gen, courier: Person, wb: str, *, dest: str, day: int, days: _Days,
             look: dict[str, Truth]) -> int:
    extra = 4.0 if (day, courier.id) in days.overtime else 0.0
    td = g.in_shift(courier, day, extra)
    g.parcel(td - 90 * MIN, wb, "arrived", dest)
    tr = look["overtime_courier"] if extra else (
        look["heavy_human_day"] if (day, courier.id) in days.heavy else None)
    if tr is not None and courier.id not in tr.actors:
        tr.actors.append(courier.id)
    g.assign(td - 80 * MIN, wb, courier, purpose="delivery", hours=10 + extra, station=dest)
    if g.rng.random() < 0.7:
        g.access(td, courier, "reveal", wb=wb, fields=("recipient_phone",), purpose="delivery")
    if g.rng.random() < 0.05:  # a call-back after the window: refused
        g.access(td + int((11 + extra) * H), courier, "reveal", wb=wb,
                 fields=("recipient_phone",), purpose="delivery", outcome="denied")
    g.parcel(td + 20 * MIN, wb, "delivered", dest)
    return td + 20 * MIN


def _heavy_round(g: _Gen, c: Person, day: int, look: dict[str, Truth]) -> None:
    """A heavy but human day: a second round of 120 assigned deliveries."""
    for _ in range(120):
        wb = g.new_wb()
        td = g.in_shift(c, day, 2.0)
        g.parcel(td - 2 * H, wb, "arrived", c.station)
        g.assign(td - 100 * MIN, wb, c, purpose="delivery", hours=12, station=c.station)
        g.access(td, c, "reveal", wb=wb, fields=("recipient_phone",), purpose="delivery",
                 truth=look["heavy_human_day"])
        g.parcel(td + 15 * MIN, wb, "delivered", c.station)


def _parcels(g: _Gen, staff: dict[str, list[Person]],
             look: dict[str, Truth]) -> list[tuple[str, str, int]]:
    """Every parcel's life: picked up at an outlet, sorted that night at the hub,
    delivered the next day by a courier of the destination outlet. Returns
    (waybill, outlet, delivered at) for customer service to work on."""
    p, rng = g.p, g.rng
    by_outlet: dict[str, list[Person]] = {}
    for c in staff["courier"]:
        by_outlet.setdefault(c.station or "", []).append(c)
    outlets = sorted(by_outlet)
    days = _Days({(rng.randrange(p.days), rng.choice(staff["courier"]).id) for _ in range(3)},
                 {(rng.randrange(p.days), rng.choice(staff["courier"]).id) for _ in range(4)})
    done: list[tuple[str, str, int]] = []
    for day in range(p.days):
        for origin in outlets:
            pickers = [c for c in by_outlet[origin] if day not in c.days_off]
            for _ in range(p.parcels_per_outlet_day):
                wb, dest = g.new_wb(), rng.choice(outlets)
                _pickup(g, rng.choice(pickers), wb, origin, day)
                _sort(g, staff["sorter"], wb, day)
                if day + 1 >= p.days:
                    continue
                crew = ([c for c in by_outlet[dest] if day + 1 not in c.days_off]
                        or by_outlet[dest])
                done.append((wb, dest, _deliver(g, rng.choice(crew), wb, dest=dest,
                                                day=day + 1, days=days, look=look)))
        for hday, cid in days.heavy:
            if hday == day:
                _heavy_round(g, g.people[cid], day, look)
    return done


def _customer_service(g: _Gen, staff: dict[str, list[Person]],
                      delivered: list[tuple[str, str, int]], look: dict[str, Truth]) -> None:
    """Queries and complaints are assigned to an agent (station null: the centre has
    none); spikes triple the load. Agents reveal and sometimes print or share within
    the assignment, with purpose customer_service or complaint_handling."""
    p, rng = g.p, g.rng
    spikes = set(rng.sample(range(1, p.days), min(p.complaint_spike_days, p.days - 1)))
    by_day: dict[int, list[str]] = {}
    for wb, _, t in delivered:
        by_day.setdefault((t - g.t0) // DAY, []).append(wb)
    for day in range(1, p.days):
        pool = by_day.get(day - 1, []) + by_day.get(day, [])
        if not pool:
            continue
        agents = [a for a in staff["customer_service"] if day not in a.days_off]
        for a in agents:
            g.login(a, day, "web")
        per_agent = 35 * (3 if day in spikes else 1)
        tr = look["complaint_spike"] if day in spikes else look["cs_station_null"]
        for a in agents:
            if a.id not in tr.actors:
                tr.actors.append(a.id)
            for _ in range(per_agent):
                wb = rng.choice(pool)
                t = g.in_shift(a, day)
                complaint = rng.random() < (0.6 if day in spikes else 0.25)
                g.assign(t - 2 * MIN, wb, a, purpose="customer_service", hours=8, station=None)
                purpose = "complaint_handling" if complaint else "customer_service"
                g.access(t, a, "reveal", wb=wb, fields=("recipient_name", "recipient_phone"),
                         purpose=purpose, channel="web", truth=tr)
                if rng.random() < 0.3:
                    g.access(t + rng.randint(60, 900), a, "reveal", wb=wb,
                             fields=("recipient_address",), purpose=purpose, channel="web",
                             truth=tr)
                if rng.random() < 0.1:
                    g.access(t + 200, a, "search", records=rng.randint(1, 4), purpose=purpose,
                             channel="web", truth=tr)


def _office(g: _Gen, staff: dict[str, list[Person]], delivered: list[tuple[str, str, int]],
            look: dict[str, Truth]) -> None:
    p, rng = g.p, g.rng
    pool = [wb for wb, _, _ in delivered]
    for day in range(p.days):
        for who in staff["security"] + staff["admin"] + staff["it"]:
            if day not in who.days_off:
                g.login(who, day, "web")
        for sec in staff["security"]:
            for _ in range(rng.randint(1, 4)):
                g.access(g.in_shift(sec, day), sec, "search", records=rng.randint(1, 30),
                         purpose="security", channel="web")
    _reviews(g, staff, pool, look)
    _partner(g, look)
    for who in staff["courier"] + staff["sorter"]:
        for day in range(p.days):
            if day not in who.days_off:
                g.login(who, day, "pda" if who.role == "courier" else "web")


def _reviews(g: _Gen, staff: dict[str, list[Person]], pool: list[str],
             look: dict[str, Truth]) -> None:
    """Security, audit and approved exports: reads by role, not by assignment."""
    p, rng = g.p, g.rng
    # an investigation: a security officer goes through 40 waybills of one route
    sec = staff["security"][0]
    day = rng.randrange(2, p.days)
    t = g.at(day, 10)
    tr = look["security_investigation"]
    tr.actors.append(sec.id)
    for wb in rng.sample(pool, min(40, len(pool))):
        t += rng.randint(30, 240)
        g.access(t, sec, "reveal", wb=wb, fields=WAYBILL_FIELDS, purpose="security",
                 channel="web", truth=tr)
    # the yearly audit sample: an admin reads 60 waybills with purpose audit
    adm = staff["admin"][0]
    day = rng.randrange(2, p.days)
    t = g.at(day, 14)
    tr = look["audit_sample"]
    tr.actors.append(adm.id)
    for wb in rng.sample(pool, min(60, len(pool))):
        t += rng.randint(20, 200)
        g.access(t, adm, "reveal", wb=wb, fields=WAYBILL_FIELDS, purpose="audit",
                 channel="web", truth=tr)
    # approved exports: an admin exports 300 records for a quarterly review, twice
    tr = look["approved_exports"]
    adm2 = staff["admin"][1]
    tr.actors.append(adm2.id)
    for day in (1, min(p.days - 1, 8)):
        g.access(g.at(day, 15), adm2, "export", fields=WAYBILL_FIELDS, records=300,
                 purpose="audit", channel="web", truth=tr)
    # a courier's PDA is replaced mid-shift (one new device, then it stays)
    c = staff["courier"][3]
    day = rng.randrange(1, p.days)
    c.device = f"dev-{c.id}-new"
    look["device_change"].actors.append(c.id)
    look["device_change"].start = g.at(day, c.shift[0])
    look["device_change"].end = g.at(day, c.shift[1])


def _partner(g: _Gen, look: dict[str, Truth]) -> None:
    """The e-commerce partner prints its own customers' labels all day."""
    p, rng = g.p, g.rng
    tr = look["partner_labels"]
    tr.actors.append("w2-partner-shop")
    for day in range(p.days):
        for _ in range(rng.randint(150, 250)):
            wb = g.new_wb()
            t = g.at(day, 9 + rng.random() * 10)
            g.parcel(t - 60, wb, "created", None)
            g.access(t, "w2-partner-shop", "print_label", actor_type="partner", wb=wb,
                     fields=WAYBILL_FIELDS, purpose="pickup", channel="api",
                     device=None, ip="203.0.113.40", truth=tr)


# -- abuse ------------------------------------------------------------------------------


def _abuse(g: _Gen, staff: dict[str, list[Person]],
           delivered: list[tuple[str, str, int]]) -> None:
    """Insiders reading what is not theirs, slowly."""
    rng = g.rng
    by_outlet: dict[str, list[str]] = {}
    for wb, dest, _ in delivered:
        by_outlet.setdefault(dest, []).append(wb)
    couriers = staff["courier"]
    franchise = [c for c in couriers if (c.station or "").startswith("w2-fr-")]

    # 1. low and slow: two or three unassigned reveals an hour at the own outlet,
    #    all shift, for three days (never five in an hour)
    c = rng.choice([x for x in couriers if x not in franchise])
    tr = g.truth("scenario", "low_and_slow_lookups", [c.id])
    for day in range(2, 5):
        for hour in range(c.shift[0], c.shift[1]):
            for _ in range(rng.choice((2, 3))):
                wb = rng.choice(by_outlet[c.station or ""])
                g.access(g.at(day, hour + rng.random()), c, "reveal", wb=wb,
                         fields=("recipient_phone", "recipient_address"),
                         purpose="delivery", truth=tr)

    # 2. a franchise outlet's courier queries other outlets' waybills, a few an hour
    f = rng.choice(franchise)
    tr = g.truth("scenario", "franchise_out_of_station", [f.id])
    others = [wb for o, wbs in by_outlet.items() if o != f.station for wb in wbs]
    for day in (3, 4):
        for hour in range(f.shift[0], f.shift[1]):
            for _ in range(2):
                g.access(g.at(day, hour + rng.random()), f, "reveal", wb=rng.choice(others),
                         fields=WAYBILL_FIELDS, purpose="delivery", truth=tr)

    _abuse_bulk(g, staff, delivered)


def _abuse_bulk(g: _Gen, staff: dict[str, list[Person]],
                delivered: list[tuple[str, str, int]]) -> None:
    """Bulk taken in slices, each below every single-day threshold."""
    p, rng = g.p, g.rng
    couriers = staff["courier"]
    by_outlet: dict[str, list[str]] = {}
    for wb, dest, _ in delivered:
        by_outlet.setdefault(dest, []).append(wb)
    # 3. export slicing: 50 exports of 20 records a day for five days
    it = staff["it"][0]
    tr = g.truth("scenario", "export_slicing", [it.id])
    for day in range(2, min(7, p.days)):
        t = g.at(day, 9.5)
        for _ in range(50):
            t += rng.randint(5 * MIN, 9 * MIN)
            g.access(t, it, "export", fields=WAYBILL_FIELDS, records=20, purpose="other",
                     channel="web", truth=tr)

    # 4. slow searching: a sorter searches 700 records a night for a week, in small
    #    queries, logging in once a night like everyone else
    s = staff["sorter"][1]
    tr = g.truth("scenario", "slow_search", [s.id])
    for day in range(1, min(8, p.days)):
        t = g.at(day, 23)
        for _ in range(35):
            t += rng.randint(4 * MIN, 9 * MIN)
            g.access(t, s, "search", records=20, purpose="sorting", channel="web", truth=tr)

    # 5. the partner's second key slices a bulk pull into hourly searches
    tr = g.truth("scenario", "partner_slicing", ["w2-partner-feed"])
    for day in range(3, min(6, p.days)):
        for hour in range(9, 19):
            g.access(g.at(day, hour + rng.random()), "w2-partner-feed", "search",
                     actor_type="partner", records=rng.randint(90, 110), purpose="other",
                     channel="api", ip="203.0.113.77", truth=tr)

    # 6. a customer-service agent reveals waybills nobody assigned to them, slowly
    a = staff["customer_service"][5]
    tr = g.truth("scenario", "cs_unassigned_slow", [a.id])
    pool = [wb for wb, _, _ in delivered]
    for day in (4, 5):
        for hour in range(a.shift[0], a.shift[1]):
            for _ in range(rng.choice((1, 2, 3))):
                g.access(g.at(day, hour + rng.random()), a, "reveal", wb=rng.choice(pool),
                         fields=WAYBILL_FIELDS, purpose="customer_service", channel="web",
                         station=None, truth=tr)

    # 7. a courier who left: the account keeps reading waybills
    taken = {a for t in g.truths for a in t.actors}
    gone = rng.choice([x for x in couriers if x.id not in taken])
    day = min(6, p.days - 1)
    g._emit(g.at(day, 6), {"kind": "employee", "employee_id": gone.id, "change": "left"})
    tr = g.truth("scenario", "after_leaving", [gone.id])
    for k in range(6):
        g.access(g.at(day, 21 + k * 0.3), gone, "reveal",
                 wb=rng.choice(by_outlet[gone.station or ""]), fields=WAYBILL_FIELDS,
                 purpose="delivery", device="dev-unknown-77", ip="198.51.100.9", truth=tr)


LOOKALIKES = ("cs_station_null", "complaint_spike", "overtime_courier", "heavy_human_day",
              "security_investigation", "audit_sample", "approved_exports", "device_change",
              "partner_labels")


def generate(p: Params) -> World2:
    g = _Gen(p)
    look = {name: g.truth("lookalike", name, []) for name in LOOKALIKES}
    staff = _staff(g)
    delivered = _parcels(g, staff, look)
    _customer_service(g, staff, delivered, look)
    _office(g, staff, delivered, look)
    _abuse(g, staff, delivered)
    # a worker who stopped appearing after a while keeps their actors; windows come
    # from their events (device change: the shift it happened in)
    for tr in g.truths:
        if not tr.start:
            tr.start, tr.end = g.t0, g.t0 + p.days * DAY
    g.raw.sort(key=lambda r: (r[0], r[1]))
    return World2(p, [doc for _, _, doc in g.raw], [t for t in g.truths if t.actors])


def _iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).astimezone(CST).isoformat()


def write(world: World2, events_path: Path, truth_path: Path,
          dumps: Callable[[Any], bytes] = msgspec.json.encode) -> int:
    """Events as JSONL and the ground truth as JSON; returns the number of events."""
    with events_path.open("wb") as fh:
        for i in range(0, len(world.events), 10_000):
            fh.write(b"\n".join(dumps(e) for e in world.events[i:i + 10_000]) + b"\n")

    # each abuser's first malicious event (events are in time order): time to detect
    # is measured per abuser from there
    owner = {eid: t for t in world.truths if t.kind == "scenario" for eid in t.event_ids}
    starts: dict[int, dict[str, str]] = {}
    for e in world.events:
        t = owner.get(e["event_id"])
        who = e.get("actor_id") or e.get("employee_id")
        if t is not None and who in t.actors:
            starts.setdefault(id(t), {}).setdefault(who, e["occurred_at"])

    def entry(t: Truth) -> dict[str, Any]:
        key = "scenario" if t.kind == "scenario" else "lookalike"
        doc: dict[str, Any] = {key: t.name, "enterprise_id": ENT, "actors": t.actors,
                               "event_ids": t.event_ids, "start": _iso(t.start),
                               "end": _iso(t.end)}
        if t.kind == "scenario":
            doc["actor_starts"] = dict(sorted(starts.get(id(t), {}).items()))
        return doc

    doc = {"generator": "world2", "seed": world.params.seed,
           "scenarios": [entry(t) for t in world.truths if t.kind == "scenario"],
           "lookalikes": [entry(t) for t in world.truths if t.kind == "lookalike"]}
    truth_path.write_bytes(msgspec.json.format(msgspec.json.encode(doc), indent=2) + b"\n")
    return len(world.events)
