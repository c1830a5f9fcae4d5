"""Who ships what to whom, and when: the parcel plans the lifecycle then plays out.

E-commerce volume dominates (most senders are merchants shipping from the market
belts), recipients repeat (a consumer gets a few parcels a week in the Double 11
season) and creation follows the merchants' working day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import accumulate
from random import Random

from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.simulation.model import Parcel, Person, Station
from parcelguard.simulation.network import Network
from parcelguard.simulation.timeline import DAY, Timeline

MERCHANT_SHARE = 0.85

# Serials start 700...: a 13-digit waybill body then cannot contain an 11-digit
# mobile number (those start 13-19), so a leak test on events has no false hits.
_SERIAL_BASE = 700_000_000_000


@dataclass(slots=True, eq=False)
class ParcelPlan:
    """A parcel while the world is generated: the public record plus what the
    scenarios need to pick plausible victims (who was assigned it, when it was where)."""

    net: Network
    sender: Person
    recipient: Person
    sender_key: int  # stable pickup zone (and e-commerce platform)
    recipient_key: int  # stable delivery zone
    origin: Station
    destination: Station
    created_t: int
    from_merchant: bool
    waybill_no: str = ""
    assignees: set[str] = field(default_factory=set)
    at_destination_t: int | None = None

    def public(self, timeline: Timeline) -> Parcel:
        return Parcel(
            waybill_no=self.waybill_no, enterprise_id=self.net.enterprise.id,
            sender_id=self.sender.id, recipient_id=self.recipient.id,
            origin_station_id=self.origin.id, destination_station_id=self.destination.id,
            destination_region=self.recipient.region_code,
            created_at=timeline.dt(self.created_t),
        )


def plan_parcels(rng: Random, timeline: Timeline, networks: list[Network], *,
                 consumers: list[Person], merchants: list[Person], n: int) -> list[ParcelPlan]:
    # market shares differ, as they do between real carriers
    shares = list(accumulate(rng.uniform(0.6, 1.4) for _ in networks))
    # a long tail of merchants: a few big shops send most parcels
    merchant_cum = list(accumulate(1.0 / (i + 1) ** 0.8 for i in range(len(merchants))))
    first, last = timeline.warm0 // DAY, (timeline.w1 - 1) // DAY
    n_consumers = len(consumers)
    plans: list[ParcelPlan] = []
    for _ in range(n):
        net = rng.choices(networks, cum_weights=shares)[0]
        from_merchant = rng.random() < MERCHANT_SHARE
        if from_merchant:
            sender_key = rng.choices(range(len(merchants)), cum_weights=merchant_cum)[0]
            sender = merchants[sender_key]
            sender_key += n_consumers
        else:
            sender_key = rng.randrange(n_consumers)
            sender = consumers[sender_key]
        recipient_key = rng.randrange(n_consumers)
        if recipient_key == sender_key:
            recipient_key = (recipient_key + 1) % n_consumers
        recipient = consumers[recipient_key]
        while True:
            t = timeline.creation_time(rng, rng.randint(first, last) * DAY)
            if timeline.warm0 <= t < timeline.w1:
                break
        plans.append(ParcelPlan(
            net=net, sender=sender, recipient=recipient, sender_key=sender_key,
            recipient_key=recipient_key, origin=net.outlet_for_region[sender.region_code],
            destination=net.outlet_for_region[recipient.region_code], created_t=t,
            from_merchant=from_merchant,
        ))
    plans.sort(key=lambda p: p.created_t)
    serials = {net.enterprise.id: _SERIAL_BASE + rng.randrange(10**8) for net in networks}
    for p in plans:
        ent = p.net.enterprise
        serials[ent.id] += 1
        p.waybill_no = make_waybill_no(ent.waybill_prefix, serials[ent.id])
    return plans


def daily_loads(plans: list[ParcelPlan], timeline: Timeline) -> dict[str, float]:
    """Average daily work per station: pickups plus deliveries for an outlet, parcels
    sorted for a hub (each parcel is sorted by hand only at its first hub)."""
    span = (timeline.w1 - timeline.warm0) / DAY
    counts: dict[str, float] = {}
    for p in plans:
        counts[p.origin.id] = counts.get(p.origin.id, 0.0) + 1
        counts[p.destination.id] = counts.get(p.destination.id, 0.0) + 1
        hub = p.net.hub_of[p.origin.id].id
        counts[hub] = counts.get(hub, 0.0) + 1
    return {k: v / span for k, v in counts.items()}
