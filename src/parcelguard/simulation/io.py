"""The two writers: the event stream as JSONL and the ground truth as JSON."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from parcelguard.simulation.model import World

_CHUNK = 10_000  # lines per write: few syscalls without holding the file in memory


def write_events_jsonl(events: Iterable[dict[str, Any]], path: Path) -> int:
    """Write one compact JSON object per line; returns the number of events."""
    count = 0
    dumps = msgspec.json.Encoder().encode
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


def actor_starts(world: World) -> list[dict[str, str]]:
    """Per scenario, each actor's first malicious event time: time to detect is
    measured per abuser from there (an accomplice who starts a day later is not
    'detected' by an alert about the first one)."""
    where = {eid: i for i, s in enumerate(world.scenarios) for eid in s.event_ids}
    starts: list[dict[str, tuple[datetime, str]]] = [{} for _ in world.scenarios]
    for ev in world.events:
        i = where.get(ev["event_id"])
        if i is None:
            continue
        who = ev.get("actor_id") or ev.get("employee_id")
        if who not in world.scenarios[i].actors:
            continue
        at = datetime.fromisoformat(ev["occurred_at"])
        if who not in starts[i] or at < starts[i][who][0]:
            starts[i][who] = (at, ev["occurred_at"])
    return [{who: text for who, (_, text) in sorted(by.items())} for by in starts]


def write_ground_truth(world: World, path: Path) -> None:
    """The scenarios with their exact event ids, timestamps in RFC 3339."""
    starts = actor_starts(world)
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
                "actor_starts": starts[i],
            }
            for i, s in enumerate(world.scenarios)
        ],
    }
    path.write_bytes(msgspec.json.format(msgspec.json.encode(doc), indent=2) + b"\n")
