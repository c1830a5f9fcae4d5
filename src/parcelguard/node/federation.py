"""The nodes watch each other's logs (docs/deployment.md, docs/ledger.md):

- an enterprise node publishes its ledger as C2SP tlog-tiles at ``<url>/tlog/<org>``
  (``app.create_app`` mounts ``tiles_router``), signs it every ``checkpoint_seconds``
  and asks every witness the directory lists to cosign it (ledger/witnessing.py);
- a witnessing node (supervision, police, auditor) answers C2SP tlog-witness
  ``add-checkpoint`` at ``<url>/witness`` for the logs whose keys the directory
  lists, with the cosigner key made at ``node init``;
- the supervision node mirrors every enterprise's log in the directory every
  ``mirror_seconds`` (supervision/mirror.py), verifying each entry against the
  checkpoint signed by the key the directory gives, and writes what it mirrored as
  Parquet partitions (enterprise, day) under ``<home>/national`` for the national
  analytics (monitor/national.py, ``parcelguard monitor spark``);
- every node queues, every ``checkpoint_seconds``, the envelopes its own records
  owe other nodes (node/relay.py): an enterprise's filed reports, escalations and
  police referrals, the department's audit grants and onward reports, a witness's
  tamper findings reported onward.

Every request goes over mutual TLS with the node's own certificate, the peer's
pinned to the directory. The data is still trusted for its signatures, not its
transport: a checkpoint must verify with the log key, a cosignature with the
witness key, each entry against a signed root.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx2
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from parcelguard.core.clock import Clock
from parcelguard.core.errors import NotFound
from parcelguard.core.runtime import Runtime
from parcelguard.identity.service import ensure_enterprises
from parcelguard.ledger.signing import ORIGIN_PREFIX, log_size
from parcelguard.ledger.tlog import publish_checkpoint
from parcelguard.ledger.witnessing import CosignOutcome, WitnessEndpoint, request_cosignatures
from parcelguard.monitor.national import NATIONAL_DIR, NationalStore
from parcelguard.monitor.settings import MonitorSettings
from parcelguard.node import pki
from parcelguard.node.directory import Directory
from parcelguard.node.home import Node
from parcelguard.node.transport import TIMEOUT_SECONDS
from parcelguard.supervision.mirror import MirrorResult, MirrorSource, mirror_log
from parcelguard.supervision.tlog_witness import KnownLog, LogResolver

log = logging.getLogger(__name__)

WITNESS_PREFIX = "/witness"


def witness_name(org: str) -> str:
    """The cosigner name of an organisation's witness (in every cosignature line)."""
    return f"{ORIGIN_PREFIX}/witness/{org}"


def log_url(url: str, org: str) -> str:
    """Where an enterprise node publishes its log (tlog-tiles prefix)."""
    return f"{url.rstrip('/')}/tlog/{org}"


def directory_logs(node: Node, clock: Clock) -> LogResolver:
    """The witness's logs: each enterprise in the directory this node holds, trusted
    by the checkpoint key listed for it (an update is honoured without a restart).
    The enterprise becomes an organisation of this store the first time, so what the
    witness finds against it (a finding, its alert, the incident) has an owner."""

    def resolve(session: Session, origin: str) -> KnownLog | None:
        d = node.directory()
        for n in d.nodes if d else ():
            if n.role == "enterprise" and n.log_key.partition("+")[0] == origin:
                ensure_enterprises(session, {n.org}, clock)
                return KnownLog(n.org, (n.log_key,))
        return None

    return resolve


def witnesses(directory: Directory | None) -> list[WitnessEndpoint]:
    return [WitnessEndpoint(n.url.rstrip("/") + WITNESS_PREFIX, n.witness_key)
            for n in sorted(directory.nodes if directory else (), key=lambda n: n.org)
            if n.witness_key]


def mirror_sources(directory: Directory | None) -> list[MirrorSource]:
    return [MirrorSource(n.org, log_url(n.url, n.org), n.log_key)
            for n in sorted(directory.nodes if directory else (), key=lambda n: n.org)
            if n.role == "enterprise" and n.log_key]


class PinMismatch(httpx2.TransportError):
    """The peer presented a certificate the directory does not pin for its URL."""


def http_client(node: Node) -> httpx2.Client:
    """HTTPS as this node: its certificate presented, only the federation CA trusted,
    and each peer's certificate pinned to the fingerprint the directory gives for the
    node at that address (as envelope delivery does): another node's certificate,
    though the CA signed it, is refused before its answer is read."""

    def pinned(response: httpx2.Response) -> None:
        url = response.request.url
        d = node.directory()
        pins = {(urlsplit(n.url).hostname, urlsplit(n.url).port or 443): n.tls_fingerprint
                for n in (d.nodes if d else ())}
        stream = response.extensions.get("network_stream")
        ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
        der = ssl_object.getpeercert(True) if ssl_object is not None else None
        pin = pins.get((url.host, url.port or 443))
        if der is None or pin is None or pki.fingerprint(der) != pin:
            raise PinMismatch(f"{url.host}:{url.port} presented a certificate the directory "
                              "does not pin", request=response.request)

    return httpx2.Client(verify=node.client_context(), timeout=TIMEOUT_SECONDS,
                         event_hooks={"response": [pinned]})


def national_store(node: Node, rt: Runtime) -> NationalStore:
    """The supervision node's Parquet partitions of the mirrored entries
    (``<home>/national``), which ``parcelguard monitor spark`` reads."""
    return NationalStore(node.home / NATIONAL_DIR,
                         rt.settings.section(MonitorSettings).day_offset_hours)


# One pass at a time in a process: two would race to store the same chunk.
_MIRRORING = threading.Lock()


def mirror_pass(node: Node, rt: Runtime) -> list[MirrorResult]:
    """Mirror every enterprise's log in the directory once, each in its own units of
    work (committed per verified chunk; a tamper finding's event is dispatched)."""
    results = []
    sink = national_store(node, rt)
    with _MIRRORING, http_client(node) as client:
        for source in mirror_sources(node.directory()):
            try:
                with rt.db.unit_of_work() as uow:
                    # an organisation of this store, so a tamper finding's alert and
                    # incident have an owner
                    ensure_enterprises(uow.session, {source.enterprise_id}, rt.clock)
                    results.append(mirror_log(uow.session, source, client=client,
                                              clock=rt.clock, commit=uow.commit,
                                              sink=sink))
            except SQLAlchemyError as exc:
                # another process's pass (`node mirror` by hand) stored the chunk first:
                # the next pass resumes from what is committed
                results.append(MirrorResult(source.enterprise_id,
                                            source.verifier_key.partition("+")[0],
                                            "unavailable", 0, 0, 0,
                                            reason=f"database: {type(exc).__name__}"))
    return results


def cosign_pass(node: Node, rt: Runtime) -> list[CosignOutcome]:
    """Sign the enterprise's log as it stands and ask every witness in the directory to
    cosign it; the served checkpoint then carries their cosignature lines."""
    from parcelguard.vault.provider import vault_service

    org = node.config.org
    kms = vault_service(rt.settings).vault.kms
    # The checkpoint is published (committed) first, whatever the witnesses answer.
    with rt.db.unit_of_work() as uow:
        try:
            log_size(uow.session, org)
        except NotFound:
            return []  # nothing ingested yet: no log to sign
        publish_checkpoint(uow.session, org, kms=kms, clock=rt.clock)
        uow.commit()
    endpoints = witnesses(node.directory())
    if not endpoints:
        return []
    with http_client(node) as client, rt.db.unit_of_work() as uow:
        outcomes = request_cosignatures(uow.session, org, endpoints, kms=kms,
                                        clock=rt.clock, client=client,
                                        before_post=uow.commit)
        uow.commit()
    return outcomes


def relay_pass(node: Node, rt: Runtime) -> int:
    """Queue the envelopes the node's own records owe other nodes (node/relay.py) in
    one unit of work; how many."""
    from parcelguard.node import relay, service

    with rt.db.unit_of_work() as uow:
        n = relay.relay_pass(uow.session, me=service.Me(
            org=node.config.org, role=node.config.role, key_id=node.key_id),
            directory=node.directory())
        uow.commit()
    return n


class Periodic:
    """A background thread of `node serve` running ``work`` every ``seconds`` (first
    at start): a pass that fails is logged and the next one tries again."""

    def __init__(self, name: str, seconds: float, work: Callable[[], object]) -> None:
        self._name, self._every, self._work = name, seconds, work
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=TIMEOUT_SECONDS * 4)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._work()
            except Exception:  # a pass must never end the loop; the next one retries
                log.exception("%s: pass failed", self._name)
            self._stop.wait(self._every)


def loops(node: Node, rt: Runtime) -> list[Periodic]:
    """The log-watching loops a node of this role runs inside `node serve`."""

    def mirror() -> None:
        for r in mirror_pass(node, rt):
            if r.status != "up_to_date":
                log.info("mirror %s: %s %d..%d %s", r.enterprise_id, r.status,
                         r.from_size, r.size, r.reason or "")

    def cosign() -> None:
        for o in cosign_pass(node, rt):
            if o.status != "cosigned":
                log.warning("cosignature %s at size %d: %s %s", o.witness, o.size,
                            o.status, o.detail or "")

    cfg = node.config
    relay = Periodic("relay", cfg.checkpoint_seconds, lambda: relay_pass(node, rt))
    if cfg.role == "supervision":
        return [Periodic("mirror", cfg.mirror_seconds, mirror), relay]
    if cfg.role == "enterprise":
        return [Periodic("checkpoint", cfg.checkpoint_seconds, cosign), relay]
    return [relay]
