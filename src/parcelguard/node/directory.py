"""The federation's directory: which organisations exist, their roles, the URL of
each one's node, its node public key and its TLS certificate fingerprint.

An entry may also carry the node's transparency-log keys (docs/ledger.md): an
enterprise's checkpoint verifier key (``log_key``: the witnesses and mirrors trust
its log by it) and a witnessing node's cosigner verifier key (``witness_key``: the
enterprises ask it to cosign, verifiers check its cosignatures).

The supervision node publishes it as one JSON document signed with its node key
(Ed25519 over the RFC 8785 canonical JSON of everything but the signature), with a
serial that only grows. Every other node was given the supervision node's public
key at init; it accepts a directory only if that key signed it and its serial is
not older than the one it holds (no rollback to a directory that still lists a
removed node). Pure Python.
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from parcelguard.core.canonical import canonical_json
from parcelguard.node.envelope import ROLES


class DirectoryError(ValueError):
    """A directory that is malformed, unsigned, signed by another key, or older."""


@dataclass(frozen=True)
class NodeEntry:
    org: str
    role: str
    url: str
    node_key: str  # base64 raw Ed25519 public key
    key_id: str
    tls_fingerprint: str  # SHA-256 of the certificate's DER, hex
    log_key: str = ""  # enterprise: note verifier key <origin>+<hash>+<key>
    witness_key: str = ""  # witness roles: cosigner verifier key (cosignature/v1)

    def signed_json(self) -> dict[str, Any]:
        """The entry as signed: an empty key is left out, so a directory signed before
        entries had these keys still verifies."""
        return {k: v for k, v in asdict(self).items()
                if v != "" or k not in ("log_key", "witness_key")}


@dataclass(frozen=True)
class Directory:
    issuer: str
    serial: int
    issued_at: str
    nodes: tuple[NodeEntry, ...]
    signature: str = ""

    def entry(self, org: str) -> NodeEntry | None:
        return next((n for n in self.nodes if n.org == org), None)

    def signed_part(self) -> dict[str, Any]:
        return {"v": 1, "issuer": self.issuer, "serial": self.serial,
                "issued_at": self.issued_at,
                "nodes": [n.signed_json() for n in sorted(self.nodes, key=lambda n: n.org)]}

    def to_json(self) -> dict[str, Any]:
        return {**self.signed_part(), "signature": self.signature}

    def sign(self, key: ed25519.Ed25519PrivateKey) -> Directory:
        sig = base64.b64encode(key.sign(canonical_json(self.signed_part()))).decode()
        return Directory(self.issuer, self.serial, self.issued_at, self.nodes, sig)


def parse(doc: object, *, supervision_key: ed25519.Ed25519PublicKey,
          not_older_than: int = 0) -> Directory:
    """A verified directory, or ``DirectoryError`` saying why not."""
    if not isinstance(doc, dict) or doc.get("v") != 1:
        raise DirectoryError("not a version-1 directory document")
    try:
        nodes = tuple(NodeEntry(**n) for n in doc["nodes"])
        d = Directory(issuer=str(doc["issuer"]), serial=int(doc["serial"]),
                      issued_at=str(doc["issued_at"]), nodes=nodes,
                      signature=str(doc["signature"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise DirectoryError(f"malformed directory: {exc}") from None
    try:
        supervision_key.verify(base64.b64decode(d.signature, validate=True),
                               canonical_json(d.signed_part()))
    except (InvalidSignature, ValueError):
        raise DirectoryError("the directory is not signed by the supervision node's "
                             "key this node was given") from None
    if d.serial < not_older_than:
        raise DirectoryError(f"directory serial {d.serial} is older than the one held "
                             f"({not_older_than}): refused as a rollback")
    for n in d.nodes:
        if n.role not in ROLES:
            raise DirectoryError(f"unknown role {n.role!r} for {n.org}")
    if len({n.org for n in d.nodes}) != len(d.nodes):
        raise DirectoryError("an organisation is listed twice")
    return d
