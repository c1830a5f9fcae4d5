"""The portals over HTTP (no browser): security headers and cookies, CSRF, staff
log-in with password and TOTP, role separation, and the consumer's shipping and
rights flows against a real SQLite home."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from parcelguard.app import create_app
from parcelguard.consent.models import ConsentRecord
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity import service as identity
from parcelguard.ledger.models import LedgerEvent
from parcelguard.logistics.models import Parcel
from parcelguard.ops.store import init_store
from parcelguard.vault.provider import vault_service
from parcelguard.waybill.provider import telephony
from parcelguard.web import demo, totp

LOCAL = "http://127.0.0.1"


@dataclass
class Site:
    rt: Runtime
    prov: demo.Provisioned
    app: object

    def client(self, base: str = LOCAL) -> TestClient:
        return TestClient(self.app, base_url=base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home: Path = tmp_path_factory.mktemp("web")
    rt = Runtime(settings=Settings(home=home, database_url=f"sqlite:///{home / 'pg.db'}"))
    init_store(rt.settings)
    with rt.db.unit_of_work() as uow:
        prov = demo.provision(uow.session, vault_service(rt.settings), telephony(rt.settings),
                              clock=rt.clock)
        uow.commit()
    yield Site(rt, prov, create_app(rt))
    rt.close()


def token(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m is not None
    return m.group(1)


def log_in(site: Site, c: TestClient, username: str, code: str | None = None) -> int:
    login = next(x for x in site.prov.logins if x.username == username)
    t = token(c.get("/login").text)
    r = c.post("/login", follow_redirects=False, data={
        "csrf_token": t, "username": username, "password": login.password,
        "code": code if code is not None else demo.current_code(login, site.rt.clock.now())})
    return r.status_code


def test_pages_carry_security_headers_and_strict_cookies(site: Site) -> None:
    r = site.client().get("/consumer/track")
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "http" not in csp  # no other host is allowed anything
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"] == "no-store"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain-HTTP localhost: the local demo must work
    remote = site.client("http://portal.example.invalid").get("/consumer/track")
    assert "Secure" in remote.headers["set-cookie"]


def test_forms_without_the_csrf_token_or_from_elsewhere_are_refused(site: Site) -> None:
    c = site.client()
    t = token(c.get("/consumer/track").text)
    assert c.post("/consumer/track", data={"waybill_no": "x", "phone": "1"}).status_code == 403
    assert c.post("/consumer/track", data={"csrf_token": "forged", "waybill_no": "x",
                                           "phone": "1"}).status_code == 403
    r = c.post("/consumer/track", data={"csrf_token": t, "waybill_no": "x", "phone": "1"},
               headers={"origin": "https://evil.example.invalid"})
    assert r.status_code == 403
    ok = c.post("/consumer/track", data={"csrf_token": t, "waybill_no": "x", "phone": "1"})
    assert ok.status_code == 200  # accepted: the code form (no such parcel, no code sent)
    assert 'name="challenge"' in ok.text


def test_staff_need_password_and_a_fresh_totp_code(site: Site) -> None:
    c = site.client()
    assert log_in(site, c, "courier.demo", code="000000") == 401
    assert log_in(site, c, "courier.demo") == 303
    assert "pg_session" in c.cookies
    # The same code again (same 30-second step) is refused: codes are single-use.
    assert log_in(site, site.client(), "courier.demo") == 401
    with site.rt.db.unit_of_work() as uow:
        actions = list(uow.session.scalars(select(LedgerEvent.leaf).where(
            LedgerEvent.enterprise_id == site.prov.enterprise_id,
            LedgerEvent.subject_id == site.prov.courier_employee_id)))
    text = b"\n".join(actions)
    assert b'"action":"login"' in text
    assert b'"action":"login_failed"' in text  # the monitor sees failed attempts


def test_each_role_sees_only_its_portal(site: Site) -> None:
    c = site.client()
    assert log_in(site, c, "police.demo") == 303
    assert c.get("/police").status_code == 200
    assert c.get("/supervisor").status_code == 403
    assert c.get("/enterprise/keys").status_code == 403
    anonymous = site.client().get("/courier", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")


def test_first_log_in_enrols_the_authenticator(site: Site) -> None:
    with site.rt.db.unit_of_work() as uow:
        identity.create_account(uow.session, org_id=site.prov.enterprise_id,
                                username="new.officer", role="security_officer",
                                password="a-long-demo-password-1", clock=site.rt.clock)
        uow.commit()
    c = site.client()
    t = token(c.get("/login").text)
    form = {"csrf_token": t, "username": "new.officer", "password": "a-long-demo-password-1"}
    first = c.post("/login", data=form)
    assert first.status_code == 401
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', first.text)
    assert secret is not None
    code = totp.current_code(secret.group(1), site.rt.clock.now())
    done = c.post("/login", data={**form, "code": code}, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == "/enterprise"


def _ship(c: TestClient, site: Site, **extra: str) -> tuple[int, str]:
    t = token(c.get(f"/consumer/ship?carrier={site.prov.enterprise_id}").text)
    data = {"csrf_token": t, "carrier": site.prov.enterprise_id, "sender_name": "王五",
            "sender_phone": "13700137000", "sender_address": "杭州市西湖区示例路 5 号",
            "recipient_name": "赵六", "recipient_phone": "13600136000",
            "recipient_address": "南京市鼓楼区示例街 9 号 1 单元 101 室", **extra}
    r = c.post("/consumer/ship", data=data)
    return r.status_code, r.text


def test_shipping_needs_the_notice_acknowledged_and_records_each_consent(site: Site) -> None:
    c = site.client()
    status, _ = _ship(c, site)
    assert status == 422  # not acknowledged: nothing collected
    status, html = _ship(c, site, acknowledge="yes", purpose="marketing")
    assert status == 200
    m = re.search(r'id="waybill-no">([A-Z0-9]+)<', html)
    assert m is not None
    with site.rt.db.unit_of_work() as uow:
        parcel = uow.session.scalars(select(Parcel).where(Parcel.waybill_no == m.group(1))).one()
        assert "赵六".encode() not in (parcel.recipient_name_ct or b"")
        records = {(r.purpose, r.action, r.channel) for r in uow.session.scalars(
            select(ConsentRecord).where(ConsentRecord.subject_id == parcel.sender_subject_id))}
    assert records == {("delivery", "acknowledge", "web"), ("marketing", "grant", "web")}
