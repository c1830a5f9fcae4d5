"""``parcelguard demo`` and ``world2``: the synthetic worlds (needs the ``demo`` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from parcelguard.core.runtime import Runtime

app = typer.Typer()
console = Console()


@app.command()
def demo(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("demo-out"),
    seed: Annotated[int, typer.Option(help="World seed (deterministic).")] = 7,
    parcels: Annotated[int | None, typer.Option(
        help="Parcels in the world (100,000; 3,000 with --federated).", min=100)] = None,
    enterprises: Annotated[int, typer.Option(help="Enterprises in the world.", min=1)] = 3,
    # day 1 is every insider's baseline; the injected abuse starts on day 2
    days: Annotated[int, typer.Option(help="Days simulated (at least 2).", min=2)] = 3,
    federated: Annotated[bool, typer.Option(
        "--federated", help="Each party its own node: three carriers, supervision, police "
        "and an auditor as separate `node serve` processes with their own databases, "
        "with a partition drill (docs/deployment.md).")] = False,
    partition: Annotated[bool, typer.Option(
        help="(--federated) stop the supervision node during day 2.")] = True,
    kill: Annotated[str | None, typer.Option(
        help="(--federated) kill -9 this node (an org, or 'random') at a random point "
        "of the catching up, then start it again.")] = None,
) -> None:
    """Build a simulated logistics world with injected abuse and run the whole
    supervision mechanism on it; writes demo-out/ (events, ground truth, summary).
    With --federated, across six node processes (writes demo-out/nodes/ and
    demo-out/federated.json)."""
    if federated:
        from parcelguard.simulation.federated import (
            FederatedError,
            FederatedOptions,
            run_federated,
        )

        try:
            run_federated(FederatedOptions(out=out, seed=seed, parcels=parcels or 3000,
                                           partition=partition, kill=kill), console=console)
        except FederatedError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from None
        return
    from parcelguard.simulation.demo import DemoOptions, run_demo

    rt: Runtime = ctx.obj
    run_demo(rt, DemoOptions(out=out, seed=seed, parcels=parcels or 100_000,
                             enterprises=enterprises, days=days), console=console)


@app.command()
def world2(
    out: Annotated[Path, typer.Option(help="Output directory (events.jsonl, truth.json).")]
    = Path("world2-out"),
    seed: Annotated[int, typer.Option(help="World seed (deterministic).")] = 1,
    days: Annotated[int, typer.Option(help="Days generated (at least 8).", min=8)] = 10,
    parcels: Annotated[int, typer.Option(help="Parcels per outlet and day.")] = 450,
) -> None:
    """Generate the second, independent world (simulation/world2): contract-valid
    events and a ground truth of abuse and benign look-alikes that `monitor evaluate`
    reads."""
    from parcelguard.simulation.world2 import Params, generate, write

    out.mkdir(parents=True, exist_ok=True)
    n = write(generate(Params(seed=seed, days=days, parcels_per_outlet_day=parcels)),
              out / "events.jsonl", out / "truth.json")
    console.print(f"{n:,} events in {out / 'events.jsonl'}, truth in {out / 'truth.json'}")
