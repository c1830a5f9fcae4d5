"""The settings tree: core's own fields and sections, and every package's section as
its plugin registers it (``Plugin.settings`` in core/plugin.py). Values come from the
environment with the ``PARCELGUARD_`` prefix; nested sections use ``__``, e.g.
``PARCELGUARD_INGEST__BATCH_SIZE`` (the ``ingest`` section the ledger registers). Built
once by the CLI or the app factory and passed down, never read at import time.

Core names no package: ``Settings(...)`` builds the class :func:`tree` makes from the
plugins of ``parcelguard.PACKAGES`` (core's fields plus one field per registered section,
so environment names, validation and defaults are pydantic-settings' own), and a package
reads its section, typed, with ``settings.section(MonitorSettings)``. A section no
registered plugin names is no field: its environment variables and keyword arguments
are ignored, like any other unknown name, and ``section()`` refuses it."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, Field, create_model, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

S = TypeVar("S", bound=BaseModel)


class ApiSettings(BaseModel):
    """HTTP API."""

    max_batch_events: int = Field(
        50_000, ge=1, description="Most events accepted by one POST /api/v1/events call."
    )
    max_batch_bytes: int = Field(
        32 * 1024 * 1024, ge=1024, description="Largest POST /api/v1/events body, refused "
        "(413) before it is read in full or parsed. Each event in it is also held to "
        "ingest.max_line_bytes, like a line of `parcelguard ingest`."
    )
    session_hours: int = Field(12, ge=1, description="Lifetime of a login session, in hours.")


class HttpSettings(BaseModel):
    """What the HTTP server trusts and accepts."""

    forwarded_allow_ips: list[str] = Field(
        default_factory=list, description="Addresses (or CIDR ranges) of reverse proxies "
        "whose X-Forwarded-For / X-Forwarded-Proto headers are trusted. Empty: none, the "
        "client address is the TCP peer (a client cannot choose its own throttling key).")
    max_body_bytes: int = Field(
        48 * 1024 * 1024, ge=64 * 1024, description="Largest request body, refused (413) "
        "from its Content-Length or as soon as the streamed body passes it, before "
        "anything parses it. The default fits a channel report with five 5 MiB "
        "attachments (base64) and a large events batch.")


class OutboxSettings(BaseModel):
    """Delivery of domain events to their reactions (core/outbox.py)."""

    max_attempts: int = Field(
        default=8, ge=1, le=100, description="Attempts of one handler on one message before "
        "it is dead-lettered with its reason (`parcelguard events retry` requeues it).")
    backoff_seconds: float = Field(
        default=2.0, gt=0, description="Wait before the first retry; doubles each attempt.")
    backoff_max_seconds: float = Field(
        default=3600.0, gt=0, description="Longest wait between two attempts.")
    poll_seconds: float = Field(
        default=2.0, gt=0, description="How often `events dispatch --follow` and the serve "
        "process look for due messages (a commit dispatches its own at once).")


class Settings(BaseSettings):
    """parcelguard configuration: the fields core itself reads. ``Settings(**values)``
    returns an instance of :func:`tree` ``()``, which adds every registered section."""

    model_config = SettingsConfigDict(
        env_prefix="PARCELGUARD_", env_nested_delimiter="__", extra="ignore"
    )
    # section key -> its class, set on the class tree() builds (empty here: core alone)
    sections: ClassVar[dict[str, type[BaseModel]]] = {}

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
    node_role: str = Field(
        "", description="The federation role of the node this store belongs to (enterprise, "
        "supervision, police, auditor; set from its node.json by `node serve`); empty for a "
        "single-process store, which plays every party.")
    api: ApiSettings = Field(default_factory=ApiSettings)  # type: ignore[arg-type]
    http: HttpSettings = Field(default_factory=HttpSettings)  # type: ignore[arg-type]
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)

    def __new__(cls, *args: Any, **kwargs: Any) -> Settings:
        # Settings(...) is the tree of the composition root's plugins; a class tree()
        # built (or a subclass) is itself
        return super().__new__(tree() if cls is Settings else cls)

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.home / 'parcelguard.db').resolve()}"
        return self

    def section(self, kind: type[S]) -> S:
        """The registered section of class ``kind`` (``settings.section(MonitorSettings)``)."""
        for key, cls in type(self).sections.items():
            if cls is kind:
                value = getattr(self, key)
                assert isinstance(value, kind)
                return value
        raise LookupError(f"no plugin registers the settings section {kind.__name__} "
                          "(Plugin.settings of a package in parcelguard.PACKAGES)")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def tree(registered: Iterable[tuple[str, str]] | None = None) -> type[Settings]:
    """The settings class with core's fields and one field per registered section:
    ``(key, "module:Class")`` pairs, by default every plugin's (core/plugin.py
    ``settings_sections``). The key is the section's name in the environment
    (``PARCELGUARD_<KEY>__<FIELD>``)."""
    if registered is None:
        from parcelguard.core.plugin import settings_sections

        registered = settings_sections().items()
    return _tree(tuple(registered))


@cache
def _tree(registered: tuple[tuple[str, str], ...]) -> type[Settings]:
    from parcelguard.core.plugin import resolve

    sections: dict[str, type[BaseModel]] = {}
    for key, target in registered:
        if key in Settings.model_fields:
            raise ValueError(f"settings section {key!r} ({target}) is a field of core's own")
        if key in sections:
            raise ValueError(f"settings section {key!r} registered twice ({target})")
        cls = resolve(target)
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            raise TypeError(f"settings section {key!r}: {target} is not a pydantic model")
        if cls in sections.values():
            raise ValueError(f"settings section {cls.__name__} registered twice ({key!r})")
        sections[key] = cls
    fields: dict[str, Any] = {key: (cls, Field(default_factory=cls))
                              for key, cls in sections.items()}
    made = create_model("Settings", __base__=Settings, __module__=__name__,
                        __doc__=Settings.__doc__, **fields)
    made.sections = sections
    return made


class SettingsError(ValueError):
    """The environment's settings are invalid; the message says which and why."""


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, with explicit overrides on top. Invalid
    settings raise ``SettingsError`` naming each problem (never a traceback). A section
    may define ``load_warnings() -> list[str]`` (the incidents' statutory figures set
    away from the law): each is logged as a warning every time the settings load."""
    from pydantic import ValidationError

    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}"
            for e in exc.errors(include_url=False))
        raise SettingsError(f"invalid settings: {problems}") from None
    for key in type(settings).sections:
        for note in getattr(getattr(settings, key), "load_warnings", list)():
            logging.getLogger("parcelguard.settings").warning("%s", note)
    return settings
