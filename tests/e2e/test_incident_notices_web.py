"""The command line's incident notices (``incidents notify``), public announcement
(``incidents announce``) and onward forwards (``incidents forward send``) done on the
portals, over HTTP on a served app: the officer reads the notice's text in the page's
language, confirms, sends; the supervisor forwards a filed report after the
confirmation; each answers with a redirect, so a reload sends nothing twice; an
analyst of the department may read but not forward."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import func, select

from parcelguard.access.caller import caller_for_principal
from parcelguard.access.service import AccessGate
from parcelguard.app import create_app
from parcelguard.core.ids import new_id
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity import repository as identity_repo
from parcelguard.identity import service as identity
from parcelguard.identity.service import principal_for_account
from parcelguard.incidents import service
from parcelguard.incidents.models import ForwardedReport, IncidentReport, Notice, TimelineEntry
from parcelguard.incidents.settings import IncidentSettings
from parcelguard.ops.store import init_store
from parcelguard.vault.provider import vault_service
from parcelguard.waybill.provider import telephony
from parcelguard.web import demo
from parcelguard.web.demo_cases import seed_cases
from tests.e2e.served import csrf, serve

CAC = "cac-test"


@dataclass
class Site:
    rt: Runtime
    prov: demo.Provisioned
    base_url: str
    incident_id: str
    forward_id: str
    analyst: demo.Login
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    def staff(self, username: str, lang: str = "en") -> httpx.Client:
        """Logged in once per module (a TOTP code is accepted once per step)."""
        if username not in self.clients:
            logins = [*self.prov.logins, self.analyst]
            login = next(x for x in logins if x.username == username)
            c = httpx.Client(base_url=self.base_url, timeout=20)
            r = c.post("/login", data={"csrf_token": csrf(c.get("/login").text),
                                       "username": username, "password": login.password,
                                       "code": demo.current_code(login, datetime.now(UTC))})
            assert r.status_code == 303, r.text
            self.clients[username] = c
        c = self.clients[username]
        c.get(f"/?lang={lang}")  # the language cookie
        return c


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home: Path = tmp_path_factory.mktemp("incident-notices-web")
    rt = Runtime(settings=Settings(home=home, database_url=f"sqlite:///{home / 'pg.db'}"))
    init_store(rt.settings)
    vault = vault_service(rt.settings)
    with rt.db.unit_of_work() as uow:
        s = uow.session
        prov = demo.provision(s, vault, telephony(rt.settings), clock=rt.clock)
        seed_cases(s, vault, rt.settings, rt.clock, prov)
        # the courier's reveals of the recipients' phones: the people the notices go to
        acc = identity_repo.find_account_by_username(s, "courier.demo")
        assert acc is not None
        caller = caller_for_principal(s, principal_for_account(s, acc), channel="web",
                                      ip="127.0.0.1")
        evidence = [AccessGate(s, vault, rt.clock).reveal(
            caller, waybill_no=w, purpose="delivery", fields=["recipient_phone"]).event_id
            for w in prov.assigned[:2]]
        opened = service.open_incident(s, service.OpenRequest(
            enterprise_id=prov.enterprise_id, title="Lookups outside assignments (notices)",
            category="insider_abuse", source="manual", detected_at=rt.clock.now(),
            evidence_event_ids=evidence), actor="system:test",
            settings=rt.settings.section(IncidentSettings))
        inc = opened.incident
        identity.create_organization(s, org_id=CAC, kind="cac", name="CAC (test)",
                                     clock=rt.clock)
        report = s.scalars(select(IncidentReport).where(
            IncidentReport.incident_id == inc.id)).first()
        assert report is not None, "the incident owes a statutory report"
        now = rt.clock.now()
        fwd = ForwardedReport(id=new_id("fwd"), report_id=report.id, incident_id=inc.id,
                              enterprise_id=inc.enterprise_id, to_org_id=None, grade="major",
                              status="pending", due_at=now + timedelta(minutes=30),
                              created_at=now)
        s.add(fwd)
        analyst = demo._account(s, vault.vault.kms, username="analyst.test",
                                org_id=identity.SUPERVISOR_ORG_ID, role="supervisor_analyst",
                                portal="supervisor", clock=rt.clock,
                                display_name="Analyst (test)")
        uow.commit()
        ids = (str(inc.id), str(fwd.id))
    with serve(create_app(rt)) as base_url:
        site = Site(rt, prov, base_url, *ids, analyst)
        yield site
        for c in site.clients.values():
            c.close()
    rt.close()


def _count(site: Site, model: Any, *where: Any) -> int:
    with site.rt.db.unit_of_work() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model).where(*where))
                   or 0)


def _form(html: str, action: str) -> str:
    m = re.search(rf'<form method="post" action="{re.escape(action)}".*?</form>', html, re.S)
    assert m is not None, f"no form for {action}"
    return m.group(0)


def test_the_officer_reads_the_notice_in_the_pages_language(site: Site) -> None:
    c = site.staff("security.demo", "zh-CN")
    zh = c.get(f"/enterprise/incidents/{site.incident_id}").text
    text = re.search(r'id="notice-text".*?<dd>(.*?)</dd>', zh, re.S)
    assert text is not None
    assert text.group(1).startswith("【个人信息安全告知】")
    assert "Your " not in text.group(1)
    assert "发送告知" in zh
    en = site.staff("security.demo", "en").get(f"/enterprise/incidents/{site.incident_id}")
    text = re.search(r'id="notice-text".*?<dd>(.*?)</dd>', en.text, re.S)
    assert text is not None
    assert text.group(1).startswith("Your ")
    assert not re.search(r"[\u4e00-\u9fff]", text.group(1))


def test_notices_need_the_confirmation_then_go_once(site: Site) -> None:
    c = site.staff("security.demo")
    url = f"/enterprise/incidents/{site.incident_id}"
    page = c.get(url).text
    assert 'name="channel"' in _form(page, f"{url}/notify")
    refused = c.post(f"{url}/notify", data={"csrf_token": csrf(page), "channel": "sms",
                                             "_page": url})
    assert refused.status_code == 422
    assert _count(site, Notice, Notice.incident_id == site.incident_id) == 0
    sent = c.post(f"{url}/notify", data={"csrf_token": csrf(page), "channel": "sms",
                                          "confirm": "yes", "_page": url})
    assert sent.status_code == 303
    assert sent.headers["location"] == url
    rows = _count(site, Notice, Notice.incident_id == site.incident_id)
    assert rows > 0
    shown = c.get(url).text
    assert "Notices sent:" in shown
    reloaded = c.get(url).text
    assert "Notices sent:" not in reloaded  # the message once, and nothing re-sent
    assert _count(site, Notice, Notice.incident_id == site.incident_id) == rows
    assert re.search(r"<td>SMS</td><td>(reached|no address on file)</td>", reloaded)
    zh = c.get(f"{url}?lang=zh-CN").text  # the switch after the post: the same case
    assert "对受影响个人的告知" in zh


def test_the_announcement_says_where_it_was_published(site: Site) -> None:
    c = site.staff("security.demo")
    url = f"/enterprise/incidents/{site.incident_id}"
    page = c.get(url).text
    done = c.post(f"{url}/announce", data={"csrf_token": csrf(page), "confirm": "yes",
                                            "where": "website and app home page",
                                            "_page": url})
    assert done.status_code == 303
    shown = c.get(url).text
    assert "Announcement published." in shown
    assert "website and app home page" in shown
    facts = re.search(r'id="notices".*?</dl>', shown, re.S)
    assert facts is not None
    assert "<dt>Public announcement</dt><dd>yes</dd>" in facts.group(0)


def test_the_supervisor_forwards_a_report_once_after_confirming(site: Site) -> None:
    c = site.staff("supervisor.demo")
    page = c.get("/supervisor/forwards").text
    assert "awaiting forward" in page
    form = _form(page, "/supervisor/forwards/send")
    assert CAC in form
    refused = c.post("/supervisor/forwards/send", data={
        "csrf_token": csrf(page), "forward_id": site.forward_id, "to": CAC,
        "_page": "/supervisor/forwards"})
    assert refused.status_code == 422
    done = c.post("/supervisor/forwards/send", data={
        "csrf_token": csrf(page), "forward_id": site.forward_id, "to": CAC, "confirm": "yes",
        "_page": "/supervisor/forwards"})
    assert done.status_code == 303
    shown = c.get("/supervisor/forwards").text
    assert "Forwarded on time." in shown
    assert "CAC (test)" in shown
    c.get("/supervisor/forwards")  # the reload
    assert _count(site, TimelineEntry, TimelineEntry.incident_id == site.incident_id,
                  TimelineEntry.action == "forwarded") == 1
    zh = c.get("/supervisor/forwards?lang=zh-CN").text
    assert "已转报" in zh


def test_an_analyst_reads_the_forwards_but_cannot_send(site: Site) -> None:
    c = site.staff("analyst.test")
    page = c.get("/supervisor/forwards")
    assert page.status_code == 200
    assert "/supervisor/forwards/send" not in page.text
    r = c.post("/supervisor/forwards/send", data={
        "csrf_token": csrf(page.text), "forward_id": site.forward_id, "confirm": "yes"})
    assert r.status_code == 403


def test_other_roles_cannot_notify(site: Site) -> None:
    c = site.staff("supervisor.demo")
    url = f"/enterprise/incidents/{site.incident_id}/notify"
    page = c.get("/supervisor/forwards").text
    r = c.post(url, data={"csrf_token": csrf(page), "channel": "sms", "confirm": "yes"})
    assert r.status_code == 403
    # the department sees where the notices stand, without the buttons
    case = c.get(f"/supervisor/incidents/{site.incident_id}").text
    assert 'id="notices"' in case
    assert "/notify" not in case
