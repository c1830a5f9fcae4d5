"""More staff tasks issue 17 left to the command line, walked in a real browser on the
served app (one app for the module: the session's ``world``): the police download a
referral's evidence package as a file and acknowledge an auditor's data support; the
auditor records an attestation, draws a sample with proofs and hands a police case
data support; the supervision department orders an audit and publishes a
transparency report within the privacy budget; the cyberspace administration reads a
forwarded report's text before its receipt.

Each walk runs once in zh-CN at desktop size and once in English on a phone (both
languages and both sizes, without walking every task four times): every action
answers with a redirect, its effect is checked in the database, a reload repeats
nothing and the language switch stays on the page; any 5xx, raw JSON page, English
phrase on a zh-CN page or raw key on an English one fails (``Watch``)."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from parcelguard.audit import engagements, scorecards, support
from parcelguard.audit import model as audit_model
from parcelguard.audit.controls import load_rulebook
from parcelguard.audit.fieldwork import Sample, verify_sample
from parcelguard.audit.model import PERIOD_TZ
from parcelguard.audit.models import (
    AuditAccessLog,
    AuditAttestation,
    AuditDataSupport,
    AuditDpBudget,
    AuditDpRelease,
    AuditEngagement,
)
from parcelguard.audit.settings import AuditSettings
from parcelguard.channel.evidence import package_digest
from parcelguard.channel.models import ChannelReferral, ChannelReferralLog
from parcelguard.consent.models import DataSubjectRequest, NoticeVersion
from parcelguard.identity import repository as identity_repo
from parcelguard.identity.permissions import Principal, system_principal
from parcelguard.identity.service import SUPERVISOR_ORG_ID
from parcelguard.incidents.models import ForwardedReport, IncidentReport, TimelineEntry
from parcelguard.ledger.signing import registered_verifier
from parcelguard.logistics.models import Parcel
from parcelguard.vault.provider import vault_service
from parcelguard.waybill.models import ImpactAssessment, Partner, ProcessingContract, Share
from parcelguard.waybill.virtual import list_bindings
from parcelguard.web import demo
from parcelguard.web.demo_cases import REFERRAL_REASON
from tests.e2e.browser.conftest import World, shot
from tests.e2e.browser.staff_tasks import lang_of, reveal
from tests.e2e.browser.test_task_walks import Watch, _go, _submit, _switch

WALKS = pytest.mark.parametrize(("locale", "phone"), [("zh-CN", False), ("en-US", True)],
                                ids=["zh-CN-desktop", "en-phone"])



def _other(lang: str) -> str:
    return "en" if lang == "zh-CN" else "zh-CN"


class Downloads(Watch):
    """``Watch``, where a file handed over as an attachment (the evidence package) is
    a download, not a page shown as raw JSON."""

    def response(self, r: Any) -> None:
        if "attachment" in (r.headers.get("content-disposition") or ""):
            return
        super().response(r)


def _auditor_account(world: World, username: str = "auditor.demo") -> str:
    with world.rt.db.unit_of_work() as uow:
        acc = identity_repo.find_account_by_username(uow.session, username)
        assert acc is not None
        return str(acc.id)


def _support(world: World) -> str:
    """The demo auditor hands the demo referral data support (an event reference)."""
    assert world.cases.referral_id
    assert world.cases.engagement_id
    event = reveal(world, world.prov.assigned[0])
    auditor = Principal(demo.AUDITOR_ORG, "auditor", "auditor", account_id=_auditor_account(world))
    with world.rt.db.unit_of_work() as uow:
        row = support.send(uow.session, auditor,
                           referral_id=world.cases.referral_id,
                           engagement_id=world.cases.engagement_id, event_ids=[event],
                           clock=world.rt.clock)
        uow.commit()
        return str(row.id)


# -- 1. police: the evidence package as a file; auditors' data support received ----------


@WALKS
def test_police_download_the_evidence_and_receive_data_support(
        open_page: Any, world: World, locale: str, phone: bool) -> None:
    size, lang = ("phone" if phone else "desktop"), lang_of(locale)
    ref = world.cases.referral_id
    assert ref is not None
    sup = _support(world)
    page = open_page(username="police.demo", phone=phone, locale=locale)
    watch = Downloads(page, world, {REFERRAL_REASON})
    # `channel referral evidence`: the package as a file, as it was referred
    _go(page, watch, f"/police/referrals/{ref}?lang={lang}")
    with page.expect_download() as got:
        page.locator(f"a[href='/police/referrals/{ref}/evidence']").click()
    download = got.value
    assert download.suggested_filename == f"evidence-{ref}.json"
    body = json.loads(download.path().read_text(encoding="utf-8"))
    with world.rt.db.unit_of_work() as uow:
        row = uow.session.get(ChannelReferral, ref)
        assert row is not None
        assert body == row.package
        digest = row.package_sha256
    # the page shows the digest the file matches
    assert package_digest(body) == digest
    assert digest in page.locator("#ref").inner_text()
    watch.check()
    # `audit support list`: what auditors handed this police organisation
    _go(page, watch, f"/police/support?lang={lang}")
    table = page.locator("#support")
    assert table.locator("tr", has_text=ref).count() >= 1
    assert {"zh-CN": "待签收", "en": "awaiting your receipt"}[lang] in table.inner_text()
    # `audit support receive`: acknowledged with a receipt, after a confirmation
    form = page.locator("form[action='/police/support/receive']")
    form.locator("select[name=support_id]").select_option(sup)
    form.locator("input[name=confirm]").check()
    _submit(page, watch, form)
    assert page.url.split("?")[0].endswith("/police/support")
    with world.rt.db.unit_of_work() as uow:
        got_row = uow.session.get(AuditDataSupport, sup)
        assert got_row is not None
        assert got_row.status == "received"
        receipt = got_row.receipt
        logged = uow.session.scalar(select(func.count()).select_from(ChannelReferralLog).where(
            ChannelReferralLog.referral_id == ref,
            ChannelReferralLog.action == "support_received"))
    assert receipt
    assert receipt in page.get_by_role("status").first.inner_text()
    shot(page, f"role-police-support-{lang}-{size}")
    page.reload()
    watch.check()
    assert page.locator(".notice.ok").count() == 0  # said once
    with world.rt.db.unit_of_work() as uow:
        again = uow.session.scalar(select(func.count()).select_from(ChannelReferralLog).where(
            ChannelReferralLog.referral_id == ref,
            ChannelReferralLog.action == "support_received"))
    assert again == logged  # a reload received nothing again
    assert receipt in page.locator("#support").inner_text()
    assert page.locator(f"select[name=support_id] option[value='{sup}']").count() == 0
    _switch(page, watch, _other(lang))


# -- 2. auditor: attestation, sample with proofs, data support to the police --------------


def _firm(world: World, name: str) -> tuple[str, str]:
    """An audit firm of its own with a lead auditor who can log in (the rotation rule
    lets one firm audit an enterprise only twice in a row): (firm id, username)."""
    rt = world.rt
    firm, username = f"audit-{name}", f"auditor.{name}"
    with rt.db.unit_of_work() as uow:
        demo._org(uow.session, firm, "auditor", f"Audit firm {name}", rt.clock)
        login = demo._account(uow.session, vault_service(rt.settings).vault.kms,
                              username=username, org_id=firm, role="auditor",
                              portal="auditor", clock=rt.clock, display_name=f"Lead {name}")
        uow.commit()
    world.prov.logins.append(login)
    return firm, username


def _engagement(world: World, firm: str, username: str) -> str:
    """An engagement of ``firm``'s in fieldwork, led by ``username``."""

    rt = world.rt
    now = rt.clock.now()
    lead = Principal(firm, "auditor", "auditor", account_id=_auditor_account(world, username))
    with rt.db.unit_of_work() as uow:
        eng = engagements.create(
            uow.session, system_principal(SUPERVISOR_ORG_ID),
            enterprise_id=world.prov.enterprise_id, auditor_org_id=firm,
            lead_auditor=username, kind="periodic",
            period=audit_model.period_of(now - timedelta(days=2), now),  # the events so far
            rulebook=load_rulebook(), clock=rt.clock)
        engagements.start(uow.session, lead, eng.id, clock=rt.clock,
                          settings=rt.settings.section(AuditSettings))
        uow.commit()
        return str(eng.id)


def _count(world: World, model: Any, *where: Any) -> int:
    with world.rt.db.unit_of_work() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model).where(*where))
                   or 0)


@WALKS
def test_auditor_attests_samples_and_supports_the_police(
        open_page: Any, world: World, locale: str, phone: bool) -> None:

    size, lang = ("phone" if phone else "desktop"), lang_of(locale)
    firm, username = _firm(world, f"walk-{lang}-{size}".lower())
    eid = _engagement(world, firm, username)
    event = reveal(world, world.prov.assigned[1])
    ref = world.cases.referral_id
    assert ref is not None
    page = open_page(username=username, phone=phone, locale=locale)
    doc_ref = f"PI officer appointment letter {lang} {size}"
    watch = Downloads(page, world, {doc_ref})  # the sample file is a download
    url = f"/auditor/engagements/{eid}"
    _go(page, watch, f"{url}?lang={lang}")
    # `audit attest`: what the auditor saw for an attestation control
    digest = hashlib.sha256(doc_ref.encode()).hexdigest()
    form = page.locator(f"form[action='{url}/attest']")
    form.locator("select[name=control_id]").select_option("pi-officer")
    form.locator("[name=evidence_ref]").fill(doc_ref)
    form.locator("[name=evidence_sha256]").fill(digest)
    _submit(page, watch, form)
    assert page.url.split("?")[0].endswith(url)
    assert {"zh-CN": "已记录核实结论", "en": "Attestation recorded"}[lang] in \
        page.get_by_role("status").first.inner_text()
    page.reload()
    watch.check()
    assert page.locator(".notice.ok").count() == 0
    assert _count(world, AuditAttestation, AuditAttestation.engagement_id == eid,
                  AuditAttestation.evidence_sha256 == digest,
                  AuditAttestation.confirmed.is_(True)) == 1
    assert doc_ref in page.locator("#attestations").inner_text()
    # a digest that is not one is refused, in the page's language, nothing recorded
    form = page.locator(f"form[action='{url}/attest']")
    form.locator("[name=evidence_ref]").fill(doc_ref)
    form.locator("[name=evidence_sha256]").fill("not-a-digest")
    watch.typed.add("not-a-digest")
    _submit(page, watch, form)
    assert page.get_by_role("alert").count() == 1
    assert _count(world, AuditAttestation, AuditAttestation.engagement_id == eid) == 1
    _go(page, watch, url)
    # `audit sample`: events drawn with inclusion proofs, verified on the page's side
    form = page.locator(f"form[action='{url}/sample']")
    form.locator("[name=size]").fill("3")
    form.locator("select[name=kind]").select_option("access")
    _submit(page, watch, form)
    assert page.url.split("?")[0].endswith(url)
    said = page.get_by_role("status").first.inner_text()
    assert {"zh-CN": "包含证明", "en": "inclusion proofs verify"}[lang] in said
    draws = AuditAccessLog.engagement_id == eid, AuditAccessLog.action == "sample"
    assert _count(world, AuditAccessLog, *draws) == 1
    page.reload()
    watch.check()
    assert _count(world, AuditAccessLog, *draws) == 1  # a reload draws nothing
    assert page.locator("#samples tbody tr").count() == 1
    # `audit sample --out`: the sample as a file of leaves and proofs, verifiable apart

    form = page.locator(f"form[action='{url}/sample']")
    form.locator("[name=size]").fill("2")
    form.locator("input[name=as_file]").check()
    with page.expect_download() as got:
        form.locator("button[type=submit]").click()
    drawn = json.loads(got.value.path().read_text(encoding="utf-8"))
    assert got.value.suggested_filename.startswith(f"sample-{eid}-")
    with world.rt.db.unit_of_work() as uow:
        key = registered_verifier(uow.session, world.prov.enterprise_id)
        assert key is not None
    assert 1 <= len(drawn["events"]) <= 2
    assert verify_sample(Sample(**drawn), key.verifier_key) == len(drawn["events"])
    assert _count(world, AuditAccessLog, *draws) == 2  # the file's draw is logged too
    # `audit support send`: the police case gets an event reference, after a confirmation
    form = page.locator(f"form[action='{url}/support']")
    form.locator("[name=referral_id]").fill(ref)
    form.locator("[name=event_ids]").fill(event)
    form.locator("input[name=confirm]").check()
    _submit(page, watch, form)
    assert page.url.split("?")[0].endswith(url)
    assert {"zh-CN": "已向公安机关提供数据支持", "en": "Data support sent"}[lang] in \
        page.get_by_role("status").first.inner_text()
    shot(page, f"role-auditor-tasks-{lang}-{size}")
    page.reload()
    watch.check()
    sent = AuditDataSupport.engagement_id == eid, AuditDataSupport.referral_id == ref
    assert _count(world, AuditDataSupport, *sent) == 1  # sent once
    with world.rt.db.unit_of_work() as uow:
        row = uow.session.scalars(select(AuditDataSupport).where(*sent)).one()
        assert [e["event_id"] for e in row.package["events"]] == [event]
    assert ref in page.locator("#support-sent").inner_text()
    _switch(page, watch, _other(lang))


# -- 3. supervision department: order an audit; transparency report and its budget --------


def _month(world: World, back: int) -> str:
    """The calendar month ``back`` months before this one (China time), ``YYYY-MM``."""

    now = world.rt.clock.now().astimezone(PERIOD_TZ)
    y, m = now.year, now.month - back
    while m < 1:
        y, m = y - 1, m + 12
    return f"{y:04d}-{m:02d}"


@WALKS
def test_supervisor_orders_an_audit_and_publishes_a_transparency_report(
        open_page: Any, world: World, locale: str, phone: bool) -> None:

    size, lang = ("phone" if phone else "desktop"), lang_of(locale)
    ent = world.prov.enterprise_id
    firm, lead = _firm(world, f"ordered-{lang}-{size}".lower())
    reason = f"Complaints about waybill lookups ({lang} {size} walk)."
    page = open_page(username="supervisor.demo", phone=phone, locale=locale)
    with world.rt.db.unit_of_work() as uow:  # the reasons typed for earlier audits
        reasons = set(uow.session.scalars(select(AuditEngagement.reason)))
    watch = Watch(page, world, {reason, firm, lead, *reasons})
    # `audit engage`: an ordered audit of the enterprise by the firm, led by its auditor
    _go(page, watch, f"/supervisor/audits?lang={lang}")
    form = page.locator("form[action='/supervisor/audits/engage']")
    form.locator("select[name=enterprise_id]").select_option(ent)
    form.locator("select[name=auditor_org_id]").select_option(firm)
    form.locator("[name=lead]").fill(lead)
    form.locator("[name=period]").fill(_month(world, 1))
    form.locator("select[name=kind]").select_option("ordered")
    form.locator("[name=reason]").fill(reason)
    _submit(page, watch, form)
    assert page.url.split("?")[0].endswith("/supervisor/audits")
    assert {"zh-CN": "已下达审计", "en": "Audit ordered"}[lang] in \
        page.get_by_role("status").first.inner_text()
    page.reload()
    watch.check()
    assert page.locator(".notice.ok").count() == 0
    ordered = AuditEngagement.auditor_org_id == firm, AuditEngagement.enterprise_id == ent
    assert _count(world, AuditEngagement, *ordered) == 1  # ordered once
    with world.rt.db.unit_of_work() as uow:
        eng = uow.session.scalars(select(AuditEngagement).where(*ordered)).one()
        assert (eng.kind, eng.status, eng.reason) == ("ordered", "planned", reason)
        eid = eng.id
    assert page.locator("#engagements tr", has_text=eid).count() == 1
    # `audit publish` within `audit budget`: the month's budget read, then spent
    month = _month(world, 2 if lang == "zh-CN" else 3)
    url = f"/supervisor/transparency/{ent}"
    _go(page, watch, f"{url}?period={month}&lang={lang}")
    budget = page.locator("#budget tr", has_text=month)
    assert budget.count() == 1
    form = page.locator(f"form[action='{url}/publish']")
    form.locator("[name=period]").fill(month)
    form.locator("input[name=confirm]").check()
    _submit(page, watch, form)
    assert page.url.split("?")[0].endswith(url)
    assert {"zh-CN": "已发布透明度报告", "en": "Transparency report published"}[lang] in \
        page.get_by_role("status").first.inner_text()
    shot(page, f"role-supervisor-transparency-{lang}-{size}")
    page.reload()
    watch.check()
    published = AuditDpRelease.enterprise_id == ent, AuditDpRelease.period == month
    assert _count(world, AuditDpRelease, *published) == 1  # published once
    with world.rt.db.unit_of_work() as uow:
        spent = uow.session.get(AuditDpBudget, (ent, month))
        assert spent is not None
        assert spent.spent == pytest.approx(
            world.rt.settings.section(AuditSettings).dp_epsilon_per_report)
    assert page.locator("#releases tr", has_text=month).count() == 1
    # beyond the month's budget: refused, in the page's language, nothing spent
    form = page.locator(f"form[action='{url}/publish']")
    form.locator("[name=period]").fill(month)
    form.locator("[name=epsilon]").fill("2.5")
    form.locator("input[name=confirm]").check()
    _submit(page, watch, form)
    assert page.get_by_role("alert").count() == 1
    assert _count(world, AuditDpRelease, *published) == 1
    _go(page, watch, f"{url}?period={month}")
    assert page.locator("#budget tr", has_text=month).count() == 1
    _switch(page, watch, _other(lang))


# -- 4. cyberspace administration: a forwarded report's text read before the receipt -----


@WALKS
def test_cac_reads_a_forwarded_report_before_its_receipt(
        open_page: Any, world: World, locale: str, phone: bool) -> None:
    from tests.e2e.browser.test_cli_only_tasks import _forward

    size, lang = ("phone" if phone else "desktop"), lang_of(locale)
    title = f"网信阅读 {lang} {size}" if lang == "zh-CN" else f"CAC reads {lang} {size}"
    sent = _forward(world, title, sent=True)
    owed = _forward(world, title + " (owed)", sent=False)
    with world.rt.db.unit_of_work() as uow:
        fwd = uow.session.get(ForwardedReport, sent)
        assert fwd is not None
        report = uow.session.get(IncidentReport, fwd.report_id)
        assert report is not None
        content = dict(report.content or {})
    page = open_page(username="cac.demo", phone=phone, locale=locale)
    watch = Watch(page, world, {title, title + " (owed)"})
    _go(page, watch, f"/cac?lang={lang}")
    # the list links each forwarded report to its text; one still owed has none yet
    page.locator(f"#forwards a[href='/cac/forwards/{sent}']").click()
    page.wait_for_load_state()
    watch.check()
    assert page.locator("#forwards").locator(f"a[href='/cac/forwards/{owed}']").count() == 0
    assert page.url.split("?")[0].endswith(f"/cac/forwards/{sent}")
    text = page.locator("#report-text").inner_text()
    assert content["unit"] in text  # the filed text, as filed
    assert page.locator("#report-text form").count() == 0  # read only
    assert page.locator("#report-text textarea, #report-text input[type=text]").count() == 0
    # the receipt, confirmed on the page where the report was read
    form = page.locator("form[action='/cac/receipt']")
    form.locator("input[name=confirm]").check()
    _submit(page, watch, form)
    assert page.url.split("?")[0].endswith(f"/cac/forwards/{sent}")
    with world.rt.db.unit_of_work() as uow:
        row = uow.session.get(ForwardedReport, sent)
        assert row is not None
        assert row.status == "received"
        receipt = row.receipt
        received = uow.session.scalar(select(func.count()).select_from(TimelineEntry).where(
            TimelineEntry.incident_id == row.incident_id,
            TimelineEntry.action == "forward_received"))
    assert receipt
    assert receipt in page.get_by_role("status").first.inner_text()
    shot(page, f"role-cac-report-{lang}-{size}")
    page.reload()
    watch.check()
    assert page.locator(".notice.ok").count() == 0
    assert received == 1
    assert page.locator("form[action='/cac/receipt']").count() == 0  # acknowledged
    # a forward still owed shows no text: the supervision department has not sent it
    page.goto(f"/cac/forwards/{owed}")
    assert page.locator("#report-text").count() == 0
    _go(page, watch, f"/cac/forwards/{sent}")
    _switch(page, watch, _other(lang))


# -- 5. enterprise: its own scorecard; its transparency report ---------------------------


def _admin(world: World) -> str:
    """The enterprise administrator's log-in (the demo prints none)."""
    username = "admin.walk"
    if not any(x.username == username for x in world.prov.logins):
        from parcelguard.logistics import service as logistics
        from parcelguard.logistics.models import Station

        rt = world.rt
        ent = world.prov.enterprise_id
        with rt.db.unit_of_work() as uow:
            # on the roster like the staff the gate lets reveal or share (`waybill share`
            # acts as an employee too)
            s, boss = uow.session, Principal(ent, "enterprise", "enterprise_admin")
            station = s.scalars(select(Station.id).where(Station.enterprise_id == ent)).first()
            assert station is not None
            emp = logistics.hire_employee(s, boss, role="admin", station_id=station,
                                          shift_start="00:00", shift_end="23:59",
                                          clock=rt.clock)
            logistics.record_background_check(s, boss, employee_id=emp.id, result="passed",
                                              clock=rt.clock)
            logistics.record_training(s, boss, employee_id=emp.id, clock=rt.clock)
            login = demo._account(s, vault_service(rt.settings).vault.kms,
                                  username=username, org_id=ent, employee_id=emp.id,
                                  role="enterprise_admin", portal="enterprise",
                                  clock=rt.clock, display_name="Administrator (walk)")
            uow.commit()
        world.prov.logins.append(login)
    return username


@WALKS
def test_enterprise_reads_its_scorecard_and_publishes_its_transparency_report(
        open_page: Any, world: World, locale: str, phone: bool) -> None:

    size, lang = ("phone" if phone else "desktop"), lang_of(locale)
    ent = world.prov.enterprise_id
    page = open_page(username=_admin(world), phone=phone, locale=locale)
    watch = Watch(page, world)
    # `audit scorecard`: the latest audited score, each control, the weakest, the trend
    _go(page, watch, f"/enterprise/audits?lang={lang}")
    with world.rt.db.unit_of_work() as uow:
        card = scorecards.build(uow.session, ent)
    facts = page.locator("#scorecard").inner_text()
    if card.score is None:
        assert {"zh-CN": "尚未审计", "en": "not audited yet"}[lang] in facts
    else:
        assert str(card.score) in facts
    assert page.locator("#scorecard-controls tbody tr").count() == max(len(card.controls), 1)
    # `audit publish` within `audit budget`, for its own enterprise
    month = _month(world, 4 if lang == "zh-CN" else 5)
    url = "/enterprise/transparency"
    _go(page, watch, f"{url}?period={month}&lang={lang}")
    assert page.locator("#budget tr", has_text=month).count() == 1
    form = page.locator(f"form[action='{url}/publish']")
    form.locator("[name=period]").fill(month)
    form.locator("[name=epsilon]").fill("0.5")
    form.locator("input[name=confirm]").check()
    _submit(page, watch, form)
    assert page.url.split("?")[0].endswith(url)
    assert {"zh-CN": "已发布透明度报告", "en": "Transparency report published"}[lang] in \
        page.get_by_role("status").first.inner_text()
    shot(page, f"role-enterprise-transparency-{lang}-{size}")
    page.reload()
    watch.check()
    assert page.locator(".notice.ok").count() == 0
    published = AuditDpRelease.enterprise_id == ent, AuditDpRelease.period == month
    assert _count(world, AuditDpRelease, *published) == 1
    with world.rt.db.unit_of_work() as uow:
        rel = uow.session.scalars(select(AuditDpRelease).where(*published)).one()
        assert rel.epsilon == pytest.approx(0.5)
    _go(page, watch, f"{url}?period={month}")
    assert "0.5" in page.locator("#budget tr", has_text=month).inner_text()
    _switch(page, watch, _other(lang))


@WALKS
def test_enterprise_reads_and_publishes_its_privacy_notice(
        open_page: Any, world: World, locale: str, phone: bool) -> None:

    size, lang = ("phone" if phone else "desktop"), lang_of(locale)
    ent = world.prov.enterprise_id
    ours = NoticeVersion.enterprise_id == ent
    before = _count(world, NoticeVersion, ours)
    contact = f"privacy-{lang}-{size}@demo.example.invalid".lower()
    page = open_page(username=_admin(world), phone=phone, locale=locale)
    watch = Watch(page, world, {contact})
    # `consent notice show`: the version in force, rendered in the page's language
    _go(page, watch, f"/enterprise/notice?lang={lang}")
    assert f"{before}" in page.locator("#notice dl").inner_text()
    assert page.locator("#notice .notice-scroll h2, #notice .notice-scroll h3").count() > 0
    assert page.locator("#versions tbody tr").count() == before
    # `consent notice publish`: a new version when the content changed, confirmed
    form = page.locator("form[action='/enterprise/notice/publish']")
    form.locator("[name=processor_contact]").fill(contact)
    form.locator("input[name=confirm]").check()
    _submit(page, watch, form)
    assert page.url.split("?")[0].endswith("/enterprise/notice")
    assert {"zh-CN": f"已发布隐私告知第 {before + 1} 版", "en": f"version {before + 1}"}[lang] \
        in page.get_by_role("status").first.inner_text()
    shot(page, f"role-enterprise-notice-{lang}-{size}")
    page.reload()
    watch.check()
    assert page.locator(".notice.ok").count() == 0
    assert _count(world, NoticeVersion, ours) == before + 1  # published once
    with world.rt.db.unit_of_work() as uow:
        latest = uow.session.scalars(select(NoticeVersion).where(ours).order_by(
            NoticeVersion.version.desc())).first()
        assert latest is not None
        assert contact in json.dumps(latest.content)
    assert contact in page.locator("#notice .notice-scroll").inner_text()
    # the same content again: no new version, and the page says so
    form = page.locator("form[action='/enterprise/notice/publish']")
    form.locator("[name=processor_contact]").fill(contact)
    form.locator("input[name=confirm]").check()
    _submit(page, watch, form)
    assert _count(world, NoticeVersion, ours) == before + 1
    assert {"zh-CN": "内容未变", "en": "unchanged"}[lang] in \
        page.get_by_role("status").first.inner_text()
    _switch(page, watch, _other(lang))


@WALKS
def test_enterprise_handles_data_subject_requests_at_the_counter(
        open_page: Any, world: World, locale: str, phone: bool) -> None:
    from tests.e2e.browser.test_task_walks import _ship

    size, lang = ("phone" if phone else "desktop"), lang_of(locale)
    parcel = _ship(world, 9100 + (0 if lang == "zh-CN" else 1) + (2 if phone else 0))
    subject = parcel.sender_subject_id
    page = open_page(username=_admin(world), phone=phone, locale=locale)
    watch = Watch(page, world, {subject, parcel.waybill_no})
    mine = DataSubjectRequest.subject_id == subject
    _go(page, watch, f"/enterprise/subjects?lang={lang}")
    # `subjects export`: an access request opened; the person collects the copy
    form = page.locator("form[action='/enterprise/subjects/export']")
    form.locator("[name=subject_id]").fill(subject)
    _submit(page, watch, form)
    assert page.url.split("?")[0].endswith("/enterprise/subjects")
    assert {"zh-CN": "消费者门户", "en": "consumer portal"}[lang] in \
        page.get_by_role("status").first.inner_text()
    page.reload()
    watch.check()
    assert _count(world, DataSubjectRequest, mine, DataSubjectRequest.kind == "access") == 1
    # `subjects correct`: one of the person's own fields on one parcel

    by_waybill = Parcel.waybill_no == parcel.waybill_no
    with world.rt.db.unit_of_work() as uow:
        sealed = uow.session.scalars(select(Parcel.sender_address_ct).where(by_waybill)).one()
    form = page.locator("form[action='/enterprise/subjects/correct']")
    form.locator("[name=subject_id]").fill(subject)
    form.locator("[name=waybill_no]").fill(parcel.waybill_no)
    form.locator("select[name=field]").select_option("sender_address")
    form.locator("[name=value]").fill("苏州市姑苏区更正路 9 号")
    _submit(page, watch, form)
    assert page.url.split("?")[0].endswith("/enterprise/subjects")
    assert "更正路" not in page.content()  # the value is never shown back
    with world.rt.db.unit_of_work() as uow:
        done = uow.session.scalars(select(DataSubjectRequest).where(
            mine, DataSubjectRequest.kind == "correction")).one()
        assert done.status == "completed"
        resealed = uow.session.scalars(select(Parcel.sender_address_ct).where(by_waybill)).one()
    assert resealed != sealed  # the address was replaced, sealed again
    # `subjects erase`: confirmed; deferred while the parcel is still to be delivered
    form = page.locator("form[action='/enterprise/subjects/erase']")
    form.locator("[name=subject_id]").fill(subject)
    form.locator("input[name=confirm]").check()
    _submit(page, watch, form)
    assert page.url.split("?")[0].endswith("/enterprise/subjects")
    shot(page, f"role-enterprise-subjects-{lang}-{size}")
    page.reload()
    watch.check()
    with world.rt.db.unit_of_work() as uow:
        erase = uow.session.scalars(select(DataSubjectRequest).where(
            mine, DataSubjectRequest.kind == "deletion")).one()
        assert erase.status in ("deferred", "completed")
    assert _count(world, DataSubjectRequest, mine) == 3  # each once
    # `subjects resume`: deferred deletions retried (still held: still deferred)
    form = page.locator("form[action='/enterprise/subjects/resume']")
    _submit(page, watch, form)
    assert page.url.split("?")[0].endswith("/enterprise/subjects")
    assert page.locator("#requests").locator("tr", has_text=subject).count() == 3
    _switch(page, watch, _other(lang))


@WALKS
def test_enterprise_registers_a_partner_and_reads_its_bindings(
        open_page: Any, world: World, locale: str, phone: bool) -> None:
    import base64

    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


    size, lang = ("phone" if phone else "desktop"), lang_of(locale)
    ent = world.prov.enterprise_id
    partner = f"outlet-{lang}-{size}".lower()
    name = f"Parcel locker {lang} {size}"
    conclusion = f"Needed for last-mile delivery; sealed to the outlet's key ({lang} {size})."
    key = base64.b64encode(X25519PrivateKey.generate().public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw)).decode()
    page = open_page(username=_admin(world), phone=phone, locale=locale)
    watch = Watch(page, world, {partner, name, conclusion, f"PC-{partner}"})
    _go(page, watch, f"/enterprise/partners?lang={lang}")
    # `waybill partners add`
    form = page.locator("form[action='/enterprise/partners/add']")
    form.locator("[name=partner_id]").fill(partner)
    form.locator("[name=name]").fill(name)
    form.locator("select[name=relationship]").select_option("entrusted")
    form.locator("[name=public_key]").fill(key)
    _submit(page, watch, form)
    assert page.url.split("?")[0].endswith("/enterprise/partners")
    page.reload()
    watch.check()
    assert _count(world, Partner, Partner.enterprise_id == ent,
                  Partner.partner_id == partner) == 1
    assert page.locator("#partners tr", has_text=partner).count() == 1
    # `waybill partners assess` and `contract`
    form = page.locator("form[action='/enterprise/partners/assess']")
    form.locator("select[name=partner_id]").select_option(partner)
    form.locator("select[name=fields]").select_option("recipient_name recipient_phone")
    form.locator("[name=conclusion]").fill(conclusion)
    _submit(page, watch, form)
    now = world.rt.clock.now()
    form = page.locator("form[action='/enterprise/partners/contract']")
    form.locator("select[name=partner_id]").select_option(partner)
    form.locator("[name=reference]").fill(f"PC-{partner}")
    form.locator("select[name=fields]").select_option("recipient_name recipient_phone")
    form.locator("[name=starts]").fill((now - timedelta(days=1)).isoformat())
    form.locator("[name=ends]").fill((now + timedelta(days=365)).isoformat())
    _submit(page, watch, form)
    shot(page, f"role-enterprise-partners-{lang}-{size}")
    page.reload()
    watch.check()
    assert _count(world, ImpactAssessment, ImpactAssessment.partner_id == partner) == 1
    assert _count(world, ProcessingContract, ProcessingContract.partner_id == partner) == 1
    # `waybill share`: a parcel's recipient data sealed to the partner's key, as a file;
    # one share access event and one share record, readable by the partner alone

    waybill = world.prov.assigned[0]
    shares = Share.partner_id == partner, Share.waybill_no == waybill
    form = page.locator("form[action='/enterprise/partners/share']")
    form.locator("[name=waybill_no]").fill(waybill)
    form.locator("select[name=partner_id]").select_option(partner)
    form.locator("select[name=fields]").select_option("recipient_name recipient_phone")
    form.locator("input[name=confirm]").check()
    with page.expect_download() as got:
        form.locator("button[type=submit]").click()
    sealed = got.value.path().read_bytes()
    with world.rt.db.unit_of_work() as uow:
        row = uow.session.scalars(select(Share).where(*shares)).one()
        assert row.outcome == "allowed"
        assert got.value.suggested_filename == f"share-{row.id}.sealed"
        assert hashlib.sha256(sealed).hexdigest() == row.payload_sha256
    assert "孙" not in sealed.decode("utf-8", "replace")  # sealed, not readable
    # a parcel of no such waybill: refused on the page, in its language
    form = page.locator("form[action='/enterprise/partners/share']")
    form.locator("[name=waybill_no]").fill("ZZ000000000000")
    form.locator("input[name=confirm]").check()
    watch.typed.add("ZZ000000000000")
    _submit(page, watch, form)
    assert page.get_by_role("alert").count() == 1
    assert _count(world, Share, *shares) == 1
    # `waybill bindings`: the live virtual-number bindings, and the expiry sweep
    _go(page, watch, f"/enterprise/bindings?lang={lang}")
    with world.rt.db.unit_of_work() as uow:
        live = list_bindings(uow.session, enterprise_id=ent, live_only=True)
    assert page.locator("#bindings tbody tr").count() == max(min(len(live), 25), 1)
    form = page.locator("form[action='/enterprise/bindings/expire']")
    _submit(page, watch, form)
    assert page.url.split("?")[0].endswith("/enterprise/bindings")
    assert page.get_by_role("status").count() >= 1
    _switch(page, watch, _other(lang))
