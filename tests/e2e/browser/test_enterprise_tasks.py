"""The enterprise staff tasks issue 17 still left to the command line, walked in a
real browser in zh-CN and English at desktop and phone sizes: conduct (the rules
round, a proposed police referral sent on, an appeal decided, an evaluation link,
each employee's rolling figures) and the courier's own appeal against a sanction;
an incident's grading inputs beyond people and the enterprise's own interventions;
the reporting channel's figures, police requests, canaries and leak-source ranking;
office staff at the PI access gate (reveal, search by phone, break-glass, bulk
exports with a second person's approval). Each action answers with a redirect (a
reload repeats nothing) and its effect is checked in the database; any 5xx, raw JSON
page, English phrase on a zh-CN page or raw key on an English one fails (``Watch``).
The confirmation boxes are checked by the server too: posted unticked, nothing
changes."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from parcelguard.access.models import AccessSuspension, BreakGlassRecord, ExportRequest
from parcelguard.channel import intake
from parcelguard.channel.models import ChannelCanary, ChannelCanaryCursor
from parcelguard.channel.settings import ChannelSettings
from parcelguard.conduct import service as conduct
from parcelguard.conduct.models import ConductAppeal, ConductDecision, ConductEvaluation
from parcelguard.conduct.settings import ConductSettings
from parcelguard.core.ids import new_id
from parcelguard.identity.permissions import Principal
from parcelguard.incidents.models import Incident, Intervention, TimelineEntry
from parcelguard.ledger.models import LedgerEvent
from parcelguard.logistics import service as logistics
from parcelguard.logistics.models import Parcel, Station
from parcelguard.logistics.rules import Window
from parcelguard.vault.provider import vault_service
from parcelguard.web import demo
from parcelguard.web.security import CSRF_FIELD
from tests.e2e.browser.conftest import World, shot
from tests.e2e.browser.staff_tasks import lang_of, open_incident, reveal
from tests.e2e.browser.test_task_walks import Watch, _go, _ship, _submit, _switch

SIZES = pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
LOCALES = pytest.mark.parametrize("locale", ["zh-CN", "en-US"])


GROUNDS = "The calls were to confirm a delivery time."
RESPONSES = {"zh-CN": "核实为确认送达时间", "en": "Checked: calls to confirm a time"}
JUSTIFICATION = "The recipient called: the parcel was left at the wrong door."
REPORT_BODY = "A caller quoted my parcel and asked for a fee (browser test)."
REASONS = ("终端疑似被盗", "The handset was reported stolen")  # the orders list shows all walks
COURIER_GROUNDS = {"zh-CN": "送件时联系收件人是为确认时间", "en": "I called to agree a time"}



def _admin(world: World) -> Principal:
    return Principal(world.prov.enterprise_id, "enterprise", "enterprise_admin",
                     account_id="browser-test")


# -- 1. conduct: run the rules, send a referral, decide an appeal, issue a link ------------


def _courier_with_bad_ratings(world: World, n: int) -> tuple[str, str]:
    """A newly hired courier with three privacy-tagged low ratings and a sign of
    leakage in the window, and a parcel of theirs to deliver: (employee, waybill)."""
    rt = world.rt
    ent = world.prov.enterprise_id
    parcel = _ship(world, 7000 + n)
    with rt.db.unit_of_work() as uow:
        s = uow.session
        admin = _admin(world)
        station = s.scalars(select(Station.id).where(Station.enterprise_id == ent)).first()
        assert station is not None
        emp = logistics.hire_employee(s, admin, role="courier", station_id=station,
                                      shift_start="00:00", shift_end="23:59", clock=rt.clock)
        now = rt.clock.now()
        for i in range(3):
            s.add(ConductEvaluation(id=new_id("evl"), enterprise_id=ent, employee_id=emp.id,
                                    waybill_no=f"WALK{n}{i}", rating=1,
                                    tags=["personal_phone_call"], privacy_flag=True,
                                    at=now - timedelta(days=1, minutes=i)))
        conduct.note_signal(s, enterprise_id=ent, employee_id=emp.id, source="monitor_alert",
                            ref=f"alr_walk_{n}", severity="high", at=now - timedelta(hours=2))
        logistics.assign(s, admin, waybill_no=parcel.waybill_no, employee_id=emp.id,
                         purpose="delivery", window=Window(now - timedelta(hours=1),
                                                           now + timedelta(hours=8)),
                         clock=rt.clock)
        uow.commit()
        return str(emp.id), parcel.waybill_no


def _decisions(world: World, emp: str) -> dict[str, tuple[str, str]]:
    with world.rt.db.unit_of_work() as uow:
        return {d.kind: (d.id, d.status) for d in uow.session.scalars(
            select(ConductDecision).where(ConductDecision.employee_id == emp))}


@SIZES
@LOCALES
def test_officer_runs_the_conduct_rules_and_decides(open_page: Any, world: World, locale: str,
                                                    phone: bool) -> None:
    size, lang = ("phone" if phone else "desktop"), lang_of(locale)
    emp, waybill = _courier_with_bad_ratings(world, (2 if phone else 0) + (lang == "en"))
    page = open_page(username="security.demo", phone=phone, locale=locale)
    # what people typed, in any walk's language (the tables show earlier walks' too)
    watch = Watch(page, world, {emp, GROUNDS, *RESPONSES.values(), *COURIER_GROUNDS.values()})
    url = "/enterprise/conduct"
    _go(page, watch, f"{url}?lang={lang}")
    # the rolling figures (`conduct window`): three evaluations, three low, one signal
    row = page.locator("#window tr", has_text=emp)
    assert [c.strip() for c in row.locator("td").all_inner_texts()][1:] == \
        ["3", "1.0", "3", "3", "1"]
    # `conduct run`
    _submit(page, watch, page.locator(f"form[action='{url}/run']"))
    assert page.url.split("?")[0].endswith(url)
    done = {"zh-CN": "已执行规则", "en": "Rules applied"}[lang]
    assert done in page.get_by_role("status").first.inner_text()
    shot(page, f"ent-conduct-run-{lang}-{size}")
    page.reload()
    watch.check()
    assert page.locator(".notice.ok").count() == 0
    made = _decisions(world, emp)
    assert made["police_referral"][1] == "proposed"
    assert made["suspension"][1] == "active"
    assert {"warning", "training"} <= set(made)
    # `conduct confirm-referral`: a person sends the proposed referral to the police
    form = page.locator(f"form[action='{url}/confirm-referral']")
    form.locator("select[name=decision_id]").select_option(made["police_referral"][0])
    form.locator("input[name=confirm]").check()
    _submit(page, watch, form)
    assert {"zh-CN": "已移送公安", "en": "Referral sent"}[lang] in \
        page.get_by_role("status").first.inner_text()
    assert _decisions(world, emp)["police_referral"][1] == "active"
    # the employee appeals the suspension (`conduct appeal`, on their behalf here)
    with world.rt.db.unit_of_work() as uow:
        filed = conduct.appeal(uow.session, Principal(
            world.prov.enterprise_id, "enterprise", "security_officer",
            account_id="browser-test"), made["suspension"][0],
            grounds=GROUNDS, clock=world.rt.clock)
        appeal_id = filed.id
        uow.commit()
    page.reload()
    watch.check()
    # `conduct decide-appeal`: overturned, the suspension lifted
    form = page.locator(f"form[action='{url}/decide-appeal']")
    form.locator("select[name=appeal_id]").select_option(appeal_id)
    form.locator("select[name=outcome]").select_option("overturned")
    response = RESPONSES[lang]
    form.locator("[name=response]").fill(response)
    form.locator("input[name=confirm]").check()
    _submit(page, watch, form)
    assert {"zh-CN": "已裁决申诉", "en": "Appeal decided"}[lang] in \
        page.get_by_role("status").first.inner_text()
    shot(page, f"ent-conduct-appeal-{lang}-{size}")
    page.reload()
    watch.check()
    assert page.locator(".notice.ok").count() == 0
    with world.rt.db.unit_of_work() as uow:
        a = uow.session.get(ConductAppeal, appeal_id)
        assert a is not None
        assert (a.status, a.response) == ("overturned", response)
        d = uow.session.get(ConductDecision, made["suspension"][0])
        assert d is not None
        assert d.status == "overturned"
        sus = uow.session.get(AccessSuspension, d.suspension_id)
        assert sus is not None
        assert sus.lifted_at is not None
    assert page.locator(f"select[name=appeal_id] option[value='{appeal_id}']").count() == 0
    # `conduct link`: the one-time link for the parcel's recipient, shown once
    form = page.locator(f"form[action='{url}/link']")
    form.locator("[name=waybill_no]").fill(waybill)
    watch.typed.add(waybill)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    status = page.get_by_role("status").first.inner_text()
    assert "/consumer/evaluate/" in status
    link = status[status.index("http"):].split()[0]
    _go(page, watch, url)  # shown that once: the page again shows it no more
    assert "/consumer/evaluate/" not in page.content()
    other = "en" if lang == "zh-CN" else "zh-CN"
    _switch(page, watch, other)
    # the link works once, for the recipient
    page.goto(link.replace(world.base_url, ""))
    assert page.locator("form[method=post]").count() == 1
    # a second link for the same parcel is refused, in the page's language
    _go(page, watch, url)
    form = page.locator(f"form[action='{url}/link']")
    form.locator("[name=waybill_no]").fill(waybill)
    _submit(page, watch, form)
    assert page.get_by_role("alert").count() == 1


# -- 2. the courier appeals a sanction (`conduct appeal`) ----------------------------------


def _warning_for_courier(world: World) -> str:
    """A warning about the demo courier (as the rules would record it)."""
    with world.rt.db.unit_of_work() as uow:
        d = ConductDecision(id=new_id("cdc"), enterprise_id=world.prov.enterprise_id,
                            employee_id=world.prov.courier_employee_id, kind="warning",
                            rule="1 privacy-tagged evaluations",
                            figures={"evaluations": 1, "mean": 2.0, "low": 1,
                                     "privacy_tags": 1, "leak_signals": 0, "tags": {}},
                            status="active", decided_at=world.rt.clock.now(),
                            decided_by="browser-test")
        uow.session.add(d)
        uow.commit()
        return str(d.id)


@SIZES
@LOCALES
def test_courier_appeals_a_sanction(open_page: Any, world: World, locale: str,
                                    phone: bool) -> None:
    size, lang = ("phone" if phone else "desktop"), lang_of(locale)
    decision = _warning_for_courier(world)
    page = open_page(username="courier.demo", phone=phone, locale=locale)
    grounds = COURIER_GROUNDS[lang]
    watch = Watch(page, world, {*COURIER_GROUNDS.values(), "ab"})
    _go(page, watch, f"/courier?lang={lang}")
    form = page.locator("form[action='/courier/appeal']")
    # too short: refused in the page's language, what was typed kept, nothing filed
    form.locator("select[name=decision_id]").select_option(decision)
    form.locator("[name=grounds]").fill("ab")
    _submit(page, watch, form)
    assert page.get_by_role("alert").count() == 1
    assert page.locator("[name=grounds]").input_value() == "ab"
    form = page.locator("form[action='/courier/appeal']")
    form.locator("select[name=decision_id]").select_option(decision)
    form.locator("[name=grounds]").fill(grounds)
    _submit(page, watch, form)
    assert page.url.split("?")[0].endswith("/courier")
    done = {"zh-CN": "申诉已提交", "en": "Appeal filed"}[lang]
    assert done in page.get_by_role("status").first.inner_text()
    shot(page, f"courier-appeal-{lang}-{size}")
    page.reload()
    watch.check()
    assert page.locator(".notice.ok").count() == 0
    with world.rt.db.unit_of_work() as uow:
        appeals = list(uow.session.scalars(select(ConductAppeal).where(
            ConductAppeal.decision_id == decision)))
        d = uow.session.get(ConductDecision, decision)
        assert d is not None
        assert d.status == "appealed"
    assert [(a.grounds, a.status) for a in appeals] == [(grounds, "pending")]
    # appealed: no longer offered, shown as appealed
    assert page.locator(f"select[name=decision_id] option[value='{decision}']").count() == 0
    assert {"zh-CN": "已申诉", "en": "appealed"}[lang] in page.locator("#conduct").inner_text()
    other = "en" if lang == "zh-CN" else "zh-CN"
    _switch(page, watch, other)


# -- 3. incidents: grading inputs beyond people, the enterprise's own interventions --------




@SIZES
@LOCALES
def test_officer_grades_an_incident_and_intervenes(open_page: Any, world: World, locale: str,
                                                   phone: bool) -> None:
    size, lang = ("phone" if phone else "desktop"), lang_of(locale)
    title = f"定级补充 {lang} {size}" if lang == "zh-CN" else f"Grading walk {lang} {size}"
    inc = open_incident(world, title)
    device = f"dev-walk-{lang}-{size}"
    reason = "终端疑似被盗" if lang == "zh-CN" else "The handset was reported stolen"
    page = open_page(username="security.demo", phone=phone, locale=locale)
    watch = Watch(page, world, {title, device, reason, *REASONS})
    case = f"/enterprise/incidents/{inc}"
    _go(page, watch, f"{case}?lang={lang}")
    # `incidents grade-inputs`: important data without the threat it poses is refused
    form = page.locator(f"form[action='{case}/grade-inputs']")
    form.locator("select[name=data_class]").select_option("important")
    form.locator("input[name=confirm]").check()
    _submit(page, watch, form)
    assert page.get_by_role("alert").count() == 1
    with world.rt.db.unit_of_work() as uow:
        row = uow.session.get(Incident, inc)
        assert row is not None
        assert (row.grade, row.data_class) == ("general", None)
    # a direct loss of 20 million RMB: the grade rises to major
    form = page.locator(f"form[action='{case}/grade-inputs']")
    form.locator("input[name=direct_loss_rmb]").fill("20000000")
    form.locator("input[name=confirm]").check()
    _submit(page, watch, form)
    assert page.url.split("?")[0].endswith(case)
    done = {"zh-CN": "已记录定级要素", "en": "Grading inputs recorded"}[lang]
    assert done in page.get_by_role("status").first.inner_text()
    shot(page, f"ent-grade-inputs-{lang}-{size}")
    page.reload()
    watch.check()
    assert page.locator(".notice.ok").count() == 0
    with world.rt.db.unit_of_work() as uow:
        row = uow.session.get(Incident, inc)
        assert row is not None
        assert (row.grade, row.direct_loss_rmb) == ("major", 20_000_000)
    facts = page.locator("#facts").inner_text()
    assert "20000000" in facts
    assert {"zh-CN": "重大", "en": "major"}[lang] in facts
    # `incidents intervene`: the enterprise blocks a device, tied to the incident
    _go(page, watch, "/enterprise/orders")
    form = page.locator("form[action='/enterprise/orders/apply']")
    form.locator("select[name=kind]").select_option("block_device")
    form.locator("input[name=target_id]").fill(device)
    form.locator("[name=reason]").fill(reason)
    form.locator("input[name=incident_id]").fill(inc)
    form.locator("input[name=confirm]").check()
    _submit(page, watch, form)
    assert page.url.split("?")[0].endswith("/enterprise/orders")
    done = {"zh-CN": "已采取处置措施", "en": "Intervention applied"}[lang]
    assert done in page.get_by_role("status").first.inner_text()
    shot(page, f"ent-intervene-{lang}-{size}")
    page.reload()
    watch.check()
    assert page.locator(".notice.ok").count() == 0
    with world.rt.db.unit_of_work() as uow:
        ivs = list(uow.session.scalars(select(Intervention).where(
            Intervention.target_id == device)))
        applied = uow.session.scalar(select(func.count()).select_from(TimelineEntry).where(
            TimelineEntry.incident_id == inc, TimelineEntry.action == "intervention_applied"))
    assert [(i.kind, i.incident_id, i.requires_ack, i.lifted_at) for i in ivs] == \
        [("block_device", inc, False, None)]
    assert ivs[0].ordered_by_org == world.prov.enterprise_id
    assert applied == 1
    row_ = page.locator("#orders tr", has_text=device)
    assert row_.locator("form[action='/enterprise/orders/lift']").count() == 1  # its own
    # the same measure again is refused, in the page's language; nothing added
    form = page.locator("form[action='/enterprise/orders/apply']")
    form.locator("select[name=kind]").select_option("block_device")
    form.locator("input[name=target_id]").fill(device)
    form.locator("[name=reason]").fill(reason)
    form.locator("input[name=confirm]").check()
    _submit(page, watch, form)
    assert page.get_by_role("alert").count() == 1
    with world.rt.db.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Intervention).where(
            Intervention.target_id == device)) == 1
    other = "en" if lang == "zh-CN" else "zh-CN"
    assert page.locator(f"nav.lang a[hreflang='{other}']").get_attribute(
        "href").split("?")[0] == "/enterprise/orders"


# -- 4. the reporting channel: figures, police requests, canaries, triangulation -----------


def _asks_for_police(world: World) -> str:
    with world.rt.db.unit_of_work() as uow:
        filed = intake.file_report(
            uow.session, vault_service(world.rt.settings),
            world.rt.settings.section(ChannelSettings),
            enterprise_id=world.prov.enterprise_id, source=None, clock=world.rt.clock,
            report=intake.ReportIn(kind="scam_call", anonymous=True, wants_police=True,
                                   waybills=[world.prov.unassigned], body=REPORT_BODY))
        uow.commit()
        return str(filed.report_id)


def _canaries(world: World) -> int:
    with world.rt.db.unit_of_work() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(ChannelCanary).where(
            ChannelCanary.enterprise_id == world.prov.enterprise_id)) or 0)


@SIZES
@LOCALES
def test_officer_uses_the_channel_tools(open_page: Any, world: World, locale: str,
                                        phone: bool) -> None:
    size, lang = ("phone" if phone else "desktop"), lang_of(locale)
    report = _asks_for_police(world)
    cluster = world.prov.assigned[:2]
    for waybill in cluster:
        reveal(world, waybill)
    page = open_page(username="security.demo", phone=phone, locale=locale)
    watch = Watch(page, world, {REPORT_BODY, *cluster})
    url = "/enterprise/channel"
    _go(page, watch, f"{url}?lang={lang}")
    # `channel police-requests`: the report whose reporter asked for the police
    assert page.locator("#police-requests a", has_text=report).count() == 1
    # `channel stats`: the figures count it
    label = {"zh-CN": "要求移送公安的举报人", "en": "Reporters who asked for the police"}[lang]
    asked = page.locator("#figures dt", has_text=label).first.locator(
        "xpath=following-sibling::dd[1]").inner_text()
    assert int(asked) >= 1
    # `channel canary seed`: two canaries, their waybills shown this once
    before = _canaries(world)
    form = page.locator(f"form[action='{url}/canary-seed']")
    form.locator("input[name=count]").fill("2")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert _canaries(world) == before + 2
    with world.rt.db.unit_of_work() as uow:
        seeded = list(uow.session.scalars(select(ChannelCanary.waybill_no).where(
            ChannelCanary.enterprise_id == world.prov.enterprise_id).order_by(
            ChannelCanary.seeded_at.desc(), ChannelCanary.id.desc()).limit(2)))
    shown = page.get_by_role("status").first.inner_text()
    assert all(w in shown for w in seeded)
    shot(page, f"ent-canary-seeded-{lang}-{size}")
    _go(page, watch, url)  # shown once: the page again does not show them
    assert not any(w in page.content() for w in seeded)
    # `channel canary scan`
    _submit(page, watch, page.locator(f"form[action='{url}/canary-scan']"))
    assert page.url.split("?")[0].endswith(url)
    assert {"zh-CN": "已扫描", "en": "Scanned"}[lang] in \
        page.get_by_role("status").first.inner_text()
    page.reload()
    watch.check()
    assert page.locator(".notice.ok").count() == 0
    with world.rt.db.unit_of_work() as uow:
        cursor = uow.session.get(ChannelCanaryCursor, world.prov.enterprise_id)
        assert cursor is not None
        assert cursor.seq > 0
    # `channel triangulate`: the demo courier explains the cluster
    form = page.locator(f"form[action='{url}/triangulate']")
    form.locator("[name=waybills]").fill("\n".join(cluster))
    _submit(page, watch, form)
    ranking = page.locator("#ranking").inner_text()
    assert world.prov.courier_employee_id in ranking
    assert {"zh-CN": "员工", "en": "employee"}[lang] in ranking
    assert page.locator("[name=waybills]").input_value().split() == list(cluster)
    shot(page, f"ent-triangulate-{lang}-{size}")
    # the language switch opens the channel page, not the action's address
    other = "en" if lang == "zh-CN" else "zh-CN"
    assert page.locator(f"nav.lang a[hreflang='{other}']").get_attribute(
        "href").split("?")[0] == url
    _go(page, watch, f"{url}?lang={other}")
    _switch(page, watch, lang)
    # nothing to rank: refused in the page's language
    form = page.locator(f"form[action='{url}/triangulate']")
    form.locator("[name=waybills]").fill("   ")
    _submit(page, watch, form)
    assert page.get_by_role("alert").count() == 1


# -- 5. office staff at the PI access gate: reveal, search, break-glass, exports -----------


def _hire(world: World, role: str, username: str, account_role: str) -> str:
    """A trained, checked roster employee with an enterprise-portal account."""
    rt = world.rt
    ent = world.prov.enterprise_id
    with rt.db.unit_of_work() as uow:
        s = uow.session
        admin = _admin(world)
        station = s.scalars(select(Station.id).where(Station.enterprise_id == ent)).first()
        assert station is not None
        emp = logistics.hire_employee(s, admin, role=role, station_id=station,
                                      shift_start="00:00", shift_end="23:59", clock=rt.clock)
        logistics.record_background_check(s, admin, employee_id=emp.id, result="passed",
                                          clock=rt.clock)
        logistics.record_training(s, admin, employee_id=emp.id, clock=rt.clock)
        login = demo._account(s, vault_service(rt.settings).vault.kms, username=username,
                              org_id=ent, role=account_role, portal="enterprise",
                              clock=rt.clock, employee_id=emp.id)
        uow.commit()
    world.prov.logins.append(login)
    return str(emp.id)


def _access_events(world: World, actor: str, action: str) -> list[dict[str, Any]]:
    with world.rt.db.unit_of_work() as uow:
        leaves = [json.loads(x) for x in uow.session.scalars(select(LedgerEvent.leaf).where(
            LedgerEvent.enterprise_id == world.prov.enterprise_id,
            LedgerEvent.kind == "access"))]
    return [e for e in leaves if e.get("actor_id") == actor and e.get("action") == action]


def _parcels(world: World, first: int, n: int) -> list[Parcel]:
    return [_ship(world, first + i) for i in range(n)]


@SIZES
@LOCALES
def test_office_staff_use_the_gate(open_page: Any, world: World, locale: str,
                                   phone: bool) -> None:
    size, lang = ("phone" if phone else "desktop"), lang_of(locale)
    idx = (2 if phone else 0) + (lang == "en")
    office = _hire(world, "customer_service", f"office{idx}", "customer_service")
    second = _hire(world, "security", f"second{idx}", "security_officer")
    parcels = _parcels(world, 8000 + 20 * idx, 12)
    mine = parcels[0]
    with world.rt.db.unit_of_work() as uow:  # the office employee handles this one
        now = world.rt.clock.now()
        logistics.assign(uow.session, _admin(world), waybill_no=mine.waybill_no,
                         employee_id=office, purpose="customer_service",
                         window=Window(now - timedelta(hours=1), now + timedelta(hours=8)),
                         clock=world.rt.clock)
        uow.commit()
    waybills = [p.waybill_no for p in parcels]
    page = open_page(username=f"office{idx}", phone=phone, locale=locale)
    watch = Watch(page, world, {*waybills, JUSTIFICATION})
    url = "/enterprise/access"
    _go(page, watch, f"{url}?lang={lang}")
    # `access search`: the recipient's number finds the parcel, masked
    number = f"1320013{8000 + 20 * idx:04d}"
    form = page.locator(f"form[action='{url}/search']")
    form.locator("input[name=phone]").fill(number)
    form.locator("select[name=purpose]").select_option("customer_service")
    _submit(page, watch, form)
    assert page.url.split("?")[0].endswith(url)
    hits = page.locator("#hits").inner_text()
    assert mine.waybill_no in hits
    assert number not in page.content()  # masked, and not echoed back
    assert len(_access_events(world, office, "search")) == 1
    shot(page, f"ent-access-search-{lang}-{size}")
    page.reload()
    watch.check()
    assert page.locator("#hits").count() == 0  # shown once
    # `access reveal`: the assigned parcel's recipient phone, shown once
    form = page.locator(f"form[action='{url}/reveal']")
    form.locator("input[name=waybill_no]").fill(mine.waybill_no)
    form.locator("select[name=purpose]").select_option("customer_service")
    form.locator("select[name=field]").select_option("recipient_phone")
    _submit(page, watch, form)
    assert number in page.locator("#revealed").inner_text()
    page.reload()
    watch.check()
    assert number not in page.content()
    reveals = _access_events(world, office, "reveal")
    assert [e["outcome"] for e in reveals] == ["allowed"]
    # a parcel not assigned to them: refused, and the refusal recorded
    form = page.locator(f"form[action='{url}/reveal']")
    form.locator("input[name=waybill_no]").fill(parcels[1].waybill_no)
    form.locator("select[name=purpose]").select_option("customer_service")
    form.locator("select[name=field]").select_option("recipient_phone")
    _submit(page, watch, form)
    assert page.get_by_role("alert").count() == 1
    assert [e["outcome"] for e in _access_events(world, office, "reveal")] == \
        ["allowed", "denied"]
    # `access break-glass`: outside any assignment, justified, flagged
    form = page.locator(f"form[action='{url}/break-glass']")
    form.locator("input[name=waybill_no]").fill(parcels[1].waybill_no)
    form.locator("select[name=field]").select_option("recipient_phone")
    form.locator("[name=justification]").fill(JUSTIFICATION)
    form.locator("input[name=confirm]").check()
    _submit(page, watch, form)
    assert page.locator("#revealed").count() == 1
    shot(page, f"ent-access-break-glass-{lang}-{size}")
    page.reload()
    watch.check()
    with world.rt.db.unit_of_work() as uow:
        flagged = list(uow.session.scalars(select(BreakGlassRecord).where(
            BreakGlassRecord.employee_id == office)))
    assert [(r.waybill_no, r.justification, r.reviewed_at) for r in flagged] == \
        [(parcels[1].waybill_no, JUSTIFICATION, None)]
    # `access export request` below the threshold: approved at once; `run`: a download
    def request_export() -> None:
        form = page.locator(f"form[action='{url}/export-request']")
        form.locator("select[name=purpose]").select_option("complaint_handling")
        form.locator("select[name=fields]").select_option("recipient_name recipient_phone")
        form.locator("[name=waybills]").fill("\n".join(waybills))
        _submit(page, watch, form)

    request_export()
    with world.rt.db.unit_of_work() as uow:
        first = uow.session.scalars(select(ExportRequest).where(
            ExportRequest.requester_employee_id == office)).one()
        assert (first.status, first.record_count) == ("approved", 12)
    row = page.locator("#exports tr", has_text=first.id)
    row.locator("input[name=confirm]").check()
    with page.expect_download() as got:
        row.locator("form[action$='/export-run'] button[type=submit]").click()
    records = json.loads(Path(got.value.path()).read_text(encoding="utf-8"))
    assert sorted(r["waybill_no"] for r in records) == sorted(waybills)
    assert len(_access_events(world, office, "export")) == 1
    # another 12 within the week: a second person must approve
    _go(page, watch, url)
    request_export()
    with world.rt.db.unit_of_work() as uow:
        pending = uow.session.scalars(select(ExportRequest).where(
            ExportRequest.requester_employee_id == office,
            ExportRequest.status == "pending")).one()
    row = page.locator("#exports tr", has_text=pending.id)
    assert row.locator("form[action$='/export-approve']").count() == 0  # not one's own
    # `access export approve` by the second person, on their own page
    other_page = open_page(username=f"second{idx}", phone=phone, locale=locale)
    other_watch = Watch(other_page, world, {*waybills, JUSTIFICATION})
    _go(other_page, other_watch, f"{url}?lang={lang}")
    row = other_page.locator("#exports tr", has_text=pending.id)
    row.locator("input[name=confirm]").check()
    _submit(other_page, other_watch, row.locator("form[action$='/export-approve']"))
    with world.rt.db.unit_of_work() as uow:
        approved = uow.session.get(ExportRequest, pending.id)
        assert approved is not None
        assert (approved.status, approved.approver_employee_id) == ("approved", second)
    shot(other_page, f"ent-access-export-approved-{lang}-{size}")
    other = "en" if lang == "zh-CN" else "zh-CN"
    _switch(other_page, other_watch, other)


# -- 6. the confirmations are the server's too ---------------------------------------------


def _post(page: Any, url: str, data: dict[str, str]) -> int:
    """Post a form as the page would, with its CSRF token but the box unticked."""
    token = page.locator(f"input[name={CSRF_FIELD}]").first.input_value()
    r = page.request.post(url, form={CSRF_FIELD: token, **data}, max_redirects=0)
    return int(r.status)


def test_unconfirmed_acts_change_nothing(open_page: Any, world: World) -> None:
    rt = world.rt
    emp, _waybill = _courier_with_bad_ratings(world, 90)
    with rt.db.unit_of_work() as uow:  # a sanction and the employee's appeal against it
        made = conduct.apply_rules(uow.session, enterprise_id=world.prov.enterprise_id,
                                   now=rt.clock.now(),
                                   settings=rt.settings.section(ConductSettings),
                                   by="browser-test", clock=rt.clock, employee_ids=[emp])
        warning = next(d for d in made.decisions if d.kind == "warning")
        appeal = conduct.appeal(uow.session, _admin(world), warning.id, grounds=GROUNDS,
                                clock=rt.clock).id
        uow.commit()
    inc = open_incident(world, "Unconfirmed walk")
    page = open_page(username="security.demo")
    _go(page, Watch(page, world, {emp, GROUNDS}), "/enterprise/conduct?lang=en")
    assert _post(page, "/enterprise/conduct/decide-appeal", {
        "appeal_id": appeal, "outcome": "overturned", "response": "Not confirmed."}) == 422
    assert _post(page, f"/enterprise/incidents/{inc}/grade-inputs",
                 {"direct_loss_rmb": "20000000"}) == 422
    assert _post(page, "/enterprise/orders/apply", {
        "kind": "block_device", "target_id": "dev-unconfirmed", "reason": "Not confirmed"}) \
        == 422
    office = _hire(world, "customer_service", "office9", "customer_service")
    other = open_page(username="office9")
    _go(other, Watch(other, world), "/enterprise/access?lang=en")
    assert _post(other, "/enterprise/access/break-glass", {
        "waybill_no": world.prov.unassigned, "field": "recipient_phone",
        "justification": JUSTIFICATION}) == 422
    with rt.db.unit_of_work() as uow:
        s = uow.session
        a = s.get(ConductAppeal, appeal)
        assert a is not None
        assert a.status == "pending"
        row = s.get(Incident, inc)
        assert row is not None
        assert row.direct_loss_rmb is None
        assert s.scalar(select(func.count()).select_from(Intervention).where(
            Intervention.target_id == "dev-unconfirmed")) == 0
        assert s.scalar(select(func.count()).select_from(BreakGlassRecord).where(
            BreakGlassRecord.employee_id == office)) == 0
    assert _access_events(world, office, "reveal") == []  # nothing reached the gate
