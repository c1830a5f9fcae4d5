"""Key rotation: subjects re-wrapped per second by `parcelguard keys rotate` against a
bare AES-GCM re-wrap loop over the same wrapped keys, and the API's event throughput
while a rotation runs against without one, in one run.

    .venv/bin/python bench/bench_rotation.py [--subjects 300000] [--seconds 8]

Targets (issue 13): rotation >= 50k subjects/s and >= 0.3 of the bare loop (a DEK
re-wrap is one AES-GCM open and one seal of 32 bytes); the API's events/s while a
rotation runs >= 0.8 of its rate without. Both on SQLite (the embedded default), the
rotation as the real CLI process. Writes bench/out/rotation.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from parcelguard.core.clock import SystemClock
from parcelguard.core.db import Database
from parcelguard.core.settings import Settings
from parcelguard.identity import service as identity
from parcelguard.identity.permissions import system_principal
from parcelguard.ops.store import init_store
from parcelguard.wiring import vault_service

OUT = Path(__file__).parent / "out"
BIN = [sys.executable, "-m", "parcelguard"]


def seed(settings: Settings, subjects: int) -> str:
    """A store with ``subjects`` data-subject keys of ent-a; returns an ingest API key."""
    init_store(settings)
    db = Database(settings)
    vs = vault_service(settings)
    clock = SystemClock()
    with db.unit_of_work() as uow:
        identity.initialise(uow.session, clock=clock)
        identity.create_organization(uow.session, org_id="ent-a", kind="enterprise",
                                     name="A", clock=clock)
        key = identity.issue_api_key(uow.session, system_principal(identity.SUPERVISOR_ORG_ID),
                                     name="bench", role="ingest_client", clock=clock,
                                     org_id="ent-a").secret
        ks = vs.keyset(uow.session, "ent-a")
        for lo in range(0, subjects, 50_000):
            vs.subject_keys(uow.session, ks, (f"sub-{i:09d}" for i in
                                              range(lo, min(lo + 50_000, subjects))),
                            create=True)
        uow.commit()
    db.dispose()
    return key


def bare_rewrap(n: int) -> float:
    """Subjects/s of the loop a rotation cannot beat: open and re-seal 32 bytes."""
    old, new = AESGCM(os.urandom(32)), AESGCM(os.urandom(32))
    items = []
    for i in range(n):
        ad = f"ent-a/sub-{i:09d}/1/1".encode()
        nonce = os.urandom(12)
        items.append((nonce, old.encrypt(nonce, os.urandom(32), ad), ad))
    t = time.perf_counter()
    out = [new.encrypt(os.urandom(12), old.decrypt(nonce, ct, ad), ad) for nonce, ct, ad in items]
    elapsed = time.perf_counter() - t
    assert len(out) == n
    return n / elapsed


def rotate(env: dict[str, str]) -> tuple[float, float]:
    """Run `keys rotate` as a process; (its own subjects/s figure, wall seconds)."""
    t = time.perf_counter()
    done = subprocess.run([*BIN, "keys", "rotate", "--enterprise", "ent-a"], env=env,
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t
    assert done.returncode == 0, done.stderr
    m = re.search(r"\(([\d,]+) subjects/s\)", done.stdout.replace("\n", " "))
    assert m, done.stdout
    return float(m.group(1).replace(",", "")), wall


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post_events(port: int, key: str, seconds: float, start: int) -> tuple[int, int]:
    """Events accepted and refused in ``seconds`` of back-to-back 500-event batches."""
    accepted = refused = 0
    i = start
    deadline = time.perf_counter() + seconds
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    try:
        while time.perf_counter() < deadline:
            batch = [{"event_id": f"b{i + j}", "kind": "parcel",
                      "occurred_at": "2026-11-11T08:00:00+08:00", "enterprise_id": "ent-a",
                      "waybill_no": f"SF{(i + j) % 10**13:013d}", "step": "created"}
                     for j in range(500)]
            i += 500
            try:
                client.request("POST", "/api/v1/events", body=json.dumps(batch),
                               headers=headers)
                r = client.getresponse()
                r.read()
                ok = r.status == 200
            except (OSError, http.client.HTTPException):  # the server dropped the request
                client.close()
                client = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                ok = False
            if ok:
                accepted += 500
            else:
                refused += 500
    finally:
        client.close()
    return accepted, refused


def api_under_rotation(env: dict[str, str], key: str, seconds: float) -> dict[str, Any]:
    port = free_port()
    server = subprocess.Popen([*BIN, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        post_events(port, key, 1.0, 0)  # warm up
        quiet, quiet_refused = post_events(port, key, seconds, 10_000_000)
        result: dict[str, Any] = {}

        def rotation() -> None:
            result["rate"], result["wall"] = rotate(env)

        thread = threading.Thread(target=rotation)
        thread.start()
        time.sleep(0.5)  # the rotation process is past its start-up
        busy, busy_refused = post_events(port, key, seconds, 20_000_000)
        still_rotating = thread.is_alive()
        thread.join()
    finally:
        server.terminate()
        server.wait(30)
    return {"events_per_s_quiet": quiet / seconds, "events_per_s_rotating": busy / seconds,
            "refused_quiet": quiet_refused, "refused_rotating": busy_refused,
            "rotation_outlasted_window": still_rotating, "ratio": busy / max(quiet, 1),
            "rotation_subjects_per_s_under_load": result.get("rate")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subjects", type=int, default=300_000)
    ap.add_argument("--seconds", type=float, default=8.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_s:
        home = Path(tmp_s) / "home"
        settings = Settings(home=home)
        print(f"seeding {args.subjects:,} subject keys ...", file=sys.stderr)
        key = seed(settings, args.subjects)
        env = {**os.environ, "PARCELGUARD_HOME": str(home)}
        env.pop("PARCELGUARD_DATABASE_URL", None)
        bare = bare_rewrap(args.subjects)
        rate, wall = rotate(env)
        print(f"rotation: {rate:,.0f} subjects/s, bare loop {bare:,.0f}/s", file=sys.stderr)
        api = api_under_rotation(env, key, args.seconds)
    figures = {"subjects": args.subjects, "bare_rewrap_per_s": round(bare),
               "rotation_subjects_per_s": round(rate), "rotation_wall_s": round(wall, 2),
               "rotation_vs_bare": round(rate / bare, 3),
               **{k: (round(v, 3) if isinstance(v, float) else v) for k, v in api.items()}}
    print(f"rotation: {rate:,.0f} subjects/s (bare AES-GCM re-wrap loop {bare:,.0f}/s): "
          f"ratio {rate / bare:.2f} (target >= 0.3, and >= 50,000/s)")
    print(f"API: {api['events_per_s_quiet']:,.0f} events/s without a rotation, "
          f"{api['events_per_s_rotating']:,.0f} while one runs: ratio {api['ratio']:.2f} "
          f"(target >= 0.8); refused {api['refused_rotating']} "
          f"(rotation outlasted the window: {api['rotation_outlasted_window']})")
    OUT.mkdir(exist_ok=True)
    (OUT / "rotation.json").write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
