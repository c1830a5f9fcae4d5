"""build_world: wire the generators together in a fixed order.

Each stage draws from its own ``Random`` stream derived from the seed, so changing
one stage (say, a scenario's intensity) does not reshuffle the baseline of another:
the same seed gives the same couriers, parcels and benign traffic with or without
injected abuse.
"""

from __future__ import annotations

from collections.abc import Callable
from random import Random

from parcelguard.simulation.lifecycle import P_COMPLAINT, Lifecycle
from parcelguard.simulation.model import Scenario, World, WorldConfig
from parcelguard.simulation.network import build_network
from parcelguard.simulation.parcels import daily_loads, plan_parcels
from parcelguard.simulation.people import PeopleFactory
from parcelguard.simulation.roster import Roster, add_churn, emit_roster_events, staff_network
from parcelguard.simulation.routine import logins, office_work
from parcelguard.simulation.scenarios import Injector
from parcelguard.simulation.sink import EventSink
from parcelguard.simulation.timeline import DAY, Timeline

Progress = Callable[[str, int, int], None]

_PROGRESS_EVERY = 5_000


def _stream(seed: int, name: str) -> Random:
    # S311: this is synthetic data, not security; reproducibility is the point
    return Random(f"{seed}/{name}")


def build_world(config: WorldConfig, *, progress: Progress | None = None) -> World:
    """Generate the world for ``config``: deterministic for a given config.

    ``progress(stage, done, total)`` is called now and then for progress bars.
    """

    def report(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(stage, done, total)

    timeline = Timeline(config.start, config.days)
    net_rng = _stream(config.seed, "network")
    nets = [build_network(net_rng, i + 1, config.stations_per_enterprise)
            for i in range(config.enterprises)]

    report("people", 0, 1)
    factory = PeopleFactory(config.seed)
    # a consumer receives a parcel or two in the window; a few hundred merchants ship
    consumers = factory.consumers(max(200, config.parcels * 6 // 10))
    merchants = factory.merchants(max(20, config.parcels // 200))
    report("people", 1, 1)

    plans = plan_parcels(_stream(config.seed, "parcels"), timeline, nets, consumers=consumers,
                         merchants=merchants, n=config.parcels)
    loads = daily_loads(plans, timeline)

    roster = Roster(timeline)
    staff_rng = _stream(config.seed, "staff")
    span_days = (timeline.w1 - timeline.warm0) / DAY
    for net in nets:
        n = sum(1 for p in plans if p.net is net)
        staff_network(roster, staff_rng, net, loads, n * P_COMPLAINT / span_days)
    churn_rng = _stream(config.seed, "churn")
    for net in nets:
        add_churn(roster, churn_rng, net)

    sink = EventSink(timeline)
    scenario_rng = _stream(config.seed, "scenarios")
    # Scenarios may hire (a new courier who starts before the check) before the
    # courier rota is indexed and the roster is emitted.
    injector = Injector(scenario_rng, sink, roster, nets) if config.inject_abuse else None
    if injector is not None:
        injector.prepare()
    roster.index_couriers()
    emit_roster_events(sink, roster)

    life = Lifecycle(_stream(config.seed, "lifecycle"), sink, roster)
    for i, plan in enumerate(plans):
        life.live(plan)
        if i % _PROGRESS_EVERY == 0:
            report("parcels", i, len(plans))
    report("parcels", len(plans), len(plans))

    logins(sink, _stream(config.seed, "logins"), roster)
    office_work(sink, _stream(config.seed, "office"), roster, nets)

    if injector is not None:
        report("scenarios", 0, 1)
        injector.run(plans)
        report("scenarios", 1, 1)

    report("finalize", 0, 1)
    events = sink.finalize({net.enterprise.id: net.number for net in nets})
    scenarios: list[Scenario] = injector.scenarios(timeline) if injector is not None else []
    report("finalize", 1, 1)
    return World(
        config=config,
        enterprises=[net.enterprise for net in nets],
        stations=[s for net in nets for s in (*net.hubs, *net.outlets)],
        employees=roster.employees(),
        people=[*consumers, *merchants],
        parcels=[p.public(timeline) for p in plans],
        events=events,
        scenarios=scenarios,
    )
