"""National analytics: Spark and the embedded runner on the same mirrored days, in one run.

    .venv/bin/python bench/bench_national.py [--parcels 2000] [--days 3] [--rounds 1]

A simulated world (--enterprises carriers, --parcels parcels over --days days, the
simulator's injected abuse included) is ingested into an enterprise home's ledgers,
one log per carrier, each signed; `parcelguard serve` publishes them as tlog-tiles
(a real process on loopback). ``supervision.mirror.mirror_log`` mirrors every log
into a supervision store with the national store as its sink, as the supervision
node does: the entries end up as Parquet partitions (enterprise, day). Then, over
those partitions, each in its own process as an operator runs it:

* embedded  - `parcelguard monitor replay <national>` (the embedded runner);
* spark-1   - `parcelguard monitor spark --events <national> --master local[1]`;
* spark-2   - the same with --master local[2].

Each is timed from process start to exit (Spark's includes starting its JVM), best
of --rounds; the alerts of the three must be the same, line for line. Prints the
figures and writes bench/out/national.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2
import msgspec

from bench_mirror import runtime, served
from parcelguard.identity import service as identity
from parcelguard.ledger import signing
from parcelguard.ledger.ingest import EventLog
from parcelguard.monitor.national import NationalStore
from parcelguard.monitor.settings import MonitorSettings
from parcelguard.simulation.model import WorldConfig
from parcelguard.simulation.world import build_world
from parcelguard.supervision.mirror import MirrorSource, mirror_log
from parcelguard.vault.provider import vault_service

OUT = Path(__file__).parent / "out"
BATCH = 20_000


def carriers(home: Path, world_events: list[dict[str, Any]]) -> dict[str, str]:
    """Every carrier's events in its log in the home, signed; {carrier: verifier key}."""
    rt = runtime(home)
    kms = vault_service(rt.settings).vault.kms
    by_ent: dict[str, list[bytes]] = {}
    for ev in world_events:
        by_ent.setdefault(ev["enterprise_id"], []).append(msgspec.json.encode(ev))
    keys = {}
    with rt.db.unit_of_work() as uow:
        identity.initialise(uow.session, clock=rt.clock)
        for ent in sorted(by_ent):
            identity.create_organization(uow.session, org_id=ent, kind="enterprise",
                                         name=ent, clock=rt.clock)
        uow.commit()
    log = EventLog(clock_now=rt.clock.now)
    for ent, lines in sorted(by_ent.items()):
        for start in range(0, len(lines), BATCH):
            with rt.db.unit_of_work() as uow:
                got = log.append_raw(uow.session, list(enumerate(lines[start:start + BATCH],
                                                                 start=1)))
                assert not got.rejected, got.rejected[:3]
                uow.commit()
        with rt.db.unit_of_work() as uow:
            signing.checkpoint(uow.session, ent, kms=kms, clock=rt.clock)
            keys[ent] = signing.verifier_key(uow.session, ent, kms=kms, clock=rt.clock)
            uow.commit()
    rt.close()
    return keys


def mirror_all(url: str, keys: dict[str, str], sup: Path) -> tuple[int, float]:
    """Mirror every carrier's log, exporting to ``sup/national``; (entries, seconds)."""
    rt = runtime(sup)
    sink = NationalStore(sup / "national", rt.settings.section(MonitorSettings).day_offset_hours)
    t = time.perf_counter()
    n = 0
    with httpx2.Client(timeout=60) as client:
        for ent, vkey in sorted(keys.items()):
            with rt.db.unit_of_work() as uow:
                r = mirror_log(uow.session, MirrorSource(ent, f"{url}/tlog/{ent}", vkey),
                               client=client, clock=rt.clock, commit=uow.commit, sink=sink)
            assert r.status == "mirrored", r
            n += r.entries
    took = time.perf_counter() - t
    rt.close()
    return n, took


def timed(args: list[str], home: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARCELGUARD_")}
    env |= {"PARCELGUARD_HOME": str(home), "PYSPARK_PYTHON": sys.executable}
    t = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "parcelguard", *args], env=env,
                         capture_output=True, check=False)
    took = time.perf_counter() - t
    if run.returncode != 0:
        raise SystemExit(run.stderr.decode(errors="replace")[-3000:])
    return took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--enterprises", type=int, default=3)
    ap.add_argument("--parcels", type=int, default=2000)
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    world = build_world(WorldConfig(seed=7, enterprises=args.enterprises,
                                    parcels=args.parcels, days=args.days))
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        keys = carriers(base / "enterprise", world.events)
        with served(base / "enterprise") as url:
            entries, secs = mirror_all(url, keys, base / "sup")
        national = base / "sup" / "national"
        files = len(list(national.rglob("*.parquet")))
        print(f"{entries:,} entries of {len(keys)} carriers mirrored and exported to "
              f"{files} Parquet files in {secs:.1f}s")
        times: dict[str, list[float]] = {"embedded": [], "spark-1": [], "spark-2": []}
        alerts: dict[str, list[bytes]] = {}
        for r in range(args.rounds):
            out = base / f"round{r}"
            times["embedded"].append(timed(["monitor", "replay", str(national), "--alerts-out",
                                            str(out / "embedded.jsonl")], base / "h"))
            alerts["embedded"] = (out / "embedded.jsonl").read_bytes().splitlines()
            for cores in (1, 2):
                name = f"spark-{cores}"
                times[name].append(timed(["monitor", "spark", "--events", str(national),
                                          "--alerts-out", str(out / name),
                                          "--master", f"local[{cores}]"], base / "h"))
                alerts[name] = (out / name / "alerts.jsonl").read_bytes().splitlines()
            print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.1f}s" for k, v in times.items()))
    equal = alerts["spark-1"] == alerts["embedded"] == alerts["spark-2"]
    best = {k: min(v) for k, v in times.items()}
    result: dict[str, Any] = {
        "enterprises": args.enterprises, "parcels": args.parcels, "days": args.days,
        "entries": entries, "parquet_files": files, "rounds": args.rounds,
        "alerts": len(alerts["embedded"]), "alerts_equal": equal,
        "seconds": {k: round(v, 2) for k, v in best.items()},
        "events_per_s": {k: round(entries / v) for k, v in best.items()},
        "mirror_and_export_entries_per_s": round(entries / secs)}
    print(f"{len(alerts['embedded'])} alerts, Spark == embedded: {equal}; "
          + ", ".join(f"{k} {v:.1f}s ({entries / v:,.0f} events/s)" for k, v in best.items()))
    OUT.mkdir(exist_ok=True)
    (OUT / "national.json").write_text(json.dumps(result, indent=2) + "\n")
    if not equal:
        raise SystemExit("Spark and the embedded runner disagree")


if __name__ == "__main__":
    main()
