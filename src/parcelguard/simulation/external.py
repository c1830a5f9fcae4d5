"""Abuse driven from outside: rented accounts, credential stuffing, API scraping.

All three are scripts, so their timing is machine-regular where a person's is not,
and their sources are addresses no employee uses. The addresses come from the
documentation ranges (RFC 5737: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) so
the data never names a real network; two ranges stand for two far-apart places.
"""

from __future__ import annotations

from parcelguard.simulation.cases import FULL_RECIPIENT, PHONE_ADDRESS, Case, Ctx, Who
from parcelguard.simulation.timeline import HOUR, MINUTE, at

_FAR_APART = ("198.51.100.", "203.0.113.")


def rented_account(ctx: Ctx, case: Case) -> None:
    """An employee rents their account out: a script drives it from rotating devices
    and IPs every few seconds (jitter of a few hundredths), sometimes as two
    instances in two far-apart places at once, while the employee is working."""
    rng, net = ctx.rng, case.net
    s = ctx.ordinary(net, rng.choice(("courier", "courier", "customer_service")))
    ds = ctx.abuse_day()
    night = rng.random() < 0.4
    start = at(ds, rng.uniform(22.0, 23.5) if night else rng.uniform(9.0, 19.0))
    duration = ctx.count(20, 90, 10) * MINUTE
    station = s.station_id
    purpose = "delivery" if s.role == "courier" else "customer_service"  # the pretext
    for instance in range(1 if rng.random() < 0.5 else 2):
        net_prefix = _FAR_APART[instance]
        period = rng.uniform(2.0, 6.0)
        rotate_every = rng.randint(20, 80)
        t0 = start + instance * rng.randint(0, 15 * MINUTE)
        count = int(duration / period)
        who = Who.staff(s, t0, "app")
        for i, p in enumerate(ctx.victims(net, t0, count, actor=s)):
            t = t0 + round(i * period + rng.gauss(0, 0.03))
            if i % rotate_every == 0:
                # the renter's tool rotates devices and proxies to dodge per-device limits
                who = Who.staff(s, t, "app", station=station,
                                device=f"dev-{rng.getrandbits(40):010x}",
                                ip=f"{net_prefix}{rng.randint(1, 254)}")
                ctx.access(case, t, who, "login")
                t += 1
            ctx.access(case, t, who, "reveal", fields=FULL_RECIPIENT, waybill=p.waybill_no,
                       records=1, purpose=purpose)


def credential_stuffing(ctx: Ctx, case: Case) -> None:
    """Leaked passwords tried against many accounts from one source.

    Convention: ``actor_type`` external, ``actor_id`` the targeted account (a real
    employee id or a guessed one in the same pattern), ``ip``/``device_id`` the
    attacker's single source. A few reused passwords work; the attacker then runs a
    few searches under the captured account.
    """
    rng, net, roster = ctx.rng, case.net, ctx.roster
    ip = f"{rng.choice(('192.0.2.', '203.0.113.'))}{rng.randint(1, 254)}"
    device = f"ua-{rng.getrandbits(32):08x}"
    real = sorted(s.id for s in roster.staff if s.enterprise_id == net.enterprise.id)
    real_set = set(real)
    attempts = ctx.count(150, 1500, 60)
    targets = []
    for _ in range(attempts):
        if rng.random() < 0.6:
            targets.append(rng.choice(real))
        else:  # ids follow a visible pattern, so attackers enumerate beyond it
            targets.append(f"emp-{net.number:02d}-{rng.randint(len(real) + 50, 9999):04d}")
    real_tries = [i for i, account in enumerate(targets) if account in real_set]
    hits = set(rng.sample(real_tries, min(len(real_tries), rng.randint(1, 4))))
    ds = ctx.abuse_day()
    t = at(ds, rng.uniform(0.5, 5.0) if rng.random() < 0.5 else rng.uniform(9.0, 21.0))
    period = rng.uniform(0.5, 3.0)
    for i, account in enumerate(targets):
        t += max(1, round(period * rng.uniform(0.8, 1.2)))
        who = Who("external", account, None, device, ip, "web")
        if i in hits:
            ctx.access(case, t, who, "login")
            for _ in range(rng.randint(0, 5)):
                t += rng.randint(2, 20)
                ctx.access(case, t, who, "search", records=rng.randint(1, 50))
        else:
            ctx.access(case, t, who, "login_failed", outcome="denied")


def scraping(ctx: Ctx, case: Case) -> None:
    """A stable API client (a leaked partner key) harvests recipients for hours:
    searches and reveals at a steady clip; the rate limiter eventually bites."""
    rng, net = ctx.rng, case.net
    client = f"cli-{rng.getrandbits(48):012x}"
    ips = [f"198.51.100.{rng.randint(1, 254)}" for _ in range(rng.randint(1, 4))]
    ds = ctx.abuse_day()
    t = at(ds, rng.uniform(8.0, 16.0))
    duration = rng.uniform(2.0, 8.0) * HOUR
    n = ctx.count(300, 3000, 100)
    gap = duration / n
    limited_from = int(n * rng.uniform(0.5, 0.9)) if rng.random() < 0.5 else n
    victims = ctx.victims(net, t, n)
    for i, p in enumerate(victims):
        t += max(1, round(gap * rng.uniform(0.7, 1.3)))
        outcome = "denied" if i >= limited_from and rng.random() < 0.3 else "allowed"
        who = Who("external", client, None, None, ips[i % len(ips)], "api")
        if rng.random() < 0.2:
            ctx.access(case, t, who, "search", records=rng.randint(10, 100), outcome=outcome)
        else:
            fields = PHONE_ADDRESS if rng.random() < 0.7 else FULL_RECIPIENT
            ctx.access(case, t, who, "reveal", fields=fields, waybill=p.waybill_no, records=1,
                       outcome=outcome)
