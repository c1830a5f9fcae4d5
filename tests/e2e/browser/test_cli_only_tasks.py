"""The staff tasks issue 17 still left to the command line, walked in a real browser
in zh-CN and English at desktop and phone sizes: the security officer adds evidence
to an open incident, the supervision department orders the data an enterprise
refused the police, the cyberspace administration acknowledges a forwarded report
with a receipt (its own portal), and a statutory report's contact reads in the
page's language. Each action answers with a redirect (a reload repeats nothing) and
its effect is checked in the database; any 5xx, raw JSON page, English phrase on a
zh-CN page or raw key on an English one fails (``Watch``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from parcelguard.access.caller import caller_for_employee
from parcelguard.access.models import BreakGlassRecord
from parcelguard.access.service import AccessGate
from parcelguard.channel import intake, referrals
from parcelguard.channel.models import ChannelDataRequest, ChannelLink, ChannelReferralLog
from parcelguard.channel.settings import ChannelSettings
from parcelguard.identity.permissions import Principal
from parcelguard.identity.service import SUPERVISOR_ORG_ID
from parcelguard.incidents import forwards
from parcelguard.incidents.models import (
    ForwardedReport,
    Incident,
    IncidentReport,
    TimelineEntry,
)
from parcelguard.logistics import service as logistics
from parcelguard.logistics.models import Station
from parcelguard.vault.provider import vault_service
from parcelguard.web import demo
from tests.e2e.browser.conftest import World, shot
from tests.e2e.browser.staff_tasks import lang_of, open_incident, reveal
from tests.e2e.browser.test_task_walks import Watch, _go, _submit, _switch

SIZES = pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
LOCALES = pytest.mark.parametrize("locale", ["zh-CN", "en-US"])





# -- 1. the officer adds evidence to an open incident -------------------------------------


@SIZES
@LOCALES
def test_officer_adds_evidence_to_an_open_incident(open_page: Any, world: World, locale: str,
                                                   phone: bool) -> None:
    size, lang = ("phone" if phone else "desktop"), lang_of(locale)
    first = reveal(world, world.prov.assigned[0])
    more = reveal(world, world.prov.assigned[1])
    title = f"证据补充 {lang} {size}" if lang == "zh-CN" else f"Evidence walk {lang} {size}"
    inc = open_incident(world, title, [first])
    page = open_page(username="security.demo", phone=phone, locale=locale)
    watch = Watch(page, world, {title, "ev_not_in_the_log"})  # typed by the officer
    case = f"/enterprise/incidents/{inc}"
    _go(page, watch, f"{case}?lang={lang}")
    form = page.locator(f"form[action='{case}/evidence']")
    form.locator("[name=event_ids]").fill(more)
    form.locator("input[name=confirm]").check()
    _submit(page, watch, form)
    assert page.url.split("?")[0].endswith(case)
    done = {"zh-CN": "已补充证据", "en": "Evidence added"}[lang]
    assert done in page.get_by_role("status").first.inner_text()
    shot(page, f"cli-evidence-added-{lang}-{size}")
    page.reload()
    watch.check()
    assert page.locator(".notice.ok").count() == 0  # said once
    with world.rt.db.unit_of_work() as uow:
        row = uow.session.get(Incident, inc)
        assert row is not None
        assert row.evidence_event_ids == [first, more]
        added = uow.session.scalar(select(func.count()).select_from(TimelineEntry).where(
            TimelineEntry.incident_id == inc, TimelineEntry.action == "evidence_added"))
    assert added == 1  # added once
    other = "en" if lang == "zh-CN" else "zh-CN"
    _switch(page, watch, other)  # after the post: the case, in the other language
    _switch(page, watch, lang)
    # the page shows the evidence count; an id not in the carrier's log is refused
    label = {"zh-CN": "证据事件数", "en": "Evidence events"}[lang]
    assert page.locator("#facts dt", has_text=label).locator("xpath=following-sibling::dd[1]"
                                                              ).inner_text() == "2"
    form = page.locator(f"form[action='{case}/evidence']")
    form.locator("[name=event_ids]").fill("ev_not_in_the_log")
    form.locator("input[name=confirm]").check()
    _submit(page, watch, form)
    refused = page.get_by_role("alert").first.inner_text()
    assert "ev_not_in_the_log" in refused
    with world.rt.db.unit_of_work() as uow:
        row = uow.session.get(Incident, inc)
        assert row is not None
        assert row.evidence_event_ids == [first, more]
    # the refusal's language switch opens the case, not the action's address
    assert page.locator(f"nav.lang a[hreflang='{other}']").get_attribute(
        "href").split("?")[0] == case


# -- 2. the supervision department orders the data an enterprise refused -----------------


def _refused_request(world: World) -> str:
    """A referral the police accepted, their data request the carrier refused."""
    rt = world.rt
    vault = vault_service(rt.settings)
    ent = world.prov.enterprise_id
    with rt.db.unit_of_work() as uow:
        s = uow.session
        deps = referrals.Deps(kms=vault.vault.kms, clock=rt.clock,
                              settings=rt.settings.section(ChannelSettings))
        filed = intake.file_report(
            s, vault, rt.settings.section(ChannelSettings), enterprise_id=ent, source=None,
            clock=rt.clock,
            report=intake.ReportIn(kind="scam_call", anonymous=True, wants_police=True,
                                   waybills=[world.prov.unassigned],
                                   body="A caller knew my parcel (browser test)."))
        officer = Principal(ent, "enterprise", "security_officer", account_id="browser-test")
        ref = referrals.refer_report(s, officer, deps, report_id=filed.report_id,
                                     reason="Scam call quoting a waybill (browser test).")
        police = Principal(demo.POLICE_ORG, "police", "police_investigator",
                           account_id="browser-test")
        referrals.accept(s, police, ref.id, clock=rt.clock)
        req = referrals.request_data(s, police, ref.id,
                                     scope={"waybills": [world.prov.unassigned]},
                                     justification="Who else read this waybill.",
                                     clock=rt.clock)
        admin = Principal(ent, "enterprise", "enterprise_admin", account_id="browser-test")
        referrals.decide_data_request(s, admin, deps, req.id, decision="refused")
        uow.commit()
        return str(req.id)


@SIZES
@LOCALES
def test_supervisor_orders_the_data_an_enterprise_refused(open_page: Any, world: World,
                                                          locale: str, phone: bool) -> None:
    size, lang = ("phone" if phone else "desktop"), lang_of(locale)
    req = _refused_request(world)
    page = open_page(username="supervisor.demo", phone=phone, locale=locale)
    watch = Watch(page, world, {"Who else read this waybill.",
                                "Scam call quoting a waybill (browser test)."})
    _go(page, watch, f"/supervisor/referrals?lang={lang}")
    row = page.locator("#refused tr", has=page.locator(f"input[value='{req}']"))
    assert row.count() == 1
    order = row.locator("form[action='/supervisor/referrals/order']")
    order.locator("input[name=confirm]").check()
    _submit(page, watch, order)
    assert page.url.split("?")[0].endswith("/supervisor/referrals")
    done = {"zh-CN": "已责令", "en": "Ordered"}[lang]
    assert done in page.get_by_role("status").first.inner_text()
    shot(page, f"cli-data-ordered-{lang}-{size}")
    page.reload()
    watch.check()
    assert page.locator(".notice.ok").count() == 0
    with world.rt.db.unit_of_work() as uow:
        row_ = uow.session.get(ChannelDataRequest, req)
        assert row_ is not None
        assert row_.status == "ordered"
        assert row_.package is not None
        ordered = uow.session.scalar(select(func.count()).select_from(ChannelReferralLog).where(
            ChannelReferralLog.referral_id == row_.referral_id,
            ChannelReferralLog.action == "data_ordered"))
    assert ordered == 1  # ordered once
    # the result: the request is no longer among the refused ones, and the decided
    # list shows it ordered with the size of the package the police got
    assert page.locator("#refused").locator(f"input[value='{req}']").count() == 0
    decided = page.locator("#data-requests").inner_text()
    assert {"zh-CN": "已责令", "en": "ordered"}[lang] in decided
    other = "en" if lang == "zh-CN" else "zh-CN"
    _switch(page, watch, other)


# -- 3. the cyberspace administration acknowledges a forwarded report ----------------------


def _forward(world: World, title: str, *, sent: bool) -> str:
    """A forward owed for a filed report: sent to the demo administration (``sent``),
    or still owed and overdue."""
    rt = world.rt
    inc = open_incident(world, title, [reveal(world, world.prov.assigned[0])])
    with rt.db.unit_of_work() as uow:
        s = uow.session
        report = s.scalars(select(IncidentReport).where(IncidentReport.incident_id == inc)).first()
        assert report is not None
        now = rt.clock.now()
        fwd = ForwardedReport(id=f"fwd_cac_{abs(hash((title, sent))) % 10**8}",
                              report_id=report.id, incident_id=inc,
                              enterprise_id=world.prov.enterprise_id, to_org_id=None,
                              grade="major", status="pending", created_at=now,
                              due_at=now + (timedelta(minutes=30) if sent
                                            else -timedelta(hours=2)))
        s.add(fwd)
        s.flush()
        if sent:
            forwards.send(s, Principal(SUPERVISOR_ORG_ID, "supervisor", "supervisor_admin",
                                       account_id="browser-test"),
                          forward_id=fwd.id, clock=rt.clock, to_org_id=demo.CAC_ORG)
        uow.commit()
        return str(fwd.id)


@SIZES
@LOCALES
def test_cac_acknowledges_a_forwarded_report(open_page: Any, world: World, locale: str,
                                            phone: bool) -> None:
    size, lang = ("phone" if phone else "desktop"), lang_of(locale)
    title = f"网信转报 {lang} {size}" if lang == "zh-CN" else f"CAC walk {lang} {size}"
    sent = _forward(world, title, sent=True)
    owed = _forward(world, title + " (owed)", sent=False)
    page = open_page(username="cac.demo", phone=phone, locale=locale)
    watch = Watch(page, world, {title, title + " (owed)"})
    _go(page, watch, f"/cac?lang={lang}")
    owed_row = page.locator("#forwards tr", has_text=title + " (owed)")
    assert owed_row.locator(".overdue").count() == 1  # marked overdue
    form = page.locator("form[action='/cac/receipt']")
    form.locator("select[name=forward_id]").select_option(sent)
    form.locator("input[name=confirm]").check()
    _submit(page, watch, form)
    assert page.url.split("?")[0].endswith("/cac")
    with world.rt.db.unit_of_work() as uow:
        row = uow.session.get(ForwardedReport, sent)
        assert row is not None
        assert row.status == "received"
        receipt = row.receipt
        received = uow.session.scalar(select(func.count()).select_from(TimelineEntry).where(
            TimelineEntry.incident_id == row.incident_id,
            TimelineEntry.action == "forward_received"))
        still_owed = uow.session.get(ForwardedReport, owed)
        assert still_owed is not None
        assert still_owed.status == "pending"
    assert receipt
    assert receipt in page.get_by_role("status").first.inner_text()
    shot(page, f"cli-cac-receipt-{lang}-{size}")
    page.reload()
    watch.check()
    assert page.locator(".notice.ok").count() == 0
    assert received == 1  # acknowledged once
    assert receipt in page.locator("#forwards").inner_text()
    other = "en" if lang == "zh-CN" else "zh-CN"
    _switch(page, watch, other)


# -- 4. a statutory report's contact in the page's language --------------------------------


@LOCALES
def test_a_reports_contact_is_in_the_pages_language(open_page: Any, world: World,
                                                    locale: str) -> None:
    lang = lang_of(locale)
    title = f"联系方式 {lang}" if lang == "zh-CN" else f"Contact walk {lang}"
    inc = open_incident(world, title, [reveal(world, world.prov.assigned[0])])
    with world.rt.db.unit_of_work() as uow:
        rid = uow.session.scalars(select(IncidentReport.id).where(
            IncidentReport.incident_id == inc)).first()
    assert rid is not None
    page = open_page(username="security.demo", locale=locale)
    watch = Watch(page, world, {title})
    _go(page, watch, f"/enterprise/incidents/{inc}/reports/{rid}?lang={lang}")
    text = page.locator("#report-text").inner_text()
    if lang == "zh-CN":
        assert "客服" in text
        assert "customer service" not in text
    else:
        assert "customer service" in text


# -- 5. the officer reviews a break-glass use (`access review`) ----------------------------


def _break_glass(world: World) -> str:
    """A customer-service employee's emergency reveal of a parcel: flagged for review."""

    rt = world.rt
    ent = world.prov.enterprise_id
    with rt.db.unit_of_work() as uow:
        s = uow.session
        admin = Principal(ent, "enterprise", "enterprise_admin", account_id="browser-test")
        station = s.scalars(select(Station.id).where(Station.enterprise_id == ent)).first()
        assert station is not None
        emp = logistics.hire_employee(s, admin, role="customer_service", station_id=station,
                                      shift_start="00:00", shift_end="23:59", clock=rt.clock)
        logistics.record_background_check(s, admin, employee_id=emp.id, result="passed",
                                          clock=rt.clock)
        logistics.record_training(s, admin, employee_id=emp.id, clock=rt.clock)
        out = AccessGate(s, vault_service(rt.settings), rt.clock).break_glass_reveal(
            caller_for_employee(ent, emp.id, "customer_service"),
            waybill_no=world.prov.unassigned, fields=["recipient_phone"],
            justification="The recipient called about a parcel left at the wrong door.")
        assert out.record_id is not None, out.decision
        uow.commit()
        return str(out.record_id)


@SIZES
@LOCALES
def test_officer_reviews_a_break_glass_use(open_page: Any, world: World, locale: str,
                                           phone: bool) -> None:

    size, lang = ("phone" if phone else "desktop"), lang_of(locale)
    record = _break_glass(world)
    page = open_page(username="security.demo", phone=phone, locale=locale)
    watch = Watch(page, world, {"The recipient called about a parcel left at the wrong door."})
    _go(page, watch, f"/enterprise/break-glass?lang={lang}")
    form = page.locator("form[action='/enterprise/break-glass/review']")
    form.locator("select[name=record_id]").select_option(record)
    form.locator("select[name=outcome]").select_option("abuse")
    form.locator("input[name=confirm]").check()
    _submit(page, watch, form)
    assert page.url.split("?")[0].endswith("/enterprise/break-glass")
    done = {"zh-CN": "已记录复核结论", "en": "Review recorded"}[lang]
    assert done in page.get_by_role("status").first.inner_text()
    shot(page, f"cli-break-glass-reviewed-{lang}-{size}")
    page.reload()
    watch.check()
    assert page.locator(".notice.ok").count() == 0
    with world.rt.db.unit_of_work() as uow:
        row = uow.session.get(BreakGlassRecord, record)
        assert row is not None
        assert row.review_outcome == "abuse"
        assert row.reviewed_at is not None
    # reviewed: no longer offered for review, shown with its outcome
    assert page.locator(f"select[name=record_id] option[value='{record}']").count() == 0
    assert {"zh-CN": "滥用", "en": "abuse"}[lang] in page.locator("#break-glass").inner_text()
    other = "en" if lang == "zh-CN" else "zh-CN"
    _switch(page, watch, other)


# -- 6. the officer links a complaint to what the investigation found (`channel link`) -----


def _complaint(world: World) -> str:
    rt = world.rt
    with rt.db.unit_of_work() as uow:
        filed = intake.file_report(
            uow.session, vault_service(rt.settings), rt.settings.section(ChannelSettings),
            enterprise_id=world.prov.enterprise_id, source=None, clock=rt.clock,
            report=intake.ReportIn(kind="scam_call", anonymous=True, wants_police=False,
                                   waybills=[world.prov.unassigned],
                                   body="A caller knew what I had ordered (browser test)."))
        uow.commit()
        return str(filed.report_id)


@SIZES
@LOCALES
def test_officer_links_a_complaint_to_an_employee(open_page: Any, world: World, locale: str,
                                                  phone: bool) -> None:

    size, lang = ("phone" if phone else "desktop"), lang_of(locale)
    report = _complaint(world)
    emp = world.prov.courier_employee_id
    page = open_page(username="security.demo", phone=phone, locale=locale)
    watch = Watch(page, world, {"A caller knew what I had ordered (browser test).", report})
    url = f"/enterprise/complaints/{report}"
    _go(page, watch, f"{url}?lang={lang}")
    # the report's kind and status read as words, not codes
    assert {"zh-CN": "诈骗电话", "en": "scam call"}[lang] in page.locator("#report").inner_text()
    form = page.locator(f"form[action='{url}/link']")
    form.locator("select[name=target_type]").select_option("employee")
    form.locator("input[name=target_id]").fill(emp)
    _submit(page, watch, form)
    assert page.url.split("?")[0].endswith(url)
    done = {"zh-CN": "已关联", "en": "Linked"}[lang]
    assert done in page.get_by_role("status").first.inner_text()
    shot(page, f"cli-complaint-linked-{lang}-{size}")
    page.reload()
    watch.check()
    assert page.locator(".notice.ok").count() == 0
    assert emp in page.locator("#links").inner_text()
    with world.rt.db.unit_of_work() as uow:
        links = list(uow.session.scalars(select(ChannelLink).where(
            ChannelLink.report_id == report)))
    assert [(k.target_type, k.target_id) for k in links] == [("employee", emp)]
    # an employee of no such id is refused, in the page's language
    form = page.locator(f"form[action='{url}/link']")
    form.locator("select[name=target_type]").select_option("employee")
    form.locator("input[name=target_id]").fill("emp_nobody")
    watch.typed.add("emp_nobody")
    _submit(page, watch, form)
    assert page.get_by_role("alert").count() == 1
    other = "en" if lang == "zh-CN" else "zh-CN"
    assert page.locator(f"nav.lang a[hreflang='{other}']").get_attribute(
        "href").split("?")[0] == url
