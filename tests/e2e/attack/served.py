"""A parcelguard home served the way an operator serves it: ``parcelguard init`` and
``parcelguard serve`` as real subprocesses on a free loopback port, with the server's
output in a log file (outside the home) that the tests can read and scan.

The world is provisioned in this process between the two commands, on the same
home (same database, same key file), through the services' own functions.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx2 as httpx

from parcelguard.core.plugin import register_handlers
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    base_url: str
    home: Path
    log: Path
    env: dict[str, str]
    pid: int

    def rss_bytes(self) -> int:
        """The server process's resident memory."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=60, **kwargs)  # type: ignore[arg-type]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def served(tmp: Path, provision: Callable[[Runtime], T], *,
           env: dict[str, str] | None = None) -> Iterator[tuple[Served, T]]:
    """Init a home under ``tmp``, run ``provision`` on it, serve it; yields the
    server and what ``provision`` returned. ``env`` adds PARCELGUARD_* settings."""
    home = tmp / "home"
    full_env = {**os.environ, "PARCELGUARD_HOME": str(home), **(env or {})}
    full_env.pop("PARCELGUARD_DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "parcelguard", "init"], env=full_env, check=True,
                   capture_output=True, timeout=120)
    rt = Runtime(settings=Settings(home=home), on_open=register_handlers)
    try:
        made = provision(rt)
    finally:
        rt.close()
    port = free_port()
    log = tmp / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "parcelguard", "serve", "--host", "127.0.0.1",
             "--port", str(port)], env=full_env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError("parcelguard serve exited: " + log.read_text()[-2000:])
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("parcelguard serve did not answer within 60 s")
            time.sleep(0.1)
        yield Served(base, home, log, full_env, proc.pid), made
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
