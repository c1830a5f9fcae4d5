"""Exports run through the gate name the waybills they returned, so the criminal
count de-duplicates them with each other and with reveals (issue 15: repeated
exports were summed, 36,057 "records" from a carrier holding 4,890 parcels)."""

from __future__ import annotations

from datetime import timedelta

from access_world import ENT, T0, World

from parcelguard.incidents import service as incidents
from parcelguard.incidents.settings import IncidentSettings

SCOPE = {"station_id": "st-1", "created_from": (T0 - timedelta(days=1)).isoformat(),
         "created_to": (T0 + timedelta(days=1)).isoformat()}


def _export(world: World) -> str:
    gate, cs = world.gate(), world.caller("cs")
    req = gate.request_export(cs, purpose="complaint_handling",
                              fields=["recipient_name", "recipient_phone"], scope=SCOPE)
    run = gate.run_export(cs, request_id=req.request_id or "")
    assert run.allowed
    assert run.event_id is not None
    return run.event_id


def test_the_same_records_exported_three_times_count_once(world: World) -> None:
    ids = [_export(world) for _ in range(3)]  # the two parcels of st-1, three times
    world.assign("cs", "p1", "customer_service")
    reveal = world.gate().reveal(world.caller("cs"), waybill_no=world.waybills["p1"],
                                 purpose="customer_service", fields=["recipient_phone"])
    assert reveal.allowed
    opened = incidents.open_incident(world.session, incidents.OpenRequest(
        enterprise_id=ENT, title="repeated exports", category="insider_abuse",
        source="manual", detected_at=world.clock.now(),
        evidence_event_ids=[*ids, reveal.event_id or ""]), actor="test",
        settings=IncidentSettings())
    inc = opened.incident
    assert inc.records_by_category == {"other": 2}  # not 3 x 2 + 1
    assert inc.records_affected == 2
    assert inc.unattributed_records == 0
    assert inc.people_affected == 2  # bob and dan, the recipients
    assert inc.insider
