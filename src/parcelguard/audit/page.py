"""The public transparency page: one self-contained HTML document (no scripts, no
external assets) built from the noisy figures only. Every value is escaped.

Plain string building rather than Jinja2: the page is small and fixed, and Jinja2 is
not a dependency of the project yet; the web portals can re-skin it later.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

LABELS: dict[str, tuple[str, str]] = {
    "reveals": ("明文查看次数", "PI reveals (allowed)"),
    "refused_accesses": ("被拒绝的访问", "PI accesses refused by the gate"),
    "alerts": ("监测告警", "Monitor alerts raised"),
    "incidents_particularly_major": ("特别重大事件", "Incidents: particularly major"),
    "incidents_major": ("重大事件", "Incidents: major"),
    "incidents_relatively_major": ("较大事件", "Incidents: relatively major"),
    "incidents_general": ("一般事件", "Incidents: general"),
    "complaints_received": ("投诉举报总数", "Complaints and reports received"),
    "complaints_acknowledged_in_time": ("按时受理", "Acknowledged within the limit"),
    "complaints_answered_7d": ("7日内答复", "Answered within 7 days"),
    "complaints_answered_30d": ("8至30日内答复", "Answered in 8-30 days, within the limit"),
    "complaints_answered_late": ("超期答复或未答复", "Answered late or not at all"),
    "complaints_open": ("处理中（未到期）", "Still open, limit not reached"),
    "sanctions": ("处理处分", "Sanctions applied (conduct decisions, suspensions)"),
}
_ORDER = ("reveals", "refused_accesses", "alerts", "incidents_particularly_major",
          "incidents_major", "incidents_relatively_major", "incidents_general",
          "complaints_received", "complaints_acknowledged_in_time", "complaints_answered_7d",
          "complaints_answered_30d", "complaints_answered_late", "complaints_open", "sanctions")
_STYLE = ("body{font-family:system-ui,'Noto Sans CJK SC',sans-serif;max-width:52rem;"
          "margin:2rem auto;padding:0 1rem;color:#222}table{border-collapse:collapse;"
          "width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left}"
          "td.n{text-align:right;font-variant-numeric:tabular-nums}.note{background:#f5f5f0;"
          "padding:.8rem;border-left:4px solid #887}")


def _row(key: str, shown: str) -> str:
    zh, en = LABELS.get(key, (key, key))
    return (f"<tr><th scope=\"row\">{escape(zh)}<br><small>{escape(en)}</small></th>"
            f"<td class=\"n\">{escape(shown)}</td></tr>")


def noisy_figure(value: int, *, half_width: int, floor: int) -> str:
    """How a noisy count reads: with its 95 % interval, or, below the release floor,
    as what it is: not distinguishable from zero (so noise never states an event)."""
    if value < floor:
        return f"< {floor:,} (低于发布下限 below the release floor)"
    return f"≈ {value:,} (95%: {max(value - half_width, 0):,}–{value + half_width:,})"


def render(*, enterprise: str, enterprise_id: str, figures: dict[str, Any],
           published_at: datetime) -> str:
    privacy, audit, period = figures["privacy"], figures["audit"], figures["period"]
    half, floor = privacy.get("interval_95", 0), privacy.get("release_floor", 0)
    shown = {k: noisy_figure(v, half_width=half, floor=floor)
             for k, v in figures["counts"].items()}
    wide = privacy.get("derived_interval_95", half)
    shown.update({k: noisy_figure(v, half_width=wide, floor=wide + 1)
                  for k, v in figures.get("derived", {}).items()})
    # Reported facts (incidents by grade) are exact: a page never invents an incident.
    shown.update({k: f"{v:,}" for k, v in figures.get("facts", {}).items()})
    rows = "".join(_row(k, shown[k]) for k in _ORDER if k in shown)
    missing = [k for k in _ORDER if k not in shown]
    budget = "".join(
        f"<li>{escape(b['month'])}: ε {b['spent']:g} of {b['total']:g} spent, "
        f"{b['remaining']:g} left</li>" for b in privacy["budget"])
    score = ("not yet audited" if audit["score"] is None else
             f"{audit['score']:.1f} / 100 (audit period {audit['period']}, by "
             f"{audit['auditor_org_id']}, {audit['coverage']:.0%} of the rulebook's weight "
             "evaluated)")
    unavailable = ("" if not missing else "<p>Not available on this platform yet: "
                   + escape(", ".join(LABELS.get(k, (k, k))[1] for k in missing)) + ".</p>")
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(enterprise)} 个人信息保护透明度报告 {escape(period['key'])}</title>
<style>{_STYLE}</style></head>
<body>
<h1>{escape(enterprise)}<br><small>个人信息保护透明度报告 · Transparency report</small></h1>
<p>Enterprise <code>{escape(enterprise_id)}</code> · period <strong>{escape(period['key'])}
</strong> ({escape(period['start'])} – {escape(period['end'])}) · published
{escape(published_at.isoformat(timespec='seconds'))}</p>
<h2>Figures</h2>
<table><tbody>{rows}</tbody></table>
{unavailable}
<h2>Third-party audit score</h2>
<p>{escape(score)}</p>
<h2>Differential privacy</h2>
<div class="note"><p><strong>ε = {privacy['epsilon']:g}</strong> spent by this report.
Counts about people (marked ≈) carry random noise ({escape(privacy['mechanism'])}, scale
{privacy['scale']:g}), shown with the range that holds the true count with 95 %
confidence; a count below {floor:,} is not told apart from zero and is not published as
a figure. Incidents by grade are the facts the enterprise reported to the regulator and
are exact. The protected unit is
{escape(privacy['unit'])}: whether any single one is present changes what is published
by a factor of at most e<sup>ε</sup>. One record can move up to
{privacy['sensitivity_l1']} counts, which ε accounts for.</p>
<p>Privacy budget per month (every report covering a month spends from it; publishing
beyond it is refused):</p><ul>{budget}</ul>
<p>The audit score is not noised: it describes the enterprise, not a person.</p></div>
</body></html>
"""
