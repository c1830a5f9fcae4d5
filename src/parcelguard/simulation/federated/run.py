"""``run_federated``: the stages in order, every process stopped at the end."""

from __future__ import annotations

import random
import signal
import time
from typing import Any

import msgspec
from rich.console import Console

from parcelguard.simulation.federated.fed import Fed, FederatedOptions, set_up
from parcelguard.simulation.federated.figures import final_state, pi_scan, print_figures
from parcelguard.simulation.federated.stages import (
    events_by_day,
    final_figures,
    stage_day1,
    stage_department,
    stage_drill,
    stage_tamper,
)
from parcelguard.simulation.federated.stores import cosignatures_of, store_counts
from parcelguard.simulation.model import WorldConfig


def run_federated(options: FederatedOptions, *, console: Console) -> dict[str, Any]:
    """Run the federated demo; the figures (also written to <out>/federated.json)."""
    import shutil

    from parcelguard.simulation.world import build_world

    started = time.perf_counter()
    out = options.out
    base = out / "nodes"
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    rng = random.Random(options.seed if options.kill_seed is None else options.kill_seed)
    console.rule("[bold]1. Set-up: a private CA, six nodes, the signed directory")
    world = build_world(WorldConfig(seed=options.seed, parcels=options.parcels,
                                    enterprises=3, days=2))
    fed = Fed(options=options, console=console, base=base.resolve(), world=world)
    previous = signal.getsignal(signal.SIGTERM)

    def terminate(_sig: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)  # a stopped demo stops its nodes too
    try:
        t = time.perf_counter()
        set_up(fed)
        fed.timings["1. set-up"] = round(time.perf_counter() - t, 2)
        days = events_by_day(fed)
        stage_day1(fed, days)
        stage_drill(fed, days, rng)
        stage_department(fed)
        state = final_state(fed)
        fed.figures["cosigned"] = {e: cosignatures_of(fed, e) for e in fed.enterprises}
        fed.figures["messages"] = {org: store_counts(fed, org) for org in fed.procs}
        caught = stage_tamper(fed) if options.tamper else []
        final_figures(fed)
        fed.figures |= {"state": state, "tamper": caught,
                        "timings_seconds": {**fed.timings, "total": round(
                            time.perf_counter() - started, 2)}}
        print_figures(fed, state, caught)
    except BaseException as exc:  # Ctrl-C, SIGTERM, a stage that did not settle
        running = sum(p.proc is not None for p in fed.procs.values())
        console.print(f"  [red]{type(exc).__name__}[/red]: stopping the {running} node "
                      f"processes; their homes and logs stay in {fed.base}")
        raise
    finally:
        for p in fed.procs.values():
            p.stop()
        for rt in fed.rts.values():
            rt.close()
        signal.signal(signal.SIGTERM, previous)
        fed.figures["pids"] = {org: p.pids for org, p in fed.procs.items()}
    fed.figures["pi_scan"] = scan = pi_scan(fed)
    for org, r in scan.items():
        console.print(f"  {org} node stopped: its {r['bytes']:,} bytes of files searched for "
                      f"the {r['pi_values_searched']:,} names, addresses and ID numbers on "
                      f"the carriers' parcels: {r['found']} found")
    (out / "federated.json").write_bytes(msgspec.json.format(
        msgspec.json.encode(fed.figures), indent=2))
    console.print(f"  all {len(fed.procs)} node processes stopped; total "
                  f"{time.perf_counter() - started:.0f} s")
    return fed.figures
