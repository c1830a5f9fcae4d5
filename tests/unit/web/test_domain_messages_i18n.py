"""Messages the domain services make, shown on the portals in the page's language:
a permission refusal (its role and permission filled in) and every alert's summary,
the canary's included (issue 17: English from the services on zh-CN pages)."""

from __future__ import annotations

import pytest

from parcelguard.channel.events import CANARY_DETECTOR
from parcelguard.core.errors import PermissionDenied
from parcelguard.identity.permissions import Principal
from parcelguard.monitor.detectors import DETECTORS
from parcelguard.web.i18n import gettext_for, localised
from parcelguard.web.portals.enterprise import ALERT_SUMMARIES


def _refusal() -> PermissionDenied:
    with pytest.raises(PermissionDenied) as caught:
        Principal(org_id="sup", org_kind="supervisor", role="supervisor_analyst").require(
            "incidents:forward")
    return caught.value


def test_a_permission_refusal_reads_in_chinese_on_a_chinese_page() -> None:
    text = localised(_refusal(), gettext_for("zh-CN"))
    assert "没有此项权限" in text
    assert "supervisor_analyst" in text
    assert "incidents:forward" in text
    assert "lacks" not in text


def test_the_api_keeps_the_english_message() -> None:
    exc = _refusal()
    assert exc.message == "role supervisor_analyst lacks permission incidents:forward"
    assert localised(exc, gettext_for("en")).startswith("Your role (supervisor_analyst)")


@pytest.mark.parametrize("detector", sorted({*DETECTORS, CANARY_DETECTOR}))
def test_every_alert_has_a_summary_and_a_name_in_both_languages(detector: str) -> None:
    template = ALERT_SUMMARIES[detector]
    zh, en = gettext_for("zh-CN"), gettext_for("en")
    assert zh(template, subject="emp-01", n=3) != template % {"subject": "emp-01", "n": 3}
    assert zh(detector) != detector  # the detector's name, not its key
    assert "_" not in en(detector)  # words, not the raw key
