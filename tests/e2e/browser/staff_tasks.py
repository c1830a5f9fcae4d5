"""What the staff task walks set up through the services themselves: the page's
language code, an access of the demo courier's recorded in the carrier's log, and
an incident opened on it."""

from __future__ import annotations

from parcelguard.access.caller import caller_for_employee
from parcelguard.access.service import AccessGate
from parcelguard.incidents import service
from parcelguard.incidents.settings import IncidentSettings
from parcelguard.vault.provider import vault_service
from tests.e2e.browser.conftest import World


def lang_of(locale: str) -> str:
    return "zh-CN" if locale == "zh-CN" else "en"


def reveal(world: World, waybill: str) -> str:
    """A recorded access of the demo courier's (an event in the carrier's log)."""
    rt = world.rt
    with rt.db.unit_of_work() as uow:
        event = AccessGate(uow.session, vault_service(rt.settings), rt.clock).reveal(
            caller_for_employee(world.prov.enterprise_id, world.prov.courier_employee_id,
                                "courier"),
            waybill_no=waybill, purpose="delivery", fields=["recipient_phone"]).event_id
        uow.commit()
    return str(event)


def open_incident(world: World, title: str, evidence: list[str] | None = None) -> str:
    """An insider-abuse incident the officer opened by hand, on ``evidence`` (by
    default one reveal of the courier's first assigned waybill)."""
    rt = world.rt
    evidence = evidence if evidence is not None else [reveal(world, world.prov.assigned[0])]
    with rt.db.unit_of_work() as uow:
        opened = service.open_incident(uow.session, service.OpenRequest(
            enterprise_id=world.prov.enterprise_id, title=title, category="insider_abuse",
            source="manual", detected_at=rt.clock.now(), evidence_event_ids=evidence),
            actor="system:browser-test", settings=rt.settings.section(IncidentSettings))
        uow.commit()
        return str(opened.incident.id)
