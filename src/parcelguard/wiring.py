"""The one place that chooses implementations for external systems (KMS, and
later telephony, notifiers) and registers the cross-domain reactions (the outbox's
handlers, ``reactions``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from parcelguard.channel.repository import CIPHERTEXT_COLUMNS as CHANNEL_CIPHERTEXT_COLUMNS
from parcelguard.core.errors import Refused
from parcelguard.core.outbox import Dispatcher, Reaction
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.vault.errors import KeyFileError
from parcelguard.vault.facade import Vault
from parcelguard.vault.kms import LocalFileKms
from parcelguard.vault.rotation import CiphertextColumn
from parcelguard.vault.service import VaultService
from parcelguard.waybill.telephony import LocalTelephony, Telephony

# Every place PI ciphertexts live, for re-encrypting rotations. A new table holding
# vault ciphertexts must be added here, or a re-encrypting rotation would strand it.
CIPHERTEXT_COLUMNS = (*(
    CiphertextColumn(table="parcels", field=f"{party}_{name}",
                     subject_column=f"{party}_subject_id", ct_column=f"{party}_{name}_ct")
    for party, names in (("sender", ("name", "phone", "address", "id_number")),
                         ("recipient", ("name", "phone", "address")))
    for name in names), *CHANNEL_CIPHERTEXT_COLUMNS)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from parcelguard.channel.events import CanaryTouched
    from parcelguard.conduct.events import ConductReferralRequested

_VAULTS: dict[str, VaultService] = {}


def vault_service(settings: Settings) -> VaultService:
    """The process's vault for these settings: the local key-file KMS by default.
    A deployment with a real KMS replaces ``LocalFileKms`` here and nowhere else.
    A master key that is missing or cannot be trusted refuses the command (exit 3)
    with the fix; it is never replaced by a new one here (only `parcelguard init`)."""
    path = settings.master_key_path
    key = str(path.resolve())
    if key not in _VAULTS:
        try:
            kms = LocalFileKms(path)
        except KeyFileError as exc:
            raise Refused(exc.message) from None
        _VAULTS[key] = VaultService(Vault(kms))
    return _VAULTS[key]


def check_master_key(settings: Settings) -> str | None:
    """What is wrong with the master key now (read afresh), or None (health)."""
    try:
        LocalFileKms(settings.master_key_path)
    except KeyFileError as exc:
        return exc.message
    return None


def create_master_key(settings: Settings) -> bool:
    """`parcelguard init` on a new store: create the local master key if absent.
    True if it was created."""
    path = settings.master_key_path
    if path.exists():
        return False
    LocalFileKms(path, create=True)
    return True


# -- waybill: telephony for virtual numbers --
_TELEPHONY: dict[str, Telephony] = {}


def telephony(settings: Settings) -> Telephony:
    """The process's virtual-number provider: the local simulator by default. A
    deployment with a real operator (or its own switch) adds its choice here."""
    choice = settings.waybill.telephony
    if choice not in _TELEPHONY:
        if choice != "local":
            raise ValueError(f"unknown telephony provider {choice!r}")
        _TELEPHONY[choice] = LocalTelephony()
    return _TELEPHONY[choice]
# -- end waybill --


# -- reactions: the cross-domain flow, readable in one place --------------------------


@dataclass(frozen=True)
class _AuditFinding:
    """An audit finding as the incidents domain reads findings."""

    enterprise_id: str
    finding_id: str
    summary: str
    event_ids: tuple[str, ...]
    detected_at: datetime


def reactions(rt: Runtime) -> tuple[Reaction, ...]:
    """Every cross-domain reaction: event -> handler (a stable name: deliveries are
    keyed by it) -> effect. docs/architecture.md lists them with their entry points.
    Each runs in its delivery's transaction (core/outbox.py) and never commits."""
    from parcelguard.audit.events import AuditFindingRaised
    from parcelguard.channel.events import CanaryTouched, ReferIncident
    from parcelguard.channel.referrals import Deps, refer_incident
    from parcelguard.conduct.events import ConductReferralRequested
    from parcelguard.conduct.service import note_signal
    from parcelguard.incidents import handlers as incident_handlers
    from parcelguard.incidents.events import ProposePoliceReferral
    from parcelguard.monitor.events import AlertRaised
    from parcelguard.monitor.service import raise_ledger_tamper
    from parcelguard.node import transport as node_transport
    from parcelguard.supervision.events import LedgerTamperDetected

    incidents = rt.settings.incidents

    def alert_incident(s: Session, ev: AlertRaised) -> None:
        incident_handlers.open_for_alert(s, ev, settings=incidents)

    def alert_conduct_signal(s: Session, ev: AlertRaised) -> None:
        if ev.subject_type == "employee":
            note_signal(s, enterprise_id=ev.enterprise_id, employee_id=ev.subject_id,
                        source="monitor_alert", ref=ev.alert_id, severity=ev.severity,
                        at=ev.raised_at)

    def tamper_alert(s: Session, ev: LedgerTamperDetected) -> None:
        raise_ledger_tamper(s, ev)

    def audit_incident(s: Session, ev: AuditFindingRaised) -> None:
        incident_handlers.open_for_finding(s, _AuditFinding(
            enterprise_id=ev.enterprise_id, finding_id=ev.finding_id, summary=ev.summary,
            event_ids=(), detected_at=ev.raised_at), settings=incidents, source="audit")

    def incident_referral(s: Session, ev: ProposePoliceReferral) -> None:
        if _with_police(s, ev.enterprise_id, "incident", ev.incident_id):
            return
        refer_incident(s, Deps(kms=vault_service(rt.settings).vault.kms, clock=rt.clock,
                               settings=rt.settings.channel), ReferIncident(
            enterprise_id=ev.enterprise_id, incident_id=ev.incident_id, reason=ev.basis,
            event_ids=ev.evidence_event_ids, waybills=ev.waybills, actor_ids=ev.actor_ids,
            record_counts=dict(ev.records), insider=ev.insider))

    def conduct_referral(s: Session, ev: ConductReferralRequested) -> None:
        if not _with_police(s, ev.enterprise_id, "conduct", ev.decision_id):
            refer_conduct_finding(s, rt, ev)

    def canary_alert(s: Session, ev: CanaryTouched) -> None:
        raise_canary_alerts(s, [ev])

    def canary_conduct_signal(s: Session, ev: CanaryTouched) -> None:
        if ev.actor_type == "employee" and ev.actor_id:
            note_signal(s, enterprise_id=ev.enterprise_id, employee_id=ev.actor_id,
                        source="canary", ref=ev.canary_id, severity="critical", at=ev.at)

    return (
        Reaction(AlertRaised, "incidents.open_from_alert", alert_incident,
                 "opens or joins an incident (rule: IncidentSettings)"),
        Reaction(AlertRaised, "conduct.signal_from_alert", alert_conduct_signal,
                 "an alert about an employee is a conduct signal"),
        Reaction(LedgerTamperDetected, "monitor.ledger_tamper_alert", tamper_alert,
                 "a ledger_tamper alert (and so an incident)"),
        Reaction(AuditFindingRaised, "incidents.open_from_audit_finding", audit_incident,
                 "opens an incident"),
        Reaction(ProposePoliceReferral, "channel.refer_incident", incident_referral,
                 "a police referral with its evidence package"),
        Reaction(ConductReferralRequested, "channel.refer_conduct_finding", conduct_referral,
                 "a police referral with its evidence package"),
        Reaction(CanaryTouched, "monitor.canary_alert", canary_alert,
                 "a critical alert (and so an incident)"),
        Reaction(CanaryTouched, "conduct.signal_from_canary", canary_conduct_signal,
                 "a conduct signal about the employee"),
        node_transport.reaction(rt.settings.home),  # nodes: envelopes to other nodes
    )


def _with_police(session: Session, enterprise_id: str, source_type: str,
                 source_id: str) -> bool:
    """The case is already with the police (a demo referred it by hand): the
    referral's effect holds, so the reaction has nothing to do."""
    from sqlalchemy import select

    from parcelguard.channel.models import ChannelReferral

    return session.scalar(select(ChannelReferral.id).where(
        ChannelReferral.enterprise_id == enterprise_id,
        ChannelReferral.source_type == source_type, ChannelReferral.source_id == source_id,
        ChannelReferral.status.in_(("sent", "accepted"))).limit(1)) is not None


def register_handlers(rt: Runtime) -> None:
    """Give the runtime's database its outbox dispatcher (once per database, however
    many entry points ask): every unit of work then delivers what it emitted."""
    db = rt.db
    if db.dispatcher is not None:
        return
    cfg = rt.settings.outbox
    db.dispatcher = Dispatcher(db.sessions, reactions(rt), max_attempts=cfg.max_attempts,
                               backoff_seconds=cfg.backoff_seconds,
                               backoff_max_seconds=cfg.backoff_max_seconds)


def raise_canary_alerts(session: Session, touched: list[CanaryTouched]) -> list[str]:
    """A canary hit becomes a critical monitor alert (the channel may not import the
    monitor, which sits in its row). Returns the ids of the alerts it opened; a hit
    on an already open alert adds evidence to it."""
    from parcelguard.channel.events import canary_alert_fields
    from parcelguard.monitor.model import AlertUpdate
    from parcelguard.monitor.store import apply_updates

    updates = [AlertUpdate(**canary_alert_fields(t)) for t in touched]
    return [r.alert_id for r in apply_updates(session, updates, cap=500)] if updates else []


def refer_conduct_finding(session: Session, rt: Runtime, ev: ConductReferralRequested) -> str:
    """Conduct's referral decision, handed to the channel's consumer."""
    from parcelguard.channel.events import ReferConductFinding
    from parcelguard.channel.referrals import Deps, refer_conduct

    deps = Deps(kms=vault_service(rt.settings).vault.kms, clock=rt.clock,
                settings=rt.settings.channel)
    return refer_conduct(session, deps, ReferConductFinding(
        enterprise_id=ev.enterprise_id, decision_id=ev.decision_id, employee_id=ev.employee_id,
        reason=ev.reason, figures=ev.figures)).id
