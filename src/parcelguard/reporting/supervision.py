"""The supervision report: key figures from the demo's summary (whatever parts of it
exist) and charts from the database, in one self-contained HTML file.

Plotly's bundled ``plotly.min.js`` is inlined once; every chart is a ``div`` plus a
``Plotly.newPlot`` call, so the file opens from disk or an air-gapped machine and
fetches nothing. One language per file: ``report.html`` in Chinese and
``report.en.html`` in English, each linking to the other. Times are China Standard
Time (Asia/Shanghai), as labelled; an hour or a day without data is a gap.
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from sqlalchemy.orm import Session

from parcelguard.reporting.figures import Figures, collect

HOUR = timedelta(hours=1)
_CONFIG = {"displayModeBar": False, "responsive": True}
_STYLE = """body{font:15px/1.5 system-ui,"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;
margin:0 auto;max-width:1100px;padding:16px;color:#1a1a1a}h1{color:#0b4f8a}
section{border-top:1px solid #c8c8c8;margin-top:18px}table{border-collapse:collapse}
th,td{border-bottom:1px solid #c8c8c8;padding:4px 8px;text-align:left}
.na{color:#4a4a4a;border:2px dashed #c8c8c8;padding:8px}"""


# Every word the report prints, in each of its two languages: one language per file,
# both files written side by side (the regulator archives one; readers pick theirs).
LABELS: dict[str, tuple[str, str]] = {
    "title": ("网络物流个人信息保护监管报告",
              "Supervision report on personal information in parcel logistics"),
    "short": ("监管报告", "Supervision report"),
    "generated": ("生成于", "Generated"),
    "other": ("English version", "中文版"),
    "key": ("关键数字", "Key figures"),
    "events_h": ("账本事件随时间", "Events over time"),
    "alerts_h": ("按检测器的告警", "Alerts by detector"),
    "detect_h": ("发现时间", "Time to detect"),
    "detect_note": ("从告警的第一条证据事件到告警本身的时间（按事件时间）。",
                    "From an alert's first evidence event to the alert, in event time."),
    "incidents_h": ("按等级与及时性的安全事件", "Incidents by grade and timeliness"),
    "channel_h": ("举报投诉渠道处理量", "Channel throughput"),
    "scores_h": ("审计评分", "Audit scores"),
    "na": ("暂无数据", "Not available yet"),
    "na_events": ("账本中没有事件", "no events in the ledger"),
    "na_alerts": ("没有监测告警", "no monitor alerts"),
    "na_inc_table": ("此数据库尚未记录安全事件", "incidents are not recorded in this database yet"),
    "na_inc": ("没有安全事件", "no incidents"),
    "na_channel_table": ("此数据库尚无举报渠道",
                         "the reporting channel is not in this database yet"),
    "na_channel": ("没有举报或投诉", "no reports or complaints"),
    "na_audit_table": ("此数据库尚无审计", "audits are not in this database yet"),
    "na_audit": ("尚无审计给出评分", "no audit delivered a score yet"),
    "hour_axis": ("时间（北京时间，UTC+8）", "hour (China Standard Time, UTC+8)"),
    "day_axis": ("日期（北京时间）", "day (China Standard Time)"),
    "events": ("事件数", "events"),
    "alerts": ("告警数", "alerts"),
    "minutes": ("从第一条证据到告警的分钟数", "minutes from first evidence to alert"),
    "incidents": ("安全事件数", "incidents"),
    "reports": ("法定报告数", "statutory reports"),
    "cases": ("案件数", "cases"),
    "score": ("控制项评分（0–100）", "control score (0–100)"),
    "enterprises": ("企业", "enterprises"),
    "ledger_events": ("账本事件", "events in the ledger"),
    "monitor_alerts": ("监测告警", "monitor alerts"),
    "parcels": ("包裹", "parcels"),
    "employees": ("员工", "employees"),
    "people": ("个人", "people"),
    "gate": ("访问闸门请求（拒绝）", "PI gate requests (denied)"),
    "scenarios": ("注入的滥用场景", "injected abuse scenarios"),
    "low": ("低", "low"), "medium": ("中", "medium"), "high": ("高", "high"),
    "critical": ("严重", "critical"),
    "on time": ("按时", "on time"), "late": ("逾期", "late"), "pending": ("待报送", "pending"),
    "received": ("已收到", "received"), "acknowledged": ("已确认", "acknowledged"),
    "answered": ("已答复", "answered"), "referred to police": ("已移送公安", "referred to police"),
}
LOCALES = ("zh-CN", "en")
# Severity by colour: nothing serious is ever drawn green.
SEVERITY_COLOURS = {"low": "#4a78b5", "medium": "#e0a000", "high": "#e8590c",
                    "critical": "#c92a2a"}
TIMELINESS_COLOURS = {"on time": "#2b8a3e", "late": "#c92a2a", "pending": "#868e96"}
DISPLAY_TZ = ZoneInfo("Asia/Shanghai")


class _Words:
    def __init__(self, locale: str) -> None:
        self.i = LOCALES.index(locale)

    def __call__(self, key: str) -> str:
        pair = LABELS.get(key)
        return pair[self.i] if pair else key


def _chart(fig: go.Figure, div_id: str) -> str:
    fig.update_layout(margin={"l": 50, "r": 20, "t": 30, "b": 40}, height=360,
                      template="plotly_white")
    return str(fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                           config=_CONFIG))


def _section(title: str, body: str, note: str = "") -> str:
    extra = f"<p>{html.escape(note)}</p>" if note else ""
    return f"<section><h2>{html.escape(title)}</h2>{extra}{body}</section>"


def _na(w: _Words, what: str) -> str:
    return f'<p class="na">{html.escape(w("na"))}: {html.escape(w(what))}</p>'


def _local_hour(at: datetime) -> datetime:
    return at.astimezone(DISPLAY_TZ).replace(tzinfo=None)


def _events(f: Figures, w: _Words) -> str:
    if not f.events_by_hour:
        return _na(w, "na_events")
    series: dict[str, dict[datetime, int]] = defaultdict(dict)
    for at, kind, n in f.events_by_hour:
        series[kind][_local_hour(at)] = series[kind].get(_local_hour(at), 0) + n
    first = min(min(pts) for pts in series.values())
    last = max(max(pts) for pts in series.values())
    hours = [first + timedelta(hours=i) for i in range(int((last - first) / HOUR) + 1)]
    # An hour without events is a gap (None), not a line drawn across it; markers
    # too, so a lone hour shows.
    fig = go.Figure([go.Scatter(x=hours, y=[pts.get(h) for h in hours], name=kind,
                                mode="lines+markers", connectgaps=False)
                     for kind, pts in sorted(series.items())])
    fig.update_layout(xaxis_title=w("hour_axis"), yaxis_title=w("events"))
    return _chart(fig, "events-over-time")


def _alerts(f: Figures, w: _Words) -> str:
    if not f.alerts_by_detector:
        return _na(w, "na_alerts")
    detectors = sorted({d for d, _, _ in f.alerts_by_detector})
    by = {(d, s): n for d, s, n in f.alerts_by_detector}
    fig = go.Figure([go.Bar(x=detectors, y=[by.get((d, s), 0) for d in detectors],
                            name=w(s), marker_color=SEVERITY_COLOURS[s])
                     for s in ("low", "medium", "high", "critical")])
    fig.update_layout(barmode="stack", yaxis_title=w("alerts"), showlegend=True)
    return _chart(fig, "alerts-by-detector")


def _detect(f: Figures, w: _Words) -> str:
    if not f.detect_minutes:
        return _na(w, "na_alerts")
    per: dict[str, list[float]] = defaultdict(list)
    for d, m in f.detect_minutes:
        per[d].append(m)
    fig = go.Figure([go.Box(y=v, name=d, boxpoints=False) for d, v in sorted(per.items())])
    fig.update_layout(yaxis_title=w("minutes"), showlegend=False)
    return _chart(fig, "time-to-detect")


def _incidents(f: Figures, w: _Words) -> str:
    if f.incidents_by_grade is None:
        return _na(w, "na_inc_table")
    if not f.incidents_by_grade and not f.reports_timeliness:
        return _na(w, "na_inc")
    parts = []
    if f.incidents_by_grade:
        grades = sorted({g for g, _, _ in f.incidents_by_grade})
        by = {(g, c): n for g, c, n in f.incidents_by_grade}
        causes = sorted({c for _, c, _ in f.incidents_by_grade})
        parts.append(_chart(go.Figure(
            [go.Bar(x=grades, y=[by.get((g, c), 0) for g in grades], name=c) for c in causes],
            layout={"barmode": "stack", "yaxis_title": w("incidents"), "showlegend": True}),
            "incidents-by-grade"))
    if f.reports_timeliness:
        kinds = sorted({k for k, _, _ in f.reports_timeliness})
        tally: Counter[tuple[str, str]] = Counter()
        for k, label, n in f.reports_timeliness:
            tally[(k, label)] += n
        parts.append(_chart(go.Figure(
            [go.Bar(x=kinds, y=[tally[(k, lbl)] for k in kinds], name=w(lbl),
                    marker_color=TIMELINESS_COLOURS[lbl])
             for lbl in ("on time", "late", "pending")],
            layout={"barmode": "stack", "yaxis_title": w("reports"), "showlegend": True}),
            "report-timeliness"))
    return "".join(parts)


def _channel(f: Figures, w: _Words) -> str:
    if f.channel_by_day is None:
        return _na(w, "na_channel_table")
    if not f.channel_by_day:
        return _na(w, "na_channel")
    tally: Counter[tuple[str, str]] = Counter()
    for day, label, n in f.channel_by_day:
        tally[(day, label)] += n
    days = sorted({d for d, _ in tally})
    labels = ("received", "acknowledged", "answered", "referred to police")
    # A date axis, not categories: days without cases show as the gaps they are.
    fig = go.Figure([go.Bar(x=days, y=[tally[(d, lbl)] for d in days], name=w(lbl))
                     for lbl in labels])
    fig.update_layout(barmode="group", yaxis_title=w("cases"), xaxis_type="date",
                      xaxis_title=w("day_axis"))
    return _chart(fig, "channel-throughput")


def _scorecards(f: Figures, w: _Words) -> str:
    if f.scorecards is None:
        return _na(w, "na_audit_table")
    if not f.scorecards:
        return _na(w, "na_audit")
    fig = go.Figure([go.Bar(x=[e for e, _, _ in f.scorecards],
                            y=[s for _, s, _ in f.scorecards], name=w("score"))])
    # Audit scores are 0-100 (engagements.score); a 0-1 axis drew every bar full.
    fig.update_layout(yaxis_title=w("score"), yaxis_range=[0, 100])
    return _chart(fig, "scorecards")


def _key_figures(summary: Mapping[str, Any], f: Figures, w: _Words) -> str:
    rows: list[tuple[str, Any]] = [(w("enterprises"), f.enterprises),
                                   (w("ledger_events"), f.events),
                                   (w("monitor_alerts"),
                                    sum(n for _, _, n in f.alerts_by_detector))]
    world = summary.get("world") or {}
    for key in ("parcels", "employees", "people"):
        if key in world:
            rows.append((w(key), world[key]))
    gate = summary.get("gate") or {}
    if "attempts" in gate:
        rows.append((w("gate"), f"{gate['attempts']} ({gate.get('denied', '?')})"))
    scenarios = world.get("injected_scenarios") or {}
    if scenarios:
        rows.append((w("scenarios"), ", ".join(f"{k} {v}" for k, v in sorted(scenarios.items()))))
    body = "".join(f"<tr><th scope=\"row\">{html.escape(k)}</th><td>{html.escape(str(v))}</td>"
                   "</tr>" for k, v in rows)
    return f"<table>{body}</table>"


def report_name(locale: str, base: str = "report.html") -> str:
    """report.html is the Chinese report; report.en.html the English one."""
    return base if locale == "zh-CN" else base.replace(".html", f".{locale}.html")


def render_figures(summary: Mapping[str, Any], f: Figures, *, locale: str = "zh-CN",
                   now: datetime | None = None, base: str = "report.html",
                   other_href: str | None = None) -> str:
    """The report of these figures in one language, as one HTML document, linking to
    the other language's (``other_href``; by default the sibling file's name)."""
    w = _Words(locale)
    when = (now or datetime.now(UTC)).astimezone(DISPLAY_TZ).strftime("%Y-%m-%d %H:%M UTC+8")
    other = LOCALES[1 - LOCALES.index(locale)]
    sections = [
        _section(w("key"), _key_figures(summary, f, w)),
        _section(w("events_h"), _events(f, w)),
        _section(w("alerts_h"), _alerts(f, w)),
        _section(w("detect_h"), _detect(f, w), w("detect_note")),
        _section(w("incidents_h"), _incidents(f, w)),
        _section(w("channel_h"), _channel(f, w)),
        _section(w("scores_h"), _scorecards(f, w)),
    ]
    return (f"<!DOCTYPE html>\n<html lang=\"{locale}\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(w('short'))}</title>"
            f"<style>{_STYLE}</style><script>{get_plotlyjs()}</script></head><body>"
            f"<p><a href=\"{html.escape(other_href or report_name(other, base))}\" "
            f"hreflang=\"{other}\" lang=\"{other}\">"
            f"{html.escape(w('other'))}</a></p>"
            f"<h1>{html.escape(w('title'))}</h1>"
            f"<p>{html.escape(w('generated'))} {html.escape(when)}</p>{''.join(sections)}"
            "</body></html>\n")


def render_report(summary: Mapping[str, Any], session: Session, *, locale: str = "zh-CN",
                  now: datetime | None = None, other_href: str | None = None) -> str:
    """The report from the database, in one language (see the module docstring)."""
    return render_figures(summary, collect(session), locale=locale, now=now,
                          other_href=other_href)


def supervision_report(summary: Mapping[str, Any], db_session: Session,
                       out_path: str | Path) -> Path:
    """Write the supervision report to ``out_path`` (e.g. demo-out/report.html, in
    Chinese) and its English twin beside it (report.en.html); return the first.
    ``summary`` is the demo's summary dict; any part may be missing.
    Reads only; the caller's transaction is left as it was."""
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    f = collect(db_session)
    now = datetime.now(UTC)
    for locale in LOCALES:
        (out.parent / report_name(locale, out.name)).write_text(
            render_figures(summary, f, locale=locale, now=now, base=out.name),
            encoding="utf-8")
    return out
