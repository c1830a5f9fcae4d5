"""The audit section of the settings tree: engagements, scorecards, transparency
reports (``PARCELGUARD_AUDIT__*``, docs/audit.md).

Registered by ``audit/plugin.py`` (``Plugin.settings``); core/settings.py builds the tree."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, model_validator


class AuditSettings(BaseModel):
    """Third-party audits and the public transparency reports."""

    grant_days: int = Field(
        30, ge=1, le=365, description="Days an auditor's read-only access to an enterprise's "
        "aggregates and event samples lasts once fieldwork starts; it also ends when the "
        "report is delivered.")
    rectify_days: int = Field(
        30, ge=1, le=365, description="Days an enterprise has to answer a rectification "
        "order raised by an audit finding.")
    sample_size: int = Field(
        50, ge=1, description="Events drawn per sample request when none is given.")
    max_sample_size: int = Field(
        1_000, ge=1, le=100_000, description="Most events one sample request may draw (each "
        "comes with its inclusion proof).")
    dp_epsilon_per_report: float = Field(
        1.0, gt=0, le=10, description="Differential-privacy epsilon one transparency report "
        "spends (all its counts together; stated on the report).")
    dp_budget_per_period: float = Field(
        3.0, gt=0, le=100, description="Total epsilon an enterprise's transparency reports "
        "for one period may spend; publishing beyond it is refused.")
    rulebook_path: Path | None = Field(
        None, description="A rulebook file to use instead of the one shipped with "
        "parcelguard (same format, audit/rulebook/controls-v1.json).")

    @model_validator(mode="after")
    def _consistent(self) -> AuditSettings:
        if self.sample_size > self.max_sample_size:
            raise ValueError("sample_size must not exceed max_sample_size")
        if self.dp_epsilon_per_report > self.dp_budget_per_period:
            raise ValueError("one report's epsilon must fit in the period's budget")
        return self
