"""What the simulation tests share besides the fixture: the small world's config and
the event contract. (A uniquely named module, because ``conftest`` is ambiguous
when several test directories are not packages.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from parcelguard.simulation.model import WorldConfig

SMALL = WorldConfig(seed=11, enterprises=2, parcels=3_000, days=2)


def event_schema() -> dict[str, Any]:
    # The contract lives beside the repository (shared/), never copied into it.
    path = Path(__file__).parents[3].parent / "shared/contracts/event.schema.json"
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema
