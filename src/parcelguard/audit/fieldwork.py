"""Fieldwork: what an auditor does inside an engagement's access window.

- ``evaluate``: run the scope's controls on live data; the auditor receives the
  aggregates (scores, counts, shares), never rows.
- ``sample``: draw random events of the period with their inclusion proofs against
  the enterprise's latest signed checkpoint. Leaves carry ids and field names only
  (contracts/event.schema.json), so the auditor can check the log without any PI.
- ``attest``: record a manual attestation with a reference and a document hash.
- ``raise_finding``: a rectification order to the enterprise, or an incident referral
  (``AuditFindingRaised`` emitted to the outbox).
"""

from __future__ import annotations

import base64
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parcelguard.access.policy import looks_like_pi
from parcelguard.audit import controls, engagements, model
from parcelguard.audit.controls.context import AttestationView
from parcelguard.audit.events import AuditFindingRaised
from parcelguard.audit.models import (
    AuditAccessLog,
    AuditAttestation,
    AuditControlResult,
    AuditEngagement,
    AuditFinding,
)
from parcelguard.audit.rulebook import Rulebook
from parcelguard.audit.settings import AuditSettings
from parcelguard.core.clock import Clock
from parcelguard.core.errors import Conflict, InvalidInput, NotFound
from parcelguard.core.ids import new_id
from parcelguard.core.outbox import emit
from parcelguard.identity.permissions import Principal
from parcelguard.ledger import logs
from parcelguard.ledger import read as ledger_read
from parcelguard.ledger.checkpoint import CheckpointError, open_checkpoint
from parcelguard.ledger.merkle import leaf_hash, verify_inclusion
from parcelguard.ledger.signing import latest_checkpoint

SEVERITIES = ("low", "medium", "high", "critical")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _clean_text(value: str, what: str, *, min_len: int = 1, max_len: int = 500) -> str:
    text = " ".join(value.split())
    if not min_len <= len(text) <= max_len:
        raise InvalidInput(f"{what}: {min_len}-{max_len} characters")
    if looks_like_pi(text):
        raise InvalidInput(f"{what} must not hold phone, ID or e-mail-shaped text")
    return text


def _check_rulebook(eng: AuditEngagement, rulebook: Rulebook) -> None:
    if eng.rulebook_version != rulebook.version:
        raise Conflict(f"the engagement follows rulebook {eng.rulebook_version}, "
                       f"but {rulebook.version} is loaded")


def attestations(session: Session, engagement_id: str) -> dict[str, AttestationView]:
    """The latest attestation per control of an engagement."""
    out: dict[str, AttestationView] = {}
    for a in session.scalars(select(AuditAttestation)
                             .where(AuditAttestation.engagement_id == engagement_id)
                             .order_by(AuditAttestation.attested_at)):
        out[a.control_id] = AttestationView(a.confirmed, a.evidence_ref, a.evidence_sha256)
    return out


def evaluate(session: Session, principal: Principal, engagement_id: str, *,
             rulebook: Rulebook, clock: Clock) -> list[model.ControlResult]:
    """Evaluate the engagement's scope now and keep the results (a re-run replaces
    them); sets the engagement's score and coverage."""
    eng = engagements.conducting(session, principal, engagement_id, clock=clock,
                                 action="evaluate")
    _check_rulebook(eng, rulebook)
    now = clock.now()
    results = controls.evaluate(session, rulebook.select(eng.scope), eng.enterprise_id,
                                engagements.period(eng),
                                attestations=attestations(session, eng.id),
                                engagement_id=eng.id, now=now)
    stored = {r.control_id: r for r in session.scalars(
        select(AuditControlResult).where(AuditControlResult.engagement_id == eng.id))}
    for r in results:
        row = stored.get(r.control_id) or AuditControlResult(engagement_id=eng.id,
                                                             control_id=r.control_id)
        row.control_version, row.status, row.score, row.value = (
            r.control_version, r.status, r.score, r.value)
        row.weight, row.summary, row.evidence, row.evaluated_at = (
            r.weight, r.summary[:500], r.evidence, now)
        session.add(row)
    total = model.aggregate(results)
    eng.score, eng.coverage, eng.evaluated_at = total.score, total.coverage, now
    session.flush()
    return results


def results(session: Session, principal: Principal,
            engagement_id: str) -> list[AuditControlResult]:
    eng = engagements.get(session, principal, engagement_id)
    order = {cid: i for i, cid in enumerate(eng.scope)}
    rows = list(session.scalars(select(AuditControlResult)
                                .where(AuditControlResult.engagement_id == eng.id)))
    return sorted(rows, key=lambda r: order.get(r.control_id, len(order)))


def attest(session: Session, principal: Principal, engagement_id: str, *, control_id: str,
           confirmed: bool, evidence_ref: str, evidence_sha256: str, note: str = "",
           rulebook: Rulebook, clock: Clock) -> AuditAttestation:
    """Record what the auditor saw for an attestation control (re-evaluate after)."""
    eng = engagements.conducting(session, principal, engagement_id, clock=clock,
                                 action="attest", detail={"control_id": control_id})
    _check_rulebook(eng, rulebook)
    if control_id not in eng.scope:
        raise InvalidInput(f"{control_id} is not in the engagement's scope")
    if rulebook.get(control_id).check != "attestation":
        raise InvalidInput(f"{control_id} is checked automatically, not by attestation")
    digest = evidence_sha256.strip().lower()
    if not _SHA256.match(digest):
        raise InvalidInput("evidence_sha256: the document's SHA-256 as 64 hex digits")
    att = AuditAttestation(
        id=new_id("att"), engagement_id=eng.id, control_id=control_id, confirmed=confirmed,
        evidence_ref=_clean_text(evidence_ref, "evidence reference", max_len=200),
        evidence_sha256=digest,
        note=_clean_text(note, "note", min_len=0) if note else "",
        attested_by=engagements.actor_of(principal), attested_at=clock.now())
    session.add(att)
    session.flush()
    return att


@dataclass(frozen=True)
class Sample:
    enterprise_id: str
    tree_size: int
    checkpoint: str | None  # the signed note the proofs verify against
    events: list[dict[str, Any]]


def sample(session: Session, principal: Principal, engagement_id: str, *, size: int,
           kind: str | None, clock: Clock, settings: AuditSettings) -> Sample:
    """Random events of the period (``kind``: access, parcel, employee or any), each
    with its leaf and inclusion proof. Proofs are against the latest signed
    checkpoint when it covers the events, so they verify against a root the
    enterprise vouched for; events after it are not drawn."""
    if not 1 <= size <= settings.max_sample_size:
        raise InvalidInput(f"sample size must be between 1 and {settings.max_sample_size}")
    if kind not in (None, "access", "parcel", "employee"):
        raise InvalidInput("kind must be access, parcel or employee")
    eng = engagements.held_by_caller(session, principal, engagement_id)
    p = engagements.period(eng)
    cp = latest_checkpoint(session, eng.enterprise_id)
    positions = ledger_read.positions_in(session, eng.enterprise_id, since_us=p.start_us,
                                         until_us=p.end_us, kind=kind,
                                         below=None if cp is None else cp.size)
    draws = int(session.scalar(select(func.count()).select_from(AuditAccessLog).where(
        AuditAccessLog.engagement_id == eng.id, AuditAccessLog.action == "sample")) or 0)
    # Seeded per engagement and draw: the enterprise can re-draw the same sample.
    rng = random.Random(f"{eng.sample_seed}/{draws}")  # noqa: S311 - reproducible, not secret
    chosen = sorted(rng.sample(positions, min(size, len(positions))))
    engagements.conducting(session, principal, engagement_id, clock=clock, action="sample",
                           detail={"draw": draws, "kind": kind or "any",
                                   "leaf_indices": chosen})
    tree_size = cp.size if cp is not None else None
    events = [logs.prove(session, eng.enterprise_id, i, tree_size) for i in chosen]
    return Sample(eng.enterprise_id, events[0]["tree_size"] if events else (tree_size or 0),
                  cp.note if cp is not None else None, events)


def raise_finding(session: Session, principal: Principal, engagement_id: str, *,
                  control_id: str, severity: str, summary: str, action: str | None = None,
                  rulebook: Rulebook, clock: Clock,
                  settings: AuditSettings) -> tuple[AuditFinding, list[object]]:
    """A finding about one control. ``action`` (default: the rulebook's ``on_fail``):
    ``rectify`` orders the enterprise to rectify within ``rectify_days``; ``incident``
    refers it to the incident desk (``AuditFindingRaised``, emitted to the outbox in
    this transaction). Returns the finding and its events."""
    eng = engagements.conducting(session, principal, engagement_id, clock=clock,
                                 action="finding", detail={"control_id": control_id})
    _check_rulebook(eng, rulebook)
    if control_id not in eng.scope:
        raise InvalidInput(f"{control_id} is not in the engagement's scope")
    if severity not in SEVERITIES:
        raise InvalidInput(f"severity must be one of {', '.join(SEVERITIES)}")
    action = action or rulebook.get(control_id).on_fail
    if action not in ("rectify", "incident"):
        raise InvalidInput("action must be rectify or incident")
    now = clock.now()
    finding = AuditFinding(
        id=new_id("afd"), engagement_id=eng.id, enterprise_id=eng.enterprise_id,
        control_id=control_id, severity=severity, action=action,
        summary=_clean_text(summary, "summary", min_len=10), status="open",
        due_at=now + timedelta(days=settings.rectify_days) if action == "rectify" else None,
        raised_by=engagements.actor_of(principal), raised_at=now)
    session.add(finding)
    session.flush()
    events: list[object] = []
    if action == "incident":
        events.append(AuditFindingRaised(finding.id, eng.id, eng.enterprise_id, control_id,
                                         severity, finding.summary, raised_at=now))
        emit(session, *events)
    return finding, events


def raise_for_failures(session: Session, principal: Principal, engagement_id: str, *,
                       rulebook: Rulebook, clock: Clock,
                       settings: AuditSettings) -> tuple[list[AuditFinding], list[object]]:
    """One finding per failed control that has none yet (the auditor's default),
    high severity for incident-type controls, medium otherwise."""
    have = set(session.scalars(select(AuditFinding.control_id)
                               .where(AuditFinding.engagement_id == engagement_id)))
    found: list[AuditFinding] = []
    events: list[object] = []
    for r in results(session, principal, engagement_id):
        if r.status != "fail" or r.control_id in have:
            continue
        control = rulebook.get(r.control_id)
        finding, evs = raise_finding(
            session, principal, engagement_id, control_id=r.control_id,
            severity="high" if control.on_fail == "incident" else "medium",
            summary=f"{control.title_en}: {r.summary}", rulebook=rulebook, clock=clock,
            settings=settings)
        found.append(finding)
        events += evs
    return found, events


def findings(session: Session, principal: Principal, *, engagement_id: str | None = None,
             enterprise_id: str | None = None) -> list[AuditFinding]:
    """Findings the caller may see: its enterprise's, its firm's, or all (supervision)."""
    principal.require("audit:read")
    stmt = select(AuditFinding).order_by(AuditFinding.raised_at.desc())
    if engagement_id is not None:
        engagements.get(session, principal, engagement_id)
        stmt = stmt.where(AuditFinding.engagement_id == engagement_id)
    elif not principal.can("audit:read_all"):
        stmt = stmt.join(AuditEngagement, AuditEngagement.id == AuditFinding.engagement_id).where(
            (AuditFinding.enterprise_id == principal.org_id)
            | (AuditEngagement.auditor_org_id == principal.org_id))
    if enterprise_id is not None:
        stmt = stmt.where(AuditFinding.enterprise_id == enterprise_id)
    return list(session.scalars(stmt))


def answer(session: Session, principal: Principal, finding_id: str, *, response: str,
           clock: Clock) -> AuditFinding:
    """The enterprise answers a rectification order addressed to it."""
    principal.require("audit:rectify")
    f = session.get(AuditFinding, finding_id)
    if f is None or f.enterprise_id != principal.org_id:
        raise NotFound(f"no finding {finding_id}")
    if f.action != "rectify" or f.status != "open":
        raise Conflict(f"finding {finding_id} is not an open rectification order")
    f.response = _clean_text(response, "response", min_len=10, max_len=1000)
    f.status, f.answered_at, f.answered_by = "answered", clock.now(), engagements.actor_of(
        principal)
    session.flush()
    return f


def close(session: Session, principal: Principal, finding_id: str) -> AuditFinding:
    """The supervision department closes a finding once satisfied."""
    principal.require("audit:order")
    f = session.get(AuditFinding, finding_id)
    if f is None:
        raise NotFound(f"no finding {finding_id}")
    if f.status == "closed":
        raise Conflict(f"finding {finding_id} is already closed")
    f.status = "closed"
    session.flush()
    return f


def overdue(now: datetime, f: AuditFinding) -> bool:
    return f.status == "open" and f.due_at is not None and f.due_at < now


def verify_sample(s: Sample, verifier_key: str) -> int:
    """What the auditor does with a sample on its own side: open the signed
    checkpoint with the enterprise's public key, then check each leaf's inclusion
    proof against its root. Returns how many events verified."""
    if s.checkpoint is None:
        return 0
    try:
        cp = open_checkpoint(s.checkpoint, verifier_key)
    except CheckpointError:
        return 0
    ok = 0
    for ev in s.events:
        proof = [base64.b64decode(h) for h in ev["inclusion"]]
        ok += verify_inclusion(leaf_hash(base64.b64decode(ev["leaf"])), ev["leaf_index"],
                               cp.size, proof, cp.root) and ev["tree_size"] == cp.size
    return ok
