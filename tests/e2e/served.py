"""The real app under uvicorn on a free loopback port, for tests that must go through
a served app (real HTTP, real commits between requests), and what those tests read
off portal pages and the simulated phones."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from parcelguard.incidents.notify import sms_spool


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 and yield its base URL; stop it afterwards."""
    port = free_port()
    # A long keep-alive: on a loaded machine a client may pause past uvicorn's 5 s
    # default and then send on a connection the server is just closing.
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", ws="none", lifespan="off",
                                           timeout_keep_alive=120))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the web server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def eventually(check: Callable[[], None], seconds: float = 3.0) -> None:
    """Run ``check`` until it passes or ``seconds`` have gone by (then its failure is
    raised). For database checks right after an answer: the served app may answer
    before its commit lands (commit-before-answer is issue 12's to fix)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            check()
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


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
