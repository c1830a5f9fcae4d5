"""A node's home: its configuration (node.json), its keys and certificates, the
directory it holds, and (by default) its SQLite database.

    node.json          role, org, URL, database URL, the supervision node's key/URL
    keys/node.key      Ed25519 node signing key (envelopes; the directory on supervision)
    keys/master.key    the vault's master key (nodes that hold PI only)
    keys/witness.key   cosigner key of a witnessing node (supervision, police, auditor)
    tls/node.key       TLS private key (P-256)
    tls/node.crt       TLS certificate issued by the federation CA
    tls/ca.crt         the federation CA certificate (trust anchor for peers)
    directory.json     the signed directory this node holds
    node-card.json     this node's public entry, for the supervision operator
"""

from __future__ import annotations

import json
import os
import ssl
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from parcelguard.core.settings import Settings, load_settings
from parcelguard.ledger.cosign import Cosigner
from parcelguard.node import directory as directory_doc
from parcelguard.node import pki

CONFIG: Final = "node.json"
# Roles whose nodes hold personal information (a vault and its tables). The
# supervision department and the auditors work on ids, counts and proofs only.
PI_ROLES: Final = frozenset({"enterprise", "police"})
# Roles whose nodes witness the enterprises' logs (C2SP tlog-witness): the issue's
# three levels, so no carrier's log depends on a single watcher.
WITNESS_ROLES: Final = frozenset({"supervision", "police", "auditor"})


@dataclass(frozen=True)
class NodeConfig:
    role: str
    org: str
    url: str
    database_url: str = ""
    supervision_key: str = ""  # base64 Ed25519; the node's own key on supervision
    supervision_url: str = ""
    # How often `node serve` re-fetches the directory: a node the supervision
    # operator adds is reachable (and its envelopes accepted) within this long.
    directory_refresh_seconds: float = 30.0
    # enterprise: its log's checkpoint verifier key, made at init (published in the
    # directory; the private half is wrapped by the vault's master key in its store)
    log_key: str = ""
    # How often `node serve` mirrors every enterprise's log (supervision) and signs
    # its log and asks the witnesses to cosign it (enterprise).
    mirror_seconds: float = 60.0
    checkpoint_seconds: float = 60.0

    @property
    def holds_pi(self) -> bool:
        return self.role in PI_ROLES

    @property
    def witnesses(self) -> bool:
        return self.role in WITNESS_ROLES


@dataclass(frozen=True)
class NodePaths:
    home: Path

    config = property(lambda self: self.home / CONFIG)
    signing_key = property(lambda self: self.home / "keys" / "node.key")
    witness_key = property(lambda self: self.home / "keys" / "witness.key")
    tls_key = property(lambda self: self.home / "tls" / "node.key")
    tls_cert = property(lambda self: self.home / "tls" / "node.crt")
    ca_cert = property(lambda self: self.home / "tls" / "ca.crt")
    directory = property(lambda self: self.home / "directory.json")
    card = property(lambda self: self.home / "node-card.json")


def read_config(home: Path) -> NodeConfig:
    path = NodePaths(home).config
    if not path.is_file():
        raise FileNotFoundError(f"{home} is not a node home (no {CONFIG}); "
                                "create one with `parcelguard node init`")
    return NodeConfig(**json.loads(path.read_text()))


def write_json(path: Path, doc: dict[str, Any]) -> None:
    """Write ``doc`` atomically (a reader never sees half a directory)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
    tmp.replace(path)


def node_settings(home: Path, config: NodeConfig | None = None) -> Settings:
    """The store settings of a node: its home, its database."""
    cfg = config or read_config(home)
    return load_settings(home=home, database_url=cfg.database_url, node_role=cfg.role)


class Node:
    """A node as its processes see it: configuration, signing key, TLS material and
    the directory (re-read when the file changes, so `node directory fetch` or an
    update on the supervision node takes effect without a restart)."""

    def __init__(self, home: Path) -> None:
        self.home = home.resolve()
        self.paths = NodePaths(self.home)
        self.config = read_config(self.home)
        self.signing_key = pki.load_signing_key(self.paths.signing_key)
        self.key_id = pki.key_id(self.signing_key.public_key())
        self._lock = threading.Lock()
        self._dir: tuple[float, directory_doc.Directory | None] = (-1.0, None)

    @property
    def supervision_key(self) -> ed25519.Ed25519PublicKey:
        if self.config.role == "supervision":
            return self.signing_key.public_key()
        return pki.public_from_b64(self.config.supervision_key)

    def directory(self) -> directory_doc.Directory | None:
        """The verified directory this node holds (None before the first fetch)."""
        path = self.paths.directory
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            return None
        with self._lock:
            if self._dir[0] != mtime:
                self._dir = (mtime, directory_doc.parse(json.loads(path.read_text()),
                                                        supervision_key=self.supervision_key))
            return self._dir[1]

    def store_directory(self, doc: dict[str, Any]) -> directory_doc.Directory:
        """Verify ``doc`` (signature, no rollback) and make it the one this node holds."""
        held = self.directory()
        d = directory_doc.parse(doc, supervision_key=self.supervision_key,
                                not_older_than=held.serial if held else 0)
        write_json(self.paths.directory, d.to_json())
        return d

    def tls_fingerprint(self) -> str:
        cert = x509.load_pem_x509_certificate(self.paths.tls_cert.read_bytes())
        return pki.fingerprint(cert.public_bytes(serialization.Encoding.DER))

    def cosigner(self) -> Cosigner | None:
        """The witness key of a witnessing node (made at init; None for a node made
        before witnesses had keys, which then does not witness)."""
        path = self.paths.witness_key
        if not self.config.witnesses or not path.is_file():
            return None
        return Cosigner.from_key(path.read_text().strip())

    def card(self) -> directory_doc.NodeEntry:
        cosigner = self.cosigner()
        witness = cosigner.verifier().key_string() if cosigner is not None else ""
        return directory_doc.NodeEntry(
            org=self.config.org, role=self.config.role, url=self.config.url,
            node_key=pki.public_b64(self.signing_key.public_key()), key_id=self.key_id,
            tls_fingerprint=self.tls_fingerprint(), log_key=self.config.log_key,
            witness_key=witness)

    def write_card(self) -> None:
        write_json(self.paths.card, asdict(self.card()))

    def client_context(self) -> ssl.SSLContext:
        """TLS as a client: present this node's certificate, trust only the CA."""
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.paths.ca_cert))
        ctx.load_cert_chain(str(self.paths.tls_cert), str(self.paths.tls_key))
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        return ctx
