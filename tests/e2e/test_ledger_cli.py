"""`parcelguard ledger ...` as a user runs it, every output checked by an independent
RFC 9162 / signed-note implementation (tests/integration/ledger/independent.py)."""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
import rfc8785

from tests.integration.ledger import independent as ref

BIN = [sys.executable, "-m", "parcelguard"]
SEED = 20261111


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PARCELGUARD_HOME": str(home)}
    env.pop("PARCELGUARD_DATABASE_URL", None)
    return subprocess.run([*BIN, *args], env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def ok(home: Path, *args: str) -> str:
    r = run(home, *args)
    assert r.returncode == 0, r.stderr
    return r.stdout


def access(i: int) -> dict[str, object]:
    return {"event_id": f"a{i}", "kind": "access", "occurred_at": "2026-11-11T08:31:00+08:00",
            "enterprise_id": "ent-a", "actor_type": "employee", "actor_id": f"emp-{i % 37}",
            "action": "reveal", "fields": ["recipient_phone"], "record_count": 1,
            "purpose": "delivery", "outcome": "allowed", "channel": "pda",
            "waybill_no": f"SF{i:013d}", "station_id": None, "device_id": f"pda-{i % 11}"}


def b64s(items: list[str]) -> list[bytes]:
    return [base64.b64decode(x) for x in items]


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[bytes], dict[int, str]]:
    """A log grown by two CLI ingests with a checkpoint after each; returns the home,
    the expected leaves (RFC 8785 of each event, computed here) and the notes by size."""
    rng = random.Random(SEED)
    tmp = tmp_path_factory.mktemp("ledger")
    home = tmp / "home"
    n1, n2 = rng.randint(5_000, 15_000), rng.randint(1_000, 6_000)
    docs = [access(i) for i in range(n1 + n2)]
    notes = {}
    ok(home, "init")
    for part, (lo, hi) in enumerate([(0, n1), (n1, n1 + n2)]):
        src = tmp / f"events{part}.jsonl"
        src.write_bytes(b"\n".join(msgspec.json.encode(d) for d in docs[lo:hi]) + b"\n")
        ok(home, "ingest", str(src))
        notes[hi] = ok(home, "ledger", "checkpoint", "--enterprise", "ent-a")
    return home, [rfc8785.dumps(d) for d in docs], notes


def test_checkpoints_and_proofs_verify_independently(
        ledger: tuple[Path, list[bytes], dict[int, str]]) -> None:
    home, leaves, notes = ledger
    vkey = ok(home, "ledger", "pubkey", "--enterprise", "ent-a").strip()
    tree = ref.Tree(leaves)
    roots = {}
    for size, note in notes.items():
        origin, signed_size, root = ref.open_checkpoint(note, vkey)
        assert (origin, signed_size) == ("parcelguard.example/ent-a", size)
        assert root == tree.root(size)
        roots[size] = root
    (old, new), rng = sorted(notes), random.Random(SEED)
    for size in (old, new, new):
        index = rng.randrange(size)
        proof = json.loads(ok(home, "ledger", "prove", "--enterprise", "ent-a",
                              "--index", str(index), "--size", str(size)))
        assert (proof["leaf_index"], proof["tree_size"]) == (index, size)
        leaf = base64.b64decode(proof["leaf"])
        assert leaf == leaves[index]
        assert ref.verify_inclusion(leaf, index, size, b64s(proof["inclusion"]), roots[size])
    consistency = json.loads(ok(home, "ledger", "consistency", "--enterprise", "ent-a",
                                "--old", str(old), "--new", str(new)))
    assert ref.verify_consistency(old, new, roots[old], roots[new],
                                  b64s(consistency["consistency"]))


def test_export_writes_the_canonical_leaves_in_order(
        ledger: tuple[Path, list[bytes], dict[int, str]], tmp_path: Path) -> None:
    home, leaves, _ = ledger
    out = tmp_path / "leaves.jsonl"
    summary = json.loads(ok(home, "ledger", "export", "--enterprise", "ent-a", "--out", str(out)))
    assert summary["leaves"] == len(leaves)
    assert out.read_bytes().splitlines() == leaves


def test_tampering_is_named_by_verify_and_a_rollback_caught_by_the_witness(
        ledger: tuple[Path, list[bytes], dict[int, str]], tmp_path: Path) -> None:
    home, leaves, _ = ledger
    home = Path(shutil.copytree(home, tmp_path / "home"))  # the other tests keep theirs
    db = home / "parcelguard.db"
    assert json.loads(ok(home, "ledger", "verify", "--enterprise", "ent-a"))["ok"] is True
    assert json.loads(ok(home, "ledger", "witness"))["ok"] is True

    with sqlite3.connect(db) as conn:  # change one byte of one stored leaf
        conn.execute("UPDATE ledger_events SET leaf = ? WHERE enterprise_id = 'ent-a' "
                     "AND seq = 777", (leaves[777].replace(b"emp-", b"emq-", 1),))
    r = run(home, "ledger", "verify", "--enterprise", "ent-a")
    report = json.loads(r.stdout)
    assert (r.returncode, report["ok"], report["first_bad_index"]) == (1, False, 777)

    with sqlite3.connect(db) as conn:  # put it back, then roll the log back to 512
        conn.execute("UPDATE ledger_events SET leaf = ? WHERE enterprise_id = 'ent-a' "
                     "AND seq = 777", (leaves[777],))
        conn.execute("DELETE FROM ledger_events WHERE enterprise_id = 'ent-a' AND seq >= 512")
        conn.execute("DELETE FROM ledger_tiles WHERE enterprise_id = 'ent-a' AND "
                     "((level = 0 AND idx >= 2) OR level > 1)")
        conn.execute("UPDATE ledger_tiles SET data = substr(data, 1, 64) "
                     "WHERE enterprise_id = 'ent-a' AND level = 1")
        conn.execute("DELETE FROM ledger_checkpoints WHERE enterprise_id = 'ent-a'")
        conn.execute("UPDATE ledger_heads SET size = 512 WHERE enterprise_id = 'ent-a'")
    # the rolled-back log is self-consistent: only the witness can tell
    assert json.loads(ok(home, "ledger", "verify", "--enterprise", "ent-a"))["ok"] is True
    r = run(home, "ledger", "witness")
    assert r.returncode == 1
    (outcome,) = json.loads(r.stdout)["enterprises"]
    assert (outcome["status"], outcome["size"], outcome["accepted_size"]) == \
        ("tamper", 512, len(leaves))
    with sqlite3.connect(db) as conn:
        kind, evidence = conn.execute("SELECT kind, evidence FROM supervision_findings "
                                      "WHERE id = ?", (outcome["finding_id"],)).fetchone()
    evidence = json.loads(evidence)
    assert kind == "ledger_tamper"
    assert evidence["accepted_checkpoint"]["size"] == len(leaves)
    assert evidence["presented_checkpoint"]["size"] == 512
    assert evidence["proof"]["type"] == "consistency"


def test_bad_arguments_exit_2_with_a_message(
        ledger: tuple[Path, list[bytes], dict[int, str]]) -> None:
    home, _, _ = ledger
    r = run(home, "ledger", "prove", "--enterprise", "ent-nope", "--index", "0")
    assert r.returncode == 2
    assert "no event log" in r.stderr
