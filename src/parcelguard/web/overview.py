"""Overview of each staff portal's landing page: a few figures and charts, read from
the database with the visitor's own scope (an enterprise sees its own, the
supervision department all, the police what was referred to them, an auditor their
engagements).

Charts are Plotly, offline: the page carries each chart's figure as a JSON data
block and ``/static/charts.js`` draws it with Plotly's bundled ``plotly.min.js``,
served from the installed ``plotly`` package at ``/assets/plotly.min.js`` (no CDN, no
inline script, so the portals' strict Content-Security-Policy stands). Every chart
also has its figures as a table, for readers without JavaScript or a screen reader.

The rules the supervision report follows hold here too: colours by severity (nothing
serious is green), days on the China Standard Time calendar on a date axis (a day
with nothing is a gap, not a line drawn across it), counts on a count axis from 0,
scores on 0-100. Only counts are read: no PI."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response
from markupsafe import Markup
from sqlalchemy import Text, case, cast, func, or_, select
from sqlalchemy.orm import Session

from parcelguard.access.models import AccessSuspension
from parcelguard.audit import engagements
from parcelguard.audit.models import AuditFinding
from parcelguard.channel.models import ChannelReferral
from parcelguard.identity.models import Organization
from parcelguard.identity.permissions import Principal
from parcelguard.incidents.interventions import KINDS
from parcelguard.incidents.models import Incident, IncidentReport, Intervention
from parcelguard.ledger.models import LedgerEvent
from parcelguard.monitor.models import MonitorAlert
from parcelguard.web.render import page

DISPLAY_TZ = ZoneInfo("Asia/Shanghai")
US_PER_HOUR = 3_600_000_000
DAYS = 30  # the window of the per-day charts, in China Standard Time days
SEVERITIES = ("low", "medium", "high", "critical")
# As in the supervision report (reporting/supervision.py): nothing serious is green.
SEVERITY_COLOURS = {"low": "#4a78b5", "medium": "#e0a000", "high": "#e8590c",
                    "critical": "#c92a2a"}
DEADLINE_COLOURS = {"overdue": "#c92a2a", "due": "#e0a000", "none": "#868e96"}
NEUTRAL = "#0b4f8a"
MUTED = "#868e96"
INCIDENT_STATES = ("detected", "triaged", "contained", "reported", "resolved", "reviewed")
REFERRAL_STATES = ("sent", "accepted", "declined", "concluded")
REFERRAL_COLOURS = {"sent": "#e0a000", "accepted": "#0b4f8a", "declined": "#868e96",
                    "concluded": "#2b6e99"}

router = APIRouter(include_in_schema=False)


# -- what a page shows ---------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One key figure: a label (msgid) and a count, optionally flagged and linked."""

    key: str  # stable id (the element's id is fig-<key>)
    label: str
    value: int
    cls: str | None = None  # "overdue" when it needs attention
    href: str | None = None


@dataclass(frozen=True)
class Series:
    name: str  # msgid
    values: Sequence[int | float | None]
    colour: str | list[str] | None = None  # one colour, or one per x


@dataclass
class Chart:
    """A bar chart: categories (msgids) or days (ISO dates, China time) on x."""

    key: str
    title: str  # msgid
    x: list[str]
    series: list[Series]
    y_title: str  # msgid
    x_title: str | None = None  # msgid
    dates: bool = False  # x are days on a date axis
    stacked: bool = True
    y_max: float | None = None  # a fixed top (scores: 100)
    horizontal: bool = False
    empty: str = "Nothing to show yet."
    translate_x: bool = True  # x are msgids (states, severities); else data (ids)

    @property
    def has_data(self) -> bool:
        return any(v for s in self.series for v in s.values)

    def top(self) -> float:
        """The tallest bar (stacks summed)."""
        if not self.stacked:
            return max((v or 0 for s in self.series for v in s.values), default=0)
        return max((sum(s.values[i] or 0 for s in self.series) for i in range(len(self.x))),
                   default=0)

    def rows(self) -> list[tuple[str, list[int | float | None]]]:
        """The chart's figures as table rows: one per x, one value per series."""
        return [(x, [s.values[i] for s in self.series]) for i, x in enumerate(self.x)]

    def label(self, x: str, _: Any) -> str:
        return _(x) if self.translate_x and not self.dates else x

    def figure(self, _: Any) -> dict[str, Any]:
        """The Plotly figure (data and layout), every word in the page's language."""
        x = [self.label(v, _) for v in self.x]
        data = []
        for s in self.series:
            trace: dict[str, Any] = {"type": "bar", "name": _(s.name),
                                     "hovertemplate": "%{y}<extra>" + _(s.name) + "</extra>"}
            if self.horizontal:
                trace |= {"y": x, "x": s.values, "orientation": "h",
                          "hovertemplate": "%{x}<extra>" + _(s.name) + "</extra>"}
            else:
                trace |= {"x": x, "y": s.values}
            if s.colour is not None:
                trace["marker"] = {"color": s.colour}
            data.append(trace)
        counts: dict[str, Any] = {"title": {"text": _(self.y_title)}, "rangemode": "tozero",
                                  "fixedrange": True}
        if self.y_max is not None:
            counts["range"] = [0, self.y_max]
        elif all(isinstance(v, int) for s in self.series for v in s.values if v is not None):
            counts["tickformat"] = ",d"  # counts are whole numbers: no 0.5 ticks
            if self.top() <= 6:
                counts["dtick"] = 1  # else small counts get ticks 0, 1, 1, 2, 2
        cats: dict[str, Any] = {"fixedrange": True, "automargin": True}
        if self.x_title:
            cats["title"] = {"text": _(self.x_title)}
        if self.dates:
            # a date axis, not categories: a day without data is the gap it is
            cats |= {"type": "date", "tickformat": "%m-%d", "dtick": 86400000 * 2}
        else:
            cats["type"] = "category"
        layout: dict[str, Any] = {
            "barmode": "stack" if self.stacked else "group", "height": 300,
            "margin": {"l": 56, "r": 12, "t": 12, "b": 48}, "showlegend": len(data) > 1,
            "legend": {"orientation": "h", "y": -0.25}, "font": {"family": _FONT},
            "separators": ".,", "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff",
            "xaxis": counts if self.horizontal else cats,
            "yaxis": cats if self.horizontal else counts,
        }
        return {"data": data, "layout": layout}

    def spec(self, _: Any) -> Markup:
        """The figure as the content of a ``<script type="application/json">`` block:
        ``<``, ``>`` and ``&`` escaped so no text can end the block."""
        text = json.dumps(self.figure(_), ensure_ascii=False, separators=(",", ":"))
        safe = text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
        return Markup(safe)  # noqa: S704 - JSON with <, > and & escaped: nothing ends the block


_FONT = 'system-ui, "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif'


@dataclass
class Overview:
    figures: list[Figure] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)

    @property
    def style_guards(self) -> tuple[str, ...]:
        return injected_style_ids()


def show(request: Any, title: str, nav: list[Any], overview: Overview, sections: list[Any],
         **kw: Any) -> Any:
    """A landing page: ``overview`` above the page's ``sections``."""
    return page(request, "overview.html", title=title, nav=nav, overview=overview,
                sections=sections, messages=kw.get("messages") or [],
                errors=kw.get("errors") or [], status_code=kw.get("status_code", 200))


# -- the plotly script, served from the installed package ------------------------------------


@cache
def plotly_js() -> Path:
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():  # pragma: no cover - a broken plotly installation
        raise RuntimeError(f"plotly's bundled script is missing: {path}")
    return path


_RULES = re.compile(r'=\s*(\{"X,X div":.*?\});\s*for\s*\((?:var\s+)?\w+\s+in', re.S)
_STRING = r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\''
_PAIR = re.compile(rf"({_STRING}):({_STRING})")


def _js_string(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal[1:-1])


@cache
def plotly_css() -> str:
    """Plotly's own style rules as a style sheet. Plotly inserts them at run time into a
    ``<style>`` element, which the portals' CSP (``style-src 'self'``) refuses; when the
    page has an element ``#plotly.js-style-global.no-inline-styles`` Plotly leaves
    that to the page. The rules are read from the bundled script itself, so they match
    its version; each is inserted at the top, so the last comes first."""
    found = _RULES.search(plotly_js().read_text(encoding="utf-8"))
    if found is None:  # pragma: no cover - a plotly.js that keeps its rules elsewhere
        raise RuntimeError("plotly.min.js: its style rules were not found")
    rules = []
    for key, value in _PAIR.findall(found.group(1)):
        selector = re.sub(r"^,", " ,", _js_string(key)).replace(
            "X", ".js-plotly-plot .plotly").replace("Y", ".plotly-notifier")
        rules.append(f"{selector}{{{_js_string(value)}}}")
    return "\n".join(reversed(rules)) + "\n"


_INJECTED = re.compile(r'getElementById\("([0-9a-f]{16,})"\)\)\{'
                       r'var e=document\.createElement\("style"\)')


@cache
def injected_style_ids() -> tuple[str, ...]:
    """Ids of the ``<style>`` elements the bundle injects when it loads (the map
    library's CSS), each skipped when an element of that id is already on the page.
    The overview draws no maps: the page carries empty elements of these ids, so
    nothing is injected for the CSP to refuse."""
    return tuple(dict.fromkeys(_INJECTED.findall(plotly_js().read_text(encoding="utf-8"))))


@router.get("/assets/plotly.css")
def plotly_style() -> Response:
    return Response(plotly_css(), media_type="text/css",
                    headers={"Cache-Control": "public, max-age=86400"})


@router.get("/assets/plotly.min.js")
def plotly_script() -> FileResponse:
    """Plotly's own bundled script, from the installed package: no CDN."""
    return FileResponse(plotly_js(), media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})


# -- days ------------------------------------------------------------------------------------


def china_day(at: datetime) -> date:
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return aware.astimezone(DISPLAY_TZ).date()


def window(now: datetime, days: int = DAYS) -> tuple[list[date], datetime]:
    """The last ``days`` China days up to today, and the UTC instant the first begins."""
    today = china_day(now)
    first = today - timedelta(days=days - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=DISPLAY_TZ).astimezone(UTC)
    return [first + timedelta(days=i) for i in range(days)], start


def _per_day(days: list[date], counts: Counter[date]) -> list[int | None]:
    # None, not 0: on a date axis an empty day is a gap
    return [counts[d] or None for d in days]


# -- scope -----------------------------------------------------------------------------------


def _own(principal: Principal, column: Any) -> Any:
    """The rows an enterprise's staff may count: their own; the supervision
    department counts all."""
    return column == principal.org_id if principal.org_kind == "enterprise" else True


# -- enterprise ------------------------------------------------------------------------------


def alerts_by_severity(session: Session, principal: Principal) -> Counter[str]:
    """Alerts not closed yet (open or acknowledged), by severity."""
    rows = session.execute(select(MonitorAlert.severity, func.count()).where(
        _own(principal, MonitorAlert.enterprise_id), MonitorAlert.status != "closed")
        .group_by(MonitorAlert.severity))
    return Counter({str(s): int(n) for s, n in rows})


def _severity_chart(counts: Counter[str]) -> Chart:
    return Chart("alerts-severity", "Open alerts by severity", list(SEVERITIES),
                 [Series("Open alerts", [counts[s] for s in SEVERITIES],
                         [SEVERITY_COLOURS[s] for s in SEVERITIES])],
                 "Alerts", empty="No open alerts.")


def incident_deadlines(session: Session, principal: Principal,
                       now: datetime) -> tuple[Counter[tuple[str, str]], int, int]:
    """Incidents by state and by their worst statutory-report deadline (overdue, due,
    none), and the numbers of draft reports overdue and due."""

    worst: dict[str, str] = {}
    overdue = due = 0
    for inc_id, due_at in session.execute(select(IncidentReport.incident_id,
                                                 IncidentReport.due_at).where(
            _own(principal, IncidentReport.enterprise_id), IncidentReport.status == "draft",
            IncidentReport.due_at.is_not(None))):
        late = due_at is not None and due_at < now
        overdue, due = overdue + late, due + (not late)
        if late or worst.get(inc_id) != "overdue":
            worst[inc_id] = "overdue" if late else "due"
    states: Counter[tuple[str, str]] = Counter()
    for inc_id, state in session.execute(select(Incident.id, Incident.state).where(
            _own(principal, Incident.enterprise_id))):
        states[(str(state), worst.get(inc_id, "none"))] += 1
    return states, overdue, due


def _incidents_chart(states: Counter[tuple[str, str]]) -> Chart:
    labels = {"overdue": "with a report overdue", "due": "with a report due",
              "none": "no report due"}
    return Chart("incidents-state", "Incidents by state and report deadline",
                 list(INCIDENT_STATES),
                 [Series(labels[k], [states[(s, k)] for s in INCIDENT_STATES],
                         DEADLINE_COLOURS[k]) for k in ("overdue", "due", "none")],
                 "Incidents", empty="No incidents.")


def suspended_employees(session: Session, enterprise_id: str, now: datetime) -> int:

    return int(session.scalar(select(func.count(func.distinct(AccessSuspension.employee_id)))
                              .where(AccessSuspension.enterprise_id == enterprise_id,
                                     AccessSuspension.employee_id.is_not(None),
                                     AccessSuspension.starts_at <= now,
                                     AccessSuspension.lifted_at.is_(None),
                                     or_(AccessSuspension.until.is_(None),
                                         AccessSuspension.until > now))) or 0)


def _leaf_text(session: Session, column: Any) -> Any:
    """The leaf's bytes as text on the database's side (they are UTF-8 JSON)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.convert_from(column, "UTF8")
    return cast(column, Text)


def reveals_by_day(session: Session, enterprise_id: str, since: datetime,
                   ) -> tuple[Counter[date], Counter[date]]:
    """PI reveals per China day since ``since``: (allowed, refused), counted in the
    enterprise's own log (access events whose action is ``reveal``) by the database."""

    # The action and outcome are inside the leaf: canonical JSON, no spaces, a string
    # value's own quotes escaped, so these patterns match the fields and nothing else.
    leaf = _leaf_text(session, LedgerEvent.leaf)
    # China Standard Time has no daylight saving: a day is UTC+8 cut every 24 hours
    day = (LedgerEvent.occurred_at_us + 8 * US_PER_HOUR) // (24 * US_PER_HOUR)
    allowed_expr = case((leaf.like('%"outcome":"allowed"%'), 1), else_=0)
    allowed: Counter[date] = Counter()
    refused: Counter[date] = Counter()
    for n_day, ok, n in session.execute(
            select(day, allowed_expr, func.count()).where(
                LedgerEvent.enterprise_id == enterprise_id, LedgerEvent.kind == "access",
                LedgerEvent.occurred_at_us >= int(since.timestamp() * 1_000_000),
                leaf.like('%"action":"reveal"%')).group_by(day, allowed_expr)):
        d = date(1970, 1, 1) + timedelta(days=int(n_day))
        (allowed if ok else refused)[d] += int(n)
    return allowed, refused


def enterprise(session: Session, principal: Principal, now: datetime) -> Overview:
    ov = Overview()
    ent = principal.org_id
    if not principal.can("alerts:read"):  # customer service: no security figures
        return ov
    sev = alerts_by_severity(session, principal)
    ov.figures.append(Figure("open-alerts", "Open alerts", sum(sev.values()),
                             "overdue" if sev["high"] + sev["critical"] else None,
                             "/enterprise/alerts"))
    ov.charts.append(_severity_chart(sev))
    if principal.can("incidents:read"):
        states, overdue, due = incident_deadlines(session, principal, now)
        open_n = sum(n for (s, _), n in states.items() if s not in ("resolved", "reviewed"))
        ov.figures += [
            Figure("open-incidents", "Open incidents", open_n, None, "/enterprise/incidents"),
            Figure("reports-overdue", "Statutory reports overdue", overdue,
                   "overdue" if overdue else None, "/enterprise/incidents"),
            Figure("reports-due", "Statutory reports due", due, None, "/enterprise/incidents")]
        ov.charts.append(_incidents_chart(states))
    ov.figures.append(Figure("suspended", "Employees suspended",
                             suspended_employees(session, ent, now), None,
                             "/enterprise/employees"))
    days, since = window(now)
    allowed, refused = reveals_by_day(session, ent, since)
    ov.figures.append(Figure("reveals-today", "PI reveals today", allowed[days[-1]]))
    ov.charts.append(Chart("reveals", "PI reveals per day (last 30 days)",
                           [d.isoformat() for d in days],
                           [Series("allowed", _per_day(days, allowed), NEUTRAL),
                            Series("refused", _per_day(days, refused), "#e8590c")],
                           "Reveals", "day (China Standard Time)", dates=True,
                           empty="No PI was revealed in the last 30 days."))
    return ov


# -- supervision department -----------------------------------------------------------------


def alerts_by_day(session: Session, principal: Principal,
                  since: datetime) -> Counter[tuple[date, str]]:
    out: Counter[tuple[date, str]] = Counter()
    for at, sev in session.execute(select(MonitorAlert.raised_at, MonitorAlert.severity).where(
            _own(principal, MonitorAlert.enterprise_id), MonitorAlert.raised_at >= since)):
        out[(china_day(at), str(sev))] += 1
    return out


def orders_in_force(session: Session, principal: Principal) -> Counter[str]:
    """Interventions the supervision department ordered and has not lifted, by kind."""

    return Counter({str(k): int(n) for k, n in session.execute(
        select(Intervention.kind, func.count()).where(
            Intervention.ordered_by_org == principal.org_id,
            Intervention.lifted_at.is_(None)).group_by(Intervention.kind))})


def supervisor(session: Session, principal: Principal, now: datetime) -> Overview:
    ov = Overview()
    enterprises = int(session.scalar(select(func.count()).select_from(Organization).where(
        Organization.kind == "enterprise")) or 0)
    ov.figures.append(Figure("enterprises", "Enterprises", enterprises))
    read_all = principal.can("incidents:read_all")
    if read_all:
        _, overdue, due = incident_deadlines(session, principal, now)
        orders = orders_in_force(session, principal)
        ov.figures += [
            Figure("reports-overdue", "Statutory reports overdue", overdue,
                   "overdue" if overdue else None, "/supervisor/inbox"),
            Figure("reports-due", "Statutory reports due", due, None, "/supervisor/inbox"),
            Figure("orders", "Orders in force", sum(orders.values()), None,
                   "/supervisor/orders")]
    sev = alerts_by_severity(session, principal)
    ov.figures.append(Figure("open-alerts", "Open alerts", sum(sev.values()),
                             "overdue" if sev["high"] + sev["critical"] else None))
    days, since = window(now)
    by_day = alerts_by_day(session, principal, since)
    ov.charts.append(Chart(
        "alerts-days", "Alerts by severity per day (last 30 days)",
        [d.isoformat() for d in days],
        [Series(s, _per_day(days, Counter({d: by_day[(d, s)] for d in days})),
                SEVERITY_COLOURS[s]) for s in SEVERITIES],
        "Alerts", "day (China Standard Time)", dates=True,
        empty="No alerts in the last 30 days."))
    if read_all:
        ov.charts.append(Chart("orders-kind", "Orders in force by measure", list(KINDS),
                               [Series("Orders in force", [orders[k] for k in KINDS], NEUTRAL)],
                               "Orders", empty="No order is in force."))
    return ov


# -- police ----------------------------------------------------------------------------------


def referrals_by_state(session: Session, principal: Principal) -> Counter[str]:

    return Counter({str(s): int(n) for s, n in session.execute(
        select(ChannelReferral.status, func.count()).where(
            ChannelReferral.police_org_id == principal.org_id)
        .group_by(ChannelReferral.status))})


def police(session: Session, principal: Principal, now: datetime) -> Overview:
    del now
    ov = Overview()
    states = referrals_by_state(session, principal)
    ov.figures += [
        Figure("referrals", "Referrals", sum(states.values())),
        Figure("referrals-sent", "Awaiting your decision", states["sent"],
               "overdue" if states["sent"] else None),
        Figure("referrals-accepted", "Being investigated", states["accepted"]),
        Figure("referrals-concluded", "Referrals concluded", states["concluded"])]
    ov.charts.append(Chart("referrals-state", "Referrals by state", list(REFERRAL_STATES),
                           [Series("Referrals", [states[s] for s in REFERRAL_STATES],
                                   [REFERRAL_COLOURS[s] for s in REFERRAL_STATES])],
                           "Referrals", empty="No referrals."))
    return ov


# -- auditor ---------------------------------------------------------------------------------


def auditor(session: Session, principal: Principal, now: datetime) -> Overview:
    del now
    ov = Overview()
    mine = engagements.list_for(session, principal)
    status = Counter(e.status for e in mine)
    by_control: Counter[tuple[str, str]] = Counter()
    open_findings = 0
    ids = [e.id for e in mine]
    if ids:
        for control, sev, st in session.execute(select(
                AuditFinding.control_id, AuditFinding.severity, AuditFinding.status).where(
                AuditFinding.engagement_id.in_(ids))):
            by_control[(str(control), str(sev))] += 1
            open_findings += st != "closed"
    ov.figures += [
        Figure("engagements", "Engagements", len(mine)),
        Figure("engagements-fieldwork", "In fieldwork", status["fieldwork"]),
        Figure("engagements-delivered", "Reports delivered", status["delivered"]),
        Figure("findings-open", "Open findings", open_findings,
               "overdue" if open_findings else None)]
    controls = sorted({c for c, _ in by_control})
    ov.charts.append(Chart(
        "findings-control", "Findings by control", controls,
        [Series(s, [by_control[(c, s)] for c in controls], SEVERITY_COLOURS[s])
         for s in SEVERITIES], "Findings", horizontal=True, translate_x=False,
        empty="No findings."))
    scored = [e for e in mine if e.score is not None]
    ov.charts.append(Chart(
        "scores", "Scores of evaluated engagements (0–100)", [e.id for e in scored],
        [Series("Score", [round(float(e.score or 0), 1) for e in scored], NEUTRAL),
         Series("Coverage (%)", [round(float(e.coverage or 0) * 100, 1) for e in scored],
                MUTED)], "0–100", stacked=False, y_max=100, translate_x=False,
        empty="No engagement has been evaluated yet."))
    return ov
