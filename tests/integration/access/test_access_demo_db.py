"""The demo hook on a small simulated world, on real SQLite and PostgreSQL: every
attempt it drives is one access event, allowed and denied alike, with no PI."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parcelguard.core.clock import ManualClock
from parcelguard.identity import service as identity
from parcelguard.ledger.models import LedgerEvent
from parcelguard.simulation import loader
from parcelguard.simulation.demo_access import exercise_gate
from parcelguard.simulation.model import WorldConfig
from parcelguard.simulation.world import build_world
from parcelguard.vault.facade import Vault
from parcelguard.vault.kms import InMemoryKms
from parcelguard.vault.service import VaultService


def test_the_demo_mix_is_counted_and_ledgered(session: Session) -> None:
    w = build_world(WorldConfig(seed=3, parcels=400, enterprises=1, days=2))
    clock = ManualClock(w.config.start)
    identity.initialise(session, clock=clock)
    loader.load_organisations(session, w, clock)
    loader.load_network(session, w, clock)
    vault = VaultService(Vault(InMemoryKms()))
    loader.load_parcels(session, w, vault)
    loader.load_assignments(session, w)
    now = w.config.start + timedelta(days=w.config.days)

    out = exercise_gate(session, vault, now, sample=80)

    assert out["allowed"] > 0
    assert out["denied"] > 0
    assert out["attempts"] == out["allowed"] + out["denied"]
    for reason in ("no_assignment", "assignment_expired", "employee_left", "suspended",
                   "justification_missing"):
        assert out["denied_by_reason"].get(reason, 0) > 0, reason
    assert out["break_glass_flagged"] == 1
    events = session.scalar(select(func.count()).select_from(LedgerEvent)
                            .where(LedgerEvent.kind == "access"))
    assert events == out["attempts"]
    # No person's name, phone or ID number in any leaf the gate wrote.
    leaves = b"\n".join(session.scalars(select(LedgerEvent.leaf)))
    for p in w.people[:2000]:
        assert p.phone.encode() not in leaves
        assert p.id_number.encode() not in leaves
        assert p.name.encode() not in leaves
