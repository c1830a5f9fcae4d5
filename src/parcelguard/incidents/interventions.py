"""Interventions: cut off a source of harm at once.

| kind               | effect (the moment it is recorded)                              |
|--------------------|-----------------------------------------------------------------|
| suspend_employee   | an ``access.suspensions`` row: the gate refuses with `suspended` |
| revoke_api_key     | ``identity.revoke_api_key``: the key no longer authenticates     |
| block_device       | listed here; ``device_blocked`` is the check for the gate        |
| freeze_partner     | the partner is set inactive (waybill sharing refuses it) and     |
|                    | listed here; ``sharing_frozen`` is the check for the gate        |

The enterprise applies them itself (``interventions:apply``), or the supervision
department orders one (``interventions:order``): it takes effect the same way, and
the enterprise must acknowledge it within ``ack_hours`` or the sweep escalates.

Each is on the incident's timeline and in the enterprise's ledger as an ``access``
event: actor_type ``system``, actor_id the acting ``org:account``, action ``update``
(access rights changed), no fields, record_count 0, purpose ``security``, outcome
``allowed``, channel ``api``. The event carries only the contract (v2 takes no
extension field); what changed is on the intervention row, which names the event
(``ledger_event_id`` when applied, the timeline's entry when lifted), so the ledger
proves when and by whom and the row says what.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.access import suspensions
from parcelguard.access.caller import clean_device
from parcelguard.core.clock import Clock
from parcelguard.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from parcelguard.core.ids import new_id
from parcelguard.identity import read as identity_read
from parcelguard.identity import service as identity
from parcelguard.identity.permissions import Principal
from parcelguard.incidents import timeline as tl
from parcelguard.incidents.deadlines import acknowledgement_due
from parcelguard.incidents.events import InterventionApplied
from parcelguard.incidents.models import Incident, Intervention
from parcelguard.incidents.reports import clear_escalation
from parcelguard.incidents.repository import IncidentRepository
from parcelguard.ledger.ingest import record_events
from parcelguard.waybill import service as waybill_service

KINDS = ("suspend_employee", "revoke_api_key", "block_device", "freeze_partner")


@dataclass
class Applied:
    intervention: Intervention
    events: list[object] = field(default_factory=list)


def _ledger(session: Session, iv: Intervention, *, actor: str, at: datetime) -> str:
    event_id = new_id("ev")
    doc: dict[str, Any] = {
        "event_id": event_id, "kind": "access", "occurred_at": at.isoformat(),
        "enterprise_id": iv.enterprise_id, "actor_type": "system",
        # timeline actors are "org/account"; ids take ':' and at most 64 characters
        "actor_id": actor.replace("/", ":")[:64],
        "station_id": None, "action": "update", "fields": [], "waybill_no": None,
        "record_count": 0, "purpose": "security", "outcome": "allowed", "device_id": None,
        "ip": None, "channel": "api"}
    record_events(session, [doc], clock_now=lambda: at)
    return event_id


def _in_force(session: Session, enterprise_id: str, kind: str,
              target_id: str) -> Intervention | None:
    return session.scalars(select(Intervention).where(
        Intervention.enterprise_id == enterprise_id, Intervention.kind == kind,
        Intervention.target_id == target_id, Intervention.lifted_at.is_(None))).first()


def sharing_frozen(session: Session, enterprise_id: str, partner_id: str) -> bool:
    """For the gate: is sharing with this partner frozen by an intervention?"""
    return _in_force(session, enterprise_id, "freeze_partner", partner_id) is not None


def device_blocked(session: Session, enterprise_id: str, device_id: str) -> bool:
    """For the gate: is this device blocked by an intervention?"""
    return _in_force(session, enterprise_id, "block_device", device_id) is not None


def apply(session: Session, principal: Principal, *, enterprise_id: str, kind: str,
          target_id: str, reason: str, clock: Clock, ack_hours: float,
          incident_id: str | None = None) -> Applied:
    """Apply an intervention now: by the enterprise itself, or ordered by the
    supervision department (then the enterprise must acknowledge it)."""
    if principal.org_kind == "supervisor" and principal.can("interventions:order"):
        ordered = True
    elif principal.org_kind == "enterprise" and principal.can("interventions:apply"):
        if enterprise_id != principal.org_id:
            raise PermissionDenied("an enterprise intervenes only in itself")
        ordered = False
    else:
        raise PermissionDenied(f"role {principal.role} cannot apply or order interventions")
    inc = None
    if incident_id is not None:
        inc = IncidentRepository(session, principal).incident(incident_id)
        if inc.enterprise_id != enterprise_id:
            raise InvalidInput("the incident belongs to another enterprise")
    identity_read.org_of_kind(session, enterprise_id, "enterprise")
    return apply_system(session, enterprise_id=enterprise_id, kind=kind, target_id=target_id,
                        reason=reason, actor=tl.actor_of(principal),
                        actor_org=principal.org_id, ordered=ordered, incident=inc,
                        clock=clock, ack_hours=ack_hours)


def apply_system(session: Session, *, enterprise_id: str, kind: str, target_id: str,
                 reason: str, actor: str, actor_org: str, ordered: bool,
                 incident: Incident | None, clock: Clock, ack_hours: float) -> Applied:
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}")
    text = tl.clean_text(reason, "reason", min_len=3)
    if _in_force(session, enterprise_id, kind, target_id) is not None:
        raise Conflict.of("this measure on %(target)s is already in force",
                          target=target_id)
    now = clock.now()
    iv = Intervention(id=new_id("itv"), enterprise_id=enterprise_id,
                      incident_id=incident.id if incident else None, kind=kind,
                      target_id=target_id, reason=text, ordered_by=actor,
                      ordered_by_org=actor_org, applied_at=now, requires_ack=ordered,
                      ack_due_at=acknowledgement_due(now, ack_hours) if ordered else None,
                      ledger_event_id="")
    if kind == "suspend_employee":
        sus = suspensions.suspend(session, enterprise_id=enterprise_id, employee_id=target_id,
                                  reason=f"intervention {iv.id}: {text}"[:500],
                                  by=actor[:64], clock=clock, held_by=iv.id)
        iv.suspension_id = sus.id
    elif kind == "revoke_api_key":
        key = identity_read.api_key(session, target_id)
        if key is None or key.org_id != enterprise_id:
            raise NotFound.of("API key %(id)s not found", id=target_id)
        if key.revoked:
            raise Conflict.of("API key %(id)s is already revoked", id=target_id)
        # Acting for the enterprise: an ordered revocation binds it like its own.
        identity.revoke_api_key(session, Principal(enterprise_id, "enterprise",
                                                   "enterprise_admin"),
                                key_id=target_id, clock=clock)
    elif kind == "block_device":
        if clean_device(target_id) is None:
            raise InvalidInput("device id: an opaque token of letters, digits and ._:-")
    else:
        was = waybill_service.set_partner_active(session, enterprise_id, target_id, False)
        if was is None:
            raise NotFound.of("partner %(id)s not found", id=target_id)
        iv.partner_was_active = was
    iv.ledger_event_id = _ledger(session, iv, actor=actor, at=now)
    session.add(iv)
    if incident is not None:
        tl.record(session, incident.id, at=now, actor=actor, action="intervention_applied",
                  intervention_id=iv.id, kind=kind, target_id=target_id, ordered=ordered,
                  ledger_event_id=iv.ledger_event_id)
    session.flush()
    return Applied(iv, [InterventionApplied(iv.id, enterprise_id, kind, target_id, actor_org,
                                            iv.incident_id, iv.ledger_event_id)])


def acknowledge(session: Session, principal: Principal, *, intervention_id: str,
                clock: Clock) -> Intervention:
    """The enterprise confirms an intervention the supervision department ordered."""
    principal.require("interventions:apply")
    iv = IncidentRepository(session, principal).intervention(intervention_id)
    if iv.enterprise_id != principal.org_id:
        raise PermissionDenied("the enterprise concerned acknowledges")
    if not iv.requires_ack:
        raise Conflict("this intervention was applied by the enterprise itself")
    if iv.acknowledged_at is not None:
        raise Conflict("already acknowledged")
    now = clock.now()
    iv.acknowledged_at, iv.acknowledged_by = now, tl.actor_of(principal)
    clear_escalation(session, iv.id, now)
    if iv.incident_id is not None:
        tl.record(session, iv.incident_id, at=now, actor=iv.acknowledged_by,
                  action="intervention_acknowledged", intervention_id=iv.id)
    session.flush()
    return iv


def lift(session: Session, principal: Principal, *, intervention_id: str,
         clock: Clock) -> Intervention:
    """End an intervention: whoever ordered it lifts it (an ordered one only the
    supervision department). A revoked API key stays revoked; issue a new one."""
    iv = IncidentRepository(session, principal).intervention(intervention_id)
    if iv.ordered_by_org != principal.org_id or not (
            principal.can("interventions:order") or principal.can("interventions:apply")):
        raise PermissionDenied("an intervention is lifted by the organisation that applied it")
    if iv.lifted_at is not None:
        raise Conflict("already lifted")
    if iv.kind == "revoke_api_key":
        raise Conflict("a revoked API key cannot be restored; issue a new key")
    now, actor = clock.now(), tl.actor_of(principal)
    if iv.kind == "suspend_employee" and iv.suspension_id is not None:
        # Lifted at the gate already (Conflict): the intervention still ends here.
        with suppress(Conflict):
            suspensions.lift(session, enterprise_id=iv.enterprise_id,
                             suspension_id=iv.suspension_id, by=actor[:64], clock=clock)
    elif iv.kind == "freeze_partner" and iv.partner_was_active is not None:
        waybill_service.set_partner_active(session, iv.enterprise_id, iv.target_id,
                                           iv.partner_was_active)
    iv.lifted_at, iv.lifted_by = now, actor
    event_id = _ledger(session, iv, actor=actor, at=now)
    if iv.incident_id is not None:
        tl.record(session, iv.incident_id, at=now, actor=actor, action="intervention_lifted",
                  intervention_id=iv.id, ledger_event_id=event_id)
    session.flush()
    return iv
