"""``parcelguard demo --federated``: the demo's mechanism across separate nodes.

Six `parcelguard node serve` processes, each with its own home, SQLite database and
keys, on loopback ports with mutual TLS (docs/deployment.md): three enterprise nodes
(the world's carriers), the supervision node, the police node and an auditor node.
The demo process plays the people at each party: the carriers' systems write their
traffic into their own node's store and their officers file the reports; the
department's officers order interventions and refer cases; the auditor and the
police ask for data. Everything that crosses between parties goes the nodes' way:
logs as C2SP tlog-tiles mirrored and cosigned, messages as signed envelopes from the
senders' outboxes (node/relay.py queues what a carrier's records owe, node/effects.py
is what a receipt changes).

Stages:

1. set-up: a private CA, six nodes, the signed directory, six processes;
2. day 1: the carriers ingest their traffic; the supervision node mirrors every log,
   the three witnesses cosign the checkpoints; the department grants the audit;
3. the partition drill: the supervision node is stopped while the carriers go on with
   day 2 (traffic, their monitors' alerts, incidents, reports filed, data asked and
   answered directly between carrier and auditor); the reports wait in the carriers'
   outboxes. It is restarted and catches up: the mirror from the tiles, the messages
   from the outboxes. (``kill``: a node is also killed -9 at a random point of the
   catching up, and started again.)
4. the department acts: an intervention ordered per incident reported (applied and
   acknowledged by the carrier's node in the receipt's transaction), insider cases
   referred to the police, who ask the carrier for data;
5. tamper attempts: a forged envelope, a borrowed TLS certificate, a replay, a log
   rewritten in a carrier's database; each refused or caught, by a named node;
6. the cross-node figures, also in ``<out>/federated.json``.

Every process started is stopped at the end, on an error and on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import msgspec
from rich.console import Console
from rich.table import Table
from sqlalchemy import delete, func, select, update

from parcelguard.core.runtime import Runtime
from parcelguard.ledger.settings import IngestSettings
from parcelguard.monitor.settings import MonitorSettings
from parcelguard.simulation.model import World, WorldConfig

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
    fed.wait("six nodes to serve", lambda: all(_serving(fed, org) for org in roles))
    fed.figures["nodes"] = {org: {"role": role, "url": urls[org]} for org, role in roles.items()}
    for org, role in roles.items():
        fed.say(f"{role:<11} {org:<14} {urls[org]}  pid {fed.procs[org].proc.pid}"  # type: ignore[union-attr]
                f"  home {base / org}")
    fed.say(f"directory serial {directory['serial']} signed by {SUP}, {len(roles)} nodes; "
            "mutual TLS with a private CA; supervision and auditor stores hold no PI tables")


def _serving(fed: Fed, org: str) -> bool:
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


# -- reading the nodes' stores -------------------------------------------------------


def _counts(fed: Fed, org: str) -> dict[str, int]:
    from parcelguard.node import service

    with fed.rt(org).db.unit_of_work() as uow:
        return service.counts(uow.session)


def _inbox(fed: Fed, org: str, kind: str | None = None) -> list[dict[str, Any]]:
    from parcelguard.node.models import NodeInbox

    with fed.rt(org).db.unit_of_work() as uow:
        q = select(NodeInbox).order_by(NodeInbox.received_at, NodeInbox.message_id)
        if kind is not None:
            q = q.where(NodeInbox.kind == kind)
        return [{"message_id": r.message_id, "sender_org": r.sender_org, "kind": r.kind,
                 "deliveries": r.deliveries, "body": json.loads(r.envelope)["body"]}
                for r in uow.session.scalars(q)]


def _leaves_digest(fed: Fed, org: str) -> tuple[int, str]:
    from parcelguard.ledger.models import LedgerEvent

    h = hashlib.sha256()
    n = 0
    with fed.rt(org).db.unit_of_work() as uow:
        for leaf in uow.session.scalars(select(LedgerEvent.leaf).where(
                LedgerEvent.enterprise_id == org).order_by(LedgerEvent.seq)):
            h.update(hashlib.sha256(leaf).digest())
            n += 1
    return n, h.hexdigest()


def _mirror(fed: Fed) -> dict[str, dict[str, Any]]:
    from parcelguard.supervision.models import MirrorEntry, MirrorLog

    out: dict[str, dict[str, Any]] = {}
    with fed.rt(SUP).db.unit_of_work() as uow:
        for m in uow.session.scalars(select(MirrorLog)):
            h = hashlib.sha256()
            for leaf in uow.session.scalars(select(MirrorEntry.leaf).where(
                    MirrorEntry.origin == m.origin).order_by(MirrorEntry.seq)):
                h.update(hashlib.sha256(leaf).digest())
            out[m.enterprise_id] = {"size": int(m.size), "digest": h.hexdigest(),
                                    "refused": bool(m.refused),
                                    "checkpoint_size": int(m.checkpoint_size)}
    return out


def _mirror_sizes(fed: Fed) -> dict[str, int]:
    from parcelguard.supervision.models import MirrorLog

    with fed.rt(SUP).db.unit_of_work() as uow:
        return {str(e): int(s) for e, s in uow.session.execute(
            select(MirrorLog.enterprise_id, MirrorLog.size))}


def _log_size(fed: Fed, org: str) -> int:
    from parcelguard.ledger.models import LedgerHead

    with fed.rt(org).db.unit_of_work() as uow:
        head = uow.session.get(LedgerHead, org)
        return int(head.size) if head is not None else 0


def _cosigned(fed: Fed, org: str) -> dict[str, Any]:
    """The enterprise's newest checkpoint size and, per witness, the checkpoints it
    cosigned and the newest size it cosigned."""
    from parcelguard.ledger.models import LedgerCheckpoint, LedgerCosignature

    with fed.rt(org).db.unit_of_work() as uow:
        rows = uow.session.execute(
            select(LedgerCosignature.witness, func.count(), func.max(LedgerCheckpoint.size))
            .join(LedgerCheckpoint, LedgerCheckpoint.id == LedgerCosignature.checkpoint_id)
            .where(LedgerCheckpoint.enterprise_id == org)
            .group_by(LedgerCosignature.witness)).all()
    return {str(w).rsplit("/", 1)[-1]: {"checkpoints": int(n), "max_size": int(s)}
            for w, n, s in rows}


def _caught_up(fed: Fed) -> bool:
    sizes = _mirror_sizes(fed)
    return all(sizes.get(e, -1) == _log_size(fed, e) for e in fed.enterprises)


def _cosigned_by_all(fed: Fed) -> bool:
    for e in fed.enterprises:
        size = _log_size(fed, e)
        c = _cosigned(fed, e)
        if any(c.get(w, {}).get("max_size", -1) != size for w in (SUP, POLICE, AUDITOR)):
            return False
    return True


def _drained(fed: Fed) -> bool:
    return all(_counts(fed, org)["sent_pending"] == 0 for org in fed.procs)


def _relay(fed: Fed) -> None:
    """Queue now what every node's records owe (the nodes do it every second; the
    demo does not wait for that tick). Idempotent: a record is queued once."""
    from sqlalchemy.exc import IntegrityError

    from parcelguard.node.federation import relay_pass

    for org in fed.procs:
        for _ in range(5):
            try:
                relay_pass(fed.node(org), fed.quiet_rt(org))
                break
            except IntegrityError:  # the node's own pass queued the same record first
                time.sleep(0.2)


def _order_audits(fed: Fed) -> list[str]:
    """The department orders an audit of each carrier by the auditor, recorded in its
    own store (what audit/engagements.py ``create`` records); its node's relay grants
    them."""
    from parcelguard.audit.models import AuditEngagement
    from parcelguard.identity.models import Organization
    from parcelguard.identity.service import create_organization, ensure_enterprises

    rt = fed.rt(SUP)
    start = fed.world.config.start
    ids = [f"aud-2026q4-{e}" for e in fed.enterprises]
    with rt.db.unit_of_work() as uow:
        s = uow.session
        ensure_enterprises(s, set(fed.enterprises), rt.clock)
        if s.get(Organization, AUDITOR) is None:
            create_organization(s, org_id=AUDITOR, kind="auditor",
                                name="第三方审计机构 (demo)", clock=rt.clock)
        for eid, e in zip(ids, fed.enterprises, strict=True):
            if s.get(AuditEngagement, eid) is None:
                s.add(AuditEngagement(
                    id=eid, enterprise_id=e, auditor_org_id=AUDITOR,
                    lead_auditor_id=f"{AUDITOR}/lead", kind="ordered",
                    reason="ordered by the department for the 2026 Q4 review",
                    scope=[], rulebook_version="demo", period_start=start - timedelta(days=90),
                    period_end=start, status="planned", requested_by=f"{SUP}/officer",
                    created_at=start, sample_seed="0" * 32))
        uow.commit()
    return ids


def _settle(fed: Fed, what: str) -> None:
    """Every record's envelope queued and delivered, every log mirrored and cosigned."""
    _relay(fed)
    fed.wait(what, lambda: _drained(fed), lambda: _backlog_progress(fed))
    fed.wait("the mirror to catch up", lambda: _caught_up(fed), lambda: _mirror_progress(fed))
    fed.wait("the witnesses to cosign the grown logs", lambda: _cosigned_by_all(fed))


def _mirror_progress(fed: Fed) -> str:
    sizes = _mirror_sizes(fed)
    return ", ".join(f"{e} {sizes.get(e, 0):,}/{_log_size(fed, e):,}" for e in fed.enterprises)


def _backlog_progress(fed: Fed) -> str:
    return ", ".join(f"{o} {_counts(fed, o)['sent_pending']}" for o in fed.procs)


def _send(fed: Fed, sender: str, to: str, kind: str, body: dict[str, Any]) -> str:
    from parcelguard.node import service

    node = fed.node(sender)
    with fed.quiet_rt(sender).db.unit_of_work() as uow:
        mid = service.send(uow.session, me=service.Me(org=sender, role=node.config.role,
                                                      key_id=node.key_id),
                           directory=node.directory(), to_org=to, kind=kind, body=body)
        uow.commit()
    return mid


# -- the carriers' day -----------------------------------------------------------------


def _events_by_day(fed: Fed) -> dict[str, list[list[bytes]]]:
    """Each carrier's events as its systems emit them, split at the day boundary."""
    start = fed.world.config.start
    out: dict[str, list[list[bytes]]] = {e: [[], []] for e in fed.enterprises}
    for ev in fed.world.events:
        day = 0 if datetime.fromisoformat(ev["occurred_at"]) < start + timedelta(days=1) else 1
        out[ev["enterprise_id"]][day].append(msgspec.json.encode(ev))
    return out


def _ingest(fed: Fed, org: str, lines: list[bytes]) -> int:
    from parcelguard.ledger.ingest import EventLog
    from parcelguard.ledger.service import ingest_file

    path = fed.base / f"{org}.events.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    rt = fed.rt(org)
    report = ingest_file(rt.db, path, log=EventLog(clock_now=rt.clock.now),
                         batch_size=rt.settings.section(IngestSettings).batch_size,
                         max_line_bytes=rt.settings.section(IngestSettings).max_line_bytes,
                         rejects_path=fed.base / f"{org}.rejects.jsonl")
    path.unlink()
    if not report.rejected:
        (fed.base / f"{org}.rejects.jsonl").unlink(missing_ok=True)
    if report.rejected:
        raise FederatedError(f"{org}: {len(report.rejected)} events rejected")
    return int(report.stored)


def _carrier_handles(fed: Fed, org: str) -> dict[str, int]:
    """The carrier's monitor over its own log (alerts open incidents, which draft the
    statutory reports), then its officer files every draft, 30 minutes after the
    incident was detected (event time)."""
    from parcelguard.core.clock import ManualClock
    from parcelguard.identity.permissions import Principal
    from parcelguard.incidents import reports
    from parcelguard.incidents.models import Incident, IncidentReport
    from parcelguard.monitor.runner import run_once
    from parcelguard.simulation.demo_incidents import _OFFICER_ITEMS

    rt = fed.rt(org)
    _, ran = run_once(rt.db, rt.settings.section(MonitorSettings), rt.clock)
    filed = 0
    with rt.db.unit_of_work() as uow:
        s = uow.session
        drafts = list(s.scalars(select(IncidentReport).where(
            IncidentReport.enterprise_id == org, IncidentReport.status == "draft")
            .order_by(IncidentReport.due_at, IncidentReport.id)))
        for r in drafts:
            inc = s.get(Incident, r.incident_id)
            assert inc is not None
            reports.file_report(s, Principal(org, "enterprise", "security_officer"),
                                report_id=r.id, content=_OFFICER_ITEMS,
                                clock=ManualClock(inc.detected_at + timedelta(minutes=30)))
            filed += 1
        incidents = s.scalar(select(func.count()).select_from(Incident).where(
            Incident.enterprise_id == org)) or 0
        uow.commit()
    return {"alerts": ran.alerts_raised, "incidents": int(incidents), "reports_filed": filed}


# -- stages ----------------------------------------------------------------------------


def stage_day1(fed: Fed, days: dict[str, list[list[bytes]]]) -> None:
    with fed.stage("2. Day 1: carriers ingest; supervision mirrors; witnesses cosign"):
        for e in fed.enterprises:
            n = _ingest(fed, e, days[e][0])
            fed.say(f"{e}: {n:,} events into its own log")
        took = fed.wait("the mirror of every log", lambda: _caught_up(fed),
                        lambda: _mirror_progress(fed))
        fed.wait("cosignatures by supervision, police and auditor",
                 lambda: _cosigned_by_all(fed))
        sizes = _mirror_sizes(fed)
        fed.say(f"supervision mirrored {sum(sizes.values()):,} entries in {took:.1f} s, each "
                "verified against the carrier's signed checkpoint; newest checkpoints "
                "cosigned by supervision, police-netsec and auditor-01")
        engagements = _order_audits(fed)
        _relay(fed)
        fed.wait("the audit grants delivered", lambda: len(
            _inbox(fed, AUDITOR, "audit_grant")) >= len(engagements)
            and _drained(fed))
        fed.say(f"the department orders {len(engagements)} audits by {AUDITOR} (one per "
                "carrier) in its own store; its node grants each to the auditor and the "
                "carrier as signed envelopes (node/relay.py), delivered")


def stage_drill(fed: Fed, days: dict[str, list[list[bytes]]], rng: random.Random) -> None:
    o = fed.options
    title = ("3. Partition drill: supervision node down while the carriers work day 2"
             if o.partition else "3. Day 2 (no partition)")
    with fed.stage(title):
        sup = fed.procs[SUP]
        if o.partition:
            sup.stop()
            fed.say(f"supervision node stopped (pid gone); mirror at {_mirror_progress(fed)}")
        handled: dict[str, dict[str, int]] = {}
        for e in fed.enterprises:
            n = _ingest(fed, e, days[e][1])
            handled[e] = _carrier_handles(fed, e)
            h = handled[e]
            fed.say(f"{e}: {n:,} more events; its monitor raised {h['alerts']} alerts -> "
                    f"{h['incidents']} incidents, {h['reports_filed']} reports filed")
        # the auditor asks the carriers directly: that link is up
        for e in fed.enterprises:
            _send(fed, AUDITOR, e, "data_request", {"ref": "eng-2026-q4",
                                                   "scope": "figures"})
        fed.figures["carriers"] = handled
        reports = sum(h["reports_filed"] for h in handled.values())
        backlog_max = 0
        if o.partition:
            def queued() -> bool:
                return sum(_counts(fed, e)["sent_pending"] for e in fed.enterprises) >= reports

            fed.wait("the carriers' nodes to queue their reports", queued,
                     lambda: _backlog_progress(fed))
            fed.wait("the auditor's answers", lambda: len(_inbox(fed, AUDITOR, "data_answer"))
                     >= len(fed.enterprises))
            time.sleep(2 * LOOP_SECONDS)  # the carriers go on retrying
            backlog = {e: _counts(fed, e)["sent_pending"] for e in fed.enterprises}
            backlog_max = sum(backlog.values())
            lag = {e: _log_size(fed, e) - _mirror_sizes(fed).get(e, 0) for e in fed.enterprises}
            fed.say(f"while it is down: {backlog_max} envelopes waiting in the carriers' "
                    f"outboxes ({', '.join(f'{k} {v}' for k, v in backlog.items())}); "
                    f"{sum(lag.values()):,} log entries not yet mirrored; the auditor's "
                    f"{len(fed.enterprises)} data requests answered meanwhile")
            t0 = time.monotonic()
            sup.start()
            fed.say("supervision node restarted")
        else:
            t0 = time.monotonic()
        if o.kill:
            victim = o.kill if o.kill != "random" else rng.choice(sorted(fed.procs))
            time.sleep(rng.uniform(0.2, 2.5))
            fed.procs[victim].stop(signal.SIGKILL)
            fed.say(f"[bold]kill -9[/bold] {victim} at a random point of the catching up")
            time.sleep(rng.uniform(0.1, 1.0))
            fed.procs[victim].start()
            fed.wait(f"{victim} to serve again", lambda: _serving(fed, victim))
            fed.figures["killed"] = victim
        fed.wait("the mirror to catch up", lambda: _caught_up(fed),
                 lambda: _mirror_progress(fed))
        _settle(fed, "every outbox drained")
        got = len(_inbox(fed, SUP, "incident_report"))
        if got != reports:
            raise FederatedError(f"{reports} reports filed, {got} at the supervision node")
        took = time.monotonic() - t0
        fed.figures["drill"] = {"partition": o.partition, "backlog_max": backlog_max,
                                "catch_up_seconds": round(took, 1)}
        fed.say(f"caught up in {took:.1f} s: mirror {_mirror_progress(fed)}; "
                f"{len(_inbox(fed, SUP, 'incident_report'))} reports received, backlog "
                f"{backlog_max} -> 0")


def stage_department(fed: Fed) -> None:
    with fed.stage("4. The department acts: interventions, referrals, police data requests"):
        orders: list[str] = []
        referrals = 0
        seen: set[str] = set()
        for m in _inbox(fed, SUP, "incident_report"):
            b = m["body"]
            if b["incident"] in seen:  # one order per incident (it has two reports)
                continue
            seen.add(b["incident"])
            kind = ORDER_FOR.get(b["category"], "suspend_employee")
            targets = b["devices"] if kind == "block_device" else b["employees"]
            if not targets:
                continue
            orders.append(_send(fed, SUP, m["sender_org"], "intervention", {
                "ref": b["report"], "incident": b["incident"], "kind": kind,
                "target_id": targets[0], "reason": f"ordered after report {b['report']}"}))
            if b["category"] == "insider_abuse":
                _send(fed, SUP, POLICE, "police_referral", {
                    "enterprise": m["sender_org"], "incident": b["incident"],
                    "report": b["report"], "records": b["records"],
                    "people_affected": b["people_affected"]})
                referrals += 1
        _settle(fed, "the orders and referrals delivered")
        fed.wait("the acknowledgements", lambda: len(
            _inbox(fed, SUP, "intervention_ack")) >= len(orders), lambda: _backlog_progress(fed))
        cases = _inbox(fed, POLICE, "police_referral")
        for m in cases:  # from the department (its body names the carrier) or a carrier
            _send(fed, POLICE, m["body"].get("enterprise", m["sender_org"]), "data_request",
                  {"ref": m["body"].get("incident") or m["body"].get("source_id"),
                   "scope": "figures"})
        _settle(fed, "the acknowledgements and the answers to the police")
        acks = Counter(m["body"].get("status") for m in _inbox(fed, SUP, "intervention_ack"))
        by = Counter(m["sender_org"] for m in cases)
        fed.say(f"{len(orders)} interventions ordered -> applied in the carriers' stores and "
                f"acknowledged by their nodes: {', '.join(f'{k} {v}' for k, v in acks.items())}")
        fed.say(f"{len(cases)} police referrals at {POLICE} ({by[SUP]} insider cases from the "
                f"department, {len(cases) - by[SUP]} from carriers' own referrals); its "
                f"{len(cases)} data requests answered by the carriers")
        checked = _police_evidence(fed)
        fed.figures["police_evidence"] = checked
        for c in checked:
            fed.say(f"{POLICE} holds {c['enterprise_id']}'s referral {c['referral']} with its "
                    f"evidence package: {c['events']} events, inclusion proofs verified "
                    f"against the carrier's checkpoint of size {c['tree_size']:,}, which is "
                    f"{c['witnessed']} with the checkpoint its own witness cosigned (size "
                    f"{c['witnessed_size']:,})")
        recs = _department_records(fed)
        fed.say(f"the department's own records: {recs['reports']} reports received from "
                f"the carriers' nodes ({recs['incidents']} incidents), {recs['forwards_owed']} "
                "owing a forward to the cyberspace administration")


def _police_evidence(fed: Fed) -> list[dict[str, Any]]:
    """The carriers' referrals the police node holds with their evidence, and what it
    verified on receipt (`parcelguard node referrals`)."""
    from parcelguard.channel.models import ChannelReferral, ChannelReferralLog

    out = []
    with fed.rt(POLICE).db.unit_of_work() as uow:
        s = uow.session
        for ref in s.scalars(select(ChannelReferral).order_by(ChannelReferral.id)):
            log = s.scalars(select(ChannelReferralLog).where(
                ChannelReferralLog.referral_id == ref.id,
                ChannelReferralLog.action == "received")).first()
            check = dict(log.detail) if log is not None else {}
            out.append({"referral": ref.id, "enterprise_id": ref.enterprise_id,
                        "events": len(ref.package.get("events") or []),
                        "evidence_ok": check.get("evidence_ok"),
                        "tree_size": check.get("tree_size") or 0,
                        "witnessed": check.get("witnessed"),
                        "witnessed_size": check.get("witnessed_size") or 0})
    return out


def _department_records(fed: Fed) -> dict[str, int]:
    """What the supervision node holds as its own records (received reports and their
    incidents, forwards owed, its tamper cases)."""
    from parcelguard.incidents.models import ForwardedReport, Incident, IncidentReport

    with fed.rt(SUP).db.unit_of_work() as uow:
        s = uow.session

        def n(model: Any, *where: Any) -> int:
            return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)

        return {"reports": n(IncidentReport, IncidentReport.status == "filed"),
                "incidents": n(Incident, Incident.category != "tampering"),
                "forwards_owed": n(ForwardedReport),
                "tamper_cases": n(Incident, Incident.category == "tampering")}


def _final_figures(fed: Fed) -> None:
    """What the nodes hold once everything has settled (after the tamper attempts):
    the messages, what each received by kind, the reactions dead-lettered."""
    if fed.options.tamper:
        _relay(fed)
        fed.wait("every outbox to settle after the tamper attempts", lambda: _settled(fed))
        fed.figures["dead_letters_after_tamper"] = _dead(fed)
    fed.figures["messages"] = {org: _counts(fed, org) for org in fed.procs}
    fed.figures["received"] = {org: sorted(Counter(m["kind"] for m in _inbox(fed, org))
                                           .items()) for org in fed.procs}


def _settled(fed: Fed) -> bool:
    """No outbox message of any node waiting for a reaction (delivered or dead)."""
    from parcelguard.core.outbox import OutboxMessage

    for org in fed.procs:
        with fed.rt(org).db.unit_of_work() as uow:
            if uow.session.scalar(select(func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.status.in_(("pending", "failed")))):
                return False
    return True


def _dead(fed: Fed) -> dict[str, int]:
    """Reactions dead-lettered on each node (none, on any role)."""
    from parcelguard.core.outbox import OutboxDelivery

    out = {}
    for org in fed.procs:
        with fed.rt(org).db.unit_of_work() as uow:
            out[org] = int(uow.session.scalar(select(func.count()).select_from(
                OutboxDelivery).where(OutboxDelivery.status == "dead")) or 0)
    return out


def _post(fed: Fed, via: str, to: str, doc: dict[str, Any]) -> tuple[int, str]:
    from parcelguard.node.transport import request

    status, body = request(fed.node(via), fed.procs[to].url, "POST", "/node/v1/inbox",
                           pin=None, doc=doc)
    answer = json.loads(body)
    return status, str(answer.get("detail") or answer.get("status"))


def stage_tamper(fed: Fed) -> list[dict[str, str]]:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from parcelguard.node.envelope import Envelope

    caught: list[dict[str, str]] = []
    with fed.stage("5. Tamper attempts"):
        e1, e2 = fed.enterprises[0], fed.enterprises[1]
        n1 = fed.node(e1)

        def forged(key: ed25519.Ed25519PrivateKey, mid: str) -> dict[str, Any]:
            return Envelope(message_id=mid, sender_org=e1, sender_key_id=n1.key_id,
                            recipient_org=SUP, kind="intervention_ack",
                            body={"intervention": "env_none", "status": "applied"},
                            created_at="2026-11-11T00:00:00.000+00:00").sign(key).to_json()

        status, why = _post(fed, e1, SUP, forged(ed25519.Ed25519PrivateKey.generate(),
                                                  "env_forged"))
        caught.append({"attempt": f"an acknowledgement in {e1}'s name signed with another key",
                       "caught_by": SUP, "how": f"{status} {why}"})
        status, why = _post(fed, e2, SUP, forged(n1.signing_key, "env_borrowed"))
        caught.append({"attempt": f"{e1}'s signed envelope carried over {e2}'s TLS "
                       "certificate", "caught_by": SUP, "how": f"{status} {why}"})
        # a delivered envelope sent again (a retry after a lost answer, or a replay)
        report = _inbox(fed, SUP, "incident_report")[0]
        from parcelguard.node.models import NodeInbox

        with fed.rt(SUP).db.unit_of_work() as uow:
            row = uow.session.get(NodeInbox, report["message_id"])
            assert row is not None
            signed = json.loads(row.envelope)
        status, why = _post(fed, report["sender_org"], SUP, signed)
        caught.append({"attempt": f"a delivered report from {report['sender_org']} sent "
                       "again", "caught_by": SUP, "how": f"{status} {why}: not applied again"})
        for c in caught:
            fed.say(f"{c['attempt']}: stopped by {c['caught_by']} ({c['how'][:110]})")
        # an insider with database access rewrites one entry of e2's log consistently
        # (the entry, its tiles): the node signs the rewritten log as it stands
        before = _findings(fed)
        at = _rewrite_entry(fed, e2)
        fed.say(f"{e2}: an insider rewrites log entry {at} in the carrier's database "
                "(tiles rebuilt to match)")

        def seen_by_all() -> bool:
            now = _findings(fed)
            return all(len(now[org]) > len(before[org]) for org in (SUP, POLICE, AUDITOR))

        fed.wait("the rewritten log to be caught", seen_by_all)
        after = _findings(fed)
        for org in (SUP, POLICE, AUDITOR):
            for summary, observer in after[org][len(before[org]):]:
                caught.append({"attempt": f"{e2}'s log rewritten", "caught_by": org,
                               "how": f"{observer}: {summary}"})
                fed.say(f"{e2}'s rewritten log caught by {org} ({observer}): {summary}")
        # what each role makes of it: the department opens its case; the other witnesses
        # report what they saw onward to it
        _relay(fed)

        def onward() -> set[str]:
            return {m["sender_org"] for m in _inbox(fed, SUP, "onward_report")
                    if m["body"].get("subject") == "ledger_tamper"
                    and m["body"].get("enterprise") == e2}

        fed.wait("the department's case and the witnesses' onward reports", lambda:
                 _department_records(fed)["tamper_cases"] > 0
                 and onward() == {POLICE, AUDITOR})
        fed.figures["tamper_reaction"] = {
            "supervision_cases": _department_records(fed)["tamper_cases"],
            "onward_reports_from": sorted(onward())}
        fed.say(f"the supervision node opens its own case about {e2}'s log (no statutory "
                f"drafts: those are {e2}'s); {POLICE} and {AUDITOR} report their findings "
                "onward to it")
    return caught


def _findings(fed: Fed) -> dict[str, list[tuple[str, str]]]:
    from parcelguard.supervision.models import SupervisionFinding

    out = {}
    for org in (SUP, POLICE, AUDITOR):
        with fed.rt(org).db.unit_of_work() as uow:
            out[org] = [(f.summary, str(f.evidence.get("observed_by", "?")))
                        for f in uow.session.scalars(select(SupervisionFinding).where(
                            SupervisionFinding.kind == "ledger_tamper")
                            .order_by(SupervisionFinding.id))]
    return out


def _rewrite_entry(fed: Fed, org: str) -> int:
    from parcelguard.ledger.merkle import append_leaves
    from parcelguard.ledger.models import LedgerEvent, LedgerHead, LedgerTile
    from parcelguard.ledger.store import SqlTileStore
    from parcelguard.ledger.tiles import InMemoryTileStore

    with fed.rt(org).db.unit_of_work() as uow:
        s = uow.session
        leaves = [bytes(x) for x in s.scalars(select(LedgerEvent.leaf).where(
            LedgerEvent.enterprise_id == org).order_by(LedgerEvent.seq))]
        at = next(i for i, leaf in enumerate(leaves) if b'"outcome":"allowed"' in leaf)
        leaves[at] = leaves[at].replace(b'"outcome":"allowed"', b'"outcome":"denied"')
        s.execute(update(LedgerEvent).where(LedgerEvent.enterprise_id == org,
                                            LedgerEvent.seq == at).values(leaf=leaves[at]))
        s.execute(delete(LedgerTile).where(LedgerTile.enterprise_id == org))
        scratch = InMemoryTileStore()
        append_leaves(scratch, 0, leaves)
        SqlTileStore(s.connection(), org).write_tiles(scratch.tiles)
        s.execute(update(LedgerHead).where(LedgerHead.enterprise_id == org)
                  .values(size=len(leaves)))
        uow.commit()
    return at


# -- the state a drill must end in, and the figures --------------------------------------


def final_state(fed: Fed) -> dict[str, Any]:
    """What the drill must leave whatever happened on the way (partition, kill -9):
    compared by the tests between runs. Counts and contents, not the random ids."""
    from parcelguard.incidents.models import Incident, IncidentReport, Intervention
    from parcelguard.monitor.models import MonitorAlert

    mirror = _mirror(fed)
    carriers = {}
    for e in fed.enterprises:
        size, digest = _leaves_digest(fed, e)
        with fed.rt(e).db.unit_of_work() as uow:
            s = uow.session
            ivs = list(s.scalars(select(Intervention).where(Intervention.enterprise_id == e)))
            carriers[e] = {
                "log_size": size,
                "mirrored": mirror.get(e, {}).get("size"),
                "mirror_equals_log": mirror.get(e, {}).get("digest") == digest,
                "alerts": sorted(Counter(s.scalars(select(MonitorAlert.detector).where(
                    MonitorAlert.enterprise_id == e))).items()),
                "incidents": sorted(Counter(s.scalars(select(Incident.category).where(
                    Incident.enterprise_id == e))).items()),
                "reports_filed": int(s.scalar(select(func.count()).select_from(
                    IncidentReport).where(IncidentReport.enterprise_id == e,
                                          IncidentReport.status == "filed")) or 0),
                "interventions": sorted(Counter((iv.kind, iv.target_id) for iv in ivs)
                                        .items()),
                "interventions_unacknowledged": sum(iv.acknowledged_at is None for iv in ivs),
            }
    inboxes = {org: _inbox(fed, org) for org in fed.procs}
    received = {org: sorted(Counter(m["kind"] for m in rows).items())
                for org, rows in inboxes.items()}
    reports = sorted((m["sender_org"], m["body"]["report_kind"], m["body"]["category"])
                     for m in inboxes[SUP] if m["kind"] == "incident_report")
    acks = sorted((m["sender_org"], m["body"]["status"], m["body"].get("kind", ""))
                  for m in inboxes[SUP] if m["kind"] == "intervention_ack")
    sent = {org: _counts(fed, org) for org in fed.procs}
    department = _department_records(fed)
    evidence = sorted((c["enterprise_id"], c["events"], c["evidence_ok"], c["witnessed"])
                      for c in _police_evidence(fed))
    return {"carriers": carriers, "received": received, "reports": reports, "acks": acks,
            "department": {k: v for k, v in department.items() if k != "tamper_cases"},
            "police_evidence": evidence, "dead_letters": _dead(fed),
            "sent_dead": sum(c["sent_dead"] for c in sent.values()),
            "sent_pending": sum(c["sent_pending"] for c in sent.values()),
            "sent_delivered": sum(c["sent_delivered"] for c in sent.values()),
            "received_total": sum(c["received"] for c in sent.values())}


def _print_figures(fed: Fed, state: dict[str, Any], caught: list[dict[str, str]]) -> None:
    c = fed.console
    c.rule("[bold]Cross-node figures")
    t = Table("carrier", "log", "mirrored", "cosigned S/P/A", "alerts", "incid.",
              "reports", "acked", title="Each carrier, read from each node's own database")
    for e, s in state["carriers"].items():
        cos = fed.figures["cosigned"][e]
        t.add_row(e, f"{s['log_size']:,}",
                  f"{s['mirrored']:,}" + (" =" if s["mirror_equals_log"] else " DIFFERS"),
                  "/".join(str(cos.get(w, {}).get("checkpoints", 0))
                           for w in (SUP, POLICE, AUDITOR)),
                  str(sum(n for _, n in s["alerts"])), str(sum(n for _, n in s["incidents"])),
                  str(s["reports_filed"]),
                  f"{sum(n for _, n in s['interventions']) - s['interventions_unacknowledged']}"
                  f"/{sum(n for _, n in s['interventions'])}")
    c.print(t)
    c.print("  mirrored: entries the supervision node fetched from the tiles and verified "
            "against signed checkpoints ('=': the same bytes as the carrier's log); "
            "cosigned: checkpoints cosigned by supervision/police/auditor")
    m = Table("node", "sent", "delivered", "waiting", "received", "duplicates ignored",
              title="Signed envelopes between the nodes")
    for org in fed.procs:
        k = fed.figures["messages"][org]
        m.add_row(org, str(k["sent_delivered"] + k["sent_pending"] + k["sent_dead"]),
                  str(k["sent_delivered"]), str(k["sent_pending"]), str(k["received"]),
                  str(k["duplicates_ignored"]))
    c.print(m)
    received = fed.figures.get("received", state["received"])  # after the tamper stage
    for org in fed.procs:
        c.print(f"  {org} received: " + ", ".join(
            f"{kind} {n}" for kind, n in received[org]))
    dep = state["department"]
    c.print(f"  supervision node's own records: {dep['reports']} reports filed to it, "
            f"{dep['incidents']} incidents, {dep['forwards_owed']} forwards owed to the "
            "cyberspace administration")
    for ent, events, ok, witnessed in state["police_evidence"]:
        c.print(f"  {POLICE}: {ent}'s referral with {events} events, evidence "
                f"{'verified' if ok else 'NOT verified'}, {witnessed} with its witness")
    dead = fed.figures.get("dead_letters_after_tamper", state["dead_letters"])
    c.print("  dead-lettered reactions: " + ", ".join(f"{org} {n}" for org, n in dead.items()))
    d = fed.figures.get("drill", {})
    c.print(f"  partition drill: backlog {d.get('backlog_max', 0)} envelopes while the "
            f"supervision node was down -> 0; caught up in {d.get('catch_up_seconds')} s"
            + (f"; {fed.figures['killed']} killed -9 on the way" if "killed" in fed.figures
               else ""))
    if caught:
        c.print("  tamper attempts, each stopped:")
        for x in caught:
            c.print(f"    {x['attempt']}: by {x['caught_by']} ({x['how'][:100]})")
    c.print(f"  every node's home, database and log under [bold]{fed.base}[/bold]; figures in "
            f"{fed.options.out / 'federated.json'}")


def pi_values(world: World) -> list[bytes]:
    """The PI of every person on a parcel: names, addresses, ID numbers (a phone is
    left out: eleven digits occur by chance in binary pages)."""
    on_parcels = {p.sender_id for p in world.parcels} | {p.recipient_id for p in world.parcels}
    out: set[bytes] = set()
    for person in world.people:
        if person.id in on_parcels:
            out |= {v.encode() for v in (person.name, person.address, person.id_number)
                    if v and len(v.encode()) >= 9}
    return sorted(out)


def pi_scan(fed: Fed) -> dict[str, dict[str, int]]:
    """Every file of the nodes that hold no PI (home, database, WAL, keys, log),
    searched for the carriers' customers' PI in plaintext, after they stopped."""
    needles = pi_values(fed.world)
    out = {}
    for org in (SUP, AUDITOR):
        files = [p for p in (fed.base / org).rglob("*") if p.is_file()]
        blob = b"".join(p.read_bytes() for p in [*files, fed.procs[org].log])
        out[org] = {"bytes": len(blob), "pi_values_searched": len(needles),
                    "found": len(find_plaintext(blob, needles))}
    return out


_CJK_RUN = re.compile(rb"(?:[\xe2-\xef][\x80-\xbf]{2})+")
_ID_LIKE = re.compile(rb"[0-9]{17}[0-9X]")


def find_plaintext(blob: bytes, needles: list[bytes]) -> list[bytes]:
    """The needles found in ``blob``. Thousands of needles over megabytes: a needle
    is searched in full only if its longest run of CJK characters (a name, the words
    of an address) is in the blob's CJK runs, or it is an ID number among the blob's
    18-character digit runs; anything else is searched in full."""
    runs = b"\x00".join(set(_CJK_RUN.findall(blob)))
    ids = set(_ID_LIKE.findall(blob))
    found = []
    for n in needles:
        cjk = max(_CJK_RUN.findall(n), key=len, default=b"")
        if _ID_LIKE.fullmatch(n):
            hit = n in ids
        elif cjk:
            hit = cjk in runs and n in blob
        else:
            hit = n in blob
        if hit:
            found.append(n)
    return found


def run_federated(options: FederatedOptions, *, console: Console) -> dict[str, Any]:
    """Run the federated demo; the figures (also written to <out>/federated.json)."""
    import shutil

    from parcelguard.simulation.world import build_world

    started = time.perf_counter()
    out = options.out
    base = out / "nodes"
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    rng = random.Random(options.seed if options.kill_seed is None else options.kill_seed)
    console.rule("[bold]1. Set-up: a private CA, six nodes, the signed directory")
    world = build_world(WorldConfig(seed=options.seed, parcels=options.parcels,
                                    enterprises=3, days=2))
    fed = Fed(options=options, console=console, base=base.resolve(), world=world)
    previous = signal.getsignal(signal.SIGTERM)

    def terminate(_sig: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)  # a stopped demo stops its nodes too
    try:
        t = time.perf_counter()
        set_up(fed)
        fed.timings["1. set-up"] = round(time.perf_counter() - t, 2)
        days = _events_by_day(fed)
        stage_day1(fed, days)
        stage_drill(fed, days, rng)
        stage_department(fed)
        state = final_state(fed)
        fed.figures["cosigned"] = {e: _cosigned(fed, e) for e in fed.enterprises}
        fed.figures["messages"] = {org: _counts(fed, org) for org in fed.procs}
        caught = stage_tamper(fed) if options.tamper else []
        _final_figures(fed)
        fed.figures |= {"state": state, "tamper": caught,
                        "timings_seconds": {**fed.timings, "total": round(
                            time.perf_counter() - started, 2)}}
        _print_figures(fed, state, caught)
    except BaseException as exc:  # Ctrl-C, SIGTERM, a stage that did not settle
        running = sum(p.proc is not None for p in fed.procs.values())
        console.print(f"  [red]{type(exc).__name__}[/red]: stopping the {running} node "
                      f"processes; their homes and logs stay in {fed.base}")
        raise
    finally:
        for p in fed.procs.values():
            p.stop()
        for rt in fed.rts.values():
            rt.close()
        signal.signal(signal.SIGTERM, previous)
        fed.figures["pids"] = {org: p.pids for org, p in fed.procs.items()}
    fed.figures["pi_scan"] = scan = pi_scan(fed)
    for org, r in scan.items():
        console.print(f"  {org} node stopped: its {r['bytes']:,} bytes of files searched for "
                      f"the {r['pi_values_searched']:,} names, addresses and ID numbers on "
                      f"the carriers' parcels: {r['found']} found")
    (out / "federated.json").write_bytes(msgspec.json.format(
        msgspec.json.encode(fed.figures), indent=2))
    console.print(f"  all {len(fed.procs)} node processes stopped; total "
                  f"{time.perf_counter() - started:.0f} s")
    return fed.figures
