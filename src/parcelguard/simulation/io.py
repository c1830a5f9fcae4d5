"""The two writers: the event stream as JSONL and the ground truth as JSON."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from parcelguard.simulation.model import World

_CHUNK = 10_000  # lines per write: few syscalls without holding the file in memory


def write_events_jsonl(events: Iterable[dict[str, Any]], path: Path) -> int:
    """Write one compact JSON object per line; returns the number of events."""
    count = 0
    dumps = orjson.dumps
    with path.open("wb") as fh:
        buf: list[bytes] = []
        for ev in events:
            buf.append(dumps(ev))
            count += 1
            if len(buf) >= _CHUNK:
                fh.write(b"\n".join(buf) + b"\n")
                buf.clear()
        if buf:
            fh.write(b"\n".join(buf) + b"\n")
    return count


def write_ground_truth(world: World, path: Path) -> None:
    """The scenarios with their exact event ids, timestamps in RFC 3339."""
    doc = {
        "seed": world.config.seed,
        "scenarios": [
            {
                "scenario": s.scenario,
                "enterprise_id": s.enterprise_id,
                "actors": s.actors,
                "event_ids": s.event_ids,
                "start": s.start.isoformat(),
                "end": s.end.isoformat(),
            }
            for s in world.scenarios
        ],
    }
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
