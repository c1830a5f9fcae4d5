"""The supervision report on a database with nothing in it yet: it still renders,
says what is missing instead of inventing figures, and names no other host."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from parcelguard.reporting import supervision_report
from parcelguard.reporting.figures import Figures
from parcelguard.reporting.supervision import render_figures


def test_an_empty_database_gives_a_self_contained_report(session: Session,
                                                         tmp_path: Path) -> None:
    out = supervision_report({"world": {"parcels": 12}}, session, tmp_path / "r" / "report.html")
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "Plotly" in html  # the bundled library, inlined
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html)  # nothing to fetch
    assert html.count("暂无数据") >= 4  # no events, alerts, cases or audits yet
    english = (tmp_path / "r" / "report.en.html").read_text(encoding="utf-8")
    assert english.count("Not available yet") >= 4
    assert "12" in html  # figures from the summary that exist are shown


def _trace(html: str, div_id: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The data and layout Plotly is given for one chart."""
    m = re.search(rf'Plotly\.newPlot\(\s*"{div_id}",\s*(\[.*?\]),\s*(\{{.*?\}}),'
                  r'\s*\{"displayModeBar', html, re.S)
    assert m is not None, div_id
    return json.loads(m.group(1)), json.loads(m.group(2))


def _figures() -> Figures:
    day = datetime(2026, 11, 2, 1, tzinfo=UTC)
    return Figures(
        # events on two days three weeks apart: nothing in between
        events_by_hour=[(day, "parcel", 40), (day + timedelta(hours=1), "parcel", 42),
                        (day + timedelta(days=21), "parcel", 39)],
        alerts_by_detector=[("bulk_access", "high", 3), ("off_shift", "low", 2),
                            ("unassigned_access", "critical", 1)],
        channel_by_day=[("2026-11-02", "received", 1), ("2026-11-23", "received", 2)],
        scorecards=[("ent-a", 64.3, 0.9), ("ent-b", 78.4, 0.8), ("ent-c", 73.2, None)])


def test_the_report_charts_read_right() -> None:
    html = render_figures({}, _figures(), locale="en", now=datetime(2026, 12, 7, tzinfo=UTC))
    scores, layout = _trace(html, "scorecards")
    assert layout["yaxis"]["range"] == [0, 100]  # 64.3 is two thirds of the axis, not full
    assert scores[0]["y"] == [64.3, 78.4, 73.2]
    events, layout = _trace(html, "events-over-time")
    ys = events[0]["y"]
    assert None in ys  # the three weeks without events are a gap ...
    assert events[0].get("connectgaps") is False  # ... and no line is drawn across it
    assert "UTC+8" in layout["xaxis"]["title"]["text"]
    assert events[0]["x"][0].startswith("2026-11-02T09:00")  # 01:00 UTC is 09:00 in Beijing
    alerts, _ = _trace(html, "alerts-by-detector")
    colours = {t["name"]: t["marker"]["color"] for t in alerts}
    for severity in ("high", "critical"):
        red, green, _blue = (int(colours[severity][i:i + 2], 16) for i in (1, 3, 5))
        assert red > 180  # red or orange ...
        assert green < 120  # ... never green
    _, layout = _trace(html, "channel-throughput")
    assert layout["xaxis"]["type"] == "date"  # missing days stay as gaps on the axis


def test_one_language_per_report_and_both_are_written(session: Session,
                                                      tmp_path: Path) -> None:
    zh = render_figures({}, _figures(), locale="zh-CN")
    en = render_figures({}, _figures(), locale="en")
    visible = re.compile(r"<(h1|h2|p|th|title)[^>]*>([^<]*)<")
    zh_text = " ".join(t for _, t in visible.findall(zh.split("<body>")[1]))
    en_text = " ".join(t for _, t in visible.findall(en.split("<body>")[1]))
    assert not re.search(r"[A-Za-z]{3,} [A-Za-z]{3,}", zh_text.replace("English version", ""))
    assert not re.search(r"[\u4e00-\u9fff]", en_text.replace("中文版", ""))
    assert '<html lang="zh-CN">' in zh
    assert '<html lang="en">' in en
    out = supervision_report({}, session, tmp_path / "report.html")
    assert out.name == "report.html"
    assert (tmp_path / "report.en.html").is_file()
    assert 'href="report.en.html"' in out.read_text(encoding="utf-8")
