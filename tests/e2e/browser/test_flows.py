"""The flows the portals must show, in a real browser."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.browser.conftest import World, shot

PHONE_RE = re.compile(r"^\+?[\d\s()-]{7,20}$")



def test_consumer_ships_complains_anonymously_and_follows_up(open_page: Any,
                                                             world: World) -> None:
    page = open_page()
    page.goto("/consumer/ship?lang=en")
    page.get_by_label("Carrier", exact=True).select_option(world.prov.enterprise_id)
    page.get_by_role("button", name="Show this carrier's privacy notice").click()
    notice = page.locator(".pg-notice")
    assert notice.is_visible()
    assert notice.locator(".pg-prominent").count() > 0  # key clauses shown prominently
    shot(page, "consumer-ship-notice")
    page.locator("#sender_name").fill("张三")
    page.locator("#sender_phone").fill("13800138000")
    page.locator("#sender_address").fill("上海市黄浦区示例路 1 号 2 单元 301 室")
    page.locator("#recipient_name").fill("李四")
    page.locator("#recipient_phone").fill("13900139000")
    page.locator("#recipient_address").fill("北京市朝阳区示例街 8 号 3 单元 502 室")
    page.get_by_label(re.compile("I have read the privacy notice")).check()
    page.get_by_role("button", name="Ship", exact=True).click()
    waybill = page.locator("#waybill-no").inner_text()
    assert re.fullmatch(r"[A-Z]{2,4}\d{13}", waybill)
    # Only the recipient's masked line is shown back, never a full number.
    assert "138******00" not in page.content()
    assert "139******00" in page.content()
    shot(page, "consumer-shipped")

    page.goto("/consumer/report?lang=en")
    page.get_by_label("Carrier", exact=True).select_option(world.prov.enterprise_id)
    page.get_by_label("PI leak").check()
    page.get_by_label("Describe it").fill("After shipping I got calls quoting this parcel.")
    page.get_by_label(re.compile("Waybill numbers involved")).fill(waybill)
    assert page.get_by_label("Anonymous").is_checked()
    page.get_by_role("button", name="Send report").click()
    code = page.locator("#receipt-code").inner_text()
    secret = page.locator("#receipt-secret").inner_text()
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", code)
    shot(page, "consumer-receipt")

    page.goto("/consumer/follow?lang=en")  # the receipt alone finds the report
    # Typed loosely, as people do: lower case, spaces for dashes.
    page.get_by_label("Receipt code", exact=True).fill(code.lower().replace("-", " "))
    page.get_by_label("Secret", exact=True).fill(secret)
    page.get_by_role("button", name="Open my report").click()
    assert page.locator("#report-status").inner_text() == "received"
    page.get_by_label("Add a message").fill("Another call today.")
    page.get_by_role("button", name="Send").click()
    assert "Another call today." in page.locator(".thread").inner_text()
    shot(page, "consumer-follow-up")
    page.reload()  # the thread is a page: a reload sends nothing twice
    assert page.locator(".thread").inner_text().count("Another call today.") == 1
    page.get_by_role("button", name="Close my report on this device").click()

    page.goto("/consumer/follow?lang=en")  # the receipt alone finds the report
    page.get_by_label("Receipt code", exact=True).fill(code)
    page.get_by_label("Secret", exact=True).fill("not-the-secret")
    page.get_by_role("button", name="Open my report").click()
    assert page.get_by_role("alert").is_visible()


def test_courier_reveals_assigned_phone_and_is_refused_otherwise(open_page: Any,
                                                                 world: World) -> None:
    page = open_page(username="courier.demo", phone=True)
    page.goto("/courier?lang=en")
    card = page.locator("article.assignment", has_text=world.prov.assigned[0])
    assert card.is_visible()
    shot(page, "courier-assignments")
    card.get_by_label("Reveal, for this purpose").select_option("recipient_phone")
    card.get_by_role("button", name="Reveal").click()
    value = page.locator("#revealed-value").inner_text()
    assert PHONE_RE.match(value), "the revealed value is a phone number"
    page.locator("#revealed-value").evaluate("el => el.textContent = '(hidden in screenshot)'")
    shot(page, "courier-reveal-allowed")

    page.locator("#other-field").select_option("recipient_phone")
    page.get_by_label("Waybill number").fill(world.prov.unassigned)
    page.get_by_label("Waybill number").press("Enter")  # keyboard use: Enter submits
    result = page.locator("#reveal-result")
    assert "Refused" in result.inner_text()
    assert page.locator("#revealed-value").count() == 0
    shot(page, "courier-reveal-refused")

    page.locator("article.assignment", has_text=world.prov.assigned[0]).get_by_role(
        "button", name="Call recipient").click()
    assert "virtual number" in page.locator("#call-result").inner_text()


def test_supervisor_sees_overdue_incident_report(open_page: Any, world: World) -> None:
    assert world.cases.incident_id is not None  # the demo cases exist: a missing one fails
    page = open_page(username="supervisor.demo")
    page.goto("/supervisor?lang=en")
    overdue = page.locator("#overdue")
    row = overdue.locator("tr", has_text=world.cases.incident_id).first
    assert row.is_visible()
    assert row.locator("td.overdue").count() == 1  # the timer shows how long overdue
    shot(page, "supervisor-national-view")
    row.get_by_role("link").click()
    assert page.locator("#reports").is_visible()
    shot(page, "supervisor-incident")


def test_police_open_referral_and_see_proofs_verified(open_page: Any, world: World) -> None:
    assert world.cases.referral_id is not None  # the demo cases exist: a missing one fails
    page = open_page(username="police.demo")
    page.goto("/police?lang=en")
    page.get_by_role("link", name=world.cases.referral_id).click()
    verdict = page.locator("#evidence .verified")
    assert verdict.is_visible()
    assert "verified" in verdict.inner_text()
    assert page.locator("#evidence .failed").count() == 0
    shot(page, "police-referral-verified")
    page.get_by_role("button", name="Accept").click()
    assert page.get_by_role("status").first.inner_text() == "Referral accepted."


def test_supervision_report_renders_offline(open_page: Any) -> None:
    page = open_page(username="supervisor.demo")
    page.goto("/supervisor/report")
    page.wait_for_selector(".js-plotly-plot")
    assert page.locator("h2").count() >= 6
    shot(page, "supervision-report")


def test_auditor_runs_an_engagement_and_publishes_the_report(open_page: Any,
                                                            world: World) -> None:
    assert world.cases.engagement_id is not None  # the demo cases exist: a missing one fails
    page = open_page(username="auditor.demo")
    page.goto("/auditor?lang=en")
    row = page.locator("tr", has_text=world.cases.engagement_id)
    row.get_by_role("button", name="Start fieldwork").click()
    page.locator("tr", has_text=world.cases.engagement_id).get_by_role(
        "button", name="Evaluate controls").click()
    assert "Controls evaluated" in page.get_by_role("status").first.inner_text()
    # signing is irreversible: read the report first, then confirm
    page.get_by_role("link", name=world.cases.engagement_id).click()
    page.get_by_role("link", name="Read the report before signing").click()
    failed = page.locator("#preview-controls td.overdue").count()
    assert page.locator("#preview-findings tbody tr td[colspan]").count() == (failed == 0)
    page.get_by_label("I have read this; it cannot be undone").check()
    page.get_by_role("button", name="Sign and publish the report").click()
    assert page.url.split("?")[0].endswith(f"/auditor/engagements/{world.cases.engagement_id}")
    assert page.locator("#report .verified").is_visible()
    assert page.locator("#results tbody tr").count() > 3
    shot(page, "auditor-engagement")
