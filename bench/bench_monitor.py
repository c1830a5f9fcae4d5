"""Monitor benchmark: detection quality per world (the simulator's seeds, the second
generator's seeds, and seeds of each never used in tuning), benign look-alikes
flagged, replay throughput on one million events against a bare decoding pass of the
same file, and the state the runner keeps per active subject, all in one run.

    .venv/bin/python bench/bench_monitor.py [--seeds 7 11] [--untouched-seeds 303]
        [--w2-seeds 1] [--w2-untouched-seeds 2 3] [--parcels 100000] [--events 1000000]
        [--rounds 3]

Targets (issues 5 and 15): on every world subject-level recall >= 0.95, precision
>= 0.9, no benign look-alike flagged (the second generator's catalogue), median time
to detect <= 10 min (per abuser, from that abuser's first malicious event to the
first alert about them: monitor/evaluate.py); the monitor at least 200k events/s
per core and at least 0.25 of the bare pass. "Per core": the pipeline is one Python
thread, so its rate is events over the process's CPU seconds (wall time on a shared
machine would charge it for other processes); the ratio is the median of --rounds
rounds, each a bare pass then a replay, so both halves of a round meet the same
load. Writes bench/out/monitor.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec

from parcelguard.ledger.contract import decoder as contract_decoder
from parcelguard.monitor.evaluate import evaluate_files, load_alerts
from parcelguard.monitor.replay import replay, run_pipeline
from parcelguard.monitor.settings import MonitorSettings
from parcelguard.monitor.source import decode_lines, read_events, read_lines
from parcelguard.monitor.state import state_encoder
from parcelguard.monitor.waybills import state_encoder as wb_encoder
from parcelguard.simulation import world2
from parcelguard.simulation.io import write_events_jsonl, write_ground_truth
from parcelguard.simulation.model import WorldConfig
from parcelguard.simulation.world import build_world

OUT = Path(__file__).parent / "out"


def _row(world: str, role: str, seed: int, events: Path, truth: Path,
         alerts: Path) -> dict[str, Any]:
    replay(events, alerts, MonitorSettings())
    ev = evaluate_files(alerts, truth)
    doc = msgspec.json.decode(truth.read_bytes())
    abusers = {a for s in doc["scenarios"] for a in s["actors"]}
    looks = {a: x["lookalike"] for x in doc.get("lookalikes", []) for a in x["actors"]
             if a not in abusers}
    flagged = sorted({looks[a["subject_id"]] for a in load_alerts(alerts)
                      if a["subject_id"] in looks})
    row = {"world": world, "role": role, "seed": seed,
           "events": sum(1 for _ in events.open("rb")),
           "recall": round(ev.recall, 4), "precision": round(ev.precision, 4),
           "median_ttd_minutes": None if ev.mttd_minutes is None else round(ev.mttd_minutes, 2),
           "alerts": ev.alerts, "subjects": ev.units, "missed": ev.missed,
           "false_alerts": ev.false_alerts,
           "alerts_by_detector": dict(sorted(Counter(
               a["detector"] for a in load_alerts(alerts)).items())),
           "lookalikes": len({x["lookalike"] for x in doc.get("lookalikes", [])}) or None,
           "lookalikes_flagged": flagged if "lookalikes" in doc else None,
           "ttd_minutes": {k: round(v, 1) for k, v in ev.ttd_minutes.items()}}
    print(f"{world} seed {seed} ({role}): recall {ev.recall:.3f}  precision "
          f"{ev.precision:.3f}  median TTD {row['median_ttd_minutes']} min  "
          f"({ev.alerts} alerts, {ev.units} subjects, look-alikes flagged: "
          f"{flagged if 'lookalikes' in doc else 'n/a'})")
    return row


def quality(seeds: list[tuple[int, str]], parcels: int, tmp: Path) -> list[dict[str, Any]]:
    """The simulator's worlds (its own ground truth; no look-alike catalogue)."""
    rows = []
    for seed, role in seeds:
        world = build_world(WorldConfig(seed=seed, parcels=parcels))
        events, truth, alerts = (tmp / f"events-{seed}.jsonl", tmp / f"truth-{seed}.json",
                                 tmp / f"alerts-{seed}.jsonl")
        write_events_jsonl(world.events, events)
        write_ground_truth(world, truth)
        del world
        gc.collect()
        rows.append(_row("simulator", role, seed, events, truth, alerts))
    return rows


def quality_w2(seeds: list[tuple[int, str]], tmp: Path) -> list[dict[str, Any]]:
    """The second generator's worlds (simulation/world2), with look-alikes."""
    rows = []
    for seed, role in seeds:
        events, truth, alerts = (tmp / f"w2-events-{seed}.jsonl", tmp / f"w2-truth-{seed}.json",
                                 tmp / f"w2-alerts-{seed}.jsonl")
        world2.write(world2.generate(world2.Params(seed=seed)), events, truth)
        gc.collect()
        rows.append(_row("world2", role, seed, events, truth, alerts))
    return rows


def million(n: int, tmp: Path) -> Path:
    parcels = int(n / 8.3)
    while True:
        world = build_world(WorldConfig(seed=11, parcels=parcels))
        if len(world.events) >= n:
            path = tmp / "million.jsonl"
            write_events_jsonl(world.events[:n], path)
            return path
        parcels = int(parcels * n / len(world.events) * 1.03) + 1


def cpu_wall(fn: Any) -> tuple[Any, float, float]:
    c, w = time.process_time(), time.perf_counter()
    result = fn()
    return result, time.process_time() - c, time.perf_counter() - w


def throughput(path: Path, rounds: int = 3) -> dict[str, Any]:
    """Bare pass and replay alternately, ``rounds`` times: each round's ratio compares
    two passes taken seconds apart, under the same load from others (one bare pass
    then one replay, minutes of other people's work apart, swung the ratio by a third
    from run to run). The ratio reported is the median round's."""
    settings = MonitorSettings()
    out = path.with_suffix(".alerts.jsonl")
    n = 0
    per_round: list[dict[str, float]] = []
    report: Any = None
    for _ in range(rounds):
        gc.collect()
        # bare pass: read, split and decode every line with the monitor's own decoder
        lines, bare_cpu, bare_wall = cpu_wall(lambda: decode_lines(read_lines(path)))
        n = len(lines)
        del lines
        gc.collect()
        report, mon_cpu, mon_wall = cpu_wall(lambda: replay(path, out, settings))
        per_round.append({"bare_cpu": bare_cpu, "bare_wall": bare_wall, "mon_cpu": mon_cpu,
                          "mon_wall": mon_wall, "ratio": bare_cpu / mon_cpu})
    gc.collect()
    _, strict_cpu, _ = cpu_wall(lambda: [contract_decoder.decode(x) for x in read_lines(path)])
    mid = sorted(per_round, key=lambda r: r["ratio"])[len(per_round) // 2]
    return {"events": n,
            "bare_decode_events_per_cpu_s": round(n / mid["bare_cpu"]),
            "strict_contract_decode_events_per_cpu_s": round(n / strict_cpu),
            "monitor_events_per_cpu_s": round(n / mid["mon_cpu"]),
            "monitor_events_per_wall_s": round(n / mid["mon_wall"]),
            "bare_events_per_wall_s": round(n / mid["bare_wall"]),
            "ratio_to_bare": round(mid["ratio"], 3),
            "ratios_per_round": [round(r["ratio"], 3) for r in per_round],
            "alerts": report.alerts,
            # others share this 2-core machine: CPU seconds still inflate under load
            "load_average_1m": round(os.getloadavg()[0], 2),
            "target_events_per_core_s": 200_000, "target_ratio": 0.25}


def state_size(path: Path) -> dict[str, Any]:
    """Serialised bytes (what the runner persists) and Python heap bytes (tracemalloc)
    of the pipeline's state after the stream, per subject active in its last day."""
    settings = MonitorSettings()
    events, ts = read_events(path)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    _, pipe = run_pipeline(events, ts, settings)
    pipe.maintain(force=True)
    gc.collect()
    heap = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    subjects = [st for by in pipe.engine.subjects.values() for st in by.values()]
    active = pipe.engine.active_subjects(pipe.now_us)
    subj_bytes = sum(len(state_encoder.encode(st)) for st in subjects)
    wb_bytes = sum(len(wb_encoder.encode(w)) for by in pipe.index.states.values()
                   for w in by.values())
    return {"active_subjects": active, "subjects": len(subjects),
            "waybills": pipe.index.size(),
            "subject_state_bytes_per_active_subject": round(subj_bytes / active),
            "all_state_bytes_per_active_subject": round((subj_bytes + wb_bytes) / active),
            "heap_bytes_per_active_subject": round(heap / active),
            "note": "subject state is the detectors' own; 'all' adds the waybill stage "
                    "(assignments, stations, prints) shared out per active subject; heap "
                    "is the Python objects holding both"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="*", default=[7, 11],
                    help="simulator seeds looked at in tuning (7 tuned, 11 checked)")
    ap.add_argument("--untouched-seeds", type=int, nargs="*", default=[303],
                    help="simulator seeds never looked at in tuning")
    ap.add_argument("--w2-seeds", type=int, nargs="*", default=[1],
                    help="second-generator seeds looked at (seed 1)")
    ap.add_argument("--w2-untouched-seeds", type=int, nargs="*", default=[2, 3],
                    help="second-generator seeds never looked at")
    ap.add_argument("--parcels", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternating bare/replay rounds for the throughput ratio (median)")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        rows = quality([(x, "tuned" if x == 7 else "looked at") for x in args.seeds]
                       + [(x, "never tuned") for x in args.untouched_seeds],
                       args.parcels, tmp_path)
        rows += quality_w2([(x, "looked at") for x in args.w2_seeds]
                           + [(x, "never tuned") for x in args.w2_untouched_seeds], tmp_path)
        path = million(args.events, tmp_path)
        speed = throughput(path, args.rounds)
        print(f"replay of {speed['events']:,} events: {speed['monitor_events_per_cpu_s']:,} "
              f"events/s per core (wall {speed['monitor_events_per_wall_s']:,}); bare decode "
              f"{speed['bare_decode_events_per_cpu_s']:,}/s per core; ratio "
              f"{speed['ratio_to_bare']} (median of rounds {speed['ratios_per_round']}; load "
              f"average {speed['load_average_1m']})")
        state = state_size(path)
        print(f"state: {state['subject_state_bytes_per_active_subject']:,} B serialised per "
              f"active subject ({state['all_state_bytes_per_active_subject']:,} B with the "
              f"waybill stage; {state['heap_bytes_per_active_subject']:,} B heap) over "
              f"{state['active_subjects']:,} active subjects")
    result = {"quality": rows, "throughput": speed, "state": state}
    (OUT / "monitor.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
