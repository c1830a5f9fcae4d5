"""Injected abuse with exact ground truth.

Every kind in ``SCENARIO_KINDS`` is injected at least once per world, on day 2 or
later (day 1 stays a clean baseline), rotating over the enterprises; some kinds get
a second instance elsewhere. Intensities are drawn per world from realistic ranges,
from subtle to blatant, so a detector is measured on more than one easy case.

A scenario's ground truth is exactly the events its generator emitted: the abusers'
ordinary work on the same day stays benign and is not listed. Actors are cast only
from ordinary staff (nobody leaving, transferring, on a spare device or already cast)
so a scenario never borrows another one's signal.

Conventions a detector can rely on, also stated where each scenario is generated:

- ``credential_stuffing``: ``actor_type`` is ``external`` and ``actor_id`` is the
  *targeted* account id (real or guessed); the attacker's source is in ``ip`` and
  ``device_id``, which stay the same across the whole attack.
- ``scraping``: ``actor_id`` is the scraper's stable API client id, channel ``api``.
- ``rented_account``: the real employee's id, from devices and IPs they never use.
"""

from __future__ import annotations

from collections.abc import Callable
from random import Random

from parcelguard.simulation import external, insider
from parcelguard.simulation.cases import Case, Ctx
from parcelguard.simulation.model import SCENARIO_KINDS, Scenario
from parcelguard.simulation.network import Network
from parcelguard.simulation.parcels import ParcelPlan
from parcelguard.simulation.roster import Roster
from parcelguard.simulation.sink import EventSink
from parcelguard.simulation.timeline import DAY, Timeline

P_SECOND_INSTANCE = 0.25
FULL_STRENGTH_DAILY_PARCELS = 6_000  # per carrier: about the default world's volume

Generator = Callable[[Ctx, Case], None]

GENERATORS: dict[str, Generator] = {
    "out_of_assignment": insider.out_of_assignment,
    "out_of_station": insider.out_of_station,
    "warehouse_bulk_query": insider.warehouse_bulk_query,
    "rented_account": external.rented_account,
    "bulk_export": insider.bulk_export,
    "label_reprint_burst": insider.label_reprint_burst,
    "after_leaving": insider.after_leaving,
    "before_background_check": insider.before_background_check,
    "credential_stuffing": external.credential_stuffing,
    "scraping": external.scraping,
}


class Injector:
    """Plans the cases before the baseline is generated (some need a hire on the
    roster), generates them after it (victims are parcels that already exist), and
    reports the ground truth once the stream is numbered."""

    def __init__(self, rng: Random, sink: EventSink, roster: Roster,
                 nets: list[Network]) -> None:
        self.ctx = Ctx(rng, sink, roster)
        self.nets = nets
        self.cases: list[Case] = []

    def prepare(self) -> None:
        """Decide which carrier gets which scenario and make the hires some need."""
        rng, nets = self.ctx.rng, self.nets
        offset = rng.randrange(len(nets))
        for i, kind in enumerate(SCENARIO_KINDS):
            self.cases.append(Case(kind, nets[(i + offset) % len(nets)]))
            if len(nets) > 1 and rng.random() < P_SECOND_INSTANCE:
                other = nets[(i + offset + 1 + rng.randrange(len(nets) - 1)) % len(nets)]
                self.cases.append(Case(kind, other))
        for case in self.cases:
            if case.kind == "before_background_check":
                insider.hire_unchecked(self.ctx, case)

    def run(self, plans: list[ParcelPlan]) -> None:
        ctx = self.ctx
        for p in plans:
            ctx.plans.setdefault(p.net.enterprise.id, []).append(p)
        span = (ctx.tl.w1 - ctx.tl.warm0) / DAY
        per_day = len(plans) / len(self.nets) / span
        ctx.scale = min(1.0, max(0.1, per_day / FULL_STRENGTH_DAILY_PARCELS))
        for case in self.cases:
            GENERATORS[case.kind](self.ctx, case)

    def scenarios(self, timeline: Timeline) -> list[Scenario]:
        """Ground truth; valid once the sink has finalised (event ids assigned)."""
        out = []
        for case in self.cases:
            if not case.events:
                continue
            case.events.sort(key=lambda te: te[0])
            out.append(Scenario(
                scenario=case.kind,
                enterprise_id=case.net.enterprise.id,
                actors=sorted(case.actors),
                event_ids=[ev["event_id"] for _, ev in case.events],
                start=timeline.dt(case.events[0][0]),
                end=timeline.dt(case.events[-1][0]),
            ))
        return out
