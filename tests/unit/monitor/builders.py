"""Synthetic events for monitor tests (pseudonymous ids only, no PI)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import msgspec

from parcelguard.monitor.alerts import Alert, AlertBook
from parcelguard.monitor.engine import Pipeline
from parcelguard.monitor.model import Ev, decoder, epoch_us
from parcelguard.monitor.settings import MonitorSettings

CST = timezone(timedelta(hours=8))
DAY0 = datetime(2026, 11, 9, tzinfo=CST)


class Stream:
    """Builds a time-ordered stream with numbered event ids."""

    def __init__(self, enterprise: str = "ent-01") -> None:
        self.ent = enterprise
        self.docs: list[dict[str, Any]] = []

    def _add(self, at: datetime, kind: str, **fields: Any) -> str:
        eid = f"ev-{len(self.docs) + 1:06d}"
        self.docs.append({"event_id": eid, "kind": kind,
                          "occurred_at": at.isoformat(timespec="seconds"),
                          "enterprise_id": self.ent, **fields})
        return eid

    def hire(self, at: datetime, emp: str, *, role: str = "courier", station: str = "st-1",
             check: str = "passed", shift: tuple[str, str] = ("08:00", "20:00")) -> None:
        self._add(at, "employee", employee_id=emp, change="hired", role=role,
                  station_id=station,
                  shift={"start": shift[0], "end": shift[1], "tz": "Asia/Shanghai"})
        self._add(at, "employee", employee_id=emp, change="background_check",
                  background_check=check)

    def left(self, at: datetime, emp: str) -> None:
        self._add(at, "employee", employee_id=emp, change="left")

    def parcel(self, at: datetime, wb: str, step: str, station: str | None = "st-1",
               **fields: Any) -> str:
        return self._add(at, "parcel", waybill_no=wb, step=step, station_id=station, **fields)

    def assign(self, at: datetime, wb: str, emp: str, *, station: str | None = "st-1",
               hours: int | None = 8, purpose: str | None = "delivery") -> str:
        until = None if hours is None else (at + timedelta(hours=hours)).isoformat(
            timespec="seconds")
        return self.parcel(at, wb, "assigned", station, assignee_id=emp,
                           assignment_purpose=purpose, assignment_until=until)

    def access(self, at: datetime, actor: str, action: str = "reveal", *,
               wb: str | None = None, actor_type: str = "employee",
               station: str | None = "st-1",
               outcome: str = "allowed", records: int = 1, device: str | None = "pda-1",
               ip: str | None = "100.64.0.1", channel: str = "pda",
               purpose: str = "delivery") -> str:
        fields = [] if action in ("login", "login_failed", "search") else ["recipient_phone"]
        return self._add(at, "access", actor_type=actor_type, actor_id=actor,
                         station_id=station, action=action, fields=fields, waybill_no=wb,
                         record_count=records, purpose=purpose, outcome=outcome,
                         device_id=device, ip=ip, channel=channel)

    def events(self) -> tuple[list[Ev], list[int]]:
        evs = [decoder.decode(msgspec.json.encode(d)) for d in self.docs]
        return evs, [epoch_us(e.occurred_at) for e in evs]


def run(stream: Stream, settings: MonitorSettings | None = None) -> list[Alert]:
    settings = settings or MonitorSettings()
    evs, ts = stream.events()
    pipe = Pipeline(settings)
    book = AlertBook(settings.evidence_cap)
    book.apply(pipe.feed(evs, ts))
    return book.sorted()


def by_detector(alerts: list[Alert]) -> dict[str, list[Alert]]:
    out: dict[str, list[Alert]] = {}
    for a in alerts:
        out.setdefault(a.detector, []).append(a)
    return out
