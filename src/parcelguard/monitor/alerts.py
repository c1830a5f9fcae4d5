"""Folding detector updates into alerts: one open alert per (enterprise, detector,
subject), its evidence accumulating; the contract shape (alert.schema.json)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from parcelguard.monitor.model import AlertUpdate, rfc3339

# score bands; a detector's base score puts it in its usual band
SEVERITY_BANDS = ((0.9, "critical"), (0.7, "high"), (0.45, "medium"))


def severity(score: float) -> str:
    for floor, name in SEVERITY_BANDS:
        if score >= floor:
            return name
    return "low"


def alert_id(u: AlertUpdate) -> str:
    """Deterministic: a rerun, a restart after a crash and the Spark runner all name
    the same alert the same way."""
    key = f"{u.enterprise_id}|{u.detector}|{u.subject_id}|{u.t_us}|{u.event_ids[0]}"
    return "alr-" + hashlib.sha256(key.encode()).hexdigest()[:24]


@dataclass
class Alert:
    alert_id: str
    detector: str
    enterprise_id: str
    subject_type: str
    subject_id: str
    score: float
    raised_us: int
    first_us: int
    last_us: int
    summary: str
    event_ids: list[str] = field(default_factory=list)
    record_count: int = 0
    status: str = "open"
    # event_ids as a set, built once per loaded alert: an alert gathering evidence gets
    # an update per event, and a set rebuilt per update cost its evidence's length
    _have: set[str] | None = field(default=None, repr=False, compare=False)

    @property
    def severity(self) -> str:
        return severity(self.score)

    def add(self, u: AlertUpdate, cap: int) -> None:
        """Merge one update's evidence (ids past ``cap`` are counted, not kept)."""
        have = None
        if len(self.event_ids) < cap:
            have = self._have
            if have is None:
                have = self._have = set(self.event_ids)
        for eid in u.event_ids:
            if have is not None:
                if eid in have:
                    continue
                if len(self.event_ids) < cap:
                    self.event_ids.append(eid)
                    have.add(eid)
            self.record_count += 1
        self.first_us = min(self.first_us, u.first_us)
        self.last_us = max(self.last_us, u.t_us)
        if u.score > self.score:
            self.score = u.score
            if u.summary:
                self.summary = u.summary

    def as_contract(self, offset_hours: int) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id, "detector": self.detector,
            "enterprise_id": self.enterprise_id, "subject_type": self.subject_type,
            "subject_id": self.subject_id, "severity": self.severity,
            "score": round(self.score, 3),
            "raised_at": rfc3339(self.raised_us, offset_hours),
            "first_event_at": rfc3339(self.first_us, offset_hours),
            "last_event_at": rfc3339(self.last_us, offset_hours),
            "event_ids": list(self.event_ids), "record_count": self.record_count,
            "summary": self.summary,
        }


def new_alert(u: AlertUpdate, cap: int) -> Alert:
    a = Alert(alert_id=alert_id(u), detector=u.detector, enterprise_id=u.enterprise_id,
              subject_type=u.subject_type, subject_id=u.subject_id, score=u.score,
              raised_us=u.t_us, first_us=u.first_us, last_us=u.t_us,
              summary=u.summary or f"{u.detector} on {u.subject_id}")
    a.add(u, cap)
    return a


class AlertBook:
    """In-memory fold (replay, tests, the Spark runner's output)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.open: dict[tuple[str, str, str], Alert] = {}
        self.alerts: list[Alert] = []

    def apply(self, updates: Iterable[AlertUpdate]) -> list[Alert]:
        """Fold updates in; returns the alerts opened by them."""
        opened = []
        for u in updates:
            key = (u.enterprise_id, u.detector, u.subject_id)
            a = self.open.get(key)
            if a is None:
                a = self.open[key] = new_alert(u, self.cap)
                self.alerts.append(a)
                opened.append(a)
            else:
                a.add(u, self.cap)
        return opened

    def sorted(self) -> list[Alert]:
        return sorted(self.alerts, key=lambda a: (a.raised_us, a.alert_id))
