"""The portals' common behaviour in a real browser, desktop and phone, both languages:
an unknown address or a form-only address is an HTML page in the visitor's language
(never raw JSON), a done staff action comes back as the page (a reload repeats
nothing), the language switch after a post opens the page, and a long table pages."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.browser.conftest import World, shot


def _no_raw_json(page: Any) -> None:
    assert not page.content().lstrip().startswith('{"detail"')
    assert "<pre" not in page.content()[:200]
    assert page.locator("main").count() == 1


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_error_pages_are_pages_in_the_visitors_language(open_page: Any, phone: bool) -> None:
    page = open_page(phone=phone, locale="zh-CN")
    response = page.goto("/consumer/nowhere")
    assert response is not None
    assert response.status == 404
    _no_raw_json(page)
    assert "此地址没有页面" in page.locator("main").inner_text()
    shot(page, f"error-404-zh-{'phone' if phone else 'desktop'}")
    page.get_by_role("link", name="English").click()
    assert "There is no page at this address." in page.locator("main").inner_text()
    response = page.goto("/enterprise/alerts/ack?lang=en")
    assert response is not None
    assert response.status == 405
    _no_raw_json(page)
    page.get_by_role("link", name="Back").click()  # to the page the form is on
    assert page.url.split("?")[0].endswith("/login") or "/enterprise/alerts" in page.url


def test_a_staff_action_redirects_and_the_language_switch_stays_on_the_page(
        open_page: Any, world: World) -> None:
    page = open_page(username="security.demo")
    page.goto("/enterprise/employees?lang=en")
    shot(page, "enterprise-employees-en")
    suspend = "form[action='/enterprise/employees/suspend']"
    page.locator(suspend).first.locator("input[name='reason']").fill("x")  # too short
    page.locator(suspend).first.get_by_role("button").click()
    page.wait_for_load_state()
    assert page.locator(".notice.refused").count() == 1  # refused: the page again
    page.get_by_role("link", name="中文").click()  # from the action's answer
    assert page.url.split("?")[0].endswith("/enterprise/employees")
    _no_raw_json(page)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.locator(suspend).first.locator("input[name='reason']").fill(
        "Looked up waybills outside assignments.")
    page.locator(suspend).first.get_by_role("button").click()
    page.wait_for_load_state()
    assert page.url.split("?")[0].endswith("/enterprise/employees")  # redirected: a GET
    assert "已暂停个人信息访问。" in page.locator(".notice.ok").inner_text()
    shot(page, "enterprise-employees-zh")
    page.reload()  # nothing re-posted, the message was for once
    assert page.locator(".notice.ok").count() == 0
    # Lifted again: the courier's other tests need their access.
    page.locator("form[action='/enterprise/employees/lift']").first.get_by_role(
        "button").click()
    page.wait_for_load_state()
    assert "已解除暂停。" in page.locator(".notice.ok").inner_text()


def test_the_phone_layout_of_a_staff_table_has_search_and_sort_links(
        open_page: Any, world: World) -> None:
    page = open_page(username="security.demo", phone=True)
    page.goto("/enterprise/employees?lang=zh-CN")
    header = page.locator("#employees th a").first
    header.click()
    assert "employees-sort=0" in page.url
    assert page.locator("#employees th[aria-sort]").count() == 1
    shot(page, "enterprise-employees-phone-zh")
