"""The enterprise officer works an incident case in a real browser, in zh-CN and in
English, at desktop and phone size: triage, containment, each statutory report read
in full and filed after the confirmation, marked reported, closed with a disposition
and a reason; the timeline names the officer. Any 5xx or raw JSON page fails."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from parcelguard.ledger.models import LedgerEvent
from tests.e2e.browser.conftest import World, shot
from tests.e2e.browser.staff_tasks import open_incident

STRINGS = {  # what the officer reads, per language
    "en-US": {"closed": "Case closed.", "disposition": "contained, no harm",
              "officer": "Security officer (demo)"},
    "zh-CN": {"closed": "案件已结案。", "disposition": "已控制，未造成危害",
              "officer": "Security officer (demo)"},
}


def _open_incident(world: World, title: str) -> str:
    """A fresh case per run, opened the way the demo's is (the officer's own
    accesses as evidence), so the shared demo incident stays as other tests expect."""
    with world.rt.db.unit_of_work() as uow:
        evidence = list(uow.session.scalars(select(LedgerEvent.event_id).where(
            LedgerEvent.enterprise_id == world.prov.enterprise_id,
            LedgerEvent.kind == "access").order_by(LedgerEvent.seq.desc()).limit(5)))
    return open_incident(world, title, evidence)


class Watch:
    """Fails on any server error or a raw JSON page anywhere in the walk."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("response", self.response)

    def response(self, r: Any) -> None:
        if r.status >= 500:
            self.errors.append(f"{r.status} {r.url}")
        elif r.request.resource_type == "document" and \
                "json" in (r.headers.get("content-type") or ""):
            self.errors.append(f"raw JSON page {r.url}")


def _submit(page: Any, form: Any) -> None:
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_officer_walks_an_incident_case_to_closed(open_page: Any, world: World, locale: str,
                                                   phone: bool) -> None:
    size = "phone" if phone else "desktop"
    inc = _open_incident(world, f"Lookups outside assignments ({locale}, {size})")
    page = open_page(username="security.demo", phone=phone, locale=locale)
    watch = Watch(page)
    lang = "zh-CN" if locale == "zh-CN" else "en"
    case = f"/enterprise/incidents/{inc}?lang={lang}"
    page.goto(case)
    for _ in ("triaged", "contained"):
        _submit(page, page.locator("form[action$='/move']"))
        assert page.get_by_role("status").first.is_visible()

    # each report: open its full text, fill what is missing, confirm, file
    page.goto(case)
    links = [a.get_attribute("href") for a in page.locator("#reports tbody a").all()]
    assert links, "the case owes statutory reports"
    for href in links:
        page.goto(href)
        assert page.locator("#report-text dl").is_visible()  # the full text
        form = page.locator("form[action$='/file']")
        if form.count() == 0:  # filed already (a supplement-free kind filed with another)
            continue
        shot(page, f"case-report-{lang}-{size}")
        for area in form.locator("textarea").all():
            area.fill("Recorded by the officer on the case page.")
        form.locator("input[name=confirm]").check()
        _submit(page, form)
        assert page.get_by_role("alert").count() == 0, page.get_by_role("alert").inner_text()

    page.goto(case)
    _submit(page, page.locator("form[action$='/move']"))  # reported
    assert page.get_by_role("alert").count() == 0
    close = page.locator("form[action$='/close']")
    close.locator("select[name=disposition]").select_option("contained_no_harm")
    close.locator("textarea[name=reason]").fill("Accesses were a training exercise.")
    close.locator("input[name=confirm]").check()
    _submit(page, close)
    assert page.get_by_role("status").first.inner_text() == STRINGS[locale]["closed"]
    facts = page.locator("#facts").inner_text()
    assert STRINGS[locale]["disposition"] in facts
    timeline = page.locator("#timeline").inner_text()
    assert STRINGS[locale]["officer"] in timeline
    assert "Accesses were a training exercise." in timeline
    shot(page, f"case-closed-{lang}-{size}")
    assert watch.errors == []
