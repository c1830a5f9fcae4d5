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

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from parcelguard.audit import support
from parcelguard.audit.models import AuditDataSupport
from parcelguard.channel.evidence import package_digest
from parcelguard.channel.models import ChannelReferral, ChannelReferralLog
from parcelguard.identity import repository as identity_repo
from parcelguard.identity.permissions import Principal
from parcelguard.web import demo
from parcelguard.web.demo_cases import REFERRAL_REASON
from tests.e2e.browser.conftest import World, shot
from tests.e2e.browser.test_cli_only_tasks import _reveal
from tests.e2e.browser.test_task_walks import Watch, _go, _submit, _switch

WALKS = pytest.mark.parametrize(("locale", "phone"), [("zh-CN", False), ("en-US", True)],
                                ids=["zh-CN-desktop", "en-phone"])


def _lang(locale: str) -> str:
    return "zh-CN" if locale == "zh-CN" else "en"


def _other(lang: str) -> str:
    return "en" if lang == "zh-CN" else "zh-CN"


class Downloads(Watch):
    """``Watch``, where a file handed over as an attachment (the evidence package) is
    a download, not a page shown as raw JSON."""

    def response(self, r: Any) -> None:
        if "attachment" in (r.headers.get("content-disposition") or ""):
            return
        super().response(r)


def _auditor_account(world: World) -> str:
    with world.rt.db.unit_of_work() as uow:
        acc = identity_repo.find_account_by_username(uow.session, "auditor.demo")
        assert acc is not None
        return str(acc.id)


def _support(world: World) -> str:
    """The demo auditor hands the demo referral data support (an event reference)."""
    assert world.cases.referral_id
    assert world.cases.engagement_id
    event = _reveal(world, world.prov.assigned[0])
    with world.rt.db.unit_of_work() as uow:
        row = support.send(uow.session, Principal(demo.AUDITOR_ORG, "auditor", "auditor",
                                                  account_id=_auditor_account(world)),
                           referral_id=world.cases.referral_id,
                           engagement_id=world.cases.engagement_id, event_ids=[event],
                           clock=world.rt.clock)
        uow.commit()
        return str(row.id)


# -- 1. police: the evidence package as a file; auditors' data support received ----------


@WALKS
def test_police_download_the_evidence_and_receive_data_support(
        open_page: Any, world: World, locale: str, phone: bool) -> None:
    size, lang = ("phone" if phone else "desktop"), _lang(locale)
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
