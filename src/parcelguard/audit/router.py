"""Audit and transparency API (under /api/v1).

Auditors reach an enterprise only through an engagement their firm holds, inside its
access window, and only as aggregates (control results) and ledger leaves with
proofs. The transparency page is public and holds only noisy figures.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from parcelguard.audit import engagements, fieldwork, reports, scorecards, transparency
from parcelguard.audit.controls import load_rulebook
from parcelguard.audit.model import parse_period
from parcelguard.audit.models import AuditEngagement, AuditReport
from parcelguard.audit.rulebook import Rulebook
from parcelguard.audit.schemas import (
    AttestationCreate,
    AttestationRead,
    EngagementCreate,
    EngagementRead,
    FindingAnswer,
    FindingCreate,
    FindingRead,
    PublishRequest,
    ReleaseRead,
    ReportRead,
    ResultRead,
    SampleRead,
    SampleRequest,
    ScorecardRead,
)
from parcelguard.audit.settings import AuditSettings
from parcelguard.core.http import API, ClockDep, RuntimeDep, SessionDep
from parcelguard.core.runtime import Runtime
from parcelguard.identity.http import PrincipalDep
from parcelguard.vault.http import VaultDep

router = APIRouter(prefix=API, tags=["audit"])


def _rulebook(rt: Runtime) -> Rulebook:
    return load_rulebook(rt.settings.section(AuditSettings).rulebook_path)


@router.get("/audit/rulebook")
def rulebook(rt: RuntimeDep) -> dict[str, object]:
    """The rulebook in force (public: the controls, their legal basis and scoring)."""
    rb = _rulebook(rt)
    return {"id": rb.id, "version": rb.version, "sha256": rb.sha256,
            "controls": [{"id": c.id, "version": c.version, "title_zh": c.title_zh,
                          "title_en": c.title_en, "legal_basis": list(c.legal_basis),
                          "check": c.check, "weight": c.weight, "description": c.description,
                          "scoring": c.scoring.__dict__} for c in rb.controls]}


@router.post("/audit/engagements", status_code=201)
def create_engagement(body: EngagementCreate, principal: PrincipalDep, session: SessionDep,
                      rt: RuntimeDep) -> EngagementRead:
    """Open an engagement (409 when the firm or lead did the last two in a row)."""
    eng = engagements.create(session, principal, enterprise_id=body.enterprise_id,
                             auditor_org_id=body.auditor_org_id, lead_auditor=body.lead_auditor,
                             kind=body.kind, period=parse_period(body.period),
                             rulebook=_rulebook(rt), scope=body.scope, reason=body.reason,
                             clock=rt.clock)
    return EngagementRead.of(eng)


@router.get("/audit/engagements")
def list_engagements(principal: PrincipalDep, session: SessionDep,
                     enterprise_id: Annotated[str | None, Query()] = None
                     ) -> list[EngagementRead]:
    """Engagements the caller may see (its enterprise's, its firm's, or all)."""
    return [EngagementRead.of(e) for e in engagements.list_for(session, principal,
                                                               enterprise_id=enterprise_id)]


@router.get("/audit/engagements/{engagement_id}")
def get_engagement(engagement_id: str, principal: PrincipalDep,
                   session: SessionDep) -> EngagementRead:
    return EngagementRead.of(engagements.get(session, principal, engagement_id))


@router.post("/audit/engagements/{engagement_id}/start")
def start(engagement_id: str, principal: PrincipalDep, session: SessionDep,
          rt: RuntimeDep) -> EngagementRead:
    """The firm starts fieldwork: its read-only access opens for the grant period."""
    return EngagementRead.of(engagements.start(session, principal, engagement_id,
                                               clock=rt.clock,
                                               settings=rt.settings.section(AuditSettings)))


@router.post("/audit/engagements/{engagement_id}/cancel")
def cancel(engagement_id: str, principal: PrincipalDep, session: SessionDep) -> EngagementRead:
    return EngagementRead.of(engagements.cancel(session, principal, engagement_id))


@router.post("/audit/engagements/{engagement_id}/evaluate")
def evaluate(engagement_id: str, principal: PrincipalDep, session: SessionDep,
             rt: RuntimeDep) -> list[ResultRead]:
    """Evaluate the scope's controls on live data (aggregates only)."""
    fieldwork.evaluate(session, principal, engagement_id, rulebook=_rulebook(rt),
                       clock=rt.clock)
    return [ResultRead.of(r) for r in fieldwork.results(session, principal, engagement_id)]


@router.get("/audit/engagements/{engagement_id}/results")
def results(engagement_id: str, principal: PrincipalDep,
            session: SessionDep) -> list[ResultRead]:
    return [ResultRead.of(r) for r in fieldwork.results(session, principal, engagement_id)]


@router.post("/audit/engagements/{engagement_id}/attestations", status_code=201)
def attest(engagement_id: str, body: AttestationCreate, principal: PrincipalDep,
           session: SessionDep, rt: RuntimeDep) -> AttestationRead:
    """Record a manual attestation (a reference and the document's SHA-256)."""
    return AttestationRead.of(fieldwork.attest(
        session, principal, engagement_id, control_id=body.control_id,
        confirmed=body.confirmed, evidence_ref=body.evidence_ref,
        evidence_sha256=body.evidence_sha256, note=body.note, rulebook=_rulebook(rt),
        clock=rt.clock))


@router.post("/audit/engagements/{engagement_id}/samples")
def sample(engagement_id: str, body: SampleRequest, principal: PrincipalDep,
           session: SessionDep, rt: RuntimeDep) -> SampleRead:
    """Random events of the period with inclusion proofs against the signed checkpoint."""
    s = fieldwork.sample(session, principal, engagement_id,
                         size=body.size or rt.settings.section(AuditSettings).sample_size,
                         kind=body.kind, clock=rt.clock,
                         settings=rt.settings.section(AuditSettings))
    return SampleRead(enterprise_id=s.enterprise_id, tree_size=s.tree_size,
                      checkpoint=s.checkpoint, events=s.events)


@router.post("/audit/engagements/{engagement_id}/findings", status_code=201)
def raise_finding(engagement_id: str, *, body: FindingCreate, principal: PrincipalDep,
                  session: SessionDep, rt: RuntimeDep) -> FindingRead:
    """A rectification order, or an incident referral (AuditFindingRaised)."""
    finding, _ = fieldwork.raise_finding(
        session, principal, engagement_id, control_id=body.control_id, severity=body.severity,
        summary=body.summary, action=body.action, rulebook=_rulebook(rt), clock=rt.clock,
        settings=rt.settings.section(AuditSettings))  # its incident follows the commit (outbox)
    return FindingRead.of(finding)


@router.get("/audit/engagements/{engagement_id}/access-log")
def access_log(engagement_id: str, principal: PrincipalDep,
               session: SessionDep) -> list[dict[str, object]]:
    """Every read the auditors made through this engagement."""
    return [{"at": r.at.isoformat(), "actor": r.actor, "action": r.action, "detail": r.detail}
            for r in engagements.access_log(session, principal, engagement_id)]


def _report_read(session: SessionDep, report: AuditReport) -> ReportRead:
    eng = session.get(AuditEngagement, report.engagement_id)
    assert eng is not None
    return ReportRead(engagement_id=report.engagement_id, sha256=report.sha256,
                      note=report.note, verifier_key=reports.verifier_key(
                          session, eng.auditor_org_id), body=msgspec.json.decode(report.body),
                      verified=reports.verify(session, report),
                      delivered_to=list(report.delivered_to))


@router.post("/audit/engagements/{engagement_id}/report", status_code=201)
def issue_report(engagement_id: str, *, principal: PrincipalDep, session: SessionDep,
                 rt: RuntimeDep, vault: VaultDep) -> ReportRead:
    """The lead auditor signs; the report goes to the enterprise and the supervision
    department and the firm's access closes."""
    report, _ = reports.issue(session, principal, engagement_id, rulebook=_rulebook(rt),
                              kms=vault.vault.kms, clock=rt.clock)
    return _report_read(session, report)


@router.get("/audit/engagements/{engagement_id}/report")
def get_report(engagement_id: str, principal: PrincipalDep, session: SessionDep) -> ReportRead:
    return _report_read(session, reports.get(session, principal, engagement_id))


@router.get("/audit/findings")
def list_findings(principal: PrincipalDep, session: SessionDep,
                  enterprise_id: Annotated[str | None, Query()] = None) -> list[FindingRead]:
    """Findings and rectification orders the caller may see."""
    return [FindingRead.of(f) for f in fieldwork.findings(session, principal,
                                                          enterprise_id=enterprise_id)]


@router.post("/audit/findings/{finding_id}/answer")
def answer_finding(finding_id: str, body: FindingAnswer, principal: PrincipalDep,
                   session: SessionDep, clock: ClockDep) -> FindingRead:
    """The enterprise answers a rectification order."""
    return FindingRead.of(fieldwork.answer(session, principal, finding_id,
                                           response=body.response, clock=clock))


@router.post("/audit/findings/{finding_id}/close")
def close_finding(finding_id: str, principal: PrincipalDep, session: SessionDep) -> FindingRead:
    """The supervision department closes a finding."""
    return FindingRead.of(fieldwork.close(session, principal, finding_id))


@router.get("/audit/scorecards/{enterprise_id}")
def scorecard(enterprise_id: str, principal: PrincipalDep, session: SessionDep) -> ScorecardRead:
    """Score (0-100), per-control breakdown, weakest controls and trend."""
    return ScorecardRead.of(scorecards.scorecard(session, principal, enterprise_id))


@router.get("/audit/ranking")
def ranking(principal: PrincipalDep, session: SessionDep) -> list[ScorecardRead]:
    """Every enterprise ranked by its latest audited score (supervision)."""
    return [ScorecardRead.of(c) for c in scorecards.ranking(session, principal)]


@router.post("/transparency/{enterprise_id}/{period}", status_code=201, tags=["transparency"])
def publish(enterprise_id: str, period: str, *, body: PublishRequest, principal: PrincipalDep,
            session: SessionDep, rt: RuntimeDep) -> ReleaseRead:
    """Publish a differentially private report (409 beyond the privacy budget)."""
    r = transparency.publish(session, principal, enterprise_id, parse_period(period),
                             settings=rt.settings.section(AuditSettings), clock=rt.clock,
                             epsilon=body.epsilon)
    return ReleaseRead(id=r.id, enterprise_id=r.enterprise_id, period=r.period,
                       epsilon=r.epsilon, figures=r.figures, html_sha256=r.html_sha256,
                       published_at=r.published_at)


@router.get("/transparency/{enterprise_id}/{period}/budget", tags=["transparency"])
def budget(enterprise_id: str, period: str, principal: PrincipalDep, session: SessionDep,
           rt: RuntimeDep) -> list[dict[str, object]]:
    """Each month's privacy budget: total, spent, remaining."""
    return transparency.budget(session, principal, enterprise_id, parse_period(period),
                               settings=rt.settings.section(AuditSettings), clock=rt.clock)


@router.get("/transparency/{enterprise_id}/{period}", response_class=HTMLResponse,
            tags=["transparency"])
def public_report(enterprise_id: str, period: str, session: SessionDep) -> HTMLResponse:
    """The latest published report as a public HTML page (no login)."""
    release = transparency.latest(session, enterprise_id, parse_period(period).key)
    return HTMLResponse(release.html)
