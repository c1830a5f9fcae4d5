"""Post/redirect/get on the consumer's proof and rights forms and the courier's
reveal and call, over HTTP on a served app: every action answers 303 to a page, a
reload of that page repeats nothing (no second SMS, withdrawal, reveal or call), the
done-message shows once, the language switch on the page opens the same page, and a
refused form comes back with what was typed."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import func, select

from parcelguard.app import create_app
from parcelguard.consent.models import ConsentRecord
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.ledger.models import LedgerEvent
from parcelguard.logistics.models import Parcel
from parcelguard.ops.store import init_store
from parcelguard.vault.provider import vault_service
from parcelguard.waybill.provider import telephony
from parcelguard.web import demo
from tests.e2e.served import csrf, hidden, last_code, serve, texts_to

SENDER_PHONE = "13700137011"  # synthetic numbers (never printed)
RECIPIENT_PHONE = "13600136022"


@dataclass
class Site:
    rt: Runtime
    app: Any
    prov: demo.Provisioned
    base_url: str
    clients: list[httpx.Client] = field(default_factory=list)
    staff_clients: dict[str, httpx.Client] = field(default_factory=dict)

    def client(self, lang: str = "en") -> httpx.Client:
        c = httpx.Client(base_url=self.base_url, timeout=20,
                         headers={"Accept-Language": lang})
        self.clients.append(c)
        return c

    def staff(self, username: str) -> httpx.Client:
        """Logged in once per module: a TOTP code is accepted once per step."""
        if username in self.staff_clients:
            return self.staff_clients[username]
        c = self.client()
        login = next(x for x in self.prov.logins if x.username == username)
        r = c.post("/login", data={"csrf_token": csrf(c.get("/login").text),
                                   "username": username, "password": login.password,
                                   "code": demo.current_code(login, datetime.now(UTC))})
        assert r.status_code == 303, r.text
        self.staff_clients[username] = c
        return c


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home: Path = tmp_path_factory.mktemp("portal-prg")
    rt = Runtime(settings=Settings(home=home, database_url=f"sqlite:///{home / 'pg.db'}"))
    init_store(rt.settings)
    with rt.db.unit_of_work() as uow:
        prov = demo.provision(uow.session, vault_service(rt.settings), telephony(rt.settings),
                              clock=rt.clock)
        uow.commit()
    app = create_app(rt)
    with serve(app) as base_url:
        s = Site(rt, app, prov, base_url)
        yield s
        for c in s.clients:
            c.close()
    rt.close()


def _ship(site: Site) -> Parcel:
    c = site.client()
    t = csrf(c.get(f"/consumer/ship?carrier={site.prov.enterprise_id}").text)
    r = c.post("/consumer/ship", data={
        "csrf_token": t, "carrier": site.prov.enterprise_id, "sender_name": "王五",
        "sender_phone": SENDER_PHONE, "sender_address": "杭州市西湖区示例路 5 号",
        "recipient_name": "赵六", "recipient_phone": RECIPIENT_PHONE,
        "recipient_address": "南京市鼓楼区示例街 9 号", "acknowledge": "yes",
        "purpose": "marketing"}, follow_redirects=True)
    m = re.search(r'id="waybill-no">([A-Z0-9]+)<', r.text)
    assert m is not None
    with site.rt.db.unit_of_work() as uow:
        p = uow.session.scalars(select(Parcel).where(Parcel.waybill_no == m.group(1))).one()
        uow.session.expunge(p)
    return p


def _lang_link(html: str, lang: str) -> str:
    m = re.search(rf'href="([^"]*lang={lang})"', html)
    assert m is not None, "no language switch on the page"
    return m.group(1).replace("&amp;", "&")


def _verified(site: Site, c: httpx.Client, path: str, p: Parcel, phone: str,
              subject: str) -> httpx.Response:
    """Waybill + phone, then the code: the page after the redirects."""
    t = csrf(c.get(path).text)
    asked = c.post(path, data={"csrf_token": t, "waybill_no": p.waybill_no, "phone": phone})
    assert asked.status_code == 303
    assert asked.headers["location"] == f"{path}/code"
    form = c.get(asked.headers["location"])
    opened = c.post(path, data={"csrf_token": csrf(form.text),
                                "challenge": hidden(form.text, "challenge"),
                                "code": last_code(site.rt.settings.home, subject)})
    assert opened.status_code == 303
    assert opened.headers["location"] == path
    return c.get(path)


def test_asking_for_a_code_redirects_and_a_reload_sends_no_second_sms(site: Site) -> None:
    p = _ship(site)
    c = site.client()
    home = site.rt.settings.home
    t = csrf(c.get("/consumer/track").text)
    asked = c.post("/consumer/track", data={"csrf_token": t, "waybill_no": p.waybill_no,
                                            "phone": RECIPIENT_PHONE})
    assert asked.status_code == 303
    sent = len(texts_to(home, p.recipient_subject_id))
    assert sent == 1
    form = c.get("/consumer/track/code")
    again = c.get("/consumer/track/code")  # the reload
    assert 'name="challenge"' in form.text
    assert 'name="challenge"' in again.text
    assert len(texts_to(home, p.recipient_subject_id)) == sent
    zh = c.get(_lang_link(form.text, "zh-CN"))  # the switch stays on the code form
    assert zh.status_code == 200
    assert 'name="challenge"' in zh.text
    assert "短信验证码" in zh.text
    # A wrong code: the form again (the answer to the post), its switch to the form.
    wrong = c.post("/consumer/track", data={"csrf_token": t, "challenge": hidden(
        form.text, "challenge"), "code": "000000"})
    assert wrong.status_code == 401
    assert _lang_link(wrong.text, "zh-CN").startswith("/consumer/track/code?")


def test_tracking_opens_by_redirect_and_reloads_and_switches_language(site: Site) -> None:
    p = _ship(site)
    c = site.client()
    page = _verified(site, c, "/consumer/track", p, RECIPIENT_PHONE, p.recipient_subject_id)
    assert 'id="parcel-status"' in page.text
    assert RECIPIENT_PHONE not in page.text
    assert 'id="parcel-status"' in c.get("/consumer/track").text  # the reload
    zh = c.get(_lang_link(page.text, "zh-CN"))
    assert zh.status_code == 200
    assert 'id="parcel-status"' in zh.text
    # Done on this device: the parcel is no longer shown.
    left = c.post("/consumer/track", data={"csrf_token": csrf(page.text), "action": "leave"})
    assert left.status_code == 303
    assert 'id="parcel-status"' not in c.get("/consumer/track").text


def _withdrawals(site: Site, subject: str) -> int:
    with site.rt.db.unit_of_work() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(ConsentRecord).where(
            ConsentRecord.subject_id == subject, ConsentRecord.action == "withdraw")) or 0)


def test_a_withdrawal_redirects_says_so_once_and_a_reload_withdraws_nothing(
        site: Site) -> None:
    p = _ship(site)
    c = site.client()
    page = _verified(site, c, "/consumer/rights", p, SENDER_PHONE, p.sender_subject_id)
    assert "Withdraw consent" in page.text
    done = c.post("/consumer/rights", data={"csrf_token": csrf(page.text),
                                            "action": "withdraw", "purpose": "marketing"})
    assert done.status_code == 303
    assert done.headers["location"] == "/consumer/rights"
    shown = c.get("/consumer/rights")
    assert "Consent withdrawn. It applies from now on." in shown.text
    reloaded = c.get("/consumer/rights")
    assert "Consent withdrawn" not in reloaded.text  # said once
    assert "Your requests" in reloaded.text  # still the person's rights page
    assert _withdrawals(site, p.sender_subject_id) == 1
    zh = c.get(_lang_link(shown.text, "zh-CN"))
    assert zh.status_code == 200
    assert "你的申请" in zh.text


def test_a_refused_correction_keeps_what_was_typed(site: Site) -> None:
    p = _ship(site)
    c = site.client()
    page = _verified(site, c, "/consumer/rights", p, RECIPIENT_PHONE, p.recipient_subject_id)
    typed = "not a phone number at all"
    refused = c.post("/consumer/rights", data={
        "csrf_token": csrf(page.text), "action": "request", "kind": "correction",
        "field": "recipient_phone", "value": typed})
    assert 400 <= refused.status_code < 500
    assert f'value="{typed}"' in refused.text
    assert re.search(r'value="recipient_phone" required checked', refused.text)
    assert _lang_link(refused.text, "zh-CN").startswith("/consumer/rights?")


def test_a_deletion_asks_first_on_a_page_of_its_own(site: Site) -> None:
    p = _ship(site)
    c = site.client()
    page = _verified(site, c, "/consumer/rights", p, SENDER_PHONE, p.sender_subject_id)
    first = c.post("/consumer/rights", data={"csrf_token": csrf(page.text),
                                             "action": "request", "kind": "deletion"})
    assert first.status_code == 303
    confirm = c.get(first.headers["location"])
    assert "Yes, delete my information" in confirm.text
    zh = c.get(_lang_link(confirm.text, "zh-CN"))
    assert "确认删除我的个人信息" in zh.text


def _reveals(site: Site, waybill: str) -> list[dict[str, Any]]:
    with site.rt.db.unit_of_work() as uow:
        leaves = [json.loads(x) for x in uow.session.scalars(select(LedgerEvent.leaf).where(
            LedgerEvent.waybill_no == waybill, LedgerEvent.kind == "access"))]
    return [e for e in leaves if e["action"] == "reveal"]


def test_a_courier_reveal_is_shown_once_and_a_reload_reveals_nothing(site: Site) -> None:
    c = site.staff("courier.demo")
    waybill = site.prov.assigned[0]
    home = c.get("/courier")
    r = c.post("/courier/reveal", data={"csrf_token": csrf(home.text), "waybill_no": waybill,
                                        "field": "recipient_phone", "purpose": "delivery"})
    assert r.status_code == 303
    assert r.headers["location"] == "/courier"
    assert "pg_courier" in r.headers["set-cookie"]
    shown = c.get("/courier")
    assert 'id="revealed-value"' in shown.text
    assert len(_reveals(site, waybill)) == 1
    reloaded = c.get("/courier")
    assert 'id="revealed-value"' not in reloaded.text  # shown once
    assert len(_reveals(site, waybill)) == 1  # and revealed once
    zh = c.get(_lang_link(shown.text, "zh-CN"))
    assert zh.status_code == 200
    assert "今日任务" in zh.text


def test_a_refused_reveal_is_said_in_the_pages_language(site: Site) -> None:
    c = site.staff("courier.demo")
    home = c.get("/courier")
    r = c.post("/courier/reveal", data={"csrf_token": csrf(home.text),
                                        "waybill_no": site.prov.unassigned,
                                        "field": "recipient_phone", "purpose": "delivery"})
    assert r.status_code == 303
    zh = c.get("/courier?lang=zh-CN")
    assert 'id="reveal-result"' in zh.text
    assert 'id="revealed-value"' not in zh.text
    result = re.search(r'id="reveal-result">(.*?)</div>', zh.text, re.S)
    assert result is not None
    assert re.search(r"[\u4e00-\u9fff]", result.group(1))
    assert not re.search(r"[A-Za-z]{4,} [a-z]{3,}", result.group(1))


def test_a_bad_reveal_form_keeps_the_typed_waybill(site: Site) -> None:
    c = site.staff("courier.demo")
    home = c.get("/courier")
    r = c.post("/courier/reveal", data={"csrf_token": csrf(home.text),
                                        "waybill_no": "ZZ123", "field": "nonsense"})
    assert r.status_code == 422
    assert 'value="ZZ123"' in r.text
    assert _lang_link(r.text, "en").startswith("/courier?")


def test_a_call_redirects_and_a_reload_calls_nobody(site: Site) -> None:
    c = site.staff("courier.demo")
    calls = site.app.state.telephony.calls
    before = len(calls)
    home = c.get("/courier")
    r = c.post("/courier/call", data={"csrf_token": csrf(home.text),
                                      "waybill_no": site.prov.assigned[0]})
    assert r.status_code == 303
    shown = c.get("/courier?lang=en")
    assert "virtual number" in shown.text
    c.get("/courier")  # the reload
    assert len(calls) == before + 1
    refused = c.post("/courier/call", data={"csrf_token": csrf(home.text),
                                            "waybill_no": site.prov.unassigned})
    assert refused.status_code == 303
    assert "Call refused" in c.get("/courier").text
    assert len(calls) == before + 1


def test_a_refused_label_redirects_to_the_page_with_the_reason(site: Site) -> None:
    c = site.staff("courier.demo")
    home = c.get("/courier?lang=en")
    r = c.post("/courier/label", data={"csrf_token": csrf(home.text),
                                       "waybill_no": site.prov.unassigned,
                                       "purpose": "delivery"})
    assert r.status_code == 303
    shown = c.get("/courier")
    assert 'id="reveal-result"' in shown.text
    assert "Refused" in shown.text
    assert 'id="reveal-result"' not in c.get("/courier").text  # the reload: once
