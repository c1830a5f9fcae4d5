"""Insider abuse, modelled on the court cases and investigations in DOMAIN.md.

Each generator emits only the malicious events; the actor's ordinary work that day
comes from the lifecycle and routines as usual and stays out of the ground truth.
Victim parcels are never ones assigned to the actor, so no malicious reveal could
pass for a legitimate one.
"""

from __future__ import annotations

import math

from parcelguard.simulation.cases import FULL_RECIPIENT, PHONE_ADDRESS, Case, Ctx, Who
from parcelguard.simulation.parcels import ParcelPlan
from parcelguard.simulation.roster import hire, mobile_ip
from parcelguard.simulation.timeline import DAY, HOUR, MINUTE, at

_SENDER_TOO = (*FULL_RECIPIENT, "sender_name", "sender_phone", "sender_address")


def out_of_assignment(ctx: Ctx, case: Case) -> None:
    """A courier looks up recipients on parcels of their own outlet that were never
    assigned to them (tens to hundreds over an hour or two, on their own PDA)."""
    rng, net = ctx.rng, case.net
    c = ctx.ordinary(net, "courier")
    ds = ctx.abuse_day()
    t0 = at(ds, c.shift[0] + rng.uniform(2.0, 8.5))
    n = ctx.count(20, 60, 10) if rng.random() < 0.4 else ctx.count(60, 300, 20)
    victims = ctx.victims(net, t0, n, lambda p: p.destination.id == c.station_id
                          and p.created_t > t0 - 3 * DAY, actor=c)
    p_allowed = rng.uniform(0.8, 1.0)  # the gate only checks station-level rights
    times = ctx.spread(t0, rng.randint(45, 120) * MINUTE, len(victims))
    for t, p in zip(times, victims, strict=True):
        fields = ("recipient_phone",) if rng.random() < 0.6 else PHONE_ADDRESS
        outcome = "allowed" if rng.random() < p_allowed else "denied"
        ctx.access(case, t, Who.staff(c, t, "pda"), "reveal", fields=fields,
                   waybill=p.waybill_no, records=1, purpose="delivery", outcome=outcome)


def out_of_station(ctx: Ctx, case: Case) -> None:
    """YTO 2020: two accounts at one outlet, on the outlet's PC, query waybills that
    belong to other outlets: a search, then the full records one by one."""
    rng, net = ctx.rng, case.net
    outlets = ([o for o in net.outlets if len(ctx.uncast(net, "courier", o.id)) >= 2]
               or [o for o in net.outlets
                   if len(ctx.uncast(net, "courier", o.id, strict=False)) >= 2])
    station = rng.choice(outlets)
    actors = [ctx.ordinary(net, "courier", station.id) for _ in range(2)]
    station_no = int(station.id.rsplit("-", 1)[1])
    device, ip = f"ws-{station.id}-pc1", f"10.{net.number}.{station_no}.250"

    def elsewhere(p: ParcelPlan) -> bool:
        return station.id not in (p.origin.id, p.destination.id)

    for s in actors:
        who = Who.staff(s, 0, "web", device=device, ip=ip)
        for ds in ctx.abuse_days():
            for _ in range(rng.randint(1, 3)):
                t = at(ds, s.shift[0] + rng.uniform(1.0, 10.5))
                ctx.access(case, t, who, "login")
                for _ in range(rng.randint(1, 3)):
                    t += rng.randint(20, 120)
                    ctx.access(case, t, who, "search", records=rng.randint(20, 200),
                               purpose="customer_service")
                    for p in ctx.victims(net, t, ctx.count(5, 50, 3), elsewhere, actor=s):
                        t += rng.randint(8, 60)
                        ctx.access(case, t, who, "reveal", fields=FULL_RECIPIENT,
                                   waybill=p.waybill_no, records=1, purpose="customer_service")


def warehouse_bulk_query(ctx: Ctx, case: Case) -> None:
    """SF 2016-18: a warehouse clerk with nationwide query rights logs in again and
    again and pulls full records of parcels anywhere in the network."""
    rng, net = ctx.rng, case.net
    w = ctx.ordinary(net, "warehouse")
    who = Who.staff(w, 0, "web")
    subtle = rng.random() < 0.4
    for ds in ctx.abuse_days():
        sessions = rng.randint(4, 8) if subtle else rng.randint(8, 25)
        # mostly in the shift, some from the evening when nobody is around
        starts = sorted(at(ds, rng.uniform(w.shift[0] + 0.2, w.shift[1] + 2.5))
                        for _ in range(sessions))
        for start in starts:
            t = start
            ctx.access(case, t, who, "login")
            for _ in range(rng.randint(1, 2)):
                t += rng.randint(15, 90)
                ctx.access(case, t, who, "search", records=rng.randint(30, 400),
                           purpose="sorting")
                n = ctx.count(3, 10, 2) if subtle else ctx.count(8, 30, 3)
                for p in ctx.victims(net, t, n, actor=w):
                    t += rng.randint(5, 40)
                    ctx.access(case, t, who, "reveal", fields=FULL_RECIPIENT,
                               waybill=p.waybill_no, records=1, purpose="sorting")


def bulk_export(ctx: Ctx, case: Case) -> None:
    """An IT employee exports far more than any approved export (those stay at a few
    hundred records), and/or decrypts privacy waybills in bulk with a script."""
    rng, net = ctx.rng, case.net
    it = ctx.ordinary(net, "it")
    variant = rng.choice(("export", "decrypt", "both"))
    ds = ctx.abuse_day()
    t = at(ds, rng.uniform(19.5, 23.0) if rng.random() < 0.6 else rng.uniform(10.0, 17.0))
    if variant in ("export", "both"):
        who = Who.staff(it, t, "web")
        ctx.access(case, t, who, "login")
        for _ in range(rng.randint(1, 4)):
            t += rng.randint(1, 10) * MINUTE
            records = int(math.exp(rng.uniform(math.log(2_000), math.log(80_000))))
            ctx.access(case, t, who, "export", fields=_SENDER_TOO, records=records)
    if variant in ("decrypt", "both"):
        # the script runs on a server the IT employee controls, at machine pace
        who = Who.staff(it, t, "api", device=f"srv-{net.number:02d}-{rng.getrandbits(24):06x}",
                        ip=f"10.{net.number}.250.{rng.randint(2, 250)}")
        t += rng.randint(5, 30) * MINUTE
        ctx.access(case, t, who, "login")
        period = rng.uniform(0.8, 2.0)
        t0 = t + 5
        for i, p in enumerate(ctx.victims(net, t, ctx.count(300, 2500, 100), actor=it)):
            ctx.access(case, t0 + round(i * period + rng.gauss(0, 0.03)), who, "reveal",
                       fields=FULL_RECIPIENT, waybill=p.waybill_no, records=1)


def label_reprint_burst(ctx: Ctx, case: Case) -> None:
    """A sorter prints labels in bulk (to photograph or sell them): either many
    different waybills in minutes, or one waybill again and again plus a few others."""
    rng, net = ctx.rng, case.net
    hub = rng.choice(net.hubs)
    day_sorters = [s for s in ctx.uncast(net, "sorter", hub.id) if s.shift[0] < s.shift[1]]
    if not day_sorters:
        raise ValueError(f"{hub.id} has no day-shift sorter left to cast")
    s = rng.choice(day_sorters)
    ctx.cast.add(s.id)
    ds = ctx.abuse_day()
    t0 = at(ds, rng.uniform(9.0, 18.5))
    if rng.random() < 0.5:
        waybills = [p.waybill_no for p in ctx.victims(net, t0, ctx.count(40, 400, 20), actor=s)]
    else:
        same = ctx.victims(net, t0, 1, actor=s)[0].waybill_no
        others = [p.waybill_no for p in ctx.victims(net, t0, ctx.count(0, 60, 0), actor=s)]
        waybills = [same] * ctx.count(10, 40, 10) + others
        rng.shuffle(waybills)
    who = Who.staff(s, t0, "web")
    times = ctx.spread(t0, rng.randint(10, 40) * MINUTE, len(waybills))
    for t, wb in zip(times, waybills, strict=True):
        ctx.access(case, t, who, "print_label", fields=FULL_RECIPIENT, waybill=wb, records=1,
                   purpose="sorting")


def after_leaving(ctx: Ctx, case: Case) -> None:
    """A courier who left keeps using the account (never deprovisioned) from a
    personal phone, usually in the evening, on the former outlet's parcels."""
    rng, net, tl = ctx.rng, case.net, ctx.tl
    leavers = sorted((s for s in ctx.roster.of(net.enterprise.id, "courier")
                      if s.left_t is not None and s.left_t < tl.window_day(1)
                      and s.check == "passed" and s.id not in ctx.cast), key=lambda s: s.id)
    s = rng.choice(leavers)
    ctx.cast.add(s.id)
    station = s.station_on(s.left_t // DAY) if s.left_t is not None else s.station_id
    device = f"dev-{rng.getrandbits(40):010x}"
    for ds in ctx.abuse_days():
        for _ in range(rng.randint(1, 2)):
            t = at(ds, rng.uniform(18.5, 23.0) if rng.random() < 0.7 else rng.uniform(9, 17))
            who = Who.staff(s, t, "app", station=station, device=device, ip=mobile_ip(rng))
            ctx.access(case, t, who, "login")
            for _ in range(rng.randint(1, 3)):
                t += rng.randint(30, 300)
                ctx.access(case, t, who, "search", records=rng.randint(5, 50),
                           purpose="delivery")
            outcome = "allowed" if rng.random() < 0.85 else "denied"
            for p in ctx.victims(net, t, ctx.count(5, 60, 5),
                                 lambda p: p.destination.id == station, actor=s):
                t += rng.randint(10, 90)
                ctx.access(case, t, who, "reveal", fields=PHONE_ADDRESS, waybill=p.waybill_no,
                           records=1, purpose="delivery", outcome=outcome)


def hire_unchecked(ctx: Ctx, case: Case) -> None:
    """Before the roster is emitted: an outlet hires a courier during the window and
    puts them to work before the background check comes back."""
    rng, net, tl = ctx.rng, case.net, ctx.tl
    outlet = rng.choice(net.outlets)
    s = hire(ctx.roster, rng, net, "courier", outlet.id, shift=(8.0, 20.0),
             host=80 + rng.randrange(9))
    k = rng.randint(0, tl.days - 2)
    s.hired_t = at(tl.window_day(k), rng.uniform(8.3, 10.0))
    s.in_snapshot = False
    s.check, s.trained = "pending", False
    s.active_from_day = 10**9  # not on the rota: they ride along with colleagues
    ctx.cast.add(s.id)
    case.hire = s


def before_background_check(ctx: Ctx, case: Case) -> None:
    """The new hire logs in on a PDA and looks up recipients of the outlet's parcels
    while their background check is still pending."""
    rng, net = ctx.rng, case.net
    s = case.hire
    assert s is not None, "prepare() hires before run()"
    start_day = max(ctx.tl.window_day(1), (s.hired_t // DAY + 1) * DAY)
    days = [ds for ds in ctx.abuse_days() if ds >= start_day]
    for ds in days[: rng.randint(1, 2)]:
        t = at(ds, s.shift[0] - rng.uniform(0.1, 0.4))
        ctx.access(case, t, Who.staff(s, t, "pda"), "login")
        t0 = at(ds, s.shift[0] + 0.5)
        victims = ctx.victims(net, t0, ctx.count(10, 80, 10),
                              lambda p: p.destination.id == s.station_id, actor=s)
        for t, p in zip(ctx.spread(t0, 9 * HOUR, len(victims)), victims, strict=True):
            fields = ("recipient_phone",) if rng.random() < 0.7 else PHONE_ADDRESS
            ctx.access(case, t, Who.staff(s, t, "pda"), "reveal", fields=fields,
                       waybill=p.waybill_no, records=1, purpose="delivery")
