"""Ledger append throughput through the real SQL tile store, and proof latency at 10M.

    .venv/bin/python bench/bench_ledger.py [--events 1000000] [--big-leaves 10000000]

In one run, over the same 1M leaves (RFC 8785 canonical JSON of synthetic access
events, ~330 bytes each, as ingest stores them):

* bare     - ``sha256(b"\\x00" + leaf).digest()`` for every leaf, locals bound: the
             floor (leaf hashes only; the log must also hash ~1 node per leaf and
             store the tiles);
* ledger   - ``store.append_leaf_batch`` into ``ledger_tiles`` of a SQLite file (WAL),
             one transaction per batch of 20,000 as ingest does: leaf hashes, node
             hashes, one tile read and one tile upsert per batch, commit;
* pymerkle - pymerkle 7 ``InmemoryTree.append_entry`` per leaf (RFC 9162 hashing);
             its root is checked against ours.

Then it builds a --big-leaves log (default 10,000,000, synthetic leaf hashes) through
the same SQL store and times random inclusion proofs read from it (one tile query
each, nodes rebuilt from the tiles), each checked against the root.

Targets: ledger >= 5x pymerkle, ledger >= 0.3x bare; median inclusion proof < 1 ms.
Prints the figures and writes bench/out/ledger.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
import pymerkle

from parcelguard.core.db import Database
from parcelguard.core.settings import Settings
from parcelguard.ledger.merkle import inclusion_proof, leaf_hash, root, verify_inclusion
from parcelguard.ledger.store import SqlTileStore, append_leaf_batch
from parcelguard.ops.store import init_store

OUT = Path(__file__).parent / "out"


def _seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _leaves(n: int) -> list[bytes]:
    rng = random.Random(7)
    # sorted keys, no floats: JCS bytes (core/canonical.py)
    return [msgspec.json.encode({
        "event_id": f"evt-{i:012d}", "kind": "access", "enterprise_id": "ent-bench",
        "occurred_at": f"2026-11-11T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}+08:00",
        "actor_type": "employee", "actor_id": f"emp-{rng.randrange(5000):05d}",
        "action": rng.choice(["reveal", "search", "print_label"]),
        "fields": ["recipient_phone"], "record_count": 1, "purpose": "delivery",
        "outcome": "allowed", "channel": "pda", "station_id": f"st-{rng.randrange(300):04d}",
        "waybill_no": f"SF{rng.randrange(10**13):013d}"}, order="sorted") for i in range(n)]


def _bare(leaves: list[bytes]) -> None:
    sha = hashlib.sha256
    for leaf in leaves:
        sha(b"\x00" + leaf).digest()


def _ledger(db: Database, enterprise: str, leaves: list[bytes], batch: int) -> bytes:
    size, tree_root = 0, b""
    for lo in range(0, len(leaves), batch):
        chunk = leaves[lo:lo + batch]
        with db.unit_of_work() as uow:
            tree_root = append_leaf_batch(uow.session.connection(), enterprise, size, chunk)
            uow.commit()
        size += len(chunk)
    return tree_root


def _pymerkle(leaves: list[bytes]) -> bytes:
    tree = pymerkle.InmemoryTree()
    for leaf in leaves:
        tree.append_entry(leaf)
    got: bytes = tree.get_root()
    return got


def bench_append(tmp: Path, n: int, batch: int, pm_n: int, rounds: int) -> dict[str, object]:
    print(f"generating {n:,} canonical event leaves ...", file=sys.stderr, flush=True)
    leaves = _leaves(n)
    settings = Settings(home=tmp / "append")
    init_store(settings)  # migrated here, before any timing
    db = Database(settings)
    bare = ledger = float("inf")
    ours_root = b""
    # Alternate the contenders and keep each one's best round: on a shared 2-core
    # machine single rounds get disturbed, and the best is the least disturbed one.
    for r in range(rounds):
        bare = min(bare, _seconds(lambda: _bare(leaves)))
        start = time.perf_counter()
        ours_root = _ledger(db, f"ent-{r}", leaves, batch)
        ledger = min(ledger, time.perf_counter() - start)
    print(f"pymerkle on {pm_n:,} leaves (one round) ...", file=sys.stderr, flush=True)
    prefix = leaves[:pm_n]
    start = time.perf_counter()
    pm_root = _pymerkle(prefix)
    pm = time.perf_counter() - start
    prefix_root = ours_root if pm_n == n else _ledger(db, "ent-prefix", prefix, batch)
    assert pm_root == prefix_root, "pymerkle and the ledger disagree on the root"
    db.dispose()
    return {
        "events": n, "batch": batch, "rounds": rounds, "avg_leaf_bytes": round(
            sum(map(len, leaves)) / n),
        "bare_sha256_leaves_per_s": round(n / bare),
        "ledger_sql_appends_per_s": round(n / ledger),
        "pymerkle_leaves": pm_n, "pymerkle_appends_per_s": round(pm_n / pm),
        "ratio_vs_bare": round(bare / ledger, 3),
        "ratio_vs_pymerkle": round((pm / pm_n) / (ledger / n), 2),
        "target_vs_bare": 0.3, "target_vs_pymerkle": 5.0,
    }


def bench_proofs(tmp: Path, big: int, batch: int, samples: int) -> dict[str, object]:
    print(f"building a {big:,}-leaf log through the SQL store ...", file=sys.stderr, flush=True)
    settings = Settings(home=tmp / "big")
    init_store(settings)
    db = Database(settings)
    size = 0
    start = time.perf_counter()
    for lo in range(0, big, batch):
        # Synthetic leaves (8-byte counters): building 10M real events would only add
        # leaf-hash time, which the append figures above already measure.
        chunk = [i.to_bytes(8, "big") for i in range(lo, min(lo + batch, big))]
        with db.unit_of_work() as uow:
            append_leaf_batch(uow.session.connection(), "ent-big", size, chunk)
            uow.commit()
        size += len(chunk)
    built = time.perf_counter() - start
    db_bytes = (tmp / "big" / "parcelguard.db").stat().st_size

    rng = random.Random(1)
    times = []
    with db.unit_of_work() as uow:
        store = SqlTileStore(uow.session.connection(), "ent-big")
        tree_root = root(store, size)
        for _ in range(samples):
            index = rng.randrange(size)
            t0 = time.perf_counter()
            proof = inclusion_proof(store, index, size)
            times.append(time.perf_counter() - t0)
            assert verify_inclusion(leaf_hash(index.to_bytes(8, "big")), index, size, proof,
                                    tree_root)
    db.dispose()
    times.sort()
    return {
        "leaves": size, "build_seconds": round(built, 1),
        "build_appends_per_s": round(size / built), "sqlite_file_mib": round(db_bytes / 2**20),
        "proof_samples": samples,
        "inclusion_proof_median_ms": round(statistics.median(times) * 1e3, 3),
        "inclusion_proof_p99_ms": round(times[int(samples * 0.99) - 1] * 1e3, 3),
        "target_median_ms": 1.0,
        "measured": "merkle.inclusion_proof over SqlTileStore on a SQLite file (WAL), "
                    "one transaction; each proof verified against the root (untimed)",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=20_000)
    ap.add_argument("--pymerkle-leaves", type=int, default=None,
                    help="pymerkle on this many leaves (default: all of them)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--big-leaves", type=int, default=10_000_000)
    ap.add_argument("--big-batch", type=int, default=262_144)
    ap.add_argument("--proofs", type=int, default=2000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        append = bench_append(tmp, args.events, args.batch,
                              min(args.pymerkle_leaves or args.events, args.events), args.rounds)
        print(f"ledger append, {append['events']:,} events (~{append['avg_leaf_bytes']} B), "
              f"batches of {args.batch:,}, best of {args.rounds}:")
        print(f"  bare sha256 leaf loop   : {append['bare_sha256_leaves_per_s']:>12,} leaves/s")
        print(f"  ledger via SQL store    : {append['ledger_sql_appends_per_s']:>12,} appends/s")
        print(f"  pymerkle 7 InmemoryTree : {append['pymerkle_appends_per_s']:>12,} appends/s "
              f"({append['pymerkle_leaves']:,} leaves)")
        print(f"  ledger / bare           : {append['ratio_vs_bare']:>12.3f}x  (target >= 0.3)")
        print(f"  ledger / pymerkle       : {append['ratio_vs_pymerkle']:>12.2f}x  (target >= 5)")
        proofs = bench_proofs(tmp, args.big_leaves, args.big_batch, args.proofs)
        print(f"{proofs['leaves']:,}-leaf log via SQL store: built in {proofs['build_seconds']}s "
              f"({proofs['build_appends_per_s']:,}/s), SQLite file {proofs['sqlite_file_mib']} MiB")
        print(f"  inclusion proof median  : {proofs['inclusion_proof_median_ms']:>8.3f} ms "
              f"(p99 {proofs['inclusion_proof_p99_ms']:.3f} ms; target < 1 ms)")
    OUT.mkdir(exist_ok=True)
    (OUT / "ledger.json").write_text(json.dumps({"append": append, "proofs": proofs}, indent=2))


if __name__ == "__main__":
    main()
