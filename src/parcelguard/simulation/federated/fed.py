"""The federated demo's nodes: options, the processes, and setting them up (a private
CA, the nodes' homes, the signed directory, the carriers' rosters)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from rich.console import Console

from parcelguard.core.runtime import Runtime
from parcelguard.simulation.model import World

SUP: Final = "supervision"
POLICE: Final = "police-netsec"  # the police org the world's referrals name
AUDITOR: Final = "auditor-01"
# Fast loops so the demo runs in a minute or two, not the production minutes.
NODE_ENV: Final = {"PARCELGUARD_OUTBOX__POLL_SECONDS": "0.2",
                   "PARCELGUARD_OUTBOX__BACKOFF_SECONDS": "0.2",
                   "PARCELGUARD_OUTBOX__BACKOFF_MAX_SECONDS": "1"}
LOOP_SECONDS: Final = 1.0
WAIT_SECONDS: Final = 240.0
# The intervention the department orders per incident category.
ORDER_FOR: Final = {"external_attack": "block_device"}


class FederatedError(RuntimeError):
    """A stage did not reach its state in time (the node logs say why)."""


@dataclass(frozen=True)
class FederatedOptions:
    out: Path = Path("demo-out")
    seed: int = 7
    parcels: int = 3000
    partition: bool = True
    kill: str | None = None  # an org killed -9 during the catch-up; "random": any node
    kill_seed: int | None = None  # the victim and the moments (default: the world seed)
    tamper: bool = True


@dataclass
class NodeProc:
    org: str
    role: str
    home: Path
    url: str
    proc: subprocess.Popen[bytes] | None = None
    pids: list[int] = field(default_factory=list)  # every process started for it

    @property
    def log(self) -> Path:
        return self.home.parent / f"{self.org}.log"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PARCELGUARD_")}
        env |= NODE_ENV
        src = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "parcelguard", "node", "serve", "--home",
                 str(self.home)], env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        self.pids.append(self.proc.pid)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)
        self.proc = None


@dataclass
class Fed:
    options: FederatedOptions
    console: Console
    base: Path
    world: World
    procs: dict[str, NodeProc] = field(default_factory=dict)
    rts: dict[str, Runtime] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def enterprises(self) -> list[str]:
        return [e.id for e in self.world.enterprises]

    def rt(self, org: str) -> Runtime:
        if org not in self.rts:
            from parcelguard.core.plugin import register_handlers
            from parcelguard.node.home import node_settings

            # a carrier's systems raise alerts that open incidents (the reactions);
            # the other parties only queue envelopes, which their node carries
            self.rts[org] = Runtime(settings=node_settings(self.base / org),
                                    on_open=register_handlers
                                    if org in self.enterprises else None)
        return self.rts[org]

    def quiet_rt(self, org: str) -> Runtime:
        """A runtime on the node's store that dispatches nothing: what it queues for
        another node is carried by that node's own process, not by the demo's too
        (two carriers of one envelope would post it twice: absorbed by the receiver,
        but counted as a duplicate)."""
        key = f"{org}#quiet"
        if key not in self.rts:
            from parcelguard.node.home import node_settings

            self.rts[key] = Runtime(settings=node_settings(self.base / org))
        return self.rts[key]

    def node(self, org: str) -> Any:
        from parcelguard.node.home import Node

        return Node(self.base / org)

    def say(self, text: str) -> None:
        self.console.print("  " + text)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.console.rule(f"[bold]{name}")
        t = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - t, 2)

    def wait(self, what: str, check: Callable[[], bool],
             progress: Callable[[], str] | None = None) -> float:
        """Poll ``check`` until true; every few seconds a progress line. Seconds."""
        t0 = time.monotonic()
        last = t0
        while not check():
            now = time.monotonic()
            for p in self.procs.values():
                if p.proc is not None and p.proc.poll() is not None:
                    raise FederatedError(f"node {p.org} exited while waiting for {what}: "
                                         f"see {p.log}")
            if now - t0 > WAIT_SECONDS:
                raise FederatedError(f"timed out waiting for {what} (node logs in {self.base})")
            if progress is not None and now - last > 5:
                self.say(f"[dim]... {what}: {progress()}[/dim]")
                last = now
            time.sleep(0.25)
        return time.monotonic() - t0


# -- set-up ------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _quiet(fn: Callable[..., Any], **kwargs: Any) -> None:
    """Run a `node` command's function without its console lines."""
    with contextlib.redirect_stdout(io.StringIO()):
        fn(**kwargs)


def set_up(fed: Fed) -> None:
    from parcelguard.node import cli as node_cli
    from parcelguard.node.home import write_json

    base = fed.base
    roles = {SUP: "supervision", **dict.fromkeys(fed.enterprises, "enterprise"),
             POLICE: "police", AUDITOR: "auditor"}
    _quiet(node_cli.ca_init, out_dir=base / "ca")
    urls = {org: f"https://127.0.0.1:{_free_port()}" for org in roles}
    names = {**{e.id: e.name for e in fed.world.enterprises},
             POLICE: "公安机关网络安全保卫部门 (demo)", AUDITOR: "第三方审计机构 (demo)",
             SUP: "邮政管理部门 (demo)"}
    fed.procs = {org: NodeProc(org, role, base / org, urls[org]) for org, role in roles.items()}
    sup_key = ""
    # Each node is started as soon as it is made, so its process starts up while the
    # next one is made; the witnesses first, so the carriers know them from the start.
    for org in (SUP, POLICE, AUDITOR, *fed.enterprises):
        if org == SUP:
            _quiet(node_cli.init, home=base / SUP, role="supervision", org=SUP,
                   url=urls[SUP], name=names[SUP], ca_dir=base / "ca")
            sup_key = json.loads((base / SUP / "node-card.json").read_text())["node_key"]
        else:
            _quiet(node_cli.init, home=base / org, role=roles[org], org=org, url=urls[org],
                   name=names[org], supervision_key=sup_key, supervision_url=urls[SUP],
                   ca_dir=base / "ca")
            _quiet(node_cli.directory_add, home=base / SUP,
                   card=base / org / "node-card.json")
        path = base / org / "node.json"
        write_json(path, json.loads(path.read_text()) | {
            "mirror_seconds": LOOP_SECONDS, "checkpoint_seconds": LOOP_SECONDS,
            "directory_refresh_seconds": 5.0})
        if org in fed.enterprises:
            _load_roster(fed, org)
        if org != SUP:  # handed over at set-up; the node refreshes it from then on
            fed.node(org).store_directory(json.loads((base / SUP / "directory.json")
                                                     .read_text()))
        fed.procs[org].start()
    directory = json.loads((base / SUP / "directory.json").read_text())
    for org in roles:  # the complete one, to the nodes made before the last card
        if org != SUP:
            fed.node(org).store_directory(directory)
    fed.wait("six nodes to serve", lambda: all(node_serving(fed, org) for org in roles))
    fed.figures["nodes"] = {org: {"role": role, "url": urls[org]} for org, role in roles.items()}
    for org, role in roles.items():
        fed.say(f"{role:<11} {org:<14} {urls[org]}  pid {fed.procs[org].proc.pid}"  # type: ignore[union-attr]
                f"  home {base / org}")
    fed.say(f"directory serial {directory['serial']} signed by {SUP}, {len(roles)} nodes; "
            "mutual TLS with a private CA; supervision and auditor stores hold no PI tables")


def node_serving(fed: Fed, org: str) -> bool:
    from parcelguard.node.transport import DeliveryError, request

    p = fed.procs[org]
    if p.proc is not None and p.proc.poll() is not None:
        raise FederatedError(f"node {org} exited at start: {p.log.read_text()[-1500:]}")
    try:
        status, _ = request(fed.node(SUP if org != SUP else fed.enterprises[0]), p.url, "GET",
                            "/node/v1/directory", pin=None)
    except DeliveryError:
        return False
    return status == 200


def _load_roster(fed: Fed, ent: str) -> None:
    """A carrier's stations and staff, in its own store (no other carrier's)."""
    from parcelguard.identity.service import create_organization
    from parcelguard.logistics.models import Employee, Station
    from parcelguard.simulation import loader
    from parcelguard.vault.provider import vault_service

    w = fed.world
    now = w.config.start
    with fed.rt(ent).db.unit_of_work() as uow:
        # the police department its referrals go to (as a deployment registers it)
        create_organization(uow.session, org_id=POLICE, kind="police",
                            name="公安机关网络安全保卫部门 (demo)", clock=fed.rt(ent).clock)
        uow.session.add_all(Station(id=s.id, enterprise_id=s.enterprise_id, name=s.name,
                                    region_code=s.region_code, created_at=now)
                            for s in w.stations if s.enterprise_id == ent)
        uow.session.flush()
        uow.session.add_all(Employee(
            id=e.id, enterprise_id=e.enterprise_id, station_id=e.station_id, role=e.role,
            shift_start=e.shift_start, shift_end=e.shift_end, shift_tz=e.tz,
            background_check=e.background_check,
            trained_at=e.hired_at if e.trained else None,
            status="left" if e.left_at else "active", hired_at=e.hired_at,
            left_at=e.left_at) for e in w.employees if e.enterprise_id == ent)
        # its parcels, the senders' and recipients' PI sealed in its own vault, and
        # its dispatch's assignments
        own = replace(w, parcels=[p for p in w.parcels if p.enterprise_id == ent],
                      events=[e for e in w.events if e["enterprise_id"] == ent])
        loader.load_parcels(uow.session, own, vault_service(fed.rt(ent).settings))
        loader.load_assignments(uow.session, own)
        uow.commit()
