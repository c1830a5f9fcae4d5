"""The ops section of the settings tree: what the health check demands
(``PARCELGUARD_OPS__*``, docs/operations.md).

Registered by ``ops/plugin.py`` (``Plugin.settings``); core/settings.py builds the tree."""

from __future__ import annotations

from pydantic import BaseModel, Field


class OpsSettings(BaseModel):
    """Operating a node: what GET /api/v1/health demands."""

    min_free_disk_mb: int = Field(
        512, ge=0, description="Health fails below this much free space (MiB) on the "
        "filesystem of the home: writes would start failing soon.")
    max_checkpoint_age_hours: float = Field(
        26, gt=0, description="Health fails when a log holds entries not covered by a signed "
        "checkpoint this recent (a daily checkpoint, with slack).")
    max_outbox_lag_minutes: float = Field(
        15, gt=0, description="Health fails when a domain event has waited this long for its "
        "reactions (no dispatcher running, or a handler failing), or any is dead-lettered.")
