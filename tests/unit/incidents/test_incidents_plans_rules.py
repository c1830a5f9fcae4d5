"""Plan documents, the on-call rota and the alert-to-incident rule (pure parts)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from parcelguard.core.errors import InvalidInput
from parcelguard.incidents import content as docs
from parcelguard.incidents.handlers import DETECTOR_CATEGORY, alert_opens_incident
from parcelguard.incidents.model import Category
from parcelguard.incidents.plans import on_call
from parcelguard.incidents.settings import IncidentSettings

SH = ZoneInfo("Asia/Shanghai")

EMERGENCY: dict[str, Any] = {
    "playbooks": {c.value: [f"contain {c.value}", "preserve evidence"] for c in Category},
    "technicians": [
        {"employee_id": "emp-day", "on_call": [{"weekdays": [0, 1, 2, 3, 4], "start": "08:00",
                                                "end": "20:00"}]},
        {"employee_id": "emp-night", "on_call": [{"weekdays": [0, 1, 2, 3, 4],
                                                  "start": "20:00", "end": "08:00"}]},
    ],
    "contacts": [{"role": "public contact", "unit": "客服中心", "reach": "95338"}],
    "reporting_chain": ["security officer", "CISO", "supervision department"],
}


def test_an_emergency_plan_needs_a_playbook_for_every_category() -> None:
    plan = copy.deepcopy(EMERGENCY)
    del plan["playbooks"]["partner"]
    with pytest.raises(InvalidInput, match="missing: partner"):
        docs.validate(docs.EmergencyPlanContent, plan, "emergency plan")
    assert docs.validate(docs.EmergencyPlanContent, EMERGENCY, "emergency plan").technicians


def test_a_security_plan_must_name_external_risks() -> None:
    plan = {"scope": "waybill system", "risks": [
        {"name": "insider resale", "source": "internal", "threat": "insider",
         "controls": ["assignment-bound access"]}]}
    with pytest.raises(InvalidInput, match="external risk"):
        docs.validate(docs.SecurityPlanContent, plan, "security plan")
    plan["risks"].append({"name": "hacker attack", "source": "external", "threat": "malware",
                          "controls": ["patching", "EDR"]})
    assert docs.validate(docs.SecurityPlanContent, plan, "security plan").risks


def test_pi_in_a_document_is_refused_without_echoing_it() -> None:
    phone = "13812345678"
    plan = copy.deepcopy(EMERGENCY)
    plan["reporting_chain"].append(f"call {phone}")
    with pytest.raises(InvalidInput) as exc:
        docs.validate(docs.EmergencyPlanContent, plan, "emergency plan")
    assert phone not in exc.value.message
    assert "reporting_chain" in exc.value.message
    bad_day = copy.deepcopy(EMERGENCY)
    bad_day["technicians"][0]["on_call"][0]["start"] = phone
    with pytest.raises(InvalidInput) as exc:
        docs.validate(docs.EmergencyPlanContent, bad_day, "emergency plan")
    assert phone not in exc.value.message


def test_a_first_report_needs_unit_system_and_time_found() -> None:
    with pytest.raises(InvalidInput, match="affected_system"):
        docs.validate(docs.ReportContent, {"unit": "甲快递",
                                           "detected_at": "2026-11-10T09:00:00+08:00"}, "r")
    doc = docs.validate(docs.ReportContent, {"unit": "甲快递", "affected_system": "gate",
                                             "detected_at": "2026-11-10T09:00:00+08:00"}, "r")
    assert doc.detected_at.utcoffset() is not None


@pytest.mark.parametrize(("when", "who"), [
    (datetime(2026, 11, 10, 9, 0, tzinfo=SH), ["emp-day"]),  # Tuesday morning
    (datetime(2026, 11, 10, 21, 0, tzinfo=SH), ["emp-night"]),  # Tuesday night
    (datetime(2026, 11, 11, 3, 0, tzinfo=SH), ["emp-night"]),  # the night shift goes on
    (datetime(2026, 11, 14, 3, 0, tzinfo=SH), ["emp-night"]),  # Friday's night into Sat
    (datetime(2026, 11, 15, 3, 0, tzinfo=SH), ["emp-day", "emp-night"]),  # Sunday: nobody
    (datetime(2026, 11, 10, 1, 0, tzinfo=UTC), ["emp-day"]),  # 09:00 in Shanghai
])
def test_on_call_follows_the_rota_in_local_time(when: datetime, who: list[str]) -> None:
    content = docs.validate(docs.EmergencyPlanContent, EMERGENCY, "p").model_dump(mode="json")
    assert on_call(content, when, SH) == who


def test_alert_rule_by_detector_and_severity() -> None:
    rules = IncidentSettings()
    assert alert_opens_incident("bulk_access", "low", rules)
    assert alert_opens_incident("unassigned_access", "high", rules)
    assert alert_opens_incident("unassigned_access", "critical", rules)
    assert not alert_opens_incident("unassigned_access", "medium", rules)
    strict = IncidentSettings(alert_min_severity="critical", alert_detectors=[])
    assert not alert_opens_incident("bulk_access", "high", strict)


def test_every_monitor_detector_has_a_category() -> None:
    from parcelguard.monitor.detectors import DETECTORS

    assert set(DETECTORS) <= set(DETECTOR_CATEGORY)
