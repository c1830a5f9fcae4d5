"""Mirror throughput against a bare fetch-and-hash of the same tiles, in one run.

    .venv/bin/python bench/bench_mirror.py [--events 100000] [--rounds 2]

An enterprise home (SQLite) gets --events parcel events and a signed checkpoint and is
served by `parcelguard serve` (a real process on loopback). Then, alternately, --rounds
times each, over the same log:

* bare   - GET the checkpoint and every entry bundle (tlog-tiles, one keep-alive
           connection), split each bundle and SHA-256 every entry as a leaf: the floor
           for anything that reads the log over HTTP;
* mirror - ``supervision.mirror.mirror_log`` into a fresh SQLite store: the same
           fetches, plus the checkpoint's signature, the mirror's own Merkle tiles, a
           consistency proof against the signed root per chunk (its tiles fetched
           over HTTP) and every entry stored, committed chunk by chunk.

* mirror+parquet - the same pass with the national store as its sink, as the
           supervision node runs it: every committed chunk also written as Parquet
           partitions (monitor/national.py).

The figure is entries per second, best round of each; the target is mirror >= 0.5x
bare (with and without the Parquet export). Prints the figures and writes bench/out/mirror.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import msgspec

from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity import service as identity
from parcelguard.ledger import signing
from parcelguard.ledger.ingest import EventLog
from parcelguard.monitor.national import NationalStore
from parcelguard.ops.store import init_store
from parcelguard.supervision.mirror import MirrorSource, mirror_log
from parcelguard.vault.provider import vault_service

OUT = Path(__file__).parent / "out"
ENT = "bench-ent"
BATCH = 20_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def runtime(home: Path) -> Runtime:
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'pg.db'}")
    init_store(settings)
    return Runtime(settings=settings)


def enterprise(home: Path, events: int) -> str:
    """A home with ``events`` events in ENT's log and a signed checkpoint; its vkey."""
    rt = runtime(home)
    kms = vault_service(rt.settings).vault.kms
    with rt.db.unit_of_work() as uow:
        identity.initialise(uow.session, clock=rt.clock)
        identity.create_organization(uow.session, org_id=ENT, kind="enterprise", name=ENT,
                                     clock=rt.clock)
        uow.commit()
    log = EventLog(clock_now=rt.clock.now)
    for start in range(0, events, BATCH):
        lines = [(i, msgspec.json.encode({
            "event_id": f"e{n}", "kind": "parcel", "occurred_at": "2026-11-11T08:00:00+08:00",
            "enterprise_id": ENT, "waybill_no": f"SF{n:013d}", "step": "created"}))
            for i, n in enumerate(range(start, min(events, start + BATCH)), start=1)]
        with rt.db.unit_of_work() as uow:
            assert not log.append_raw(uow.session, lines).rejected
            uow.commit()
    with rt.db.unit_of_work() as uow:
        signing.checkpoint(uow.session, ENT, kms=kms, clock=rt.clock)
        vkey = signing.verifier_key(uow.session, ENT, kms=kms, clock=rt.clock)
        uow.commit()
    rt.close()
    return vkey


@contextmanager
def served(home: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "PARCELGUARD_HOME": str(home),
           "PARCELGUARD_DATABASE_URL": f"sqlite:///{home / 'pg.db'}"}
    proc = subprocess.Popen([sys.executable, "-m", "parcelguard", "serve", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx2.get(f"{url}/api/v1/health").status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("parcelguard serve did not start")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def index_path(n: int) -> str:
    parts: list[str] = []
    while True:
        n, r = divmod(n, 1000)
        parts.insert(0, f"{r:03d}")
        if not n:
            return "/".join(["x" + p for p in parts[:-1]] + parts[-1:])


def bare(log_url: str) -> tuple[int, float]:
    """Fetch the checkpoint and every bundle, hash every entry; (entries, seconds)."""
    sha = hashlib.sha256
    t = time.perf_counter()
    count = 0
    with httpx2.Client(base_url=log_url + "/", timeout=60) as c:
        size = int(c.get("checkpoint").text.split("\n")[1])
        for n in range((size + 255) // 256):
            w = min(256, size - n * 256)
            data = c.get(f"tile/entries/{index_path(n)}" + ("" if w == 256 else f".p/{w}"))
            data.raise_for_status()
            buf, pos = data.content, 0
            while pos < len(buf):
                ln = int.from_bytes(buf[pos:pos + 2], "big")
                sha(b"\x00" + buf[pos + 2:pos + 2 + ln]).digest()
                pos += 2 + ln
                count += 1
    return count, time.perf_counter() - t


def mirror(log_url: str, vkey: str, home: Path, *, national: bool = False) -> tuple[int, float]:
    rt = runtime(home)
    sink = NationalStore(home / "national") if national else None
    t = time.perf_counter()
    with rt.db.unit_of_work() as uow, httpx2.Client(timeout=60) as client:
        result = mirror_log(uow.session, MirrorSource(ENT, log_url, vkey), client=client,
                            clock=rt.clock, commit=uow.commit, sink=sink)
    took = time.perf_counter() - t
    rt.close()
    assert result.status == "mirrored", result
    return result.entries, took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "enterprise"
        t = time.perf_counter()
        vkey = enterprise(home, args.events)
        print(f"log of {args.events} entries built in {time.perf_counter() - t:.1f}s")
        rows: dict[str, list[float]] = {"bare": [], "mirror": [], "mirror_national": []}
        with served(home) as url:
            log_url = f"{url}/tlog/{ENT}"
            for r in range(args.rounds):
                n, s = bare(log_url)
                assert n == args.events
                rows["bare"].append(n / s)
                n, s = mirror(log_url, vkey, Path(tmp) / f"mirror{r}")
                assert n == args.events
                rows["mirror"].append(n / s)
                n, s = mirror(log_url, vkey, Path(tmp) / f"national{r}", national=True)
                assert n == args.events
                rows["mirror_national"].append(n / s)
                print(f"round {r + 1}: bare {rows['bare'][-1]:,.0f}/s, "
                      f"mirror {rows['mirror'][-1]:,.0f}/s, "
                      f"mirror+parquet {rows['mirror_national'][-1]:,.0f}/s")
    best_bare, best_mirror = max(rows["bare"]), max(rows["mirror"])
    best_national = max(rows["mirror_national"])
    ratio, ratio_national = best_mirror / best_bare, best_national / best_bare
    out: dict[str, Any] = {"events": args.events, "rounds": args.rounds,
                           "bare_entries_per_s": round(best_bare),
                           "mirror_entries_per_s": round(best_mirror),
                           "mirror_national_entries_per_s": round(best_national),
                           "ratio": round(ratio, 3),
                           "ratio_national": round(ratio_national, 3),
                           "target": 0.5, "met": min(ratio, ratio_national) >= 0.5}
    print(f"bare {best_bare:,.0f} entries/s  mirror {best_mirror:,.0f} entries/s  "
          f"ratio {ratio:.2f}; with the Parquet export {best_national:,.0f} entries/s  "
          f"ratio {ratio_national:.2f} (target >= 0.5): "
          f"{'met' if out['met'] else 'NOT met'}")
    OUT.mkdir(exist_ok=True)
    (OUT / "mirror.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
