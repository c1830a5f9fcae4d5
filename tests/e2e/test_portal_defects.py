"""Staff portal defects of issue 17 and the portals' common behaviour, over HTTP on a
served app: a suspension the supervision department ordered cannot be lifted by the
enterprise (no button, refused if posted), the police page does not call an empty
evidence package verified, audit words are not complaint or parcel words, error
pages are HTML in the visitor's language, a done form post redirects (a reload does
not repeat it) and the language switch after a post opens the page, not the action."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.access.models import AccessSuspension
from parcelguard.app import create_app
from parcelguard.channel.settings import ChannelSettings
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity.permissions import Principal
from parcelguard.identity.service import SUPERVISOR_ORG_ID
from parcelguard.incidents import interventions
from parcelguard.logistics import service as logistics
from parcelguard.logistics.models import Employee
from parcelguard.ops.store import init_store
from parcelguard.vault.provider import vault_service
from parcelguard.waybill.provider import telephony
from parcelguard.web import demo
from parcelguard.web.demo_cases import seed_cases
from tests.e2e.served import csrf, serve


@dataclass
class Site:
    rt: Runtime
    prov: demo.Provisioned
    base_url: str
    ordered_employee: str
    own_employee: str
    empty_referral: str
    engagement: str
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    def anonymous(self, lang: str = "en") -> httpx.Client:
        c = httpx.Client(base_url=self.base_url, timeout=10, params={"lang": lang})
        self.clients[f"anon-{len(self.clients)}"] = c
        return c

    def staff(self, username: str) -> httpx.Client:
        """A logged-in client per account (a TOTP code is accepted once)."""
        if username not in self.clients:
            c = httpx.Client(base_url=self.base_url, timeout=10)
            login = next(x for x in self.prov.logins if x.username == username)
            r = c.post("/login", data={
                "csrf_token": csrf(c.get("/login").text), "username": username,
                "password": login.password,
                "code": demo.current_code(login, datetime.now(UTC))})
            assert r.status_code in (200, 303), r.text
            self.clients[username] = c
        return self.clients[username]


def _empty_referral(session: Session, rt: Runtime, prov: demo.Provisioned) -> str:
    """A complaint naming no waybill, referred: its evidence package holds no event."""
    from parcelguard.channel import intake, referrals

    vault = vault_service(rt.settings)
    filed = intake.file_report(
        session, vault, rt.settings.section(ChannelSettings), enterprise_id=prov.enterprise_id,
        source=None, clock=rt.clock, report=intake.ReportIn(
            kind="scam_call", anonymous=True, wants_police=True, waybills=[],
            body="A caller asked for a refund fee; I have no waybill number."))
    officer = Principal(org_id=prov.enterprise_id, org_kind="enterprise",
                        role="security_officer", account_id="test")
    deps = referrals.Deps(kms=vault.vault.kms, clock=rt.clock,
                          settings=rt.settings.section(ChannelSettings))
    return str(referrals.refer_report(session, officer, deps, report_id=filed.report_id,
                                      reason="Scam call without a waybill.").id)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home: Path = tmp_path_factory.mktemp("portal-defects")
    rt = Runtime(settings=Settings(home=home, database_url=f"sqlite:///{home / 'pg.db'}"))
    init_store(rt.settings)
    with rt.db.unit_of_work() as uow:
        s = uow.session
        prov = demo.provision(s, vault_service(rt.settings), telephony(rt.settings),
                              clock=rt.clock)
        admin = Principal(org_id=prov.enterprise_id, org_kind="enterprise",
                          role="enterprise_admin")
        courier = s.get(Employee, prov.courier_employee_id)
        assert courier is not None
        assert courier.station_id is not None
        station = courier.station_id
        ordered, own = (logistics.hire_employee(s, admin, role="courier", station_id=station,
                                                shift_start="08:00", shift_end="18:00",
                                                clock=rt.clock).id for _ in range(2))
        for _ in range(57):  # the long table
            logistics.hire_employee(s, admin, role="courier", station_id=station,
                                    shift_start="08:00", shift_end="18:00", clock=rt.clock)
        supervisor = Principal(org_id=SUPERVISOR_ORG_ID, org_kind="supervisor",
                               role="supervisor_admin", account_id="sup-test")
        interventions.apply(s, supervisor, enterprise_id=prov.enterprise_id,
                            kind="suspend_employee", target_id=ordered,
                            reason="Ordered during the inquiry into leaked waybills.",
                            clock=rt.clock, ack_hours=24)
        referral = _empty_referral(s, rt, prov)
        engagement = seed_cases(s, vault_service(rt.settings), rt.settings, rt.clock,
                                prov).engagement_id
        assert engagement is not None
        uow.commit()
    with serve(create_app(rt)) as base_url:
        site = Site(rt, prov, base_url, ordered, own, referral, engagement)
        yield site
        for c in site.clients.values():
            c.close()
    rt.close()


def _row(html: str, employee_id: str) -> str:
    m = re.search(rf"<tr>\s*<td>{employee_id}</td>.*?</tr>", html, re.S)
    assert m is not None, employee_id
    return m.group(0)


def _active_suspension(site: Site, employee_id: str) -> AccessSuspension | None:
    with site.rt.db.unit_of_work() as uow:
        row = uow.session.scalars(select(AccessSuspension).where(
            AccessSuspension.employee_id == employee_id,
            AccessSuspension.lifted_at.is_(None))).first()
        if row is not None:
            uow.session.expunge(row)
        return row


def test_an_ordered_suspension_shows_no_lift_button_and_cannot_be_lifted(site: Site) -> None:
    c = site.staff("security.demo")
    page = c.get("/enterprise/employees", params={"lang": "en"})
    assert page.status_code == 200
    row = _row(page.text, site.ordered_employee)
    assert "Lift suspension" not in row
    assert "by order of the supervision department" in row
    held = _active_suspension(site, site.ordered_employee)
    assert held is not None
    refused = c.post("/enterprise/employees/lift", data={
        "csrf_token": csrf(page.text), "suspension_id": held.id})
    assert refused.status_code == 409
    assert "lifted only with it" in refused.text
    assert _active_suspension(site, site.ordered_employee) is not None


def test_the_enterprise_still_lifts_its_own_suspension_and_a_reload_repeats_nothing(
        site: Site) -> None:
    c = site.staff("security.demo")
    page = c.get("/enterprise/employees", params={"lang": "zh-CN"}).text
    done = c.post("/enterprise/employees/suspend", data={
        "csrf_token": csrf(page), "employee_id": site.own_employee,
        "reason": "Looked up waybills outside the assignment."})
    # Post/redirect/get: the answer is a redirect to the page, which says what was done.
    assert done.status_code == 303
    assert done.headers["location"] == "/enterprise/employees"
    shown = c.get(done.headers["location"])
    assert "已暂停个人信息访问。" in shown.text
    assert 'role="status"' in shown.text
    again = c.get("/enterprise/employees")  # a reload: the message is gone, nothing re-run
    assert 'class="notice ok"' not in again.text
    own = _active_suspension(site, site.own_employee)
    assert own is not None
    assert "Lift suspension" in _row(c.get("/enterprise/employees?lang=en").text,
                                     site.own_employee)
    lifted = c.post("/enterprise/employees/lift", data={"csrf_token": csrf(page),
                                                        "suspension_id": own.id})
    assert lifted.status_code == 303
    assert _active_suspension(site, site.own_employee) is None


def test_an_evidence_package_with_no_events_is_not_shown_verified(site: Site) -> None:
    c = site.staff("police.demo")
    html = c.get(f"/police/referrals/{site.empty_referral}", params={"lang": "en"}).text
    assert 'class="verified"' not in html
    assert "✔ verified" not in html
    assert "no events to verify" in html
    zh = c.get(f"/police/referrals/{site.empty_referral}", params={"lang": "zh-CN"}).text
    assert "没有可验证的事件" in zh


def test_unknown_pages_and_wrong_methods_are_html_pages_in_the_visitors_language(
        site: Site) -> None:
    c = site.anonymous("zh-CN")
    missing = c.get("/consumer/no-such-page")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert '{"detail"' not in missing.text
    assert "此地址没有页面" in missing.text
    wrong = c.get("/enterprise/alerts/ack")
    assert wrong.status_code == 405
    assert wrong.headers["content-type"].startswith("text/html")
    assert '{"detail"' not in wrong.text
    assert 'href="/enterprise/alerts"' in wrong.text  # back to the page the form is on
    english = site.anonymous("en").get("/nowhere")
    assert "There is no page at this address." in english.text
    api = c.get("/api/v1/no-such-thing")
    assert api.status_code == 404
    assert api.json() == {"detail": "Not Found"}  # the API keeps its JSON


def test_the_language_switch_after_a_refused_post_opens_the_page_not_the_action(
        site: Site) -> None:
    c = site.staff("security.demo")
    page = c.get("/enterprise/employees", params={"lang": "en"}).text
    refused = c.post("/enterprise/employees/suspend", data={
        "csrf_token": csrf(page), "employee_id": "emp-none", "reason": "x"})
    assert refused.status_code >= 400
    links = re.findall(r'<a href="([^"]+)" lang="([^"]+)"', refused.text)
    assert links
    for href, _lang in links:
        assert href.startswith("/enterprise/employees?lang=")
        opened = c.get(href.replace("&amp;", "&"))
        assert opened.status_code == 200
        assert opened.headers["content-type"].startswith("text/html")


def test_audit_words_are_not_complaint_or_parcel_words(site: Site) -> None:
    from parcelguard.web.i18n import gettext_for

    _ = gettext_for("zh-CN")
    # An engagement whose report was delivered: not a parcel signed for (已签收).
    assert _("report delivered") == "报告已交付"
    c = site.staff("auditor.demo")
    html = c.get(f"/auditor/engagements/{site.engagement}", params={"lang": "zh-CN"}).text
    assert "审计报告" in html
    assert "举报" not in html  # an audit report is not a whistle-blower's report


def _employee_rows(html: str) -> list[str]:
    section = html[html.index('id="employees"'):]
    body = section[section.index("<tbody>"):section.index("</tbody>")]
    return re.findall(r"<tr>\s*<td>([^<]+)</td>", body)


def test_a_long_table_is_paged_searched_and_sorted_without_javascript(site: Site) -> None:
    c = site.staff("security.demo")
    first = c.get("/enterprise/employees", params={"lang": "en"}).text
    rows = _employee_rows(first)
    assert len(rows) == 25  # one page, not 60 rows
    assert "page 1 of 3" in first
    assert 'rel="next"' in first
    second = c.get("/enterprise/employees", params={"lang": "en", "employees-page": "2"})
    assert set(_employee_rows(second.text)).isdisjoint(rows)
    found = c.get("/enterprise/employees", params={"employees-q": site.ordered_employee})
    assert _employee_rows(found.text) == [site.ordered_employee]
    down = c.get("/enterprise/employees", params={"employees-sort": "0", "employees-desc": "1"})
    ids = _employee_rows(down.text)
    assert ids == sorted(ids, reverse=True)
    assert 'aria-sort="descending"' in down.text


def test_employees_are_shown_by_name_and_station_not_only_by_id(site: Site) -> None:
    c = site.staff("security.demo")
    found = c.get("/enterprise/employees", params={"lang": "en", "employees-q": "Courier (demo)"})
    rows = _employee_rows(found.text)
    assert rows == [f"Courier (demo) ({site.prov.courier_employee_id})"]
    assert "<td>Demo station</td>" in found.text


def test_alerts_name_the_person_not_only_the_account_id(site: Site) -> None:
    from parcelguard.monitor.models import MonitorAlert

    now = site.rt.clock.now()
    us = int(now.timestamp() * 1e6)
    with site.rt.db.unit_of_work() as uow:
        uow.session.add(MonitorAlert(
            id="alr_names", enterprise_id=site.prov.enterprise_id, detector="denial_burst",
            subject_type="actor", subject_id=site.prov.courier_employee_id, severity="low",
            score=0.5, status="open", open_key=None, raised_at=now, first_event_at=now,
            last_event_at=now, raised_us=us, first_us=us, last_us=us, event_ids=[],
            record_count=12, summary="denied 12 times"))
        uow.commit()
    html = site.staff("security.demo").get("/enterprise/alerts", params={"lang": "en"}).text
    assert f"Courier (demo) ({site.prov.courier_employee_id})" in html
