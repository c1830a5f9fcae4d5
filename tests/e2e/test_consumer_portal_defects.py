"""Consumer and reporter portal defects of issue 17, each over HTTP on a served app:
a letter in a phone number on /consumer/ship, a rating of "²", the whistleblower's
receipt with the "wrong" carrier selected, and the rights page (a recipient's
delivery, a correction with nothing to correct, a deletion that silently withdrew
consents)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import select

from parcelguard.app import create_app
from parcelguard.conduct.settings import ConductSettings
from parcelguard.consent.models import DataSubjectRequest
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity import service as identity
from parcelguard.logistics.models import Parcel
from parcelguard.ops.store import init_store
from parcelguard.vault.blind_index import normalize_phone
from parcelguard.vault.provider import vault_service
from parcelguard.waybill.provider import telephony
from parcelguard.web import demo
from parcelguard.web.settings import WebSettings
from tests.e2e.served import csrf, hidden, last_code, serve

SHIP = {"sender_name": "王五", "sender_phone": "13700137000",
        "sender_address": "杭州市西湖区示例路 5 号", "recipient_name": "赵六",
        "recipient_phone": "13600136000", "recipient_address": "南京市鼓楼区示例街 9 号"}
OTHER_CARRIER = "ent-second"


@dataclass
class Site:
    rt: Runtime
    prov: demo.Provisioned
    base_url: str
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, lang: str = "en") -> httpx.Client:
        c = httpx.Client(base_url=self.base_url, timeout=10, params={"lang": lang})
        self.clients.append(c)
        return c


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home: Path = tmp_path_factory.mktemp("consumer-defects")
    rt = Runtime(settings=Settings(home=home, database_url=f"sqlite:///{home / 'pg.db'}"))
    init_store(rt.settings)  # a store is made only by init
    with rt.db.unit_of_work() as uow:
        prov = demo.provision(uow.session, vault_service(rt.settings), telephony(rt.settings),
                              clock=rt.clock)
        # Sorted after the demo carrier: not the one the report form selects first.
        identity.create_organization(uow.session, org_id=OTHER_CARRIER, kind="enterprise",
                                     name="Zz Second Express", clock=rt.clock)
        uow.commit()
    with serve(create_app(rt)) as base_url:
        s = Site(rt, prov, base_url)
        yield s
        for c in s.clients:
            c.close()
    rt.close()


def ship(site: Site, c: httpx.Client, **values: str) -> httpx.Response:
    t = csrf(c.get("/consumer/ship", params={"carrier": site.prov.enterprise_id}).text)
    return c.post("/consumer/ship", data={"csrf_token": t, "carrier": site.prov.enterprise_id,
                                          "acknowledge": "yes", **SHIP, **values},
                  follow_redirects=True)  # a parcel shipped: post/redirect/get


def test_a_letter_in_a_phone_number_is_a_form_error_keeping_what_was_typed(site: Site) -> None:
    r = ship(site, site.client("zh-CN"), recipient_phone="1360013600O", purpose="marketing")
    assert r.status_code == 422
    assert "收件人手机号码无效" in r.text  # in the visitor's language
    assert 'value="1360013600O"' in r.text
    assert 'value="南京市鼓楼区示例街 9 号"' in r.text
    assert 'value="王五"' in r.text


def test_a_rating_of_superscript_two_is_refused_clearly(site: Site) -> None:
    c = site.client()
    t = csrf(c.get("/consumer/evaluate/some-link").text)
    r = c.post("/consumer/evaluate/some-link", data={"csrf_token": t, "rating": "²"})
    assert r.status_code == 422
    assert "Choose a rating from 1 to 5." in r.text


def test_the_receipt_alone_opens_a_report_at_any_carrier(site: Site) -> None:
    c = site.client("zh-CN")
    t = csrf(c.get("/consumer/report").text)
    filed = c.post("/consumer/report", data={
        "csrf_token": t, "carrier": OTHER_CARRIER, "kind": "scam_call",
        "body": "有人冒充快递客服打电话，说出了我的包裹信息。", "identity": "anonymous"})
    assert filed.status_code == 200
    receipt = re.search(r'id="receipt-code">([^<]+)<', filed.text)
    secret = re.search(r'id="receipt-secret">([^<]+)<', filed.text)
    assert receipt is not None
    assert secret is not None
    follow = c.get("/consumer/follow").text
    # Round 1 posted the default (first) carrier with them and answered "wrong".
    opened = c.post("/consumer/follow", data={"csrf_token": csrf(follow),
                                              "carrier": site.prov.enterprise_id,
                                              "receipt": receipt.group(1),
                                              "secret": secret.group(1)},
                    follow_redirects=True)  # post/redirect/get: the thread is a page
    assert opened.status_code == 200
    assert 'id="report-status"' in opened.text
    assert secret.group(1) not in opened.text  # never written back into a page
    # The thread is a page of its own: a message is posted, then redirected to it, so
    # a reload sends nothing twice.
    sent = c.post("/consumer/follow", data={"csrf_token": csrf(follow),
                                            "message": "又接到一个电话。"})
    assert sent.status_code == 303
    assert c.get("/consumer/follow").text.count("又接到一个电话。") == 1
    assert c.get("/consumer/follow").text.count("又接到一个电话。") == 1
    c.post("/consumer/follow", data={"csrf_token": csrf(follow), "action": "leave"})
    assert 'id="report-status"' not in c.get("/consumer/follow").text
    wrong = c.post("/consumer/follow", data={"csrf_token": csrf(follow),
                                             "receipt": receipt.group(1), "secret": "nope"})
    assert wrong.status_code == 401
    assert "回执码或密码错误" in wrong.text
    assert "the receipt code or the secret is wrong" not in wrong.text


def _rights_page(site: Site, c: httpx.Client, waybill: str, phone: str,
                 subject_id: str) -> str:
    t = csrf(c.get("/consumer/rights").text)
    asked = c.post("/consumer/rights", data={"csrf_token": t, "waybill_no": waybill,
                                             "phone": phone}, follow_redirects=True)
    page = c.post("/consumer/rights", data={
        "csrf_token": t, "challenge": hidden(asked.text, "challenge"),
        "code": last_code(site.rt.settings.home, subject_id)}, follow_redirects=True)
    assert page.status_code == 200
    return page.text


def _shipped(site: Site) -> tuple[str, Parcel]:
    r = ship(site, site.client(), purpose="marketing")
    m = re.search(r'id="waybill-no">([A-Z0-9]+)<', r.text)
    assert m is not None
    found: list[Parcel] = []

    def stored() -> None:
        with site.rt.db.unit_of_work() as uow:
            p = uow.session.scalars(select(Parcel).where(Parcel.waybill_no == m.group(1))).first()
            assert p is not None, "the shipped parcel was never stored"
            uow.session.expunge(p)
            found.append(p)
    stored()
    return m.group(1), found[0]


def _allowed(html: str, purpose: str) -> str:
    row = re.search(rf"<tr><td>{purpose}</td><td>[^<]*</td><td>([^<]*)</td>", html)
    assert row is not None, purpose
    return row.group(1)


def test_a_recipient_sees_delivery_allowed_for_a_parcel_sent_to_them(site: Site) -> None:
    waybill, p = _shipped(site)
    html = _rights_page(site, site.client(), waybill, SHIP["recipient_phone"],
                        p.recipient_subject_id)
    assert _allowed(html, "delivery").startswith("yes")


def test_a_correction_says_what_to_correct_and_is_applied(site: Site) -> None:
    waybill, p = _shipped(site)
    c = site.client()
    html = _rights_page(site, c, waybill, SHIP["recipient_phone"], p.recipient_subject_id)
    assert 'name="field" value="recipient_address"' in html
    assert 'name="value"' in html
    done = c.post("/consumer/rights", data={
        "csrf_token": csrf(html), "token": hidden(html, "token"), "action": "request",
        "kind": "correction", "field": "recipient_phone", "value": "13600136001"},
        follow_redirects=True)
    assert done.status_code == 200
    assert "Corrected. Reference:" in done.text

    def corrected() -> None:
        with site.rt.db.unit_of_work() as uow:
            rows = list(uow.session.scalars(select(DataSubjectRequest).where(
                DataSubjectRequest.subject_id == p.recipient_subject_id)))
            assert [(r.kind, r.status) for r in rows] == [("correction", "completed")]
            parcel = uow.session.get(Parcel, p.id)
            assert parcel is not None
            fresh, _ = vault_service(site.rt.settings).phone_indexes(
                uow.session, p.enterprise_id, normalize_phone("13600136001"))
            assert bytes(parcel.recipient_phone_bi or b"") == fresh
    corrected()


def test_a_deletion_request_says_what_it_does_and_asks_first(site: Site) -> None:
    waybill, p = _shipped(site)
    c = site.client()
    html = _rights_page(site, c, waybill, SHIP["sender_phone"], p.sender_subject_id)
    assert _allowed(html, "marketing") == "yes"
    ask = {"csrf_token": csrf(html), "token": hidden(html, "token"), "action": "request",
           "kind": "deletion"}
    first = c.post("/consumer/rights", data=ask, follow_redirects=True)
    assert first.status_code == 200
    assert "stops at once" in first.text
    assert "Yes, delete my information" in first.text
    assert _allowed(first.text, "marketing") == "yes"  # nothing changed yet
    with site.rt.db.unit_of_work() as uow:
        assert uow.session.scalars(select(DataSubjectRequest).where(
            DataSubjectRequest.subject_id == p.sender_subject_id)).first() is None
    confirmed = c.post("/consumer/rights", data={**ask, "confirm": "yes"},
                       follow_redirects=True)
    assert confirmed.status_code == 200
    assert _allowed(confirmed.text, "marketing") == "no"

    def requested() -> None:
        with site.rt.db.unit_of_work() as uow:
            kinds = [r.kind for r in uow.session.scalars(select(DataSubjectRequest).where(
                DataSubjectRequest.subject_id == p.sender_subject_id))]
        assert kinds == ["deletion"]
    requested()


def test_guessing_receipt_codes_is_locked_per_source(site: Site) -> None:
    """Kept last: it locks this module's one source (127.0.0.1)."""
    c = site.client()
    t = csrf(c.get("/consumer/follow").text)
    limit = site.rt.settings.section(WebSettings).consumer_attempts_per_source
    statuses = [c.post("/consumer/follow", data={"csrf_token": t, "receipt": f"ABCD-EFGH-{i:04d}",
                                                 "secret": "guess"}).status_code
                for i in range(limit + 1)]
    assert statuses[0] == 401
    assert statuses[-1] == 429


def test_a_shipped_parcel_is_shown_after_a_redirect_and_a_reload_ships_nothing(
        site: Site) -> None:
    c = site.client("zh-CN")
    t = csrf(c.get("/consumer/ship", params={"carrier": site.prov.enterprise_id}).text)
    posted = c.post("/consumer/ship", data={"csrf_token": t, "carrier": site.prov.enterprise_id,
                                            "acknowledge": "yes", "purpose": "marketing", **SHIP})
    assert posted.status_code == 303
    assert posted.headers["location"] == "/consumer/shipped"
    shown = c.get("/consumer/shipped")
    again = c.get("/consumer/shipped")  # a reload shows the same parcel, ships no other
    waybills = [re.search(r'id="waybill-no">([A-Z0-9]+)<', r.text) for r in (shown, again)]
    assert waybills[0] is not None
    assert waybills[1] is not None
    assert waybills[0].group(1) == waybills[1].group(1)
    assert "营销推广" in shown.text  # the consent, translated
    assert "赵*" in shown.text  # the label's masked view, not the name
    assert "赵六" not in shown.text
    with site.rt.db.unit_of_work() as uow:
        n = len(list(uow.session.scalars(select(Parcel).where(
            Parcel.waybill_no == waybills[0].group(1)))))
    assert n == 1
    fresh = site.client().get("/consumer/shipped")  # nothing to show without the cookie
    assert fresh.status_code == 303


def test_a_rating_is_answered_with_a_redirect_and_a_reload_rates_nothing(site: Site) -> None:
    from parcelguard.conduct import service as conduct

    with site.rt.db.unit_of_work() as uow:
        link = conduct.issue_link(uow.session, enterprise_id=site.prov.enterprise_id,
                                  waybill_no=site.prov.assigned[0], clock=site.rt.clock,
                                  settings=site.rt.settings.section(ConductSettings))
        uow.commit()
    c = site.client("zh-CN")
    url = f"/consumer/evaluate/{link.token}"
    posted = c.post(url, data={"csrf_token": csrf(c.get(url).text), "rating": "5"})
    assert posted.status_code == 303
    assert posted.headers["location"] == url
    thanks = c.get(url)
    assert 'class="notice ok"' in thanks.text
    assert 'name="rating"' not in thanks.text
    assert 'class="notice ok"' not in c.get(url).text  # said once; nothing was re-sent

