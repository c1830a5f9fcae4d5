"""Cost of the contract v2 checks on the ingest path: ingest's decode
(`ledger.decode.decode_batch`: strict types, leaf encoding, time, id pattern, PI-like
ids) against a bare typed msgspec decode of the same simulated lines, CPU time,
in one run.

    .venv/bin/python bench/bench_contract.py [--events 100000]

Prints microseconds per event for both and writes bench/out/contract.json. The
ingest benchmark (bench_ingest.py) holds the end-to-end target; this one shows
what validation itself costs per event.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections.abc import Callable
from pathlib import Path

import msgspec

from parcelguard.ledger.contract import decoder
from parcelguard.ledger.decode import Rejected, decode_batch
from parcelguard.simulation.model import WorldConfig
from parcelguard.simulation.world import build_world

OUT = Path(__file__).parent / "out"


def _best_cpu_us(fn: Callable[[], object], n: int, rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        fn()
        best = min(best, time.process_time() - started)
    return best / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    args = ap.parse_args()
    events = build_world(WorldConfig(seed=101, parcels=max(3_000, args.events // 8),
                                     days=3)).events[:args.events]
    lines = [(i, msgspec.json.encode(e)) for i, e in enumerate(events, start=1)]
    raw = [line for _, line in lines]
    rejected: list[Rejected] = []
    gc.disable()
    bare = _best_cpu_us(lambda: [decoder.decode(r) for r in raw], len(lines))
    ingest = _best_cpu_us(lambda: decode_batch(lines, rejected), len(lines))
    gc.enable()
    assert not rejected, rejected[:3]
    result = {"events": len(lines), "bare_typed_decode_us": round(bare, 2),
              "ingest_decode_us": round(ingest, 2), "ratio": round(bare / ingest, 3)}
    OUT.mkdir(exist_ok=True)
    (OUT / "contract.json").write_text(json.dumps(result, indent=2))
    print(f"bare typed decode  : {bare:6.2f} us/event (CPU)")
    print(f"ingest decode (v2) : {ingest:6.2f} us/event (CPU)")
    print(f"ratio              : {result['ratio']:.3f}")


if __name__ == "__main__":
    main()
