"""Database plumbing: engines, sessions, the unit of work and migrations.

SQLite (embedded default, WAL mode) and PostgreSQL (psycopg 3) share one schema,
managed by Alembic migrations that ship inside the package. Services receive a
Session and only flush; the boundary (a CLI command, an API request, an ingest
batch) commits through :class:`UnitOfWork`.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, inspect, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from parcelguard.core.bus import MessageBus
from parcelguard.core.errors import Refused
from parcelguard.core.settings import Settings

# Stable constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware timestamps stored as UTC on every backend.

    SQLite has no timezone type; without this a naive value would silently mean
    local time on one machine and UTC on another, and deadlines would drift.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: parcelguard stores only timezone-aware times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets readers (the web UI, the monitor) work while ingest writes.
    cur.execute("PRAGMA journal_mode=WAL")
    # NORMAL is durable across application crashes in WAL mode; only an OS crash
    # can lose the last commits, which the idempotent ingest re-stores.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def create_db_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``url`` with the per-backend settings parcelguard relies on."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo)
        event.listen(engine, "connect", _sqlite_pragmas)

        # pysqlite's own transaction handling defers BEGIN; issue it ourselves so a
        # write batch holds the lock for its whole duration (no mid-batch SQLITE_BUSY).
        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

        @event.listens_for(engine, "connect")
        def _autocommit_off(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None

        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


_MIGRATE_LOCK = threading.Lock()
# PostgreSQL advisory lock taken around migrations: several `parcelguard upgrade` (or
# `init`) runs against one server apply them one at a time. "pgmigrat" as a bigint.
_PG_MIGRATION_LOCK = 0x70676D6967726174


def migrations_config(engine: Engine | None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent.parent / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> tuple[frozenset[str], frozenset[str]]:
    """Apply every pending migration (idempotent); the revisions before and after,
    both read under the lock. "heads": capabilities developed side by side branch
    from a common revision; all branches are applied.

    Only `parcelguard init` and `parcelguard upgrade` call this (and test fixtures):
    opening a store never migrates, so workers starting together cannot race."""
    from alembic import command

    def apply() -> tuple[frozenset[str], frozenset[str]]:
        before = _heads(engine)
        command.upgrade(migrations_config(engine), "heads")
        return before, _heads(engine)

    with _MIGRATE_LOCK:
        if engine.dialect.name != "postgresql":
            return apply()
        with engine.connect() as lock:
            lock.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            try:
                return apply()
            finally:
                lock.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
                lock.commit()


def _heads(engine: Engine) -> frozenset[str]:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return frozenset()
        return frozenset(MigrationContext.configure(conn).get_current_heads())


@lru_cache(maxsize=1)
def code_heads() -> frozenset[str]:
    """The schema revisions this code expects (the migration scripts' heads)."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory.from_config(migrations_config(None)).get_heads())


def schema_state(engine: Engine) -> tuple[str, frozenset[str]]:
    """("empty" | "current" | "older" | "newer", the database's revisions)."""
    from alembic.script import ScriptDirectory

    have = _heads(engine)
    if not have:
        return "empty", have
    want = code_heads()
    if have == want:
        return "current", have
    script = ScriptDirectory.from_config(migrations_config(engine))
    known = {rev.revision for rev in script.walk_revisions()}
    return ("older" if have <= known else "newer"), have


def sqlite_path(url: str) -> Path | None:
    path = url.split("///", 1)[1] if "///" in url else ""
    return None if not path or path == ":memory:" else Path(path.split("?", 1)[0])


def check_store(settings: Settings) -> None:
    """Refuse, with what to do, a store that `parcelguard init` did not create: a
    missing or empty SQLite file (a mistyped PARCELGUARD_HOME would otherwise become a
    new empty store that accepts writes)."""
    path = sqlite_path(settings.database_url)
    if path is None:
        return
    fix = (f"Run `parcelguard init` to create a new store there, restore a backup with "
           f"`parcelguard restore`, or point PARCELGUARD_HOME (now {settings.home}) at "
           "your store")
    if not path.exists():
        raise Refused(f"no parcelguard store at {path}: the database file does not "
                      f"exist. {fix}")
    if path.stat().st_size == 0:
        raise Refused(f"the database file {path} is empty (0 bytes): it holds no store. "
                      f"{fix}")


def _on_read_only_filesystem(path: Path) -> bool:
    try:
        return bool(os.statvfs(path.parent).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _read_only_engine(path: Path) -> Engine:
    """A store on a read-only filesystem (a mounted snapshot, a forensic copy, a disk
    remounted read-only after a fault). SQLite reads a WAL database read-only through
    its existing -wal and -shm files; when there are none (a clean shutdown folded the
    WAL back), it cannot create them there, so the file is opened immutable, which is
    exact because nothing is pending and nothing can write it. Reading commands work;
    a write fails with "attempt to write a readonly database", a storage fault."""
    wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
    pending = wal.exists() and wal.stat().st_size > 0 and shm.exists()
    uri = f"file:{path}?mode=ro" + ("" if pending else "&immutable=1")
    return create_engine("sqlite://", creator=lambda: sqlite3.connect(
        uri, uri=True, check_same_thread=False))


def require_current_schema(engine: Engine) -> None:
    """Refuse a database that is not at this code's schema revision."""
    state, have = schema_state(engine)
    if state == "current":
        return
    if state == "empty":
        raise Refused(f"the database {engine.url.render_as_string()} holds no parcelguard "
                      "store (no schema). Run `parcelguard init` to create one")
    if state == "older":
        raise Refused(f"the database is at schema revision {', '.join(sorted(have))}, older "
                      "than this parcelguard; back it up (`parcelguard backup`), then run "
                      "`parcelguard upgrade`")
    raise Refused(f"the database is at schema revision {', '.join(sorted(have))}, which "
                  "this parcelguard does not know (a newer version upgraded it); run that "
                  "version or restore a backup taken before the upgrade")


class Database:
    """Engine and session factory for one configured database.

    Opening never creates nor migrates: the store must exist (``parcelguard init``)
    and be at this code's schema revision (``parcelguard upgrade``), else ``Refused``
    says what to do. ``check=False`` is for init/upgrade themselves.
    """

    def __init__(self, settings: Settings, *, check: bool = True) -> None:
        self.settings = settings
        if check:
            check_store(settings)
        path = sqlite_path(settings.database_url)
        self.engine = _read_only_engine(path) if path is not None and \
            _on_read_only_filesystem(path) else \
            create_db_engine(settings.database_url, echo=settings.sql_echo)
        if check:
            try:
                require_current_schema(self.engine)
            except BaseException:
                self.engine.dispose()
                raise
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Cross-domain reactions (an alert opens an incident, ...): the wiring module
        # registers the handlers; units of work publish here after they commit.
        self.bus = MessageBus()

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self.sessions(), publish=self.bus.publish)

    def dispose(self) -> None:
        self.engine.dispose()


class UnitOfWork:
    """One transaction: services flush into ``session``; ``commit`` ends it, and the
    domain events they collected go to the bus only after the commit succeeded."""

    def __init__(self, session: Session,
                 publish: Callable[[list[object]], None] | None = None) -> None:
        self.session = session
        self.pending_events: list[object] = []
        self._publish = publish

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.session.rollback()
        self.session.close()

    def commit(self) -> list[object]:
        """Commit, then hand the collected domain events to the bus: handlers only
        ever see what is durable."""
        self.session.commit()
        events, self.pending_events = self.pending_events, []
        if events and self._publish is not None:
            self._publish(events)
        return events


@contextmanager
def session_scope(db: Database) -> Iterator[Session]:
    """A session that commits on success and rolls back on error (CLI helpers)."""
    with db.unit_of_work() as uow:
        yield uow.session
        uow.commit()
