"""Cases for the portals' demo, made through the capabilities' own services: an
anonymous complaint forwarded to the police (so the police portal has a referral
with an evidence package to verify) and an incident detected long enough ago that
its statutory reports are overdue (so the supervision department sees them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.access.caller import caller_for_employee
from parcelguard.access.service import AccessGate
from parcelguard.audit import engagements, model
from parcelguard.audit.controls import load_rulebook
from parcelguard.channel import intake, referrals
from parcelguard.channel.models import ChannelReferral
from parcelguard.channel.settings import ChannelSettings
from parcelguard.core.clock import Clock
from parcelguard.core.errors import Conflict
from parcelguard.core.settings import Settings
from parcelguard.identity.permissions import Principal, system_principal
from parcelguard.identity.service import SUPERVISOR_ORG_ID
from parcelguard.incidents import service as incidents
from parcelguard.incidents.models import Incident
from parcelguard.incidents.settings import IncidentSettings
from parcelguard.ledger.models import LedgerEvent
from parcelguard.vault.service import VaultService
from parcelguard.web.demo import AUDITOR_ORG, Provisioned

# Long enough that every initial report (4 h CAC, 24 h postal and Art. 57) is overdue.
INCIDENT_AGE = timedelta(hours=30)
REFERRAL_REASON = "A scam caller quoted a waybill only staff could read (demo)."
INCIDENT_TITLE = "Waybill lookups outside assignments (demo)"


@dataclass(frozen=True)
class Cases:
    referral_id: str | None = None
    incident_id: str | None = None
    engagement_id: str | None = None


def _referral(session: Session, vault: VaultService, settings: Settings, clock: Clock,
              prov: Provisioned) -> str:
    made = session.scalar(select(ChannelReferral.id).where(
        ChannelReferral.enterprise_id == prov.enterprise_id,
        ChannelReferral.reason == REFERRAL_REASON).order_by(ChannelReferral.created_at))
    if made is not None:  # a reused demo database: each serve showed one more referral
        return made
    filed = intake.file_report(
        session, vault, settings.section(ChannelSettings), enterprise_id=prov.enterprise_id,
        source=None, clock=clock, report=intake.ReportIn(
            kind="scam_call", anonymous=True, wants_police=True, waybills=[prov.unassigned],
            body="A caller quoted my parcel's contents and address and asked for a "
                 "'refund fee'. (demo)"))
    # The courier looks up a waybill that is not theirs (refused, and recorded): the
    # access the caller's quote points back to, so the evidence package has events.
    AccessGate(session, vault, clock).reveal(
        caller_for_employee(prov.enterprise_id, prov.courier_employee_id, "courier"),
        waybill_no=prov.unassigned, purpose="delivery", fields=["recipient_phone"])
    officer = Principal(org_id=prov.enterprise_id, org_kind="enterprise",
                        role="security_officer", account_id="web-demo")
    deps = referrals.Deps(kms=vault.vault.kms, clock=clock,
                          settings=settings.section(ChannelSettings))
    ref = referrals.refer_report(session, officer, deps, report_id=filed.report_id,
                                 reason=REFERRAL_REASON)
    return str(ref.id)


def _incident(session: Session, settings: Settings, clock: Clock,
              prov: Provisioned) -> str:
    made = session.scalar(select(Incident.id).where(
        Incident.enterprise_id == prov.enterprise_id, Incident.title == INCIDENT_TITLE)
        .order_by(Incident.created_at))
    if made is not None:  # a reused demo database keeps its one overdue incident
        return made
    # Evidence: the demo courier's recorded accesses (denied reveals included).
    evidence = list(session.scalars(select(LedgerEvent.event_id).where(
        LedgerEvent.enterprise_id == prov.enterprise_id, LedgerEvent.kind == "access")
        .order_by(LedgerEvent.seq.desc()).limit(5)))
    opened = incidents.open_incident(session, incidents.OpenRequest(
        enterprise_id=prov.enterprise_id, title=INCIDENT_TITLE,
        category="insider_abuse", source="manual", detected_at=clock.now() - INCIDENT_AGE,
        evidence_event_ids=evidence), actor="system:web-demo",
        settings=settings.section(IncidentSettings))
    return str(opened.incident.id)


def _engagement(session: Session, clock: Clock, prov: Provisioned) -> str | None:
    """An audit the supervision department orders after the incident, of the last
    two days, led by the demo auditor (periods must have ended)."""
    open_ = [e for e in engagements.list_for(session, system_principal(SUPERVISOR_ORG_ID),
                                             enterprise_id=prov.enterprise_id)
             if e.auditor_org_id == AUDITOR_ORG and e.status in ("planned", "fieldwork")]
    if open_:  # a reused demo database: keep the open one (rotation limits new ones)
        return str(open_[0].id)
    now = clock.now()
    try:
        eng = engagements.create(
            session, system_principal(SUPERVISOR_ORG_ID), enterprise_id=prov.enterprise_id,
            auditor_org_id=AUDITOR_ORG, lead_auditor="auditor.demo", kind="ordered",
            period=model.period_of(now - timedelta(days=2), now - timedelta(minutes=1)),
            rulebook=load_rulebook(),
            reason="Ordered after the demo incident of waybill lookups.", clock=clock)
    except Conflict:  # the firm audited the last three times (rotation rule): none this run
        return None
    return str(eng.id)


def seed_cases(session: Session, vault: VaultService, settings: Settings, clock: Clock,
               prov: Provisioned) -> Cases:
    return Cases(referral_id=_referral(session, vault, settings, clock, prov),
                 incident_id=_incident(session, settings, clock, prov),
                 engagement_id=_engagement(session, clock, prov))
