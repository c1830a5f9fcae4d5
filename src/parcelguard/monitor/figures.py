"""The monitor's stage of ``parcelguard demo``: replay the demo's event file and
score the alerts against its ground truth."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

from parcelguard.monitor.evaluate import evaluate_files, load_alerts
from parcelguard.monitor.replay import replay
from parcelguard.monitor.settings import MonitorSettings


def monitor_stage_figures(events_path: Path, truth_path: Path, out_dir: Path,
                          settings: MonitorSettings | None = None) -> dict[str, Any]:
    """Replay ``events_path`` (writing ``out_dir/alerts.jsonl``) and evaluate it
    against ``truth_path``. Returns the figures the demo prints and stores:
    recall, precision, median time to detect, alerts by detector, throughput."""
    settings = settings or MonitorSettings()
    alerts_path = out_dir / "alerts.jsonl"
    started = time.perf_counter()
    report = replay(events_path, alerts_path, settings)
    evaluation = evaluate_files(alerts_path, truth_path)
    by_detector = Counter(a["detector"] for a in load_alerts(alerts_path))
    return {
        "alerts_path": str(alerts_path),
        **evaluation.as_dict(),
        "alerts_by_detector": dict(sorted(by_detector.items())),
        "events": report.events,
        "events_per_second": round(report.events / report.seconds) if report.seconds else 0,
        "seconds": round(time.perf_counter() - started, 2),
    }
