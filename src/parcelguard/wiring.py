"""The one place that chooses implementations for external systems (KMS, and
later telephony, notifiers) and registers cross-domain event handlers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from parcelguard.core.bus import MessageBus
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.vault.facade import Vault
from parcelguard.vault.kms import LocalFileKms
from parcelguard.vault.rotation import CiphertextColumn
from parcelguard.vault.service import VaultService
from parcelguard.waybill.telephony import LocalTelephony, Telephony

# Every place PI ciphertexts live, for re-encrypting rotations. A new table holding
# vault ciphertexts must be added here, or a re-encrypting rotation would strand it.
CIPHERTEXT_COLUMNS = tuple(
    CiphertextColumn(table="parcels", field=f"{party}_{name}",
                     subject_column=f"{party}_subject_id", ct_column=f"{party}_{name}_ct")
    for party, names in (("sender", ("name", "phone", "address", "id_number")),
                         ("recipient", ("name", "phone", "address")))
    for name in names)

_VAULTS: dict[str, VaultService] = {}


def vault_service(settings: Settings) -> VaultService:
    """The process's vault for these settings: the local key-file KMS by default.
    A deployment with a real KMS replaces ``LocalFileKms`` here and nowhere else."""
    path = settings.master_key_path
    key = str(path.resolve())
    if key not in _VAULTS:
        _VAULTS[key] = VaultService(Vault(LocalFileKms(path)))
    return _VAULTS[key]


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
    """An incident's police-referral proposal becomes the channel's referral."""
    from parcelguard.channel.events import ReferIncident

    def refer(event: object) -> None:
        p = event
        bus.publish([ReferIncident(
            enterprise_id=p.enterprise_id, incident_id=p.incident_id,  # type: ignore[attr-defined]
            reason=p.basis, event_ids=p.evidence_event_ids,  # type: ignore[attr-defined]
            waybills=p.waybills)])  # type: ignore[attr-defined]

    bus.register(proposal, refer)
