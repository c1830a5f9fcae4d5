"""Every portal page renders in zh-CN and in English, chosen with ?lang= and then
remembered in a cookie; none of them fetches anything from off the machine."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.browser.conftest import World, shot

CJK = re.compile(r"[\u4e00-\u9fff]")


def _pages(world: World) -> dict[str | None, list[str]]:
    inc, ref = world.cases.incident_id, world.cases.referral_id
    return {
        None: ["/", "/consumer", "/consumer/ship",
               f"/consumer/ship?carrier={world.prov.enterprise_id}", "/consumer/track",
               "/consumer/report", "/consumer/follow", "/consumer/rights",
               "/consumer/evaluate/some-link", "/login"],
        "courier.demo": ["/courier"],
        "security.demo": ["/enterprise", "/enterprise/alerts", "/enterprise/incidents",
                          *([f"/enterprise/incidents/{inc}"] if inc else []),
                          "/enterprise/plans", "/enterprise/employees",
                          "/enterprise/complaints", "/enterprise/conduct", "/enterprise/keys"],
        "supervisor.demo": ["/supervisor", "/supervisor/inbox", "/supervisor/forwards",
                            "/supervisor/plans",
                            "/supervisor/orders",
                            *([f"/supervisor/incidents/{inc}"] if inc else [])],
        "police.demo": ["/police", *([f"/police/referrals/{ref}"] if ref else [])],
        "auditor.demo": ["/auditor",
                         *([f"/auditor/engagements/{world.cases.engagement_id}"]
                           if world.cases.engagement_id else [])],
    }


def test_every_page_in_both_languages(open_page: Any, world: World) -> None:
    visited = 0
    for user, urls in _pages(world).items():
        page = open_page(username=user)
        for url in urls:
            for lang in ("zh-CN", "en"):
                sep = "&" if "?" in url else "?"
                response = page.goto(f"{url}{sep}lang={lang}")
                assert response is not None
                assert response.status == 200, (url, lang)
                assert page.locator("html").get_attribute("lang") == lang
                heading = page.locator("main > h1").inner_text()
                footer = page.locator("footer").inner_text()
                if lang == "zh-CN":
                    assert CJK.search(heading), (url, heading)
                    assert CJK.search(footer)
                else:
                    assert not CJK.search(heading), (url, heading)
                    assert not CJK.search(footer)
                visited += 1
        # The choice sticks: the next page without ?lang= keeps English.
        page.goto(urls[0])
        assert page.locator("html").get_attribute("lang") == "en"
    assert visited >= 50


def test_language_switch_is_a_link_and_keyboard_reachable(open_page: Any) -> None:
    page = open_page(locale="zh-CN")
    page.goto("/consumer")
    assert page.locator("html").get_attribute("lang") == "zh-CN"  # Accept-Language
    shot(page, "consumer-home-zh")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.className") == "skip"
    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    shot(page, "consumer-home-en")
