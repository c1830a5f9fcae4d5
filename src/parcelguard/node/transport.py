"""Carrying envelopes between nodes: HTTPS with mutual TLS, both ways pinned.

- The sender's delivery is an outbox reaction (``node.deliver``) whose effect is
  external: posted with no database transaction open, then claimed. The outbox
  gives at-least-once delivery with exponential back-off, the receiver's inbox makes
  the application idempotent. A peer that is down, cut off or refusing (for instance a
  directory it has not refreshed yet) is retried for as long as that lasts, at most
  ``RETRY_CAP_SECONDS`` apart; `parcelguard node outbox` shows what waits.
- The client trusts only the federation CA, checks the host name, and then pins the
  server's certificate to the fingerprint the directory gives for the recipient.
- The server (node/serving.py) requires a client certificate from the CA and hands
  its DER to the app in ``request.state.peer_cert``.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from parcelguard.core.canonical import canonical_json
from parcelguard.core.outbox import Reaction
from parcelguard.node import pki
from parcelguard.node.envelope import Envelope
from parcelguard.node.events import EnvelopeQueued
from parcelguard.node.home import Node

log = logging.getLogger(__name__)

PEER_CERT: Final = "peer_cert"
# A cut link must fail fast (and be retried later) rather than hold a dispatcher.
TIMEOUT_SECONDS: Final = 5.0
# A partition may last days: never dead-letter a remote delivery on attempts alone
# (2^n back-off capped at a minute is ~1,400 attempts a day).
RETRY_CAP_SECONDS: Final = 60.0
MAX_ATTEMPTS: Final = 10_000_000


class DeliveryError(RuntimeError):
    """The peer did not take the envelope (yet); the outbox retries it."""


_NODES: dict[Path, Node] = {}
_NODES_LOCK = threading.Lock()


def node_for(home: Path) -> Node:
    """The process's view of the node at ``home`` (keys read once)."""
    key = home.resolve()
    with _NODES_LOCK:
        if key not in _NODES:
            _NODES[key] = Node(key)
        return _NODES[key]


def request(node: Node, url: str, method: str, path: str, *, pin: str | None,
            doc: dict[str, Any] | None = None) -> tuple[int, bytes]:
    """One HTTPS request to a peer node (status, body). ``pin``: the SHA-256 the
    server's certificate must have (from the directory)."""
    u = urlsplit(url)
    if u.scheme != "https" or u.hostname is None:
        raise DeliveryError(f"node URLs are https://host:port, not {url!r}")
    conn = http.client.HTTPSConnection(u.hostname, u.port or 443, timeout=TIMEOUT_SECONDS,
                                       context=node.client_context())
    try:
        conn.connect()
        der = conn.sock.getpeercert(binary_form=True) if conn.sock else None
        if pin is not None and (der is None or pki.fingerprint(der) != pin):
            raise DeliveryError(f"{url} presented a certificate the directory does not pin")
        body = canonical_json(doc) if doc is not None else None
        conn.request(method, u.path.rstrip("/") + path, body=body,
                     headers={"content-type": "application/json"} if body else {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    except (OSError, http.client.HTTPException) as exc:
        raise DeliveryError(f"{url}: {type(exc).__name__}: {exc}") from None
    finally:
        conn.close()


def deliver(node: Node, ev: EnvelopeQueued) -> None:
    """Sign and post one envelope; returns when the peer stored it (or had it)."""
    directory = node.directory()
    peer = directory.entry(ev.recipient_org) if directory else None
    if peer is None:
        raise DeliveryError(f"{ev.recipient_org} is not in the directory this node holds")
    e = Envelope(message_id=ev.message_id, sender_org=ev.sender_org,
                 sender_key_id=node.key_id, recipient_org=ev.recipient_org, kind=ev.kind,
                 body=json.loads(ev.body), created_at=ev.created_at).sign(node.signing_key)
    status, answer = request(node, peer.url, "POST", "/node/v1/inbox", pin=peer.tls_fingerprint,
                             doc=e.to_json())
    if status != 200:
        raise DeliveryError(f"{peer.org} answered {status}: "
                            f"{answer[:300].decode(errors='replace')}")


def reaction(home: Path) -> Reaction:
    """The outbox reaction that carries this node's envelopes (its plugin registers it)."""

    def send(ev: EnvelopeQueued) -> None:
        deliver(node_for(home), ev)

    def nothing_here(_session: Session, _ev: EnvelopeQueued) -> None:
        """The delivery's effect is on the peer (``external``); here only the claim."""

    return Reaction(EnvelopeQueued, "node.deliver", nothing_here,
                    "signs the envelope and posts it to the recipient's node (mTLS)",
                    external=send, max_attempts=MAX_ATTEMPTS,
                    backoff_max_seconds=RETRY_CAP_SECONDS)


def fetch_directory(node: Node) -> int:
    """Fetch the supervision node's directory, verify it and keep it; its serial."""
    if node.config.role == "supervision":
        raise DeliveryError("the supervision node publishes the directory; it fetches none")
    status, body = request(node, node.config.supervision_url, "GET", "/node/v1/directory",
                           pin=None)
    if status != 200:
        raise DeliveryError(f"directory: {status} {body[:200].decode(errors='replace')}")
    return node.store_directory(json.loads(body)).serial


class DirectoryRefresh:
    """A background thread of `node serve` that keeps the directory fresh (nodes
    other than supervision, which publishes it)."""

    def __init__(self, node: Node) -> None:
        self._node, self._every = node, node.config.directory_refresh_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="directory-refresh",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=TIMEOUT_SECONDS * 2)

    def _run(self) -> None:
        from parcelguard.node.directory import DirectoryError

        while not self._stop.wait(self._every):
            try:
                fetch_directory(self._node)
            except (DeliveryError, DirectoryError, ValueError) as exc:
                # the supervision node away, or a directory refused: keep the one held
                log.warning("directory refresh: %s", exc)
