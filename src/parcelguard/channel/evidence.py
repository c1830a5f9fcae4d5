"""Evidence packages for the police: the events of a case, each with its RFC 9162
inclusion proof against a checkpoint the enterprise signed (C2SP signed note), the
affected record counts against the criminal thresholds, and the triangulation.

A package is self-contained JSON. The police verify it with the enterprise's note
verifier key, obtained independently (from the supervision department's registry,
not from the package): the note's signature binds (origin, size, root); each leaf's
proof recomputes that root; each leaf is the canonical event itself, so what the
events say is exactly what the enterprise logged and signed. ``verify`` does this
with nothing but the package and the key.

Events carry pseudonymous ids only; a package holds no PI values.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec
from sqlalchemy.orm import Session

from parcelguard.channel import thresholds
from parcelguard.core.canonical import canonical_json
from parcelguard.core.clock import Clock
from parcelguard.ledger import logs
from parcelguard.ledger.checkpoint import CheckpointError, open_checkpoint
from parcelguard.ledger.merkle import leaf_hash, verify_inclusion
from parcelguard.ledger.signing import KeyWrapper, checkpoint, registered_verifier

FORMAT: Final = "parcelguard-evidence/v1"


def package_digest(package: Mapping[str, Any]) -> str:
    """SHA-256 of the package's canonical JSON (RFC 8785): what the referral log and
    the police's receipt refer to."""
    return hashlib.sha256(canonical_json(dict(package))).hexdigest()


def build(session: Session, *, kms: KeyWrapper, clock: Clock, enterprise_id: str,
          positions: Sequence[int], record_counts: Mapping[str, int], insider: bool,
          case: Mapping[str, Any], triangulation: Mapping[str, Any] | None = None,
          max_events: int = 1_000) -> dict[str, Any]:
    """Sign a fresh checkpoint of the enterprise's log and prove every event of the
    case against it. Events past ``max_events`` are counted, not included."""
    cp = checkpoint(session, enterprise_id, kms=kms, clock=clock)
    key = registered_verifier(session, enterprise_id)
    assert key is not None  # checkpoint() created it
    wanted = sorted({p for p in positions if 0 <= p < cp.size})
    events = [logs.prove(session, enterprise_id, seq, cp.size) for seq in wanted[:max_events]]
    checks = thresholds.assess(dict(record_counts), insider=insider)
    return {
        "format": FORMAT, "enterprise_id": enterprise_id, "origin": cp.origin,
        "checkpoint": cp.note, "verifier_key": key.verifier_key, "tree_size": cp.size,
        "root": base64.b64encode(cp.root).decode("ascii"),
        "built_at": clock.now().isoformat(), "case": dict(case),
        "events": events, "events_total": len(wanted),
        "events_truncated": len(wanted) > max_events,
        "record_counts": dict(record_counts), "insider": insider,
        "thresholds": [c.as_dict() for c in checks],
        "crime_suspected": thresholds.crime_suspected(checks),
        "triangulation": dict(triangulation) if triangulation is not None else None,
    }


@dataclass
class Verification:
    ok: bool
    tree_size: int | None = None
    events_verified: int = 0
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "tree_size": self.tree_size,
                "events_verified": self.events_verified, "problems": self.problems}


def _b64(value: object) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None


def verify(package: Mapping[str, Any], verifier_key: str) -> Verification:
    """Check a package against the enterprise's verifier key (trusted, obtained
    independently). Every problem is named; ``ok`` only if there is none."""
    out = Verification(ok=False)
    if package.get("format") != FORMAT:
        out.problems.append("not a parcelguard evidence package")
        return out
    try:
        cp = open_checkpoint(str(package.get("checkpoint", "")), verifier_key)
    except (CheckpointError, ValueError) as exc:
        out.problems.append(f"checkpoint does not verify: {type(exc).__name__}")
        return out
    out.tree_size = cp.size
    if package.get("tree_size") != cp.size or _b64(package.get("root")) != cp.root:
        out.problems.append("package size/root differ from the signed checkpoint")
    enterprise = package.get("enterprise_id")
    for i, ev in enumerate(package.get("events") or []):
        leaf, proof = _b64(ev.get("leaf")), [_b64(h) for h in ev.get("inclusion") or []]
        index = ev.get("leaf_index")
        if leaf is None or any(h is None for h in proof) or not isinstance(index, int):
            out.problems.append(f"event {i}: malformed")
            continue
        if not verify_inclusion(leaf_hash(leaf), index, cp.size,
                                [h for h in proof if h is not None], cp.root):
            out.problems.append(f"event {i} (leaf {index}): inclusion proof fails")
            continue
        try:
            doc = msgspec.json.decode(leaf)
        except msgspec.DecodeError:
            out.problems.append(f"event {i}: leaf is not JSON")
            continue
        if doc.get("enterprise_id") != enterprise:
            out.problems.append(f"event {i}: belongs to another enterprise")
            continue
        out.events_verified += 1
    out.ok = not out.problems
    return out


def events_of(package: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The events a package carries, decoded (for display; verify first)."""
    out = []
    for ev in package.get("events") or []:
        leaf = _b64(ev.get("leaf"))
        if leaf is not None:
            out.append(msgspec.json.decode(leaf))
    return out
