"""Scoring alerts against the simulator's ground truth (ground_truth.json).

- An alert *matches* a scenario of its enterprise when its evidence shares an event
  with the scenario, or when it is about one of the scenario's actors and was raised
  while the scenario ran (raised at or after its first malicious event, on evidence
  that began before its last).
- Recall is subject-level: every (scenario, actor) pair must be matched by an alert
  about that actor. Credential stuffing names the *targeted* accounts as actors; the
  subject there is the attacking source, so the scenario counts once, matched by
  evidence.
- Precision: the share of alerts that match some scenario.
- Time to detect: per abuser (the units recall counts), from that abuser's first
  malicious event (``actor_starts`` in the ground truth; the scenario's first event
  when a truth file lacks it, which can only make it longer) to the raised_at of the
  first matching alert about them (event time); for credential stuffing, from the
  scenario's first event to its first matching alert. The median is over abusers.
  Measured from the first abusive act, not from the event that crossed a threshold:
  what the supervision department wants to know is how long someone abused access
  before anyone was told.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from parcelguard.monitor.model import epoch_us

SOURCE_SCENARIOS = frozenset({"credential_stuffing"})


@dataclass
class Evaluation:
    recall: float
    precision: float
    mttd_minutes: float | None
    units: int
    detected_units: int
    alerts: int
    true_alerts: int
    missed: list[str] = field(default_factory=list)
    false_alerts: dict[str, int] = field(default_factory=dict)
    ttd_minutes: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"recall": round(self.recall, 4), "precision": round(self.precision, 4),
                "median_time_to_detect_minutes": None if self.mttd_minutes is None
                else round(self.mttd_minutes, 2),
                "subjects": self.units, "subjects_detected": self.detected_units,
                "alerts": self.alerts, "true_alerts": self.true_alerts,
                "missed": self.missed, "false_alerts_by_detector": self.false_alerts,
                "time_to_detect_minutes": {k: round(v, 2) for k, v in self.ttd_minutes.items()}}


def load_alerts(path: Path) -> list[dict[str, Any]]:
    return [msgspec.json.decode(ln) for ln in path.read_bytes().splitlines() if ln.strip()]


def load_truth(path: Path) -> list[dict[str, Any]]:
    doc = msgspec.json.decode(path.read_bytes())
    scenarios: list[dict[str, Any]] = doc["scenarios"]
    return scenarios


def _matches(alert: dict[str, Any], sc: dict[str, Any], ids: set[str]) -> bool:
    if alert["enterprise_id"] != sc["enterprise_id"]:
        return False
    if ids.intersection(alert["event_ids"]):
        return True
    return (alert["subject_id"] in sc["actors"]
            and epoch_us(alert["raised_at"]) >= epoch_us(sc["start"])
            and epoch_us(alert["first_event_at"]) <= epoch_us(sc["end"]))


def evaluate(alerts: list[dict[str, Any]], scenarios: list[dict[str, Any]]) -> Evaluation:
    ids = [set(sc["event_ids"]) for sc in scenarios]
    matched: dict[int, list[int]] = defaultdict(list)  # scenario -> alerts
    true_alerts = set()
    for ai, alert in enumerate(alerts):
        for si, sc in enumerate(scenarios):
            if _matches(alert, sc, ids[si]):
                matched[si].append(ai)
                true_alerts.add(ai)
    units = detected = 0
    missed: list[str] = []
    ttd: dict[str, float] = {}
    for si, sc in enumerate(scenarios):
        label = f"{sc['scenario']}@{sc['enterprise_id']}"
        hits = [alerts[ai] for ai in matched[si]]
        if sc["scenario"] in SOURCE_SCENARIOS:
            wanted = {"(source)": bool(hits)}
            if hits:
                first = min(epoch_us(a["raised_at"]) for a in hits)
                ttd[f"{label}:(source)"] = max(0, first - epoch_us(sc["start"])) / 60e6
        else:
            raised: dict[str, int] = {}
            for a in hits:
                at = epoch_us(a["raised_at"])
                if at < raised.get(a["subject_id"], at + 1):
                    raised[a["subject_id"]] = at
            wanted = {actor: actor in raised for actor in sc["actors"]}
            starts = sc.get("actor_starts") or {}
            for actor, at in raised.items():
                if actor in wanted:
                    begin = epoch_us(starts.get(actor, sc["start"]))
                    ttd[f"{label}:{actor}"] = max(0, at - begin) / 60e6
        units += len(wanted)
        detected += sum(wanted.values())
        missed += [f"{label}:{who}" for who, ok in wanted.items() if not ok]
    false = Counter(a["detector"] for i, a in enumerate(alerts) if i not in true_alerts)
    return Evaluation(
        recall=detected / units if units else 1.0,
        precision=len(true_alerts) / len(alerts) if alerts else 1.0,
        mttd_minutes=statistics.median(ttd.values()) if ttd else None,
        units=units, detected_units=detected, alerts=len(alerts),
        true_alerts=len(true_alerts), missed=missed, false_alerts=dict(false),
        ttd_minutes=ttd)


def evaluate_files(alerts_path: Path, truth_path: Path) -> Evaluation:
    return evaluate(load_alerts(alerts_path), load_truth(truth_path))
