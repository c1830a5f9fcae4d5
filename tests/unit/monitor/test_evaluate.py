"""Time to detect as the supervision department reads it: per abuser, from that
abuser's own first malicious act to the first alert about them."""

from __future__ import annotations

from typing import Any

from parcelguard.monitor.evaluate import evaluate


def _alert(subject: str, raised: str, first: str) -> dict[str, Any]:
    return {"enterprise_id": "ent-1", "detector": "unassigned_access", "subject_id": subject,
            "event_ids": [], "raised_at": raised, "first_event_at": first}


SCENARIO = {"scenario": "out_of_station", "enterprise_id": "ent-1",
            "actors": ["emp-a", "emp-b"], "event_ids": ["e1", "e2"],
            "start": "2026-11-10T09:00:00+08:00", "end": "2026-11-10T18:00:00+08:00",
            "actor_starts": {"emp-a": "2026-11-10T09:00:00+08:00",
                             "emp-b": "2026-11-10T15:00:00+08:00"}}


def test_each_abuser_is_timed_from_their_own_first_act() -> None:
    alerts = [_alert("emp-a", "2026-11-10T09:04:00+08:00", "2026-11-10T09:00:00+08:00"),
              _alert("emp-b", "2026-11-10T15:06:00+08:00", "2026-11-10T15:00:00+08:00")]
    ev = evaluate(alerts, [SCENARIO])
    # not 4 min for the scenario (its first alert), not 366 min for emp-b (from the
    # scenario's start): 4 and 6, one per abuser
    assert ev.ttd_minutes == {"out_of_station@ent-1:emp-a": 4.0,
                              "out_of_station@ent-1:emp-b": 6.0}
    assert ev.mttd_minutes == 5.0


def test_a_late_accomplice_counts_against_the_median() -> None:
    """An alert about one abuser does not time the other: the scenario's first alert
    used to stand for both."""
    alerts = [_alert("emp-a", "2026-11-10T09:01:00+08:00", "2026-11-10T09:00:00+08:00"),
              _alert("emp-b", "2026-11-10T17:00:00+08:00", "2026-11-10T15:00:00+08:00")]
    ev = evaluate(alerts, [SCENARIO])
    assert ev.ttd_minutes["out_of_station@ent-1:emp-b"] == 120.0
    assert ev.mttd_minutes == 60.5


def test_without_actor_starts_the_scenario_start_is_used() -> None:
    scenario = {k: v for k, v in SCENARIO.items() if k != "actor_starts"}
    alerts = [_alert("emp-b", "2026-11-10T15:06:00+08:00", "2026-11-10T15:00:00+08:00")]
    ev = evaluate(alerts, [scenario])
    assert ev.ttd_minutes == {"out_of_station@ent-1:emp-b": 366.0}
    assert ev.missed == ["out_of_station@ent-1:emp-a"]
