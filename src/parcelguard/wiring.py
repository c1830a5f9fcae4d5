"""The one place that chooses implementations for external systems (KMS, and
later telephony, notifiers) and registers cross-domain event handlers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from parcelguard.channel.repository import CIPHERTEXT_COLUMNS as CHANNEL_CIPHERTEXT_COLUMNS
from parcelguard.core.bus import MessageBus
from parcelguard.core.errors import Refused
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


# -- event handlers: the cross-domain flow, readable in one place --------------------


@dataclass(frozen=True)
class _AuditFinding:
    """An audit finding as the incidents domain reads findings."""

    enterprise_id: str
    finding_id: str
    summary: str
    event_ids: tuple[str, ...]
    detected_at: datetime


def register_handlers(rt: Runtime) -> None:
    """Subscribe each domain's reactions to the others' events on ``rt.db.bus``.

    - a monitor alert opens (or joins) an incident, by the rules in settings;
    - a witness tamper finding becomes a ``ledger_tamper`` alert (and so an incident);
    - an incident over the criminal thresholds is referred to the police channel;
    - an audit finding that calls for it opens an incident.
    """
    from parcelguard.audit.events import AuditFindingRaised
    from parcelguard.incidents import handlers as incident_handlers
    from parcelguard.incidents.events import ProposePoliceReferral
    from parcelguard.monitor.events import AlertRaised
    from parcelguard.monitor.service import ledger_tamper_handler
    from parcelguard.supervision.events import LedgerTamperDetected

    db = rt.db
    bus = db.bus
    if bus.wired:  # once per database, however many entry points ask
        return
    bus.wired = True
    settings = rt.settings.incidents
    bus.register(AlertRaised, incident_handlers.alert_handler(
        db.unit_of_work, settings, publish=bus.publish))
    bus.register(LedgerTamperDetected, ledger_tamper_handler(db, publish=bus.publish))
    on_audit = incident_handlers.finding_handler(db.unit_of_work, settings, source="audit",
                                                 publish=bus.publish)

    def audit_finding(event: object) -> None:
        assert isinstance(event, AuditFindingRaised)
        on_audit(_AuditFinding(enterprise_id=event.enterprise_id, finding_id=event.finding_id,
                               summary=event.summary, event_ids=(),
                               detected_at=rt.clock.now()))

    bus.register(AuditFindingRaised, audit_finding)
    _register_channel(rt, bus, ProposePoliceReferral)


def _register_channel(rt: Runtime, bus: MessageBus, proposal: type) -> None:
    """The social-supervision reactions: an incident's police-referral proposal and
    conduct's referral decision become channel referrals with evidence packages; a
    canary hit becomes a critical alert and a conduct signal; a monitor alert about an
    employee is a conduct signal (a sign of leakage for the evaluation rules)."""
    from parcelguard.channel.events import CanaryTouched, ReferIncident
    from parcelguard.channel.referrals import Deps, refer_incident
    from parcelguard.conduct.events import ConductReferralRequested
    from parcelguard.conduct.service import note_signal
    from parcelguard.incidents.events import ProposePoliceReferral
    from parcelguard.monitor.events import AlertRaised

    db = rt.db

    def deps() -> Deps:
        return Deps(kms=vault_service(rt.settings).vault.kms, clock=rt.clock,
                    settings=rt.settings.channel)

    def on_proposal(event: object) -> None:
        assert isinstance(event, ProposePoliceReferral)
        with db.unit_of_work() as uow:
            refer_incident(uow.session, deps(), ReferIncident(
                enterprise_id=event.enterprise_id, incident_id=event.incident_id,
                reason=event.basis, event_ids=event.evidence_event_ids,
                waybills=event.waybills, actor_ids=event.actor_ids,
                record_counts=dict(event.records), insider=event.insider))
            uow.commit()

    def on_conduct_referral(event: object) -> None:
        assert isinstance(event, ConductReferralRequested)
        with db.unit_of_work() as uow:
            refer_conduct_finding(uow.session, rt, event)
            uow.commit()

    def on_canary(event: object) -> None:
        assert isinstance(event, CanaryTouched)
        with db.unit_of_work() as uow:
            raise_canary_alerts(uow.session, [event])
            if event.actor_type == "employee" and event.actor_id:
                note_signal(uow.session, enterprise_id=event.enterprise_id,
                            employee_id=event.actor_id, source="canary",
                            ref=event.canary_id, severity="critical", at=event.at)
            uow.commit()

    def on_alert(event: object) -> None:
        assert isinstance(event, AlertRaised)
        if event.subject_type != "employee":
            return
        with db.unit_of_work() as uow:
            note_signal(uow.session, enterprise_id=event.enterprise_id,
                        employee_id=event.subject_id, source="monitor_alert",
                        ref=event.alert_id, severity=event.severity, at=event.raised_at)
            uow.commit()

    bus.register(proposal, on_proposal)
    bus.register(ConductReferralRequested, on_conduct_referral)
    bus.register(CanaryTouched, on_canary)
    bus.register(AlertRaised, on_alert)


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
