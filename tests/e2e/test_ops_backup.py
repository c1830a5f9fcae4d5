"""The restore drill: back up a home while `parcelguard serve` takes events, restore it
elsewhere and prove it; then the same backup after the supervision department has
witnessed later entries (named as missing, with how many), and a backup without its
keys (refused, with what to do). SQLite and PostgreSQL, through the real CLI and a
served app."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from faker import Faker
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.vault.provider import vault_service

BIN = [sys.executable, "-m", "parcelguard"]
PASSPHRASE = "a long drill passphrase"


class Node:
    def __init__(self, home: Path, url: str) -> None:
        self.home, self.url = home, url

    def env(self) -> dict[str, str]:
        return {**os.environ, "PARCELGUARD_HOME": str(self.home),
                "PARCELGUARD_DATABASE_URL": self.url,
                "PARCELGUARD_BACKUP_PASSPHRASE": PASSPHRASE}

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*BIN, *args], env=self.env(), capture_output=True, text=True,
                              timeout=300, check=False)

    def ok(self, *args: str) -> str:
        r = self.run(*args)
        assert r.returncode == 0, (args, r.stderr)
        return r.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(port: int, method: str, path: str, body: object, token: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=None if body is None else json.dumps(body),
                     headers={"Authorization": f"Bearer {token}",
                              "Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def _event(i: int) -> dict[str, object]:
    return {"event_id": f"e{i}", "kind": "parcel", "occurred_at": "2026-11-11T08:00:00+08:00",
            "enterprise_id": "ent-a", "waybill_no": make_waybill_no("SF", 1000 + i),
            "step": "created"}


def _seed_pi(node: Node) -> None:
    """Parcels with sealed PI, collected through the same vault the CLI uses."""
    fake = Faker("zh_CN")
    fake.seed_instance(13)
    settings = Settings(home=node.home, database_url=node.url)
    rt = Runtime(settings=settings)
    try:
        with rt.db.unit_of_work() as uow:
            register_parcels(uow.session, vault_service(settings), enterprise_id="ent-a",
                             record_created=False, parcels=[ParcelIn(
                                 waybill_no=make_waybill_no("SF", i),
                                 sender=PartyIn(f"sub-s{i}", fake.name(), fake.phone_number(),
                                                fake.address()),
                                 recipient=PartyIn(f"sub-r{i}", fake.name(),
                                                   fake.phone_number(), fake.address()),
                                 created_at=datetime.now(UTC)) for i in range(30)])
            uow.commit()
    finally:
        rt.close()


def _drill(tmp_path: Path, live: Node, target_url: str, other_url: str) -> None:
    live.ok("init")
    live.ok("org", "create", "ent-a", "--kind", "enterprise", "--name", "A")
    key = live.ok("apikey", "issue", "--org", "ent-a", "--name", "loader").strip().splitlines()[-1]
    _seed_pi(live)
    port = _free_port()
    server = subprocess.Popen([*BIN, "serve", "--port", str(port)], env=live.env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stop = threading.Event()
    accepted: list[int] = []
    sent = [0]

    def load() -> None:  # a carrier's system pushing events the whole time
        while not stop.is_set():
            i = sent[0]
            sent[0] += 50
            status, _ = _request(port, "POST", "/api/v1/events",
                                 [_event(i + j) for j in range(50)], key)
            if status == 200:
                accepted.append(i)

    def load_until(batches: int) -> threading.Thread:
        stop.clear()
        thread = threading.Thread(target=load)
        thread.start()
        while len(accepted) < batches:
            time.sleep(0.05)
        return thread

    backup = tmp_path / "backup"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        loader = load_until(5)
        stop.set()
        loader.join()
        live.ok("ledger", "checkpoint", "-e", "ent-a")
        live.ok("ledger", "witness")  # the witness accepts what is there so far
        loader = load_until(10)
        live.ok("backup", "--out", str(backup))  # while events keep arriving
        during = len(accepted)
        while len(accepted) < during + 5:  # more entries arrive after the snapshot
            time.sleep(0.05)
        stop.set()
        loader.join()
        live.ok("ledger", "witness")  # the supervision department sees the later entries
        # the supervision department reads what it witnessed (a machine client's key)
        token = live.ok("apikey", "issue", "--org", "supervision", "--name", "witness-reader",
                        "--role", "supervisor_analyst").strip().splitlines()[-1]
        status, body = _request(port, "GET", "/api/v1/checkpoints/ent-a", None, token)
        assert status == 200, body
        witnessed = tmp_path / "witnessed.json"
        witnessed.write_bytes(body)
    finally:
        stop.set()
        server.terminate()
        server.wait(30)
    manifest = json.loads((backup / "manifest.json").read_text())
    backed_up = manifest["logs"]["ent-a"]["size"]
    final = json.loads(witnessed.read_text())["accepted"]["size"]
    assert 0 < backed_up < final
    assert PASSPHRASE.encode() not in b"".join(p.read_bytes() for p in backup.rglob("*")
                                                if p.is_file())
    assert (live.home / "keys" / "master.key").read_bytes() not in (backup / "keys.sealed") \
        .read_bytes()

    # 1. restored elsewhere: every log verified against the witnessed checkpoint it holds
    first = Node(tmp_path / "restored", target_url)
    r = first.run("restore", str(backup), "--json")
    assert r.returncode == 0, r.stderr
    proof = json.loads(r.stdout)
    assert proof["ok"] is True
    (log,) = [c for c in proof["logs"] if c["enterprise_id"] == "ent-a"]
    assert (log["size"], log["missing_entries"], log["witnessed_size"]) == \
        (backed_up, 0, manifest["witnessed"]["ent-a"]["size"])
    assert proof["pi_fields_checked"] >= 20
    assert proof["pi_fields_unreadable"] == 0
    assert json.loads(first.ok("ledger", "verify", "-e", "ent-a"))["size"] == backed_up

    # 2. the same backup against what the supervision department witnessed since:
    # named as a copy missing entries, with how many
    second = Node(tmp_path / "restored-late", other_url)
    r = second.run("restore", str(backup), "--witnessed", str(witnessed))
    assert r.returncode == 1, r.stderr
    assert f"missing {final - backed_up} entries of ent-a" in r.stderr

    # 3. a backup whose keys are gone: refused before anything is written, with the fix
    keyless = tmp_path / "keyless"
    keyless.mkdir()
    for p in backup.iterdir():
        if p.name != "keys.sealed" and p.is_file():
            (keyless / p.name).write_bytes(p.read_bytes())
    third = Node(tmp_path / "restored-keyless", "")
    r = third.run("restore", str(keyless))
    assert r.returncode == 3
    assert "no key material" in r.stderr
    assert "parcelguard backup" in r.stderr
    assert not third.home.exists()


def test_restore_drill_sqlite(tmp_path: Path) -> None:
    _drill(tmp_path, Node(tmp_path / "live", ""), "", "")


@pytest.fixture
def pg_databases(pg_url: str) -> Iterator[list[str]]:
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    names = [f"pg_drill_{uuid.uuid4().hex[:8]}" for _ in range(3)]
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield [make_url(pg_url).set(database=n).render_as_string(hide_password=False)
           for n in names]
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.postgres
@pytest.mark.slow
def test_restore_drill_postgresql(tmp_path: Path, pg_databases: list[str]) -> None:
    live, target, other = pg_databases
    _drill(tmp_path, Node(tmp_path / "live", live), target, other)
