"""incidents: plans, drills, incidents, statutory reports, notices, interventions
(core/plugin.py). It owns the reactions that open incidents from alerts and that hand
a proposed police referral to the channel (both packages sit below it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parcelguard.core.lazy_cli import Lazy
from parcelguard.core.plugin import Plugin

if TYPE_CHECKING:
    import typer
    from fastapi import FastAPI

    from parcelguard.core.outbox import Reaction
    from parcelguard.core.runtime import Runtime


def incidents_app() -> typer.Typer:
    from parcelguard.incidents import cli
    from parcelguard.incidents.notify import local_notifiers, sms_spool
    from parcelguard.vault.provider import vault_service

    # The local notifiers record what they would send, masked.
    return cli.build_app(notifiers_for=lambda settings: local_notifiers(
        vault_service(settings), spool=sms_spool(settings.home)))


def mount(app: FastAPI) -> None:
    from parcelguard.incidents.notify import local_notifiers, sms_spool

    # The local notifiers record what they would send (masked); a deployment with an
    # SMS gateway chooses its own here. The portals' consumer proof sends through them.
    app.state.notifiers = local_notifiers(
        app.state.vault, spool=sms_spool(app.state.runtime.settings.home))


def reactions(rt: Runtime) -> tuple[Reaction, ...]:
    from sqlalchemy.orm import Session

    from parcelguard.channel.events import ReferIncident
    from parcelguard.channel.referrals import Deps, already_referred, refer_incident
    from parcelguard.channel.settings import ChannelSettings
    from parcelguard.core.outbox import Reaction
    from parcelguard.incidents import handlers
    from parcelguard.incidents.events import ProposePoliceReferral
    from parcelguard.incidents.settings import IncidentSettings
    from parcelguard.monitor.events import AlertRaised
    from parcelguard.vault.provider import vault_service

    def alert_incident(s: Session, ev: AlertRaised) -> None:
        role = rt.settings.node_role
        if role == "supervision":
            # a log the department watches failed its mirror or witness: its own case
            handlers.open_case_for_alert(s, ev, settings=rt.settings.section(IncidentSettings))
        elif role in ("auditor", "police"):
            # the witness's finding is reported onward to the department (node/relay.py);
            # the enterprise's incident is the enterprise's, on its own node
            return
        else:
            handlers.open_for_alert(s, ev, settings=rt.settings.section(IncidentSettings))

    def incident_referral(s: Session, ev: ProposePoliceReferral) -> None:
        if already_referred(s, ev.enterprise_id, "incident", ev.incident_id):
            return
        refer_incident(s, Deps(kms=vault_service(rt.settings).vault.kms, clock=rt.clock,
                               settings=rt.settings.section(ChannelSettings)), ReferIncident(
            enterprise_id=ev.enterprise_id, incident_id=ev.incident_id, reason=ev.basis,
            event_ids=ev.evidence_event_ids, waybills=ev.waybills, actor_ids=ev.actor_ids,
            record_counts=dict(ev.records), insider=ev.insider))

    return (
        Reaction(AlertRaised, "incidents.open_from_alert", alert_incident,
                 "opens or joins an incident (rule: IncidentSettings)"),
        Reaction(ProposePoliceReferral, "channel.refer_incident", incident_referral,
                 "a police referral with its evidence package"),
    )


PLUGIN = Plugin(
    "incidents",
    commands={"incidents": Lazy("parcelguard.incidents.plugin:incidents_app", "Incidents and "
                                "emergency response: plans, drills, incidents, reports, inbox, "
                                "notices, interventions (docs/incidents.md).")},
    api="parcelguard.incidents.plugin:mount",
    routers=("parcelguard.incidents.router:router",),
    reactions="parcelguard.incidents.plugin:reactions",
    models=("parcelguard.incidents.models",),
    settings={"incidents": "parcelguard.incidents.settings:IncidentSettings"})
