"""The audit stage of ``parcelguard demo``: two audit firms each get a lead auditor;
every enterprise is audited over the simulated window (fieldwork with an event
sample whose proofs are verified, controls evaluated, findings raised, the report
signed and checked); the rotation rule refuses a third audit in a row; the
supervision department ranks the scores; each enterprise publishes a differentially
private transparency report and a report past the privacy budget is refused.

``run(session, now, out_dir)`` is called by simulation/demo_stages.py with the
demo's database; it returns the figures for the summary and writes the transparency
pages and signed reports under ``out_dir``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parcelguard.audit import engagements, fieldwork, reports, scorecards, transparency
from parcelguard.audit.controls import load_rulebook
from parcelguard.audit.model import PERIOD_TZ, Period, parse_period, period_of
from parcelguard.audit.settings import AuditSettings
from parcelguard.core.clock import ManualClock
from parcelguard.core.errors import Conflict
from parcelguard.identity import service as identity
from parcelguard.identity.models import Account, Organization
from parcelguard.identity.permissions import Principal, system_principal
from parcelguard.ledger.models import LedgerEvent
from parcelguard.ledger.signing import KeyWrapper, registered_verifier
from parcelguard.vault.kms import InMemoryKms

FIRMS = (("audit-huaxin", "华信个人信息合规审计事务所"), ("audit-zhengda", "正达数据安全评估中心"))
SAMPLE = 30
_EPOCH = datetime(1970, 1, 1, tzinfo=PERIOD_TZ)


def _firms(session: Session, clock: ManualClock) -> list[tuple[str, str]]:
    """(firm id, lead auditor account id) for the two demo firms, created once."""
    out = []
    for org_id, name in FIRMS:
        if session.get(Organization, org_id) is None:
            identity.create_organization(session, org_id=org_id, kind="auditor", name=name,
                                         clock=clock)
        username = f"{org_id}-lead"
        acc = session.scalars(select(Account).where(Account.username == username)).first()
        if acc is None:
            acc, _ = identity.create_account(session, org_id=org_id, username=username,
                                             role="auditor", clock=clock)  # password unused
        out.append((org_id, acc.id))
    return out


def _window(session: Session, now: datetime) -> Period:
    """From the local day of the first logged event to ``now``."""
    first = session.scalar(select(func.min(LedgerEvent.occurred_at_us)))
    start = (_EPOCH + timedelta(microseconds=int(first or 0))).astimezone(PERIOD_TZ)
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    return period_of(day, now)


def _lead(firm: str, account_id: str) -> Principal:
    return Principal(org_id=firm, org_kind="auditor", role="auditor", account_id=account_id)


def _audit_one(session: Session, eng_id: str, who: Principal, *, clock: ManualClock,
               settings: AuditSettings, kms: KeyWrapper, out: Path) -> dict[str, Any]:
    rb = load_rulebook(settings.rulebook_path)
    eng = engagements.start(session, who, eng_id, clock=clock, settings=settings)
    drawn = fieldwork.sample(session, who, eng_id, size=SAMPLE, kind="access", clock=clock,
                             settings=settings)
    key = registered_verifier(session, eng.enterprise_id)
    verified = fieldwork.verify_sample(drawn, key.verifier_key) if key else 0
    fieldwork.attest(session, who, eng_id, control_id="pi-officer", confirmed=True,
                     evidence_ref=f"CAC PI officer filing of {eng.enterprise_id} (demo)",
                     evidence_sha256="0" * 64, rulebook=rb, clock=clock)
    results = fieldwork.evaluate(session, who, eng_id, rulebook=rb, clock=clock)
    found, events = fieldwork.raise_for_failures(session, who, eng_id, rulebook=rb,
                                                 clock=clock, settings=settings)
    report, delivered = reports.issue(session, who, eng_id, rulebook=rb, kms=kms, clock=clock)
    (out / f"{eng.enterprise_id}.report.json").write_bytes(report.body)
    (out / f"{eng.enterprise_id}.report.note").write_text(report.note, encoding="utf-8")
    card = scorecards.build(session, eng.enterprise_id)
    by_id = {r.control_id: r for r in results}
    return {
        "engagement_id": eng_id, "auditor": eng.auditor_org_id, "score": eng.score,
        "coverage": eng.coverage,
        "weakest": [{"control_id": c, "score": by_id[c].score, "summary": by_id[c].summary}
                    for c in card.weakest],
        "not_evaluable": [r.control_id for r in results if r.status == "not_evaluable"],
        "findings": len(found), "incident_referrals": len(events),
        "sample": {"drawn": len(drawn.events), "proofs_verified": verified},
        "report_sha256": report.sha256, "signature_valid": reports.verify(session, report),
        "events_published": len(events) + len(delivered)}


def _rotation(session: Session, enterprise_id: str, firms: list[tuple[str, str]],
              clock: ManualClock) -> dict[str, Any]:
    """An earlier audit by the same firm plus the run's own: a third in a row is refused,
    another firm is accepted. The illustrative engagements are cancelled again."""
    sup = system_principal(identity.SUPERVISOR_ORG_ID)
    rb = load_rulebook()
    (firm, lead), (other, other_lead) = firms
    now = clock.now().astimezone(PERIOD_TZ)
    month = [(now.year, now.month - k) if now.month > k else (now.year - 1, now.month - k + 12)
             for k in (3, 2, 1)]
    periods = [parse_period(f"{y:04d}-{m:02d}") for y, m in month]
    earlier = [engagements.create(session, sup, enterprise_id=enterprise_id, auditor_org_id=firm,
                                  lead_auditor=lead, kind="periodic", period=p, rulebook=rb,
                                  clock=clock) for p in periods[:1]]
    refused = None
    try:
        engagements.create(session, sup, enterprise_id=enterprise_id, auditor_org_id=firm,
                           lead_auditor=lead, kind="periodic", period=periods[2], rulebook=rb,
                           clock=clock)
    except Conflict as exc:
        refused = exc.message
    accepted = engagements.create(session, sup, enterprise_id=enterprise_id,
                                  auditor_org_id=other, lead_auditor=other_lead,
                                  kind="ordered", period=periods[2], rulebook=rb, clock=clock,
                                  reason="demo: rotation to another firm after two in a row")
    for e in (*earlier, accepted):
        engagements.cancel(session, sup, e.id)
    return {"enterprise": enterprise_id, "firm": firm, "third_in_a_row_refused": refused,
            "other_firm_accepted": accepted.auditor_org_id}


def run(session: Session, now: datetime, out_dir: Path, *, start: datetime | None = None,
        kms: KeyWrapper | None = None, settings: AuditSettings | None = None) -> dict[str, Any]:
    """Audit every enterprise over [``start``, ``now``) (default: from the day of the
    first logged event); returns each score with its three weakest controls, the
    ranking, the rotation check and the transparency figures. ``kms`` wraps the audit
    firms' signing keys (default: an in-memory one, so the reports verify within the
    run only). The caller commits."""
    settings = settings or AuditSettings()  # type: ignore[call-arg]
    kms = kms or InMemoryKms()  # demo reports are checked in-run; a real KMS is the plugins'
    clock = ManualClock(now)
    rb = load_rulebook(settings.rulebook_path)
    window = period_of(start, now) if start is not None else _window(session, now)
    firms = _firms(session, clock)
    ents = list(session.scalars(select(Organization.id).where(Organization.kind == "enterprise")
                                .order_by(Organization.id)))
    audit_dir, tp_dir = out_dir / "audit", out_dir / "transparency"
    audit_dir.mkdir(parents=True, exist_ok=True)
    tp_dir.mkdir(parents=True, exist_ok=True)
    sup = system_principal(identity.SUPERVISOR_ORG_ID)
    out: dict[str, Any] = {"period": window.key, "rulebook": f"{rb.id} v{rb.version}",
                           "enterprises": {}}
    rotation_ent = ents[0] if ents else None
    for i, ent in enumerate(ents):
        # The rotation check needs the first enterprise audited by the first firm.
        firm, lead = firms[0] if ent == rotation_ent else firms[i % len(firms)]
        eng = engagements.create(session, sup, enterprise_id=ent, auditor_org_id=firm,
                                 lead_auditor=lead, kind="periodic", period=window,
                                 rulebook=rb, clock=clock)
        out["enterprises"][ent] = _audit_one(session, eng.id, _lead(firm, lead), clock=clock,
                                             settings=settings, kms=kms, out=audit_dir)
    if rotation_ent is not None:
        out["rotation"] = _rotation(session, rotation_ent, firms, clock)
    out["ranking"] = [{"enterprise": c.enterprise_id, "score": c.score}
                      for c in scorecards.ranking(session, sup)]
    out["transparency"] = _publish(session, ents, window, now, settings=settings,
                                   tp_dir=tp_dir)
    return out


def _publish(session: Session, ents: list[str], window: Period, now: datetime, *,
             settings: AuditSettings, tp_dir: Path) -> dict[str, Any]:
    month = window.start.astimezone(PERIOD_TZ).strftime("%Y-%m")
    period = parse_period(month)
    sup = system_principal(identity.SUPERVISOR_ORG_ID)
    clock = ManualClock(now)
    out: dict[str, Any] = {"month": month, "pages": {}}
    for ent in ents:
        rel = transparency.publish(session, sup, ent, period, settings=settings, clock=clock)
        path = tp_dir / f"{ent}-{month}.html"
        path.write_text(rel.html, encoding="utf-8")
        out["pages"][ent] = {"path": str(path), "epsilon": rel.epsilon,
                             "budget_left": min(b["remaining"]
                                                for b in rel.figures["privacy"]["budget"])}
    if ents:
        try:  # more than the month has left: refused, nothing published
            transparency.publish(session, sup, ents[0], period, settings=settings, clock=clock,
                                 epsilon=settings.dp_budget_per_period)
            out["overspend_refused"] = None
        except Conflict as exc:
            out["overspend_refused"] = exc.message
    return out
