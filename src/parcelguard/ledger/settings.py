"""The ledger's section of the settings tree: event ingest (``PARCELGUARD_INGEST__*``).

Registered by ``ledger/plugin.py`` (``Plugin.settings``); core/settings.py builds the tree."""

from __future__ import annotations

from pydantic import BaseModel, Field


class IngestSettings(BaseModel):
    """Event ingest."""

    batch_size: int = Field(
        50_000,
        ge=1,
        le=500_000,
        description="Events stored per transaction. Larger batches are faster (each "
        "rewrites the pages of the parcels still moving once: 20,000 ran 10-20% slower); "
        "on SQLite a batch holds the write lock about a second, and other writers wait "
        "for it. A crash loses at most the uncommitted batch, which a re-run stores again.",
    )
    max_line_bytes: int = Field(
        64 * 1024, ge=1024, description="Longest accepted JSONL line; longer lines are rejected."
    )
