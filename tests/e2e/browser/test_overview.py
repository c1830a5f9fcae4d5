"""The staff portals' overview pages (web/overview.py) in a real browser: every
landing page at desktop and phone size in zh-CN and English draws its charts with
no 5xx and no raw JSON, says nothing in English on a Chinese page and shows no raw key
on an English one (charts' axes and legends included), and its figures are the
database's counts (counted here with SQL of the test's own)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from parcelguard.monitor.models import MonitorAlert
from tests.e2e.browser.conftest import World, shot
from tests.e2e.test_portal_languages import ENGLISH_PHRASE, PROPER, RAW_KEY

CJK = re.compile(r"[\u4e00-\u9fff]")
CHINA = ZoneInfo("Asia/Shanghai")
PORTALS = {"security.demo": "/enterprise", "supervisor.demo": "/supervisor",
           "police.demo": "/police", "auditor.demo": "/auditor"}
OTHER_ENTERPRISE = "ent-overview-other"


@pytest.fixture(scope="module", autouse=True)
def alerts(world: World) -> None:
    """Alerts of every severity for the demo enterprise (one closed, one 20 days old)
    and one of another enterprise, which the enterprise's overview must not count."""
    now = datetime.now(UTC)
    rows = [("low", "open", 0), ("medium", "acknowledged", 0), ("high", "open", 1),
            ("critical", "open", 20), ("high", "closed", 2)]
    with world.rt.db.unit_of_work() as uow:
        for n, (severity, status, days) in enumerate(rows):
            at = now - timedelta(days=days)
            us = int(at.timestamp() * 1e6)
            uow.session.add(MonitorAlert(
                id=f"alr_overview{n}", enterprise_id=world.prov.enterprise_id,
                detector="volume_spike", subject_type="actor",
                subject_id=world.prov.courier_employee_id, severity=severity, score=0.9,
                status=status, open_key=None, raised_at=at, first_event_at=at,
                last_event_at=at, raised_us=us, first_us=us, last_us=us, event_ids=[],
                record_count=10, summary="volume"))
        us = int(now.timestamp() * 1e6)
        uow.session.add(MonitorAlert(
            id="alr_overview_other", enterprise_id=OTHER_ENTERPRISE, detector="volume_spike",
            subject_type="actor", subject_id="emp-x", severity="critical", score=0.9,
            status="open", open_key=None, raised_at=now, first_event_at=now, last_event_at=now,
            raised_us=us, first_us=us, last_us=us, event_ids=[], record_count=10,
            summary="volume"))
        uow.commit()


def _scalar(world: World, sql: str, **params: Any) -> int:
    with world.rt.db.unit_of_work() as uow:
        return int(uow.session.execute(text(sql), params).scalar_one() or 0)


def _org(world: World, username: str) -> str:
    with world.rt.db.unit_of_work() as uow:
        return str(uow.session.execute(text("SELECT org_id FROM accounts WHERE username = :u"),
                                       {"u": username}).scalar_one())


def _draft_reports(world: World, where: str, now: datetime, **params: Any) -> tuple[int, int]:
    """(overdue, due) statutory reports still in draft."""
    with world.rt.db.unit_of_work() as uow:
        dues = [r for (r,) in uow.session.execute(text(
            f"SELECT due_at FROM incident_reports WHERE status = 'draft' "
            f"AND due_at IS NOT NULL {where}"), params)]
    parsed = [d if isinstance(d, datetime) else datetime.fromisoformat(str(d)) for d in dues]
    parsed = [d if d.tzinfo else d.replace(tzinfo=UTC) for d in parsed]
    return sum(d < now for d in parsed), sum(d >= now for d in parsed)


def reveals_today(world: World, enterprise_id: str) -> int:
    """Allowed reveals in the enterprise's log since midnight, China time."""
    midnight = datetime.now(CHINA).replace(hour=0, minute=0, second=0, microsecond=0)
    with world.rt.db.unit_of_work() as uow:
        leaves = uow.session.execute(text(
            "SELECT leaf FROM ledger_events WHERE enterprise_id = :e AND kind = 'access' "
            "AND occurred_at_us >= :t"), {"e": enterprise_id,
                                          "t": int(midnight.timestamp() * 1_000_000)})
        docs = [json.loads(bytes(leaf)) for (leaf,) in leaves]
    return sum(d.get("action") == "reveal" and d.get("outcome") == "allowed" for d in docs)


def expected(world: World, username: str) -> dict[str, int]:
    """Each figure the page must show, counted straight from the tables."""
    now = datetime.now(UTC)
    ent = world.prov.enterprise_id
    if username == "security.demo":
        overdue, due = _draft_reports(world, "AND enterprise_id = :e", now, e=ent)
        return {
            "open-alerts": _scalar(world, "SELECT COUNT(*) FROM monitor_alerts WHERE "
                                   "enterprise_id = :e AND status <> 'closed'", e=ent),
            "open-incidents": _scalar(world, "SELECT COUNT(*) FROM incidents WHERE "
                                      "enterprise_id = :e AND state NOT IN "
                                      "('resolved', 'reviewed')", e=ent),
            "reports-overdue": overdue, "reports-due": due,
            "suspended": _scalar(world, "SELECT COUNT(DISTINCT employee_id) FROM "
                                 "access_suspensions WHERE enterprise_id = :e AND employee_id "
                                 "IS NOT NULL AND lifted_at IS NULL", e=ent),
            "reveals-today": reveals_today(world, ent)}
    if username == "supervisor.demo":
        overdue, due = _draft_reports(world, "", now)
        return {
            "enterprises": _scalar(world, "SELECT COUNT(*) FROM organizations "
                                   "WHERE kind = 'enterprise'"),
            "reports-overdue": overdue, "reports-due": due,
            "orders": _scalar(world, "SELECT COUNT(*) FROM incident_interventions WHERE "
                              "ordered_by_org = :o AND lifted_at IS NULL",
                              o=_org(world, username)),
            "open-alerts": _scalar(world, "SELECT COUNT(*) FROM monitor_alerts "
                                   "WHERE status <> 'closed'")}
    if username == "police.demo":
        org = _org(world, username)
        count = "SELECT COUNT(*) FROM channel_referrals WHERE police_org_id = :o"
        return {"referrals": _scalar(world, count, o=org),
                **{f"referrals-{s}": _scalar(world, f"{count} AND status = :s", o=org, s=s)
                   for s in ("sent", "accepted", "concluded")}}
    org = _org(world, username)
    mine = "FROM audit_engagements WHERE auditor_org_id = :o OR enterprise_id = :o"
    return {"engagements": _scalar(world, f"SELECT COUNT(*) {mine}", o=org),
            "engagements-fieldwork": _scalar(
                world, f"SELECT COUNT(*) {mine.replace('WHERE', 'WHERE status = :s AND (')})",
                o=org, s="fieldwork"),
            "findings-open": _scalar(world, "SELECT COUNT(*) FROM audit_findings WHERE "
                                     f"status <> 'closed' AND engagement_id IN (SELECT id {mine})",
                                     o=org)}


def chart_spec(page: Any, key: str) -> dict[str, Any] | None:
    block = page.locator(f"#spec-{key}")
    return json.loads(block.text_content()) if block.count() else None


def overview_text(page: Any) -> list[str]:
    """What a reader of the overview sees: its text, and the charts' own words (axis
    titles, ticks, legends) that Plotly drew into SVG."""
    return page.evaluate("""() => {
        const root = document.getElementById('overview');
        const svg = Array.from(root.querySelectorAll('svg text')).map(t => t.textContent);
        return [root.innerText, ...svg];
    }""")


def check_language(texts: list[str], lang: str, where: str) -> None:
    found = set()
    for t in texts:
        if lang == "zh-CN":
            for m in ENGLISH_PHRASE.finditer(t):
                words = [x for x in re.split(r"[ ,'’-]+", m.group(0)) if x not in PROPER]
                if len(words) >= 2:
                    found.add(m.group(0))
        found |= {m.group(0) for m in RAW_KEY.finditer(t)}
        if lang == "en" and CJK.search(t):
            found.add(t)
    assert not found, (where, sorted(found))


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_overview_pages(open_page: Any, world: World, lang: str, phone: bool) -> None:
    for username, path in PORTALS.items():
        page = open_page(username=username, phone=phone)
        errors: list[str] = []
        page.on("response", lambda r, errors=errors: errors.append(f"{r.status} {r.url}")
                if r.status >= 500 else None)
        response = page.goto(f"{path}?lang={lang}")
        assert response is not None
        assert response.status == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert not page.locator("body").inner_text().lstrip().startswith("{"), path  # raw JSON
        charts, plots = page.locator("figure.chart"), page.locator(".plot")
        assert charts.count() >= 1, f"{path}: no chart"
        # each chart is drawn, or says there is nothing to draw yet
        assert plots.count() + page.locator(".chart-empty").count() == charts.count(), path
        page.wait_for_function("() => [...document.querySelectorAll('.plot')]"
                               ".every(p => p.dataset.drawn === '1')", timeout=20_000)
        assert page.locator(".plot svg.main-svg").count() >= plots.count()
        # each chart is inside its box, not spilling over the page (Plotly's CSS loaded)
        for box in page.locator("figure.chart").all():
            outer, inner = box.bounding_box(), box.locator(".plot, .chart-empty").first
            drawn = inner.bounding_box()
            assert outer is not None
            assert drawn is not None
            assert drawn["y"] + drawn["height"] <= outer["y"] + outer["height"] + 1, path
        check_language(overview_text(page), lang, path)
        if lang == "zh-CN":
            for label in page.locator(".figure-label, figure.chart figcaption").all_inner_texts():
                assert CJK.search(label), (path, label)
        for key, count in expected(world, username).items():
            shown = page.locator(f"#fig-{key} .figure-value")
            assert shown.get_attribute("data-value") == str(count), (path, key)
            assert shown.inner_text().replace(",", "") == str(count), (path, key)
        assert errors == [], errors
        shot(page, f"overview-{path.strip('/')}-{lang}-{'phone' if phone else 'desktop'}")


def test_enterprise_charts_agree_with_the_database(open_page: Any, world: World) -> None:
    page = open_page(username="security.demo")
    page.goto("/enterprise?lang=en")
    spec = chart_spec(page, "alerts-severity")
    assert spec is not None
    bars = dict(zip(spec["data"][0]["x"], spec["data"][0]["y"], strict=True))
    ent = world.prov.enterprise_id
    for severity in ("low", "medium", "high", "critical"):
        assert bars[severity] == _scalar(
            world, "SELECT COUNT(*) FROM monitor_alerts WHERE enterprise_id = :e AND "
            "status <> 'closed' AND severity = :s", e=ent, s=severity), severity
    colours = dict(zip(spec["data"][0]["x"], spec["data"][0]["marker"]["color"], strict=True))
    for severity in ("high", "critical"):  # red/orange, never green
        r, g, b = (int(colours[severity][i:i + 2], 16) for i in (1, 3, 5))
        assert r > 180, (severity, colours[severity])
        assert g < 120, (severity, colours[severity])
        assert b < 60, (severity, colours[severity])
    incidents = chart_spec(page, "incidents-state")
    assert incidents is not None
    assert sum(v or 0 for t in incidents["data"] for v in t["y"]) == _scalar(
        world, "SELECT COUNT(*) FROM incidents WHERE enterprise_id = :e", e=ent)
    reveals = chart_spec(page, "reveals")
    assert reveals is not None
    # days of the China calendar, on a date axis where an empty day is a gap (null)
    assert reveals["layout"]["xaxis"]["type"] == "date"
    assert reveals["data"][0]["x"][-1] == datetime.now(CHINA).date().isoformat()
    assert all(v is None or v > 0 for t in reveals["data"] for v in t["y"])


def test_supervisor_alerts_per_day_are_china_days_with_gaps(open_page: Any,
                                                           world: World) -> None:
    page = open_page(username="supervisor.demo")
    page.goto("/supervisor?lang=zh-CN")
    spec = chart_spec(page, "alerts-days")
    assert spec is not None
    by_name = {t["name"]: dict(zip(t["x"], t["y"], strict=True)) for t in spec["data"]}
    assert set(by_name) == {"低", "中", "高", "严重"}  # legend in the page's language
    today = datetime.now(CHINA).date()
    old = (today - timedelta(days=20)).isoformat()
    assert (by_name["严重"][old] or 0) >= 1  # the 20-day-old critical alert, on its day
    quiet = [d for d in by_name["低"] if all(by_name[s][d] is None for s in by_name)]
    assert quiet, "days without alerts must be gaps (null), not zeros"
    assert page.locator("#chart-alerts-days .g-xtitle").text_content() == "日期（北京时间）"
