"""The supervision report: key figures from the demo's summary (whatever parts of it
exist) and charts from the database, in one self-contained HTML file.

Plotly's bundled ``plotly.min.js`` is inlined once; every chart is a ``div`` plus a
``Plotly.newPlot`` call, so the file opens from disk or an air-gapped machine and
fetches nothing. Headings are bilingual (zh-CN / en): the report goes to the
regulator and is archived as one document.
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from sqlalchemy.orm import Session

from parcelguard.reporting.figures import Figures, collect

_CONFIG = {"displayModeBar": False, "responsive": True}
_STYLE = """body{font:15px/1.5 system-ui,"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;
margin:0 auto;max-width:1100px;padding:16px;color:#1a1a1a}h1{color:#0b4f8a}
section{border-top:1px solid #c8c8c8;margin-top:18px}table{border-collapse:collapse}
th,td{border-bottom:1px solid #c8c8c8;padding:4px 8px;text-align:left}
.na{color:#4a4a4a;border:2px dashed #c8c8c8;padding:8px}"""


def _chart(fig: go.Figure, div_id: str) -> str:
    fig.update_layout(margin={"l": 50, "r": 20, "t": 30, "b": 40}, height=360,
                      template="plotly_white")
    return str(fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                           config=_CONFIG))


def _section(title: str, body: str, note: str = "") -> str:
    extra = f"<p>{html.escape(note)}</p>" if note else ""
    return f"<section><h2>{html.escape(title)}</h2>{extra}{body}</section>"


def _na(what: str) -> str:
    return f'<p class="na">暂无数据 / not available yet: {html.escape(what)}</p>'


def _events(f: Figures) -> str:
    if not f.events_by_hour:
        return _na("no events in the ledger")
    series: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for at, kind, n in f.events_by_hour:
        series[kind].append((at, n))
    # Markers too: a short replay may fill a single hour, which a bare line cannot show.
    fig = go.Figure([go.Scatter(x=[a for a, _ in pts], y=[n for _, n in pts], name=kind,
                                mode="lines+markers") for kind, pts in sorted(series.items())])
    fig.update_layout(xaxis_title="hour (UTC)", yaxis_title="events")
    return _chart(fig, "events-over-time")


def _alerts(f: Figures) -> str:
    if not f.alerts_by_detector:
        return _na("no monitor alerts")
    detectors = sorted({d for d, _, _ in f.alerts_by_detector})
    by = {(d, s): n for d, s, n in f.alerts_by_detector}
    fig = go.Figure([go.Bar(x=detectors, y=[by.get((d, s), 0) for d in detectors], name=s)
                     for s in ("low", "medium", "high", "critical")])
    fig.update_layout(barmode="stack", yaxis_title="alerts", showlegend=True)
    return _chart(fig, "alerts-by-detector")


def _detect(f: Figures) -> str:
    if not f.detect_minutes:
        return _na("no monitor alerts")
    per: dict[str, list[float]] = defaultdict(list)
    for d, m in f.detect_minutes:
        per[d].append(m)
    fig = go.Figure([go.Box(y=v, name=d, boxpoints=False) for d, v in sorted(per.items())])
    fig.update_layout(yaxis_title="minutes from first evidence to alert", showlegend=False)
    return _chart(fig, "time-to-detect")


def _incidents(f: Figures) -> str:
    if f.incidents_by_grade is None:
        return _na("incidents are not recorded in this database yet")
    if not f.incidents_by_grade and not f.reports_timeliness:
        return _na("no incidents")
    parts = []
    if f.incidents_by_grade:
        grades = sorted({g for g, _, _ in f.incidents_by_grade})
        by = {(g, c): n for g, c, n in f.incidents_by_grade}
        causes = sorted({c for _, c, _ in f.incidents_by_grade})
        parts.append(_chart(go.Figure(
            [go.Bar(x=grades, y=[by.get((g, c), 0) for g in grades], name=c) for c in causes],
            layout={"barmode": "stack", "yaxis_title": "incidents", "showlegend": True}),
            "incidents-by-grade"))
    if f.reports_timeliness:
        kinds = sorted({k for k, _, _ in f.reports_timeliness})
        tally: Counter[tuple[str, str]] = Counter()
        for k, label, n in f.reports_timeliness:
            tally[(k, label)] += n
        parts.append(_chart(go.Figure(
            [go.Bar(x=kinds, y=[tally[(k, lbl)] for k in kinds], name=lbl)
             for lbl in ("on time", "late", "pending")],
            layout={"barmode": "stack", "yaxis_title": "statutory reports",
                    "showlegend": True}),
            "report-timeliness"))
    return "".join(parts)


def _channel(f: Figures) -> str:
    if f.channel_by_day is None:
        return _na("the reporting channel is not in this database yet")
    if not f.channel_by_day:
        return _na("no reports or complaints")
    tally: Counter[tuple[str, str]] = Counter()
    for day, label, n in f.channel_by_day:
        tally[(day, label)] += n
    days = sorted({d for d, _ in tally})
    labels = ("received", "acknowledged", "answered", "referred to police")
    fig = go.Figure([go.Bar(x=days, y=[tally[(d, lbl)] for d in days], name=lbl)
                     for lbl in labels])
    fig.update_layout(barmode="group", yaxis_title="cases", xaxis_type="category")
    return _chart(fig, "channel-throughput")


def _scorecards(f: Figures) -> str:
    if f.scorecards is None:
        return _na("audits are not in this database yet")
    if not f.scorecards:
        return _na("no audit delivered a score yet")
    fig = go.Figure([go.Bar(x=[e for e, _, _ in f.scorecards],
                            y=[s for _, s, _ in f.scorecards], name="score")])
    fig.update_layout(yaxis_title="control score (0-1)", yaxis_range=[0, 1])
    return _chart(fig, "scorecards")


def _key_figures(summary: Mapping[str, Any], f: Figures) -> str:
    rows: list[tuple[str, Any]] = [("企业 / enterprises", f.enterprises),
                                   ("账本事件 / events in the ledger", f.events),
                                   ("告警 / monitor alerts",
                                    sum(n for _, _, n in f.alerts_by_detector))]
    world = summary.get("world") or {}
    for key, label in (("parcels", "包裹 / parcels"), ("employees", "员工 / employees"),
                       ("people", "个人 / people")):
        if key in world:
            rows.append((label, world[key]))
    gate = summary.get("gate") or {}
    if "attempts" in gate:
        rows.append(("访问闸门请求 / PI gate requests (denied)",
                     f"{gate['attempts']} ({gate.get('denied', '?')})"))
    scenarios = world.get("injected_scenarios") or {}
    if scenarios:
        rows.append(("注入的滥用场景 / injected abuse scenarios",
                     ", ".join(f"{k} {v}" for k, v in sorted(scenarios.items()))))
    body = "".join(f"<tr><th scope=\"row\">{html.escape(k)}</th><td>{html.escape(str(v))}</td>"
                   "</tr>" for k, v in rows)
    return f"<table>{body}</table>"


def render_report(summary: Mapping[str, Any], session: Session, *,
                  now: datetime | None = None) -> str:
    """The report as one HTML document (see the module docstring)."""
    f = collect(session)
    when = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    sections = [
        _section("关键数字 / Key figures", _key_figures(summary, f)),
        _section("事件随时间 / Events over time", _events(f)),
        _section("按检测器的告警 / Alerts by detector", _alerts(f)),
        _section("发现时间 / Time to detect", _detect(f),
                 "From an alert's first evidence event to the alert, in event time."),
        _section("按等级与及时性的事件 / Incidents by grade and timeliness", _incidents(f)),
        _section("举报渠道处理量 / Channel throughput", _channel(f)),
        _section("评分卡 / Scorecards", _scorecards(f)),
    ]
    return ("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<title>监管报告 / Supervision report</title>"
            f"<style>{_STYLE}</style><script>{get_plotlyjs()}</script></head><body>"
            "<h1>网络物流个人信息保护监管报告 / Supervision report</h1>"
            f"<p>生成于 / generated {html.escape(when)}</p>{''.join(sections)}</body></html>\n")


def supervision_report(summary: Mapping[str, Any], db_session: Session,
                       out_path: str | Path) -> Path:
    """Write the supervision report to ``out_path`` (e.g. demo-out/report.html) and
    return the path. ``summary`` is the demo's summary dict; any part may be missing.
    Reads only; the caller's transaction is left as it was."""
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(summary, db_session), encoding="utf-8")
    return out
