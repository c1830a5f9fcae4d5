"""Issue 14: after `parcelguard demo` (a real process), nothing it leaves behind (every
file under the home, every output, what it printed) holds a plaintext phone number, ID
number or address of the simulated world's people, or an anonymous reporter's raw
address; and everything under the home is private to the owner."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from parcelguard.simulation.model import WorldConfig
from parcelguard.simulation.victims import victims
from parcelguard.simulation.world import build_world

SEED, PARCELS, DAYS = 5, 1500, 2


@pytest.mark.slow
def test_the_demo_leaves_no_plaintext_pi_and_no_reporter_address(tmp_path: Path) -> None:
    home, out = tmp_path / "home", tmp_path / "out"
    env = {**os.environ, "PARCELGUARD_HOME": str(home), "PARCELGUARD_DATABASE_URL": ""}
    proc = subprocess.run([sys.executable, "-m", "parcelguard", "demo", "--seed", str(SEED),
                           "--parcels", str(PARCELS), "--days", str(DAYS), "--out", str(out)],
                          env=env, capture_output=True, timeout=1200, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # the same world, rebuilt: who the people are and where the anonymous reports came from
    world = build_world(WorldConfig(seed=SEED, parcels=PARCELS, days=DAYS))
    needles = {v for p in world.people for v in (p.phone, p.id_number, p.address) if v}
    addresses = {v.source for v in victims(world) if v.anonymous}
    assert len(needles) > 1000
    assert addresses
    blobs = {"printed": proc.stdout + proc.stderr}
    for root in (home, out):
        for path in sorted(root.rglob("*")):
            if root == home:
                mode = stat.S_IMODE(path.stat().st_mode)
                assert mode == (0o700 if path.is_dir() else 0o600), (path.name, oct(mode))
            if path.is_file():
                blobs[str(path.relative_to(tmp_path))] = path.read_bytes()
    assert any("parcelguard.db" in k for k in blobs)
    # positive control: the bytes do hold what is not secret (a waybill number)
    assert world.parcels[0].waybill_no.encode() in b"".join(blobs.values())
    found = set()
    for where, blob in blobs.items():
        for needle in needles | addresses:
            forms = [needle.encode()] + ([needle.encode("utf-16-le")] if needle.isascii()
                                         else [])
            if any(f in blob for f in forms):
                found.add(f"{where}: {'a reporter address' if needle in addresses else 'PI'}")
    assert not found, sorted(found)
