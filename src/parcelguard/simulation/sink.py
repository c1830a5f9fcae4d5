"""Collects events in generation order and finalises them into the contract shape.

Generators run per parcel, per employee and per scenario, so events arrive out of
time order. The sink keeps (time, dict) pairs, then sorts once (stable, so events in
the same second keep their causal generation order: an assignment before the reveal
it allows), numbers them per enterprise and fills in ``occurred_at``.

Events outside the window are never built: parcels created during warm-up still
live their whole life, but only the part inside the window becomes events.
"""

from __future__ import annotations

from typing import Any

from parcelguard.simulation.timeline import Timeline

Event = dict[str, Any]


class EventSink:
    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self.w0 = timeline.w0
        self.w1 = timeline.w1
        self.times: list[int] = []
        self.events: list[Event] = []

    def inside(self, t: int) -> bool:
        return self.w0 <= t < self.w1

    def access(
        self,
        t: int,
        enterprise_id: str,
        actor_type: str,
        actor_id: str,
        action: str,
        *,
        station_id: str | None,
        fields: list[str],
        waybill_no: str | None,
        record_count: int,
        purpose: str,
        outcome: str,
        device_id: str | None,
        ip: str | None,
        channel: str,
    ) -> Event | None:
        if not self.w0 <= t < self.w1:
            return None
        ev: Event = {
            "event_id": "",
            "kind": "access",
            "occurred_at": "",
            "enterprise_id": enterprise_id,
            "actor_type": actor_type,
            "actor_id": actor_id,
            "station_id": station_id,
            "action": action,
            "fields": fields,
            "waybill_no": waybill_no,
            "record_count": record_count,
            "purpose": purpose,
            "outcome": outcome,
            "device_id": device_id,
            "ip": ip,
            "channel": channel,
        }
        self.times.append(t)
        self.events.append(ev)
        return ev

    def parcel(
        self,
        t: int,
        enterprise_id: str,
        waybill_no: str,
        step: str,
        *,
        station_id: str | None,
        destination_region: str,
    ) -> Event | None:
        if not self.w0 <= t < self.w1:
            return None
        ev: Event = {
            "event_id": "",
            "kind": "parcel",
            "occurred_at": "",
            "enterprise_id": enterprise_id,
            "waybill_no": waybill_no,
            "step": step,
            "station_id": station_id,
            "destination_region": destination_region,
        }
        self.times.append(t)
        self.events.append(ev)
        return ev

    def assigned(
        self,
        t: int,
        enterprise_id: str,
        waybill_no: str,
        *,
        station_id: str,
        destination_region: str,
        assignee_id: str,
        purpose: str,
        until: int,
    ) -> Event | None:
        if not self.w0 <= t < self.w1:
            return None
        ev: Event = {
            "event_id": "",
            "kind": "parcel",
            "occurred_at": "",
            "enterprise_id": enterprise_id,
            "waybill_no": waybill_no,
            "step": "assigned",
            "station_id": station_id,
            "destination_region": destination_region,
            "assignee_id": assignee_id,
            "assignment_purpose": purpose,
            "assignment_until": self.timeline.fmt(until),
        }
        self.times.append(t)
        self.events.append(ev)
        return ev

    def employee(self, t: int, enterprise_id: str, employee_id: str, change: str,
                 **extra: Any) -> Event | None:
        if not self.w0 <= t < self.w1:
            return None
        ev: Event = {
            "event_id": "",
            "kind": "employee",
            "occurred_at": "",
            "enterprise_id": enterprise_id,
            "employee_id": employee_id,
            "change": change,
            **extra,
        }
        self.times.append(t)
        self.events.append(ev)
        return ev

    def finalize(self, enterprise_numbers: dict[str, int]) -> list[Event]:
        """Sort by time, assign ``ev-<enterprise no>-<hex counter>`` ids in stream
        order (so ids are unique per enterprise and across the world) and format
        timestamps. Returns the sorted list; the dicts are the same objects the
        scenarios hold, so their ids become readable after this call."""
        times = self.times
        events = self.events
        order = sorted(range(len(times)), key=times.__getitem__)
        counters = dict.fromkeys(enterprise_numbers, 0)
        prefixes = {e: f"ev-{n:02d}-" for e, n in enterprise_numbers.items()}
        fmt = self.timeline.fmt
        out: list[Event] = []
        append = out.append
        last_t, last_s = None, ""
        for i in order:
            ev = events[i]
            ent = ev["enterprise_id"]
            n = counters[ent] + 1
            counters[ent] = n
            ev["event_id"] = f"{prefixes[ent]}{n:08x}"
            t = times[i]
            if t != last_t:  # sorted input: most neighbours share a second
                last_t, last_s = t, fmt(t)
            ev["occurred_at"] = last_s
            append(ev)
        return out
