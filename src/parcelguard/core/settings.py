"""The one settings tree. Every field documents itself; values come from the
environment with the ``PARCELGUARD_`` prefix (nested sections use ``__``, e.g.
``PARCELGUARD_INGEST__BATCH_SIZE``). Built once by the CLI or the app factory and
passed down, never read at import time."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class IngestSettings(BaseModel):
    """Event ingest."""

    batch_size: int = Field(
        20_000,
        ge=1,
        le=500_000,
        description="Events stored per transaction. Larger batches are faster; a crash "
        "loses at most the uncommitted batch, which a re-run stores again.",
    )
    max_line_bytes: int = Field(
        64 * 1024, ge=1024, description="Longest accepted JSONL line; longer lines are rejected."
    )


class ApiSettings(BaseModel):
    """HTTP API."""

    max_batch_events: int = Field(
        50_000, ge=1, description="Most events accepted by one POST /api/v1/events call."
    )
    session_hours: int = Field(12, ge=1, description="Lifetime of a login session, in hours.")


class Settings(BaseSettings):
    """parcelguard configuration."""

    model_config = SettingsConfigDict(
        env_prefix="PARCELGUARD_", env_nested_delimiter="__", extra="ignore"
    )

    home: Path = Field(
        Path(".parcelguard"),
        description="Directory for the embedded database, key files and outputs.",
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy URL. Empty means a SQLite file `parcelguard.db` under home "
        "(WAL mode). PostgreSQL: postgresql+psycopg://user@host:5432/db.",
    )
    sql_echo: bool = Field(
        False, description="Log every SQL statement (debugging only: statements carry ids).")
    ingest: IngestSettings = Field(default_factory=IngestSettings)  # type: ignore[arg-type]
    api: ApiSettings = Field(default_factory=ApiSettings)  # type: ignore[arg-type]

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.home / 'parcelguard.db').resolve()}"
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, with explicit overrides on top."""
    return Settings(**overrides)  # type: ignore[arg-type]
