"""The incidents' section of the settings tree: statutory grading thresholds, report
deadlines and alert-to-incident rules (``PARCELGUARD_INCIDENTS__*``, docs/incidents.md).

Registered by ``incidents/plugin.py`` (``Plugin.settings``); core/settings.py builds the
tree, and logs each of ``override_notes()`` as a warning every time it loads."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator


class IncidentSettings(BaseModel):
    """Incidents and emergency response. Legal figures carry their source; the
    interpretations (what "immediately" means in hours) are marked as such."""

    particularly_major_people: int = Field(
        default=100_000_000, ge=1,
        description="Grade 特别重大 (particularly major) from this many people affected "
        "(CAC National Cybersecurity Incident Reporting Measures, PI leaks).")
    major_people: int = Field(
        default=10_000_000, ge=1,
        description="Grade 重大 (major) from this many people affected (CAC measures).")
    relatively_major_people: int = Field(
        default=1_000_000, ge=1,
        description="Grade 较大 (relatively major) from this many people affected (CAC "
        "measures); from this grade on the incident must be reported to the provincial "
        "cyberspace administration.")
    # Grading inputs beyond people (CAC measures, annex 网络安全事件分级指南, "通常情况下"
    # items). DOMAIN.md gives only the people thresholds; these figures are read from the
    # annex (docs/incidents.md says which were checked against a published copy).
    relatively_major_loss_rmb: int = Field(
        default=5_000_000, ge=1,
        description="Grade 较大 from this direct economic loss in RMB (CAC measures, annex "
        "grading guide: 500万元以上).")
    major_loss_rmb: int = Field(
        default=20_000_000, ge=1,
        description="Grade 重大 from this direct economic loss in RMB (annex: 2000万元以上).")
    particularly_major_loss_rmb: int = Field(
        default=100_000_000, ge=1,
        description="Grade 特别重大 from this direct economic loss in RMB (annex: 1亿元以上).")
    relatively_major_outage_hours: float = Field(
        default=0.5, gt=0,
        description="Grade 较大 from this many hours of a critical-information-"
        "infrastructure system down as a whole (annex: 整体中断运行30分钟以上).")
    major_outage_hours: float = Field(
        default=2, gt=0, description="Grade 重大 from this many hours of a CII system down "
        "as a whole (annex: 2小时以上).")
    particularly_major_outage_hours: float = Field(
        default=6, gt=0, description="Grade 特别重大 from this many hours of a CII system "
        "down as a whole (annex: 6小时以上).")
    relatively_major_main_outage_hours: float = Field(
        default=2, gt=0, description="Grade 较大 from this many hours of a CII system's main "
        "functions down (annex: 主要功能中断运行2小时以上).")
    major_main_outage_hours: float = Field(
        default=6, gt=0, description="Grade 重大 from this many hours of a CII system's main "
        "functions down (annex: 6小时以上).")
    particularly_major_main_outage_hours: float = Field(
        default=24, gt=0, description="Grade 特别重大 from this many hours of a CII system's "
        "main functions down (annex: 24小时以上).")
    report_hours: float = Field(
        default=4, gt=0,
        description="Hours from detection to the initial report to the provincial "
        "cyberspace administration, relatively major and above (CAC measures: 4 h).")
    cii_report_hours: float = Field(
        default=1, gt=0,
        description="The same for critical-information-infrastructure operators (CAC "
        "measures: 1 h, to their protecting department and the police).")
    immediate_notice_hours: float = Field(
        default=24, gt=0,
        description="Interpretation of PIPL Art. 57 \"immediately\": hours from detection to "
        "the notice to the regulator and to the affected people below the CAC thresholds. "
        "The law names no figure; 24 h is parcelguard's default (GDPR Art. 33 allows 72 h "
        "for the regulator).")
    postal_report_hours: float = Field(
        default=24, gt=0,
        description="Interpretation of Express Delivery Interim Regulations Art. 34 "
        "\"立即\" (immediately): hours from detection to the report to the local postal "
        "authority, every grade.")
    forward_hours: float = Field(
        default=0.5, gt=0,
        description="Hours from a report landing in the supervision department's inbox to "
        "its forward to the cyberspace administration, relatively major and above (CAC "
        "measures: a receiving department reports major and particularly major incidents "
        "on within half an hour; held for every reportable grade).")
    summary_days: int = Field(
        default=30, ge=1,
        description="Calendar days after handling ends (the incident is resolved) for the "
        "summary report, counted from the next local day and ending at its 24:00 (CAC "
        "measures: 30 days; Civil Code Arts. 201, 203 for the counting).")
    timezone: str = Field(
        default="Asia/Shanghai",
        description="IANA time zone whose calendar days count for day-based deadlines and "
        "in which deadlines are shown.")
    drill_max_age_days: int = Field(
        default=365, ge=1,
        description="An emergency plan whose last drill (or, never drilled, whose approval) "
        "is older than this is flagged to the enterprise and the supervision department "
        "(GB/T 35273-2020: drills at least yearly).")
    ack_hours: float = Field(
        default=24, gt=0,
        description="Hours an enterprise has to acknowledge an intervention the supervision "
        "department ordered before it escalates.")
    alert_min_severity: Literal["low", "medium", "high", "critical"] = Field(
        default="high",
        description="Alert to incident rule: monitor alerts of this severity or higher open "
        "an incident (or join the open one about the same subject).")
    alert_detectors: list[str] = Field(
        default_factory=lambda: ["after_leaving", "bulk_access", "credential_stuffing",
                                 "ledger_tamper", "scraping"],
        description="Alert to incident rule: alerts of these detectors open an incident "
        "whatever their severity (each is a leak or an attack, not an anomaly).")
    statutory_override: str = Field(
        default="",
        description="Why the statutory figures (grade thresholds, the 4 h / 1 h report "
        "deadlines, the 30-day summary) differ from the CAC measures, with the rule that "
        "allows it (e.g. a provincial implementing rule). Required to change any of them; "
        "the change is logged when the settings load and written on every incident report "
        "that used them.")

    def overridden(self) -> dict[str, tuple[float, float]]:
        """The statutory figures set away from the law: name -> (law, value)."""
        return {name: (law, getattr(self, name)) for name, law in STATUTORY_FIGURES.items()
                if getattr(self, name) != law}

    def override_notes(self) -> list[str]:
        """One line per overridden figure, with the stated reason, for reports."""
        return [f"{name} = {value:g} (law: {law:g}); reason: {self.statutory_override}"
                for name, (law, value) in self.overridden().items()]

    def load_warnings(self) -> list[str]:
        """Logged every time the settings load (core/settings.py ``load_settings``)."""
        return [f"statutory figure overridden: {note}" for note in self.override_notes()]

    @model_validator(mode="after")
    def _consistent(self) -> IncidentSettings:
        from zoneinfo import ZoneInfo  # here, not at import: settings load must stay cheap

        if not (self.relatively_major_people < self.major_people
                < self.particularly_major_people):
            raise ValueError("grade thresholds must rise: relatively major < major < "
                             "particularly major")
        changed = self.overridden()
        if changed and not self.statutory_override.strip():
            figures = ", ".join(f"{n} (law: {law:g}, set: {v:g})"
                                for n, (law, v) in changed.items())
            raise ValueError(
                f"statutory figures changed without a stated reason: {figures}. Set "
                "PARCELGUARD_INCIDENTS__STATUTORY_OVERRIDE to the rule that allows it, or "
                "unset them")
        for name in ("loss_rmb", "outage_hours", "main_outage_hours"):
            low, mid, high = (getattr(self, f"{g}_{name}") for g in
                              ("relatively_major", "major", "particularly_major"))
            if not low < mid < high:
                raise ValueError(f"*_{name} thresholds must rise: relatively major < major "
                                 "< particularly major")
        ZoneInfo(self.timezone)  # an unknown zone fails here, not at the first deadline
        return self


# The figures the CAC National Cybersecurity Incident Reporting Measures fix (PI leaks:
# people affected per grade; hours to the initial report for ordinary and CII
# operators; days to the summary report). They change only with a stated reason.
STATUTORY_FIGURES: dict[str, float] = {
    "particularly_major_people": 100_000_000, "major_people": 10_000_000,
    "relatively_major_people": 1_000_000, "report_hours": 4, "cii_report_hours": 1,
    "summary_days": 30, "forward_hours": 0.5,
    # the annex's grading inputs beyond people (direct loss, CII outage length)
    "relatively_major_loss_rmb": 5_000_000, "major_loss_rmb": 20_000_000,
    "particularly_major_loss_rmb": 100_000_000, "relatively_major_outage_hours": 0.5,
    "major_outage_hours": 2, "particularly_major_outage_hours": 6,
    "relatively_major_main_outage_hours": 2, "major_main_outage_hours": 6,
    "particularly_major_main_outage_hours": 24,
}
