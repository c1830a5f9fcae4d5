"""The consumer proves who they are with the code their phone receives, in a real
browser: waybill + phone asks for a code, the code (read off the simulated phone
under the home) opens tracking, and the rights page explains a deletion before
asking for it."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from parcelguard.logistics.models import Parcel
from tests.e2e.browser.conftest import World, shot
from tests.e2e.served import last_code


def _ship(page: Any, world: World) -> str:
    page.goto(f"/consumer/ship?lang=en&carrier={world.prov.enterprise_id}")
    page.locator("#sender_name").fill("周九")
    page.locator("#sender_phone").fill("13300133000")
    page.locator("#sender_address").fill("广州市天河区示例路 3 号")
    page.locator("#recipient_name").fill("吴十")
    page.locator("#recipient_phone").fill("13200132000")
    page.locator("#recipient_address").fill("深圳市南山区示例街 6 号 7 室")
    page.get_by_label(re.compile("I have read the privacy notice")).check()
    page.get_by_role("button", name="Ship", exact=True).click()
    return str(page.locator("#waybill-no").inner_text())


def _subject(world: World, waybill: str) -> str:
    with world.rt.db.unit_of_work() as uow:
        return str(uow.session.scalar(select(Parcel.recipient_subject_id).where(
            Parcel.waybill_no == waybill)))


def test_the_code_on_the_phone_opens_tracking_and_rights(open_page: Any,
                                                          world: World) -> None:
    page = open_page(phone=True)
    waybill = _ship(page, world)
    page.goto("/consumer/track?lang=en")
    page.get_by_label("Waybill number").fill(waybill)
    page.get_by_label(re.compile("Your phone number")).fill("13200132000")
    page.get_by_role("button", name="Send me a code").click()
    assert page.locator("#parcel-status").count() == 0  # the number alone opens nothing
    assert page.get_by_role("status").is_visible()
    shot(page, "consumer-code")
    page.get_by_label("Code from the SMS").fill(
        last_code(world.rt.settings.home, _subject(world, waybill)))
    page.get_by_role("button", name="Confirm").click()
    assert page.locator("#parcel-status").is_visible()
    page.get_by_role("link", name="My PI rights for this parcel").click()
    assert re.match(r"yes \(needed to deliver", page.locator(
        "tr", has_text="delivery").locator("td").nth(2).inner_text())
    page.get_by_role("button", name=re.compile("Delete my information")).click()
    assert page.get_by_text("This cannot be undone.").is_visible()
    shot(page, "consumer-deletion-confirm")
    page.get_by_role("link", name="Cancel").click()
    assert page.get_by_text("This cannot be undone.").count() == 0
