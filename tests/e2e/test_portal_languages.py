"""Every portal page of every role, rendered by a served app: in zh-CN no English
phrase the portal itself writes (services' messages included), in English no raw
catalog key (``pi_leak``, ``scam_call``, ``recipient_phone``). What people typed
(names of organisations and accounts, a report's text, a referral's reason) is
theirs and not checked."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import select

from parcelguard.app import create_app
from parcelguard.core.clock import ManualClock
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity.models import Account, Organization
from parcelguard.identity.permissions import Principal, system_principal
from parcelguard.identity.service import SUPERVISOR_ORG_ID
from parcelguard.incidents.models import IncidentReport
from parcelguard.logistics import service as logistics
from parcelguard.logistics.models import Station
from parcelguard.monitor.models import MonitorAlert
from parcelguard.ops.store import init_store
from parcelguard.simulation import demo_incidents as incidents_demo
from parcelguard.vault.provider import vault_service
from parcelguard.waybill.provider import telephony
from parcelguard.web import demo
from parcelguard.web.demo_cases import Cases, seed_cases
from tests.e2e.served import csrf, serve

# Names that are the same in both languages.
PROPER = {"parcelguard", "TOTP", "PDF", "SHA-256", "API", "PIPL", "GB/T", "CAC", "SMS", "ID",
          "English", "HTTPS", "JSON", "QR"}
ENGLISH_PHRASE = re.compile(r"[A-Za-z][a-z]{2,}(?:[ ,'’]+[A-Za-z]{2,})+")
RAW_KEY = re.compile(r"(?<![\w.-])[a-z]+(?:_[a-z]+)+(?![\w.-])")


class _Text(HTMLParser):
    """The text a visitor reads: text nodes (not scripts or styles) and the labels of
    buttons and options; attribute values are not shown. A textarea's content is what
    a person typed and edits (a plan's JSON), data like an input's value."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "textarea"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "textarea"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(" ".join(data.split()))


def visible(html: str) -> list[str]:
    p = _Text()
    p.feed(html)
    return p.parts


@dataclass
class World:
    rt: Runtime
    prov: demo.Provisioned
    cases: Cases
    base_url: str
    typed: set[str]
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    def client(self, username: str | None) -> httpx.Client:
        key = username or "-"
        if key not in self.clients:
            c = httpx.Client(base_url=self.base_url, timeout=20)
            if username is not None:
                login = next(x for x in self.prov.logins if x.username == username)
                r = c.post("/login", data={
                    "csrf_token": csrf(c.get("/login").text), "username": username,
                    "password": login.password,
                    "code": demo.current_code(login, datetime.now(UTC))})
                assert r.status_code in (200, 303), r.text
            self.clients[key] = c
        return self.clients[key]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home: Path = tmp_path_factory.mktemp("portal-languages")
    rt = Runtime(settings=Settings(home=home, database_url=f"sqlite:///{home / 'pg.db'}"))
    init_store(rt.settings)
    vault = vault_service(rt.settings)
    with rt.db.unit_of_work() as uow:
        s = uow.session
        prov = demo.provision(s, vault, telephony(rt.settings), clock=rt.clock)
        # An approved emergency plan (the incidents demo's), so the incident has
        # playbook tasks, written by the carrier in English.
        admin = Principal(prov.enterprise_id, "enterprise", "enterprise_admin")
        station = s.scalars(select(Station.id).where(
            Station.enterprise_id == prov.enterprise_id)).first()
        assert station is not None
        logistics.hire_employee(s, admin, role="security", station_id=station,
                                shift_start="00:00", shift_end="23:59", clock=rt.clock)
        incidents_demo._plans(s, [prov.enterprise_id], ManualClock(rt.clock.now()),
                              system_principal(SUPERVISOR_ORG_ID))
        cases = seed_cases(s, vault, rt.settings, rt.clock, prov)
        now = rt.clock.now()
        for n, (detector, severity) in enumerate((("bulk_access", "high"),
                                                  ("unassigned_access", "medium"),
                                                  ("ledger_tamper", "critical"))):
            # The monitor's own English summary, as its detectors write it.
            us = int(now.timestamp() * 1e6) + n
            s.add(MonitorAlert(
                id=f"alr_test{n}", enterprise_id=prov.enterprise_id, detector=detector,
                subject_type="actor", subject_id=prov.courier_employee_id, severity=severity,
                score=0.9, status="open", open_key=None, raised_at=now, first_event_at=now,
                last_event_at=now, raised_us=us, first_us=us, last_us=us, event_ids=[],
                record_count=3000, summary=f"{prov.courier_employee_id} exported 3,000 "
                "records at once"))
        uow.commit()
        typed = {*s.scalars(select(Organization.name)), *s.scalars(select(Account.display_name)),
                 *s.scalars(select(Station.name))}
    # The demo's cases were typed by people in English: their words are data.
    typed |= {"A scam caller quoted a waybill only staff could read (demo).",
              "Waybill lookups outside assignments (demo)",
              "Ordered after the demo incident of waybill lookups.",
              # the emergency plan's contact for the public, quoted in the Art. 57 notice
              f"{prov.enterprise_id} customer service 95338"}
    with serve(create_app(rt)) as base_url:
        w = World(rt, prov, cases, base_url, {t for t in typed if t})
        yield w
        for c in w.clients.values():
            c.close()
    rt.close()


def pages(w: World) -> dict[str | None, list[str]]:
    inc, ref, eng = w.cases.incident_id, w.cases.referral_id, w.cases.engagement_id
    return {
        None: ["/", "/consumer", "/consumer/ship",
               f"/consumer/ship?carrier={w.prov.enterprise_id}", "/consumer/track",
               "/consumer/report", "/consumer/follow", "/consumer/rights", "/login",
               "/no-such-page"],
        "courier.demo": ["/courier"],
        "security.demo": ["/enterprise", "/enterprise/alerts", "/enterprise/incidents",
                          *([f"/enterprise/incidents/{inc}"] if inc else []),
                          "/enterprise/plans", "/enterprise/employees",
                          "/enterprise/complaints", "/enterprise/conduct", "/enterprise/keys",
                          "/enterprise/break-glass", "/enterprise/channel", "/enterprise/access",
                          "/enterprise/notice", "/enterprise/audits", "/enterprise/partners",
                          "/enterprise/bindings",
                          *_report_pages(w)],
        "supervisor.demo": ["/supervisor", "/supervisor/inbox", "/supervisor/forwards",
                            "/supervisor/plans",
                            "/supervisor/orders", "/supervisor/referrals",
                            "/supervisor/audits",
                            f"/supervisor/transparency/{w.prov.enterprise_id}",
                            *([f"/supervisor/incidents/{inc}"] if inc else [])],
        "police.demo": ["/police", "/police/support",
                        *([f"/police/referrals/{ref}"] if ref else [])],
        "auditor.demo": ["/auditor", *([f"/auditor/engagements/{eng}"] if eng else [])],
        "cac.demo": ["/cac"],
    }


def _report_pages(w: World) -> list[str]:
    """The demo incident's statutory reports, each in full (its drafted wording)."""
    inc = w.cases.incident_id
    if inc is None:
        return []
    with w.rt.db.unit_of_work() as uow:
        ids = list(uow.session.scalars(select(IncidentReport.id).where(
            IncidentReport.incident_id == inc)))
    return [f"/enterprise/incidents/{inc}/reports/{r}" for r in ids]


def _texts(w: World, lang: str) -> Iterator[tuple[str, str]]:
    for user, urls in pages(w).items():
        c = w.client(user)
        for url in urls:
            sep = "&" if "?" in url else "?"
            r = c.get(f"{url}{sep}lang={lang}")
            assert r.status_code < 500, (url, r.status_code)
            assert r.headers["content-type"].startswith("text/html"), url
            for shown in visible(r.text):
                text = shown
                for data in w.typed:
                    text = text.replace(data, " ")
                yield url, text


def test_no_english_on_a_chinese_page(world: World) -> None:
    found = set()
    for url, text in _texts(world, "zh-CN"):
        for m in ENGLISH_PHRASE.finditer(text):
            words = [x for x in re.split(r"[ ,'’-]+", m.group(0)) if x not in PROPER]
            if len(words) >= 2:
                found.add((url, m.group(0)))
        found |= {(url, m.group(0)) for m in RAW_KEY.finditer(text)}
    assert not found, sorted({k for _, k in found})


def test_no_raw_key_on_an_english_page(world: World) -> None:
    found = {(url, m.group(0)) for url, text in _texts(world, "en")
             for m in RAW_KEY.finditer(text)}
    assert not found, sorted({k for _, k in found})


def test_an_alert_summary_is_in_the_pages_language(world: World) -> None:
    c = world.client("security.demo")
    zh = c.get("/enterprise/alerts", params={"lang": "zh-CN"}).text
    en = c.get("/enterprise/alerts", params={"lang": "en"}).text
    assert "批量导出或查询记录（3000 条记录）" in zh
    assert "records at once" not in zh
    assert "exported 3,000 records at once" in en  # the monitor's own, fuller text


def test_playbook_steps_of_the_plan_are_shown_in_the_pages_language(world: World) -> None:
    assert world.cases.incident_id is not None
    c = world.client("security.demo")
    zh = c.get(f"/enterprise/incidents/{world.cases.incident_id}", params={"lang": "zh-CN"})
    assert "隔离相关账号或来源" in zh.text
