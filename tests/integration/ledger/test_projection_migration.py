"""Migration 0014 builds the parcel projection from the parcel events already
stored (an existing installation keeps its parcels' states), and goes back down."""

from __future__ import annotations

from pathlib import Path

import msgspec
from alembic import command
from sqlalchemy import text

from parcelguard.core.db import create_db_engine, migrations_config


def _leaf(event_id: str, at: str, step: str) -> bytes:
    return msgspec.json.encode({"enterprise_id": "ent-a", "event_id": event_id, "kind": "parcel",
                                "occurred_at": at, "step": step, "waybill_no": "SF1"},
                               order="sorted")


def test_upgrade_projects_the_stored_parcel_events(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = migrations_config(engine)
    command.upgrade(cfg, "0013")
    # Stored out of event-time order, as a carrier may have sent them.
    events = [("e3", "2025-11-11T12:00:00+00:00", "delivered", 1_762_862_400_000_000),
              ("e1", "2025-11-11T08:00:00+00:00", "picked_up", 1_762_848_000_000_000),
              ("e2", "2025-11-11T10:00:00+00:00", "arrived", 1_762_855_200_000_000)]
    with engine.begin() as conn:
        for seq, (eid, at, step, us) in enumerate(events):
            conn.execute(text(
                "INSERT INTO ledger_events (enterprise_id, seq, event_id, kind, occurred_at_us, "
                "waybill_no, leaf) VALUES ('ent-a', :seq, :eid, 'parcel', :us, 'SF1', :leaf)"),
                {"seq": seq, "eid": eid, "us": us, "leaf": _leaf(eid, at, step)})
    command.upgrade(cfg, "heads")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT waybill_no, status, step_at_us FROM parcel_states"
                                 )).all() == [("SF1", "delivered", 1_762_862_400_000_000)]
    command.downgrade(cfg, "0013")
    with engine.connect() as conn:
        tables = {r[0] for r in conn.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'table'"))}
        assert "parcel_states" not in tables
    engine.dispose()
