"""A parcelguard home served by uvicorn on loopback, for tests that need real HTTP
(a real socket, the real order of commit and response), not the in-process
TestClient.

``serve(rt_or_app)`` runs the app in a thread of the test process, so a test can
reach the same engine (to inject a fault at the commit). ``small_world(rt)`` creates
the supervision department, enterprises and an ingest API key for each. The rest reads
what tests need off portal pages and the simulated phones.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine, event

from parcelguard.app import create_app
from parcelguard.core.runtime import Runtime
from parcelguard.identity import service as identity
from parcelguard.identity.permissions import system_principal
from parcelguard.incidents.notify import sms_spool


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(target: Runtime | FastAPI) -> Iterator[str]:
    """The app (or the app for a runtime) under uvicorn on 127.0.0.1; yields its base
    URL and stops it afterwards."""
    port = free_port()
    app = create_app(target) if isinstance(target, Runtime) else target
    # A long keep-alive: on a loaded machine a client may pause past uvicorn's 5 s
    # default and then send on a connection the server is just closing.
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="critical", ws="none", lifespan="on",
                                           timeout_keep_alive=120))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def small_world(rt: Runtime, enterprises: tuple[str, ...]) -> dict[str, str]:
    """Enterprises with one ingest API key each; returns enterprise id -> key."""
    keys = {}
    with rt.db.unit_of_work() as uow:
        identity.initialise(uow.session, clock=rt.clock)
        for ent in enterprises:
            identity.create_organization(uow.session, org_id=ent, kind="enterprise",
                                         name=ent, clock=rt.clock)
            keys[ent] = identity.issue_api_key(
                uow.session, system_principal(identity.SUPERVISOR_ORG_ID), name="feeder",
                role="ingest_client", clock=rt.clock, org_id=ent).secret
        uow.commit()
    return keys


def parcel_event(event_id: str, enterprise: str) -> dict[str, Any]:
    return {"event_id": event_id, "kind": "parcel", "occurred_at": "2026-11-11T08:00:00+08:00",
            "enterprise_id": enterprise, "waybill_no": "SF1234567890128", "step": "created"}


class CommitFault:
    """Makes the next commit on ``engine`` fail, as a full disk fails it: the
    statements ran, the transaction never became durable."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.armed = False
        self.fired = 0

    def __enter__(self) -> CommitFault:
        event.listen(self.engine, "commit", self._on_commit)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "commit", self._on_commit)

    def arm(self) -> None:
        self.armed = True

    def _on_commit(self, _conn: Any) -> None:
        if self.armed:
            self.armed = False
            self.fired += 1
            raise OSError(28, "No space left on device")


def start_serve(home: Path, database_url: str,
                preexec: Callable[[], None] | None = None,
                log: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """`parcelguard serve` as a user runs it, in a process of its own; returns the
    process (answering /health) and its base URL. ``log`` keeps its output."""
    port = free_port()
    env = {**os.environ, "PARCELGUARD_HOME": str(home), "PARCELGUARD_DATABASE_URL": database_url}
    out = log.open("ab") if log is not None else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "parcelguard", "serve", "--port", str(port)], env=env,
            stdout=out, stderr=subprocess.STDOUT if log is not None else subprocess.DEVNULL,
            preexec_fn=preexec)  # noqa: PLW1509 - a test's own child
    finally:
        if not isinstance(out, int):
            out.close()  # the child holds its own descriptor
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # a loaded machine takes its time importing the app
    while True:
        try:
            # up and answering; /health may well say 503 (a log not yet checkpointed)
            if httpx2.get(f"{url}/api/v1/health").status_code in (200, 503):
                return proc, url
        except httpx2.TransportError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            said = log.read_text(errors="replace")[-2000:] if log is not None else ""
            raise RuntimeError(f"parcelguard serve did not start\n{said}")
        time.sleep(0.1)


def csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m is not None
    return m.group(1)


def hidden(html: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert m is not None, f"no {name} field on the page"
    return m.group(1)


def texts_to(home: Path, subject_id: str) -> list[str]:
    """The SMS the simulated phone of ``subject_id`` received, oldest first."""
    spool = sms_spool(home)
    if not spool.exists():
        return []
    rows = [json.loads(line) for line in spool.read_text(encoding="utf-8").splitlines()]
    return [r["text"] for r in rows if r["subject_id"] == subject_id]


def last_code(home: Path, subject_id: str) -> str:
    """The one-time code in the last SMS to ``subject_id``."""
    texts = texts_to(home, subject_id)
    assert texts, "no SMS reached the phone on file"
    m = re.search(r"\b(\d{6})\b", texts[-1])
    assert m is not None
    return m.group(1)
