"""Carriers and their station networks: hubs per line-haul area, outlets per district.

Each carrier has a headquarters hub in the east (where most e-commerce volume is),
further hubs in other areas, and outlets in weighted-random districts. An outlet
sends everything through its area's hub; parcels between areas go hub to hub, so
routes pass one, two or (via a transit hub) three hubs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from random import Random

from parcelguard.simulation.model import Enterprise, Station
from parcelguard.simulation.regions import BY_CODE, REGIONS, area_of, city_key, short_place

# Fictional carriers: real brand names would suggest real companies abuse PI.
_CARRIERS = (
    ("神舟速运", "SZ"), ("云路快递", "YL"), ("长风物流", "CF"), ("东方快运", "DF"),
    ("海川速递", "HC"), ("金桥快递", "JQ"), ("星驰速运", "XC"), ("万通快运", "WT"),
)

# One hub district per line-haul area, in the order carriers open them.
_HUB_SITES = (
    ("east", "310112"), ("south", "440111"), ("north", "110106"),
    ("central", "420111"), ("west", "510106"),
)


@dataclass(slots=True)
class Network:
    enterprise: Enterprise
    number: int  # 1-based, used in ids and event-id prefixes
    hubs: list[Station]
    outlets: list[Station]
    hub_of: dict[str, Station] = field(default_factory=dict)  # outlet id -> its hub
    outlet_for_region: dict[str, Station] = field(default_factory=dict)

    @property
    def hq(self) -> Station:
        """Head office: customer service, security, IT and admin sit at the first hub."""
        return self.hubs[0]

    def route(self, rng: Random, origin: Station, destination: Station) -> list[Station]:
        first = self.hub_of[origin.id]
        last = self.hub_of[destination.id]
        if first is last:
            return [first]
        if len(self.hubs) >= 3 and rng.random() < 0.12:
            # overflow days: some trunk lines run via a third hub
            transit = rng.choice([h for h in self.hubs if h is not first and h is not last])
            return [first, transit, last]
        return [first, last]


def _carrier(i: int) -> tuple[str, str]:
    if i < len(_CARRIERS):
        return _CARRIERS[i]
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    first, second = letters[i // len(letters) % len(letters)], letters[i % len(letters)]
    return f"示例快递{i + 1:02d}", f"Q{first}{second}"


def _weighted_sample(rng: Random, codes: list[str], weights: list[float], k: int) -> list[str]:
    # Efraimidis-Spirakis: weighted sampling without replacement in one pass.
    keyed = sorted(((rng.random() ** (1.0 / w), c) for c, w in zip(codes, weights, strict=True)),
                   reverse=True)
    return [c for _, c in keyed[:k]]


def build_network(rng: Random, number: int, stations: int) -> Network:
    name, prefix = _carrier(number - 1)
    ent = Enterprise(id=f"ent-{number:02d}", name=name, waybill_prefix=prefix)
    n_hubs = min(len(_HUB_SITES), max(1, round(stations / 4)))
    n_outlets = stations - n_hubs
    sites = [_HUB_SITES[0], *rng.sample(_HUB_SITES[1:], n_hubs - 1)]
    hubs = [
        Station(id=f"st-{number:02d}-{i + 1:03d}", enterprise_id=ent.id,
                name=f"{name}{short_place(BY_CODE[code])}转运中心", region_code=code, kind="hub")
        for i, (_, code) in enumerate(sites)
    ]
    hub_areas = {area for area, _ in sites}
    codes = [r.code for r in REGIONS]
    # outlets cluster where the carrier has hubs, as real networks grow outwards
    weights = [r.weight * (3.0 if area_of(r.code) in hub_areas else 1.0) for r in REGIONS]
    picked: list[str] = []
    while len(picked) < n_outlets:
        picked += _weighted_sample(rng, codes, weights, n_outlets - len(picked))
    outlets: list[Station] = []
    seen: dict[str, int] = {}
    for j, code in enumerate(picked):
        seen[code] = seen.get(code, 0) + 1
        suffix = "营业部" if seen[code] == 1 else f"{seen[code]}部"
        outlets.append(Station(
            id=f"st-{number:02d}-{n_hubs + j + 1:03d}", enterprise_id=ent.id,
            name=f"{name}{short_place(BY_CODE[code])}{suffix}", region_code=code,
        ))
    net = Network(enterprise=ent, number=number, hubs=hubs, outlets=outlets)
    hub_by_area = {area: hubs[i] for i, (area, _) in enumerate(sites)}
    for outlet in outlets:
        net.hub_of[outlet.id] = hub_by_area.get(area_of(outlet.region_code), hubs[0])
    for region in REGIONS:
        net.outlet_for_region[region.code] = _serving_outlet(rng, region.code, outlets)
    return net


def _serving_outlet(rng: Random, code: str, outlets: list[Station]) -> Station:
    """The outlet delivering to a district: its own, else one in the same city,
    province or area, else any (a real carrier would use a franchise partner)."""
    for same in (
        lambda o: o.region_code == code,
        lambda o: city_key(o.region_code) == city_key(code),
        lambda o: o.region_code[:2] == code[:2],
        lambda o: area_of(o.region_code) == area_of(code),
    ):
        matches = [o for o in outlets if same(o)]
        if matches:
            return matches[0] if len(matches) == 1 else rng.choice(matches)
    return rng.choice(outlets)
