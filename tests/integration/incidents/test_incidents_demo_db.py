"""The demo hook on a small simulated world: the injected scenarios become
incidents, reports are filed (some late and escalated), people are notified and a
suspension visibly blocks the next reveal. Counts only, and no PI anywhere."""

from __future__ import annotations

from datetime import timedelta

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.core.clock import ManualClock
from parcelguard.identity import service as identity
from parcelguard.incidents.models import Notice, TimelineEntry
from parcelguard.incidents.notify import LocalSmsNotifier, local_notifiers
from parcelguard.ledger.decode import decode_batch
from parcelguard.ledger.ingest import EventLog
from parcelguard.simulation import demo_incidents as demo
from parcelguard.simulation import loader
from parcelguard.simulation.model import WorldConfig
from parcelguard.simulation.world import build_world
from parcelguard.vault.facade import Vault
from parcelguard.vault.kms import InMemoryKms
from parcelguard.vault.service import VaultService


def test_the_demo_stage_opens_files_notifies_and_blocks(session: Session) -> None:
    w = build_world(WorldConfig(seed=5, parcels=600, enterprises=2, days=2))
    clock = ManualClock(w.config.start)
    identity.initialise(session, clock=clock)
    loader.load_organisations(session, w, clock)
    loader.load_network(session, w, clock)
    vault = VaultService(Vault(InMemoryKms()))
    loader.load_parcels(session, w, vault)
    loader.load_assignments(session, w)
    rejected: list[object] = []
    decoded = decode_batch([(i, msgspec.json.encode(e)) for i, e in enumerate(w.events)],
                           rejected)  # type: ignore[arg-type]
    EventLog(clock_now=clock.now).append(session, decoded)
    notifiers = local_notifiers(vault)
    now = w.config.start + timedelta(days=w.config.days)

    out = demo.run(session, vault, w.scenarios, now, notifiers=notifiers, seed=5,
                   use_alerts=False)

    assert out["incidents"] >= 5
    assert out["source"] == "scenarios"
    general = out["by_grade"]["general"]
    assert general["incidents"] == out["incidents"]  # a small world stays below 1M people
    assert general["reports_on_time"] + general["reports_late"] == 2 * out["incidents"]
    assert general["reports_late"] > 0
    assert out["escalations"] == general["reports_late"]
    assert general["people_notified"] > 0
    assert {a["kind"] for a in out["interventions"]} >= {"suspend_employee"}
    assert out["interventions"][0]["ordered_by"] == "supervision"
    blocked = out["blocked_attempt"]
    assert blocked is not None
    assert blocked["after"] == "suspended"
    assert blocked["blocked"]
    assert out["stale_drill_flags"] == [w.enterprises[0].id]
    lines = demo.summary_lines(out)
    assert any("relatively_major: 0 incidents" in ln for ln in lines)

    sms = notifiers["sms"]
    assert isinstance(sms, LocalSmsNotifier)
    stored = msgspec.json.encode([n.destination for n in session.scalars(select(Notice))]
                                 + [e.detail for e in session.scalars(select(TimelineEntry))]
                                 + [o.destination for o in sms.outbox] + [out])
    for p in w.people:
        assert p.phone.encode() not in stored
        assert p.name.encode() not in stored
