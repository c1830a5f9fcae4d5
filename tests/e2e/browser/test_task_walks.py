"""The tasks issue 17 left to the command line or answered with a page to a POST,
walked in a real browser at desktop and phone sizes in zh-CN and English: the
consumer proves who they are and withdraws a consent, the courier reveals and calls,
the officer sends an incident's Art. 57 notices and publishes the announcement, the
supervisor forwards a filed report to the cyberspace administration. Every action
answers with a redirect: a reload repeats nothing, the language switch stays on the
page. Any 5xx, raw JSON page, English phrase on a zh-CN page or raw catalog key on
an English page fails (the checks of tests/e2e/test_portal_languages.py)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from parcelguard.access.caller import caller_for_principal
from parcelguard.access.service import AccessGate
from parcelguard.consent.models import ConsentRecord
from parcelguard.identity import repository as identity_repo
from parcelguard.identity import service as identity
from parcelguard.identity.models import Account, Organization
from parcelguard.identity.service import principal_for_account
from parcelguard.incidents import service
from parcelguard.incidents.models import (
    ForwardedReport,
    Incident,
    IncidentReport,
    Notice,
    TimelineEntry,
)
from parcelguard.incidents.settings import IncidentSettings
from parcelguard.logistics.models import Parcel
from parcelguard.vault.provider import vault_service
from tests.e2e.browser.conftest import World, shot
from tests.e2e.served import last_code, texts_to
from tests.e2e.test_portal_languages import ENGLISH_PHRASE, PROPER, RAW_KEY, visible

SIZES = pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
LOCALES = pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
CAC = "cac-walk"


def _lang(locale: str) -> str:
    return "zh-CN" if locale == "zh-CN" else "en"


class Watch:
    """Every document the walk opens: no 5xx, no raw JSON, and in the page's language
    (no English phrase on a zh-CN page, no raw key on an English one). ``typed``:
    what people typed (names, titles), theirs and not checked."""

    def __init__(self, page: Any, world: World, typed: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.page, self.errors = page, []
        with world.rt.db.unit_of_work() as uow:
            self.typed = {*uow.session.scalars(select(Organization.name)),
                          *uow.session.scalars(select(Account.display_name)),
                          *uow.session.scalars(select(Incident.title)), *typed,
                          f"{world.prov.enterprise_id} customer service 95338"} - {None, ""}
        page.on("response", self.response)

    def response(self, r: Any) -> None:
        if r.status >= 500:
            self.errors.append(f"{r.status} {r.url}")
        elif r.request.resource_type == "document" and \
                "json" in (r.headers.get("content-type") or "") and \
                not (r.headers.get("content-disposition") or "").startswith("attachment"):
            # a download (an export's records) is a file, not a page shown raw
            self.errors.append(f"raw JSON page {r.url}")

    def check(self) -> None:
        """The page now on screen, in its language."""
        page = self.page
        assert not page.content().lstrip().startswith('{"detail"'), page.url
        lang = page.locator("html").get_attribute("lang")
        for shown in visible(page.content()):
            text = shown
            for data in sorted(self.typed, key=len, reverse=True):
                text = text.replace(data, " ")
            raw = [m.group(0) for m in RAW_KEY.finditer(text)]
            assert not raw, (page.url, raw)
            if lang == "zh-CN":
                for m in ENGLISH_PHRASE.finditer(text):
                    words = [x for x in re.split(r"[ ,'’-]+", m.group(0)) if x not in PROPER]
                    assert len(words) < 2, (page.url, m.group(0))
        assert self.errors == [], self.errors


def _go(page: Any, watch: Watch, url: str) -> None:
    page.goto(url)
    watch.check()


def _submit(page: Any, watch: Watch, form: Any) -> None:
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    watch.check()


def _switch(page: Any, watch: Watch, lang: str) -> str:
    """Click the language switch; the page it opens (path) must be a page."""
    before = page.url.split("?")[0]
    page.locator(f"nav.lang a[hreflang='{lang}']").click()
    page.wait_for_load_state()
    watch.check()
    assert page.locator("html").get_attribute("lang") == lang
    after = page.url.split("?")[0]
    assert after == before, (before, after)
    return after


# -- consumer -----------------------------------------------------------------------------


def _ship(world: World, n: int) -> Parcel:
    """A parcel registered for the walk (the shipping form has its own tests)."""
    from parcelguard.consent import service as consent
    from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
    from parcelguard.web import consumers

    rt = world.rt
    with rt.db.unit_of_work() as uow:
        s = uow.session
        ent = world.prov.enterprise_id
        sender, recipient = consumers.new_subject_id(), consumers.new_subject_id()
        waybill = consumers.new_waybill_no(s, ent)
        register_parcels(s, vault_service(rt.settings), enterprise_id=ent, parcels=[ParcelIn(
            waybill_no=waybill, created_at=rt.clock.now(),
            sender=PartyIn(sender, "钱一", f"1310013{n:04d}", "苏州市姑苏区示例路 1 号"),
            recipient=PartyIn(recipient, "孙二", f"1320013{n:04d}", "无锡市梁溪区示例街 2 号"))])
        principal = consumers.portal_principal(ent)
        consent.acknowledge_notice(s, principal, subject_id=sender, channel="web",
                                   clock=rt.clock)
        consent.grant_consent(s, principal, subject_id=sender, purpose="marketing",
                              channel="web", clock=rt.clock)
        uow.commit()
        p = s.scalars(select(Parcel).where(Parcel.waybill_no == waybill)).one()
        s.expunge(p)
    return p


def _withdrawals(world: World, subject: str) -> int:
    with world.rt.db.unit_of_work() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(ConsentRecord).where(
            ConsentRecord.subject_id == subject, ConsentRecord.action == "withdraw")) or 0)


@SIZES
@LOCALES
def test_consumer_tracks_and_withdraws_a_consent(open_page: Any, world: World, locale: str,
                                                 phone: bool) -> None:
    size = "phone" if phone else "desktop"
    lang = _lang(locale)
    n = (2 if phone else 0) + (1 if lang == "en" else 0)
    p = _ship(world, n)
    sender_phone = f"1310013{n:04d}"
    page = open_page(phone=phone, locale=locale)
    watch = Watch(page, world)
    home = world.rt.settings.home

    _go(page, watch, f"/consumer/rights?lang={lang}")
    form = page.locator("form[action='/consumer/rights']")
    form.locator("input[name=waybill_no]").fill(p.waybill_no)
    form.locator("input[name=phone]").fill(sender_phone)
    _submit(page, watch, form)
    assert page.url.split("?")[0].endswith("/consumer/rights/code")
    sent = len(texts_to(home, p.sender_subject_id))
    page.reload()  # the code form again, and no second SMS
    watch.check()
    assert len(texts_to(home, p.sender_subject_id)) == sent
    other = "en" if lang == "zh-CN" else "zh-CN"
    _switch(page, watch, other)  # stays on the code form
    _switch(page, watch, lang)
    shot(page, f"walk-consumer-code-{lang}-{size}")
    code = page.locator("form[action='/consumer/rights']")
    code.locator("input[name=code]").fill(last_code(home, p.sender_subject_id))
    _submit(page, watch, code)
    assert page.url.split("?")[0].endswith("/consumer/rights")
    withdraw = page.locator("form[action='/consumer/rights']",
                            has=page.locator("input[name=purpose][value=marketing]"))
    _submit(page, watch, withdraw)
    assert page.url.split("?")[0].endswith("/consumer/rights")
    done = {"zh-CN": "已撤回同意", "en": "Consent withdrawn."}[lang]
    assert done in page.get_by_role("status").first.inner_text()
    shot(page, f"walk-consumer-withdrawn-{lang}-{size}")
    page.reload()
    watch.check()
    assert page.locator(".notice.ok").count() == 0  # said once
    assert _withdrawals(world, p.sender_subject_id) == 1  # done once
    _switch(page, watch, other)  # still the person's rights page
    assert page.locator("input[name=token]").count() > 0
    page.locator("form[action='/consumer/rights']",
                 has=page.locator("input[name=action][value=leave]")).locator(
        "button").click()
    page.wait_for_load_state()
    watch.check()
    _go(page, watch, "/consumer/rights")
    assert page.locator("input[name=waybill_no]").count() == 1  # forgotten on this device


# -- courier ------------------------------------------------------------------------------


def _reveals(world: World, waybill: str) -> int:
    import json

    from parcelguard.ledger.models import LedgerEvent

    with world.rt.db.unit_of_work() as uow:
        leaves = [json.loads(x) for x in uow.session.scalars(select(LedgerEvent.leaf).where(
            LedgerEvent.waybill_no == waybill, LedgerEvent.kind == "access"))]
    return sum(1 for e in leaves if e["action"] == "reveal")


@SIZES
@LOCALES
def test_courier_reveals_once_and_calls(open_page: Any, world: World, locale: str,
                                        phone: bool) -> None:
    size = "phone" if phone else "desktop"
    lang = _lang(locale)
    page = open_page(username="courier.demo", phone=phone, locale=locale)
    watch = Watch(page, world)
    waybill = world.prov.assigned[0]
    _go(page, watch, f"/courier?lang={lang}")
    card = page.locator("article.assignment", has_text=waybill)
    before = _reveals(world, waybill)
    reveal = card.locator("form[action='/courier/reveal']")
    reveal.locator("select[name=field]").select_option("recipient_phone")
    _submit(page, watch, reveal)
    assert page.url.split("?")[0].endswith("/courier")
    assert page.locator("#revealed-value").is_visible()
    page.locator("#revealed-value").evaluate("el => el.textContent = '(hidden)'")
    shot(page, f"walk-courier-reveal-{lang}-{size}")
    page.reload()
    watch.check()
    assert page.locator("#revealed-value").count() == 0  # shown once
    assert _reveals(world, waybill) == before + 1  # revealed once
    other = "en" if lang == "zh-CN" else "zh-CN"
    _switch(page, watch, other)
    _switch(page, watch, lang)
    card = page.locator("article.assignment", has_text=waybill)
    _submit(page, watch, card.locator("form[action='/courier/call']"))
    assert page.locator("#call-result").is_visible()
    page.reload()
    watch.check()
    assert page.locator("#call-result").count() == 0
    # a refused reveal, said in the page's language
    other_form = page.locator("section form[action='/courier/reveal']")
    other_form.locator("input[name=waybill_no]").fill(world.prov.unassigned)
    _submit(page, watch, other_form)
    assert page.locator("#reveal-result.refused").is_visible()
    shot(page, f"walk-courier-refused-{lang}-{size}")


# -- enterprise officer: notices ----------------------------------------------------------


def _incident_with_people(world: World, title: str) -> str:
    """A case whose evidence is the courier's reveals: it has people to notify."""
    rt = world.rt
    vault = vault_service(rt.settings)
    with rt.db.unit_of_work() as uow:
        s = uow.session
        acc = identity_repo.find_account_by_username(s, "courier.demo")
        assert acc is not None
        caller = caller_for_principal(s, principal_for_account(s, acc), channel="web",
                                      ip="127.0.0.1")
        evidence = [AccessGate(s, vault, rt.clock).reveal(
            caller, waybill_no=w, purpose="delivery", fields=["recipient_phone"]).event_id
            for w in world.prov.assigned[:2]]
        opened = service.open_incident(s, service.OpenRequest(
            enterprise_id=world.prov.enterprise_id, title=title, category="insider_abuse",
            source="manual", detected_at=rt.clock.now(), evidence_event_ids=evidence),
            actor="system:browser-test", settings=rt.settings.section(IncidentSettings))
        uow.commit()
        return str(opened.incident.id)


def _notices(world: World, incident_id: str) -> int:
    with world.rt.db.unit_of_work() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Notice).where(
            Notice.incident_id == incident_id)) or 0)


@SIZES
@LOCALES
def test_officer_sends_the_notices_and_publishes_the_announcement(
        open_page: Any, world: World, locale: str, phone: bool) -> None:
    size = "phone" if phone else "desktop"
    lang = _lang(locale)
    title = f"通知演练 {lang} {size}" if lang == "zh-CN" else f"Notice walk {lang} {size}"
    inc = _incident_with_people(world, title)
    page = open_page(username="security.demo", phone=phone, locale=locale)
    watch = Watch(page, world, {title})
    case = f"/enterprise/incidents/{inc}"
    _go(page, watch, f"{case}?lang={lang}")
    text = page.locator("#notice-text dd").first.inner_text()
    assert text.startswith("【个人信息安全告知】" if lang == "zh-CN" else "Your ")
    shot(page, f"walk-notice-text-{lang}-{size}")
    send = page.locator(f"form[action='{case}/notify']")
    send.locator("select[name=channel]").select_option("sms")
    send.locator("input[name=confirm]").check()
    _submit(page, watch, send)
    assert page.url.split("?")[0].endswith(case)
    assert page.get_by_role("status").first.is_visible()
    sent = _notices(world, inc)
    assert sent > 0
    page.reload()
    watch.check()
    assert page.locator(".notice.ok").count() == 0
    assert _notices(world, inc) == sent  # nothing sent twice
    publish = page.locator(f"form[action='{case}/announce']")
    where = "官网和 App 首页" if lang == "zh-CN" else "website and app home page"
    watch.typed.add(where)
    publish.locator("input[name=where]").fill(where)
    publish.locator("input[name=confirm]").check()
    _submit(page, watch, publish)
    assert where in page.locator("#notices-sent").inner_text()
    shot(page, f"walk-notice-announced-{lang}-{size}")
    other = "en" if lang == "zh-CN" else "zh-CN"
    _switch(page, watch, other)  # after the post: the case, in the other language


# -- supervisor: forwards -----------------------------------------------------------------


def _pending_forward(world: World, title: str) -> str:
    inc = _incident_with_people(world, title)
    rt = world.rt
    with rt.db.unit_of_work() as uow:
        s = uow.session
        if s.get(Organization, CAC) is None:
            identity.create_organization(s, org_id=CAC, kind="cac", name="国家网信办（演示）",
                                         clock=rt.clock)
        report = s.scalars(select(IncidentReport).where(
            IncidentReport.incident_id == inc)).first()
        assert report is not None
        now = rt.clock.now()
        fwd = ForwardedReport(id=f"fwd_walk_{abs(hash(title)) % 10**8}", report_id=report.id,
                              incident_id=inc, enterprise_id=world.prov.enterprise_id,
                              to_org_id=None, grade="major", status="pending",
                              due_at=now + timedelta(minutes=30), created_at=now)
        s.add(fwd)
        uow.commit()
        return str(fwd.id)


@SIZES
@LOCALES
def test_supervisor_forwards_a_report_after_confirming(open_page: Any, world: World,
                                                      locale: str, phone: bool) -> None:
    size = "phone" if phone else "desktop"
    lang = _lang(locale)
    title = f"转报演练 {lang} {size}" if lang == "zh-CN" else f"Forward walk {lang} {size}"
    fwd = _pending_forward(world, title)
    page = open_page(username="supervisor.demo", phone=phone, locale=locale)
    watch = Watch(page, world, {title})
    _go(page, watch, f"/supervisor/forwards?lang={lang}")
    form = page.locator("form[action='/supervisor/forwards/send']")
    form.locator("select[name=forward_id]").select_option(fwd)
    form.locator("select[name=to]").select_option(CAC)
    # without the confirmation the browser itself refuses (required); with it, forwarded
    form.locator("input[name=confirm]").check()
    _submit(page, watch, form)
    assert page.url.split("?")[0].endswith("/supervisor/forwards")
    assert page.get_by_role("status").first.is_visible()
    shot(page, f"walk-forwarded-{lang}-{size}")
    page.reload()
    watch.check()
    with world.rt.db.unit_of_work() as uow:
        row = uow.session.get(ForwardedReport, fwd)
        assert row is not None
        assert row.status == "sent"
        forwarded = uow.session.scalar(select(func.count()).select_from(TimelineEntry).where(
            TimelineEntry.incident_id == row.incident_id, TimelineEntry.action == "forwarded"))
    assert forwarded == 1  # forwarded once
    other = "en" if lang == "zh-CN" else "zh-CN"
    _switch(page, watch, other)
