"""The signed audit report and the auditor firms' signing keys.

The report body is canonical JSON (RFC 8785); its SHA-256 goes into a C2SP signed
note signed with the auditor organisation's Ed25519 key, the same format as ledger
checkpoints (ledger/checkpoint.py), so a standard note verifier checks it:

    parcelguard audit report v1
    engagement <id>
    enterprise <enterprise id>
    auditor <auditor organisation id>
    period <start date>..<end date>
    score <0-100 or n/a>
    sha256 <hex of the body>

    — parcelguard.example/audit/<auditor org> <signature>

Each firm's signer key is created on first use and stored only wrapped by the KMS
under a context naming the firm, like enterprises' checkpoint keys.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parcelguard.audit import engagements, model
from parcelguard.audit.events import AuditReportDelivered
from parcelguard.audit.models import (
    AuditAccessLog,
    AuditControlResult,
    AuditEngagement,
    AuditFinding,
    AuditReport,
    AuditSigningKey,
)
from parcelguard.audit.rulebook import Rulebook
from parcelguard.core.canonical import canonical_json
from parcelguard.core.clock import Clock
from parcelguard.core.errors import Conflict, NotFound, PermissionDenied
from parcelguard.identity.permissions import Principal
from parcelguard.identity.service import SUPERVISOR_ORG_ID
from parcelguard.ledger.checkpoint import (
    CheckpointError,
    NoteSigner,
    NoteVerifier,
    generate_key,
    open_note,
    sign_note,
)
from parcelguard.ledger.signing import KeyWrapper, SigningKeyError

KEY_PREFIX = "parcelguard.example/audit"  # RFC 2606 on purpose, as ledger.signing
_WRAP_CONTEXT = b"parcelguard/audit-report-key/v1\x00"
REPORT_FORMAT = "parcelguard-audit-report/1"


def _context(auditor_org_id: str) -> bytes:
    return _WRAP_CONTEXT + auditor_org_id.encode("utf-8")


def ensure_key(session: Session, auditor_org_id: str, *, kms: KeyWrapper,
               clock: Clock) -> AuditSigningKey:
    row = session.get(AuditSigningKey, auditor_org_id)
    if row is not None:
        return row
    name = f"{KEY_PREFIX}/{auditor_org_id}"
    signer, verifier = generate_key(name)
    row = AuditSigningKey(auditor_org_id=auditor_org_id, key_name=name, verifier_key=verifier,
                          kms_key_id=kms.key_id,
                          wrapped_signer_key=kms.wrap(signer.encode("ascii"),
                                                      _context(auditor_org_id)),
                          created_at=clock.now())
    session.add(row)
    session.flush()
    return row


def _signer(row: AuditSigningKey, kms: KeyWrapper) -> NoteSigner:
    if row.kms_key_id != kms.key_id:
        raise SigningKeyError(f"the report key of {row.auditor_org_id} was wrapped by master "
                              f"key {row.kms_key_id}, but {kms.key_id} is configured")
    signer = NoteSigner.from_key(kms.unwrap(row.wrapped_signer_key,
                                            _context(row.auditor_org_id)).decode("ascii"))
    if signer.verifier().key_string() != row.verifier_key:
        raise SigningKeyError(f"the report key of {row.auditor_org_id} does not match its "
                              "registered verifier key")
    return signer


def verifier_key(session: Session, auditor_org_id: str) -> str:
    """The firm's public note verifier key (``<name>+<hash>+<key>``)."""
    row = session.get(AuditSigningKey, auditor_org_id)
    if row is None:
        raise NotFound(f"{auditor_org_id} has signed no report yet")
    return row.verifier_key


def _body(session: Session, eng: AuditEngagement, rulebook: Rulebook,
          issued_at: str, delivered_to: list[str]) -> dict[str, Any]:
    p = engagements.period(eng)
    controls = []
    for r in session.scalars(select(AuditControlResult).where(
            AuditControlResult.engagement_id == eng.id)):
        c = rulebook.get(r.control_id)
        controls.append({
            "id": r.control_id, "version": r.control_version, "title_en": c.title_en,
            "title_zh": c.title_zh, "legal_basis": list(c.legal_basis), "check": c.check,
            "weight": r.weight, "status": r.status, "score": r.score, "value": r.value,
            "summary": r.summary, "evidence": r.evidence})
    order = {cid: i for i, cid in enumerate(eng.scope)}
    controls.sort(key=lambda c: order.get(str(c["id"]), len(order)))
    findings = [{"id": f.id, "control_id": f.control_id, "severity": f.severity,
                 "action": f.action, "summary": f.summary,
                 "due_at": f.due_at.isoformat() if f.due_at else None}
                for f in session.scalars(select(AuditFinding).where(
                    AuditFinding.engagement_id == eng.id).order_by(AuditFinding.raised_at))]
    draws = int(session.scalar(select(func.count()).select_from(AuditAccessLog).where(
        AuditAccessLog.engagement_id == eng.id, AuditAccessLog.action == "sample")) or 0)
    return {
        "format": REPORT_FORMAT, "engagement_id": eng.id, "kind": eng.kind,
        "reason": eng.reason, "requested_by": eng.requested_by,
        "enterprise_id": eng.enterprise_id, "auditor_org_id": eng.auditor_org_id,
        "lead_auditor_id": eng.lead_auditor_id,
        "period": {"key": p.key, "start": p.start.isoformat(), "end": p.end.isoformat()},
        "rulebook": {"id": rulebook.id, "version": rulebook.version,
                     "sha256": rulebook.sha256},
        "score": eng.score, "coverage": eng.coverage, "controls": controls,
        "findings": findings, "sample_draws": draws, "issued_at": issued_at,
        "delivered_to": delivered_to}


def preview(session: Session, principal: Principal, engagement_id: str, *,
            rulebook: Rulebook) -> dict[str, Any]:
    """The report as ``issue`` would sign it now (controls, findings, score), for the
    lead auditor to read before signing; nothing is signed or written."""
    eng = engagements.held_by_caller(session, principal, engagement_id)
    if eng.evaluated_at is None:
        raise Conflict("evaluate the controls before issuing the report")
    return _body(session, eng, rulebook, "", [eng.enterprise_id, SUPERVISOR_ORG_ID])


def _note_text(eng: AuditEngagement, digest: str) -> str:
    p = engagements.period(eng)
    score = "n/a" if eng.score is None else f"{eng.score:.1f}"
    return (f"parcelguard audit report v1\nengagement {eng.id}\nenterprise {eng.enterprise_id}"
            f"\nauditor {eng.auditor_org_id}\nperiod {p.key}\nscore {score}\nsha256 {digest}\n")


def issue(session: Session, principal: Principal, engagement_id: str, *, rulebook: Rulebook,
          kms: KeyWrapper, clock: Clock) -> tuple[AuditReport, list[object]]:
    """The lead auditor signs the report; it is delivered to the enterprise and the
    supervision department, and the auditor's access closes."""
    eng = engagements.conducting(session, principal, engagement_id, clock=clock,
                                 action="report")
    if principal.account_id is not None and principal.account_id != eng.lead_auditor_id:
        raise PermissionDenied("only the engagement's lead auditor signs its report")
    if eng.evaluated_at is None:
        raise Conflict("evaluate the controls before issuing the report")
    now = clock.now()
    delivered_to = [eng.enterprise_id, SUPERVISOR_ORG_ID]
    body = canonical_json(_body(session, eng, rulebook, now.isoformat(), delivered_to))
    digest = hashlib.sha256(body).hexdigest()
    key = ensure_key(session, eng.auditor_org_id, kms=kms, clock=clock)
    note = sign_note(_note_text(eng, digest), _signer(key, kms))
    report = AuditReport(engagement_id=eng.id, body=body, sha256=digest, note=note,
                         signed_at=now, delivered_to=delivered_to)
    session.add(report)
    eng.status = model.move(eng.status, "delivered")
    eng.delivered_at = now
    session.flush()
    return report, [AuditReportDelivered(eng.id, eng.enterprise_id, eng.auditor_org_id,
                                         eng.score)]


def get(session: Session, principal: Principal, engagement_id: str) -> AuditReport:
    eng = engagements.get(session, principal, engagement_id)
    report = session.get(AuditReport, eng.id)
    if report is None:
        raise NotFound(f"engagement {engagement_id} has no report yet")
    return report


def verify(session: Session, report: AuditReport) -> bool:
    """The note is signed by the holding firm's key and names this body's SHA-256."""
    eng = session.get(AuditEngagement, report.engagement_id)
    key = session.get(AuditSigningKey, eng.auditor_org_id) if eng else None
    if key is None:
        return False
    try:
        note = open_note(report.note, [NoteVerifier.from_key(key.verifier_key)])
    except CheckpointError:
        return False
    digest = hashlib.sha256(report.body).hexdigest()
    return f"\nsha256 {digest}\n" in note.text and digest == report.sha256
