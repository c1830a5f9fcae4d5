"""Privacy notice: Art. 17 contents, prominent clauses, content hash, fingerprints."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from typing import Any

import pytest

from parcelguard.consent.dsr import DSR_RESPONSE_WORKING_DAYS, REAL_NAME_RETENTION_DAYS
from parcelguard.consent.notice import (
    LOCALES,
    NoticeError,
    NoticeParams,
    PartnerIn,
    build_content,
    content_hash,
    load_template,
    needs_new_version,
    parse_partners,
    purpose_fingerprints,
    render,
    render_html,
    render_text,
)

PARTNER = PartnerIn(id="partner-b", name="乙速运有限公司", contact="dpo@partner-b.example.com",
                    purpose={"zh-CN": "末端派送", "en": "last-mile delivery"},
                    data_types=("name", "phone", "address"))


def params(**over: Any) -> NoticeParams:
    base: dict[str, Any] = {"processor_name": "甲快递有限公司",
                            "processor_contact": "privacy@carrier-a.example.com",
                            "partners": (PARTNER,)}
    base.update(over)
    return NoticeParams(**base)


@pytest.fixture(scope="module")
def content() -> dict[str, Any]:
    return build_content(params())


def test_the_default_notice_holds_what_art_17_requires(content: dict[str, Any]) -> None:
    for locale in LOCALES:
        text = render_text(content, locale)
        assert "甲快递有限公司" in text
        assert "privacy@carrier-a.example.com" in text
        assert "乙速运有限公司" in text  # Art. 23: the recipient is named
        for key in ("delivery", "location_tracking", "marketing"):
            days = content["purposes"][key]["retention_days"]
            assert str(days) in text
        # the figures the software enforces are the ones the notice promises
        assert str(DSR_RESPONSE_WORKING_DAYS) in text
        assert str(REAL_NAME_RETENTION_DAYS) in text
    assert [s.heading for s in render(content, "en").sections if s.level == 1][-2:] == [
        "6. Your rights and how to exercise them", "7. Changes to this notice"]


def test_prominent_clauses_are_emphasised_in_every_rendering(content: dict[str, Any]) -> None:
    zh = render_text(content, "zh-CN")
    assert "※【您可以随时撤回同意，撤回立即生效" in zh
    processor_line = next(ln for ln in zh.splitlines() if "是其承运快件" in ln)
    assert "※" not in processor_line  # ordinary clauses stay plain
    en = render_text(content, "en")
    assert "※ YOU MAY WITHDRAW ANY CONSENT AT ANY TIME" in en
    html = render_html(content, "en")
    assert '<p class="pg-prominent"><strong>※ YOU MAY WITHDRAW' in html
    # the sensitive purpose's necessity and impact (Art. 30) and every recipient are prominent
    sections = {s.heading: s for s in render(content, "en").sections}
    tracking = sections["Delivery to where you are (sensitive personal information)"]
    assert [c.prominent for c in tracking.clauses if c.text.startswith(("Why", "Impact"))] == [
        True, True]
    assert all(c.prominent for c in sections["3. Who we give your personal information to"]
               .clauses)


def test_html_escapes_enterprise_supplied_text() -> None:
    evil = PartnerIn(id="partner-x", name="<script>alert(1)</script>", contact="x@example.com",
                     purpose={"zh-CN": "派送", "en": "delivery"}, data_types=("name",))
    html = render_html(build_content(params(partners=(evil,))), "zh-CN")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_hash_is_stable_and_changes_with_any_content_change(content: dict[str, Any]) -> None:
    again = build_content(params())
    assert content_hash(again) == content_hash(content)
    reordered = json.loads(json.dumps(content, sort_keys=True))
    reordered["locales"] = dict(reversed(list(reordered["locales"].items())))
    assert content_hash(reordered) == content_hash(content)
    assert content_hash(build_content(params(processor_name="丙快递有限公司"))) != \
        content_hash(content)
    flipped = copy.deepcopy(content)
    flipped["locales"]["en"]["sections"][0]["clauses"][0]["prominent"] = True
    assert content_hash(flipped) != content_hash(content)
    assert not needs_new_version(content_hash(content), content_hash(again))
    assert needs_new_version(None, content_hash(content))


def test_fingerprints_follow_terms_not_wording(content: dict[str, Any]) -> None:
    base = purpose_fingerprints(content)
    assert set(base) == {"delivery", "location_tracking", "marketing",
                         "partner_sharing:partner-b"}
    moved = build_content(params(
        processor_contact="dpo@carrier-a.example.com",
        partners=(replace(PARTNER, contact="new@partner-b.example.com"),)))
    assert content_hash(moved) != content_hash(content)
    assert purpose_fingerprints(moved) == base  # new contact details: same consent
    more = copy.deepcopy(content)
    more["purposes"]["marketing"]["data_types"].append("address")
    changed = purpose_fingerprints(more)
    assert changed["marketing"] != base["marketing"]
    assert {k: v for k, v in changed.items() if k != "marketing"} == \
        {k: v for k, v in base.items() if k != "marketing"}
    other_use = build_content(params(partners=(replace(
        PARTNER, purpose={"zh-CN": "营销", "en": "marketing"}),)))
    assert purpose_fingerprints(other_use)["partner_sharing:partner-b"] != \
        base["partner_sharing:partner-b"]


@pytest.mark.parametrize(("over", "message"), [
    ({"processor_name": "  "}, "processor name"),
    ({"processor_contact": "x" * 201}, "processor contact"),
    ({"partners": (PartnerIn("partner-b", "乙", "c@example.com", {"zh-CN": "派送"},
                             ("name",)),)}, r"partners\[0\].purpose"),
    ({"partners": (PartnerIn("partner-b", "乙", "c@example.com",
                             {"zh-CN": "派送", "en": "delivery"}, ("location_track",)),)},
     "cannot be shared"),
    ({"partners": (PARTNER, PARTNER)}, "once"),
    ({"partners": (PartnerIn("Partner B", "乙", "c@example.com",
                             {"zh-CN": "派送", "en": "delivery"}, ("name",)),)}, r"\.id"),
    ({"template": "../../etc"}, "template name"),
    ({"template": "missing"}, "not found"),
])
def test_bad_parameters_are_refused_with_where(over: dict[str, Any], message: str) -> None:
    with pytest.raises(NoticeError, match=message):
        build_content(params(**over))


def test_templates_are_validated_against_art_17() -> None:
    tpl = load_template()
    assert set(tpl["locales"]) == set(LOCALES)
    for loc in LOCALES:
        assert tpl["locales"][loc]["locale"] == loc


@pytest.mark.parametrize(("raw", "message"), [
    ({"id": "x"}, "a JSON list"),
    ([{"id": "partner-b"}], "missing name, contact, purpose, data_types"),
    ([{"id": "p", "name": "n", "contact": "c", "purpose": "x", "data_types": []}], "purpose"),
    ([3], "an object"),
])
def test_partner_files_are_checked(raw: Any, message: str) -> None:
    with pytest.raises(NoticeError, match=message):
        parse_partners(raw)
