"""A parcel's life and the legitimate PI accesses it causes.

pickup assignment -> courier reveals the sender's phone -> picked up -> line-haul
slot -> first hub (a sorter is assigned and prints the privacy label) -> further hubs
-> destination outlet -> morning or afternoon dispatch wave assigns the zone courier
-> courier reveals the recipient's phone (sometimes the address) -> delivered.

Every reveal follows an ``assigned`` event for the same employee inside its window,
so a correct monitor sees no violation in this traffic. The benign noise a real
network has is here too, at realistic rates: failed attempts, a late delivery after
the shift, a denied reveal after the window closed, a label reprint, customer-service
complaints and warehouse exception handling.

This is the hot loop of the generator (~100k parcels, ~10 events each): it uses
integer seconds and local variables on purpose.
"""

from __future__ import annotations

from random import Random

from parcelguard.simulation.parcels import ParcelPlan
from parcelguard.simulation.roster import Roster, Staff
from parcelguard.simulation.sink import EventSink
from parcelguard.simulation.timeline import DAY, HOUR, MINUTE

# Outlets hand parcels to line-haul trucks at fixed times (local hours).
LINEHAUL_SLOTS = (12.5, 18.5, 21.5)

P_PARTNER_PRINT = 0.8  # merchants on an e-commerce platform print via its API
PARTNERS_PER_ENTERPRISE = 3  # e-commerce platforms integrated with each carrier
P_SENDER_REVEAL = 0.9  # the rest are regular merchants the courier already knows
P_RECIPIENT_REVEAL = 0.9  # the rest go to lockers or are delivered via virtual number
P_CALL_AGAIN = 0.15  # the recipient did not pick up the first call
P_ADDRESS_TOO = 0.22  # the masked label hides unit and room; some doors need them
P_LABEL_PRINT = 0.6  # parcels without a usable merchant label get one at the hub
P_REPRINT = 0.004  # label jammed or smudged
P_SORT_ADDRESS = 0.04  # unreadable address at sorting
P_WAREHOUSE_EXCEPTION = 0.004  # damaged or misrouted parcel handled by the warehouse
P_COMPLAINT = 0.005
P_FAILED_ATTEMPT = 0.05
P_LATE_DELIVERY = 0.002  # legitimate access just after the shift ends
P_DENIED_RETRY = 0.003  # courier tries to call a customer back after the window

_PHONE = ("recipient_phone",)
_PHONE_ADDR = ("recipient_phone", "recipient_address")
_LABEL = ("recipient_name", "recipient_phone", "recipient_address")
_ADDR = ("recipient_address",)


class Lifecycle:
    def __init__(self, rng: Random, sink: EventSink, roster: Roster) -> None:
        self.rng = rng
        self.sink = sink
        self.roster = roster
        self.w0 = sink.w0
        sorters: dict[str, tuple[list[Staff], list[Staff]]] = {}
        for s in roster.staff:
            if s.role == "sorter":
                day_night = sorters.setdefault(s.station_id, ([], []))
                day_night[0 if s.shift[0] < s.shift[1] else 1].append(s)
        self.sorters = sorters
        self._visits: set[tuple[int, str, int]] = set()

    # -- helpers -------------------------------------------------------------------

    def _zone_courier(self, station_id: str, day: int, key: int) -> Staff:
        couriers = self.roster.couriers_on(station_id, day)
        return couriers[key % len(couriers)]

    def _sorter(self, hub_id: str, t: int) -> Staff:
        day_shift, night_shift = self.sorters[hub_id]
        tod = t % DAY
        pool = day_shift if 8 * HOUR <= tod < 20 * HOUR else night_shift
        return pool[int(self.rng.random() * len(pool))]

    def _step(self, p: ParcelPlan, t: int, step: str, station: str | None) -> None:
        self.sink.parcel(t, p.net.enterprise.id, p.waybill_no, step, station_id=station,
                         destination_region=p.recipient.region_code)

    def _assign(self, p: ParcelPlan, t: int, station: str, s: Staff, purpose: str, *,
                until: int) -> None:
        p.assignees.add(s.id)
        self.sink.assigned(t, p.net.enterprise.id, p.waybill_no, station_id=station,
                           destination_region=p.recipient.region_code, assignee_id=s.id,
                           purpose=purpose, until=until)

    def _touch(self, p: ParcelPlan, t: int, s: Staff, action: str, fields: tuple[str, ...], *,
               station: str, purpose: str, channel: str, outcome: str = "allowed") -> None:
        """An employee's access to this parcel's PI (one record)."""
        self.sink.access(t, p.net.enterprise.id, "employee", s.id, action, station_id=station,
                         fields=list(fields), waybill_no=p.waybill_no, record_count=1,
                         purpose=purpose, outcome=outcome, device_id=s.device_at(t),
                         ip=s.ip_at(t), channel=channel)

    # -- the life ------------------------------------------------------------------

    def live(self, p: ParcelPlan) -> None:
        picked = self._pickup(p)
        at_outlet = self._transit(p, picked)
        p.at_destination_t = at_outlet
        self._deliver(p, at_outlet)
        if self.rng.random() < P_COMPLAINT:
            self._complaint(p, picked)

    def _pickup(self, p: ParcelPlan) -> int:
        rng = self.rng
        origin = p.origin.id
        self._step(p, p.created_t, "created", None)
        if p.from_merchant and rng.random() < P_PARTNER_PRINT:
            # the merchant's order system prints the privacy e-waybill through the
            # carrier's open platform: steady, high-volume, legitimate API traffic.
            # Partner addresses come from 198.18.0.0/15 (RFC 2544), never a real net.
            k = p.sender_key % PARTNERS_PER_ENTERPRISE
            n = p.net.number
            self.sink.access(p.created_t + 2 + int(rng.random() * 60), p.net.enterprise.id,
                             "partner", f"ptn-{n:02d}-{k + 1:02d}", "print_label",
                             station_id=None, fields=list(_LABEL), waybill_no=p.waybill_no,
                             record_count=1, purpose="pickup", outcome="allowed",
                             device_id=None, ip=f"198.18.{n}.{k + 10}", channel="api")
        t = p.created_t + int(10 * MINUTE + rng.random() * 170 * MINUTE)
        day = t // DAY
        c = self._zone_courier(origin, day, p.sender_key)
        lo = day * DAY + int((c.shift[0] + 0.25) * HOUR)
        hi = day * DAY + int((c.shift[0] + 9.5) * HOUR)
        if t < lo:
            t = lo + int(rng.random() * 90 * MINUTE)
        elif t > hi:
            day += 1
            c = self._zone_courier(origin, day, p.sender_key)
            t = day * DAY + int((c.shift[0] + 0.25) * HOUR + rng.random() * 90 * MINUTE)
        self._assign(p, t, origin, c, "pickup", until=day * DAY + DAY - 1)
        picked = t + int(20 * MINUTE + rng.random() * 160 * MINUTE)
        cap = day * DAY + int((c.shift[1] - 0.2) * HOUR)
        picked = max(min(picked, cap), t + 20 * MINUTE)
        # A merchant's parcels are collected in one visit: the courier calls the shop
        # once a day, not once per parcel; individual senders are called each time.
        if p.from_merchant:
            visit = (p.sender_key, c.id, day)
            first_visit = visit not in self._visits
            self._visits.add(visit)
        else:
            first_visit = True
        if t >= self.w0 and first_visit and rng.random() < P_SENDER_REVEAL:
            fields: tuple[str, ...] = ("sender_phone",)
            r = rng.random()
            if r < 0.25:
                fields = ("sender_phone", "sender_address")
            elif r < 0.3 and not p.from_merchant:
                # individual senders: the courier checks the ID number for real-name
                # delivery (merchants were verified when they signed their contract)
                fields = ("sender_name", "sender_id_number")
            rt = max(picked - int(2 * MINUTE + rng.random() * 28 * MINUTE), t + MINUTE)
            self._touch(p, rt, c, "reveal", fields, station=origin, purpose="pickup",
                        channel="pda")
        self._step(p, picked, "picked_up", origin)
        return picked

    def _transit(self, p: ParcelPlan, picked: int) -> int:
        rng = self.rng
        ready = picked + 30 * MINUTE
        day = ready // DAY
        depart = 0
        while not depart:
            for slot in LINEHAUL_SLOTS:
                s_t = day * DAY + int(slot * HOUR)
                if s_t >= ready:
                    depart = s_t + int(rng.random() * 20 * MINUTE)
                    break
            day += 1
        self._step(p, depart, "departed", p.origin.id)
        for i, hub in enumerate(p.net.route(rng, p.origin, p.destination)):
            if i == 0:
                arrive = depart + int(40 * MINUTE + rng.random() * 110 * MINUTE)
            else:
                arrive = depart + int(5 * HOUR + rng.random() * 11 * HOUR)
            self._step(p, arrive, "arrived", hub.id)
            busy = arrive
            if i == 0:
                busy = self._sort(p, hub.id, arrive)
            depart = max(arrive + int(HOUR + rng.random() * 3 * HOUR), busy + 5 * MINUTE)
            self._step(p, depart, "departed", hub.id)
        arrive = depart + int(HOUR + rng.random() * 2 * HOUR)
        self._step(p, arrive, "arrived", p.destination.id)
        return arrive

    def _sort(self, p: ParcelPlan, hub: str, arrive: int) -> int:
        rng = self.rng
        t = arrive + int(5 * MINUTE + rng.random() * 40 * MINUTE)
        s = self._sorter(hub, t)
        self._assign(p, t, hub, s, "sorting", until=t + 6 * HOUR)
        busy = t
        if t >= self.w0:
            if rng.random() < P_LABEL_PRINT:
                busy = t + int(MINUTE + rng.random() * 19 * MINUTE)
                self._print(p, busy, s, hub)
                if rng.random() < P_REPRINT:
                    busy += int(2 * MINUTE + rng.random() * 8 * MINUTE)
                    self._print(p, busy, s, hub)
            if rng.random() < P_SORT_ADDRESS:
                busy += int(MINUTE + rng.random() * 5 * MINUTE)
                self._touch(p, busy, s, "reveal", _ADDR, station=hub, purpose="sorting",
                            channel="web")
        if rng.random() < P_WAREHOUSE_EXCEPTION:
            busy = max(busy, self._warehouse_exception(p, hub, busy))
        return busy

    def _print(self, p: ParcelPlan, t: int, s: Staff, hub: str) -> None:
        # print_label lists the fields printed on the label; they are masked there
        # (GB/T 41833), which is why label printing is not a reveal.
        self._touch(p, t, s, "print_label", _LABEL, station=hub, purpose="sorting",
                    channel="web")

    def _warehouse_exception(self, p: ParcelPlan, hub: str, t: int) -> int:
        rng = self.rng
        staff = self.roster.at_station(hub, "warehouse")
        w = staff[int(rng.random() * len(staff))]
        t += int(10 * MINUTE + rng.random() * 50 * MINUTE)
        day, tod = divmod(t, DAY)
        if not w.shift[0] * HOUR <= tod < (w.shift[1] - 0.5) * HOUR:
            if tod >= w.shift[0] * HOUR:
                day += 1
            t = day * DAY + int((w.shift[0] + 0.3) * HOUR + rng.random() * HOUR)
        self._assign(p, t, hub, w, "sorting", until=t + 8 * HOUR)
        if t >= self.w0:
            t += int(30 + rng.random() * 90)
            self.sink.access(t, p.net.enterprise.id, "employee", w.id, "search", station_id=hub,
                             fields=[], waybill_no=None, record_count=1 + int(rng.random() * 3),
                             purpose="sorting", outcome="allowed", device_id=w.device,
                             ip=w.office_ip, channel="web")
            t += int(MINUTE + rng.random() * 15 * MINUTE)
            fields = _PHONE_ADDR if rng.random() < 0.5 else _ADDR
            self._touch(p, t, w, "reveal", fields, station=hub, purpose="sorting", channel="web")
        return t + 20 * MINUTE

    def _deliver(self, p: ParcelPlan, t: int) -> None:
        rng = self.rng
        dest = p.destination.id
        for _attempt in range(2):
            day = t // DAY
            c = self._zone_courier(dest, day, p.recipient_key)
            ds, o = day * DAY, c.shift[0]
            if t < ds + int((o + 0.5) * HOUR):  # in time for the morning wave
                wave = ds + int(o * HOUR + rng.random() * 45 * MINUTE)
                end = ds + int((o + 5) * HOUR)
            elif t < ds + int((o + 5) * HOUR):  # the afternoon wave
                wave = ds + int((o + 5.5) * HOUR + rng.random() * 40 * MINUTE)
                end = ds + int((o + 11.8) * HOUR)
            else:
                t = (day + 1) * DAY
                c = self._zone_courier(dest, day + 1, p.recipient_key)
                ds, o = t, c.shift[0]
                wave = ds + int(o * HOUR + rng.random() * 45 * MINUTE)
                end = ds + int((o + 5) * HOUR)
            assign = max(wave, t + 10 * MINUTE)
            self._assign(p, assign, dest, c, "delivery", until=ds + DAY - 1)
            if rng.random() < P_LATE_DELIVERY:
                done = ds + int((c.shift[1] + 0.1) * HOUR + rng.random() * 45 * MINUTE)
            else:
                span = max(end - assign - 20 * MINUTE, 10 * MINUTE)
                done = assign + 20 * MINUTE + int(rng.triangular(0, span, span * 0.35))
            if assign >= self.w0 and rng.random() < P_RECIPIENT_REVEAL:
                rt = max(done - int(3 * MINUTE + rng.random() * 27 * MINUTE), assign + MINUTE)
                fields = _PHONE_ADDR if rng.random() < P_ADDRESS_TOO else _PHONE
                if rng.random() < P_CALL_AGAIN:
                    # no answer the first time: the earlier call shows up as its own reveal
                    early = max(rt - int(10 * MINUTE + rng.random() * 50 * MINUTE), assign + 30)
                    self._touch(p, early, c, "reveal", _PHONE, station=dest,
                                purpose="delivery", channel="pda")
                self._touch(p, rt, c, "reveal", fields, station=dest, purpose="delivery",
                            channel="pda")
            if rng.random() >= P_FAILED_ATTEMPT:
                self._step(p, done, "delivered", dest)
                if assign >= self.w0 and rng.random() < P_DENIED_RETRY:
                    # the customer missed a call; the courier tries again next day,
                    # after the access window closed, and the gate refuses
                    rt = ds + DAY + int((o + 1 + rng.random() * 6) * HOUR)
                    if c.left_t is None or rt < c.left_t:
                        self._touch(p, rt, c, "reveal", _PHONE, station=dest,
                                    purpose="delivery", channel="pda", outcome="denied")
                return
            self._step(p, done, "delivery_attempted", dest)
            t = ds + DAY
        self._step(p, t + int(10 * HOUR + rng.random() * 4 * HOUR), "returned", dest)

    def _complaint(self, p: ParcelPlan, picked: int) -> None:
        """A consumer chases a parcel; customer service is assigned the case and calls
        the recipient (or the sender) from their workstation."""
        rng = self.rng
        agents = self.roster.of(p.net.enterprise.id, "customer_service")
        hq = p.net.hq.id
        t = picked + int(4 * HOUR + rng.random() * 36 * HOUR)
        day, tod = divmod(t, DAY)
        on_shift = [a for a in agents if a.shift[0] * HOUR <= tod < (a.shift[1] - 1) * HOUR]
        if not on_shift:
            day += 1 if tod >= 9 * HOUR else 0
            t = day * DAY + int(9.2 * HOUR + rng.random() * 2 * HOUR)
            on_shift = [a for a in agents if a.shift[0] <= 9.0]
        a = on_shift[int(rng.random() * len(on_shift))]
        self._assign(p, t, hq, a, "customer_service", until=t + 72 * HOUR)
        if t < self.w0:
            return
        shift_end = day * DAY + int(a.shift[1] * HOUR)
        for _ in range(1 + int(rng.random() * 3)):
            t += int(2 * MINUTE + rng.random() * 118 * MINUTE)
            if t >= shift_end:
                break
            r = rng.random()
            fields = _PHONE if r < 0.6 else ("sender_phone",) if r < 0.8 else \
                ("recipient_name", "recipient_phone")
            self._touch(p, t, a, "reveal", fields, station=hq, purpose="customer_service",
                        channel="web")
