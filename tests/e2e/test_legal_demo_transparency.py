"""Issue 16, must show: `parcelguard demo` (a real process, a small world) prints, per
incident grade, the people owed a notice and the people notified, as its summary holds
them; and every incident figure on the transparency pages it writes is what the
carrier reported (its incidents detected that month with a filed report, by grade),
read back from the demo's own database."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

GRADES = {"particularly major": "particularly_major", "major": "major",
          "relatively major": "relatively_major", "general": "general"}
CST = ZoneInfo("Asia/Shanghai")


@pytest.mark.slow
def test_the_demo_prints_notices_by_grade_and_publishes_what_was_filed(
        tmp_path: Path) -> None:
    home, out = tmp_path / "home", tmp_path / "out"
    env = {**os.environ, "PARCELGUARD_HOME": str(home), "PARCELGUARD_DATABASE_URL": "",
           "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-m", "parcelguard", "demo", "--seed", "5",
                           "--parcels", "1500", "--days", "2", "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=1200, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]

    by_grade = json.loads((out / "summary.json").read_text())["incidents"]["by_grade"]
    assert set(by_grade) == set(GRADES.values())
    for grade, g in by_grade.items():
        line = (f"{grade}: {g['incidents']} incidents, reports on time "
                f"{g['reports_on_time']}, late {g['reports_late']}; people owed a notice "
                f"{g['people_affected']}: {g['people_notified']} notified by SMS, "
                f"{g['people_announced']} by public announcement")
        assert line in " ".join(proc.stdout.split()), grade
        # everyone owed a notice was reached one way or the other
        assert g["people_notified"] + g["people_announced"] == g["people_affected"]
    assert sum(g["people_affected"] for g in by_grade.values()) > 0

    db = sqlite3.connect(home / "demo" / "parcelguard.db")
    filed = db.execute(
        "SELECT i.enterprise_id, i.grade, i.detected_at FROM incidents i WHERE EXISTS ("
        "SELECT 1 FROM incident_reports r WHERE r.incident_id = i.id AND "
        "r.status = 'filed')").fetchall()
    unfiled = db.execute("SELECT COUNT(*) FROM incidents i WHERE NOT EXISTS (SELECT 1 FROM "
                         "incident_reports r WHERE r.incident_id = i.id AND "
                         "r.status = 'filed')").fetchone()[0]
    # both kinds exist, so the comparison can tell them apart
    assert filed
    assert unfiled
    pages = sorted((out / "transparency").glob("*.html"))
    assert pages
    for page in pages:
        ent, month = page.stem[:-8], page.stem[-7:]
        expected = Counter(grade for e, grade, at in filed if e == ent and datetime.fromisoformat(
            at).replace(tzinfo=ZoneInfo("UTC")).astimezone(CST).strftime("%Y-%m") == month)
        html = page.read_text(encoding="utf-8")
        for label, grade in GRADES.items():
            cell = re.search(rf'Incidents: {label}</small></th><td class="n">([^<]*)<', html)
            assert cell is not None, (page.name, label)
            assert cell.group(1) == str(expected[grade]), (page.name, label)
