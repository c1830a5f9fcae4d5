"""Database plumbing: engines, sessions, the unit of work and migrations.

SQLite (embedded default, WAL mode) and PostgreSQL (psycopg 3) share one schema,
managed by Alembic migrations that ship inside the package. Services receive a
Session and only flush; the boundary (a CLI command, an API request, an ingest
batch) commits through :class:`UnitOfWork`.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, inspect, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from parcelguard.core.errors import Refused

if TYPE_CHECKING:
    from parcelguard.core.outbox import Dispatcher, DispatchLoop
    from parcelguard.core.settings import Settings

log = logging.getLogger(__name__)

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


# Every SQLite connection's settings (bench/bench_ingest.py gives its bare insert the
# same ones).
SQLITE_PRAGMAS = (
    # WAL lets readers (the web UI, the monitor) work while ingest writes.
    "PRAGMA journal_mode=WAL",
    # FULL: a commit is on disk before it returns, so what the API acknowledged
    # survives an OS crash or power loss too (NORMAL would lose the last commits,
    # and a client that was answered "stored" never re-sends). One fsync per
    # transaction; ingest batches are large, so it costs them little.
    "PRAGMA synchronous=FULL",
    # The WAL is copied back into the database once it holds 10,000 pages (40 MB),
    # not SQLite's default 1,000. Ingest rewrites the same pages batch after batch
    # (the parcel states of parcels still moving, the edge tiles): at 1,000 pages
    # each 20,000-event batch was copied back on its own, and ingest of a
    # million events ran about 10% slower (docs/ingest.md).
    "PRAGMA wal_autocheckpoint=10000",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    for pragma in SQLITE_PRAGMAS:
        cur.execute(pragma)
    cur.close()


def create_db_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``url`` with the per-backend settings parcelguard relies on."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo)
        event.listen(engine, "connect", _sqlite_pragmas)

        # pysqlite's own transaction handling defers BEGIN; issue it ourselves, and
        # IMMEDIATE: the write lock is taken up front, where busy_timeout makes a
        # second writer wait. A deferred transaction that reads and then writes (a
        # request touching api_keys.last_used_at, a batch checking duplicates) fails
        # at once with "database is locked" when another writer committed in between,
        # and no timeout helps. The price: a transaction that only reads queues
        # behind the writer too (SQLite has a single writer either way).
        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

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
        # Cross-domain reactions (an alert opens an incident, ...) go through the
        # outbox (core/outbox.py); core/plugin.py sets the dispatcher, a serving
        # process its background loop.
        self.dispatcher: Dispatcher | None = None
        self.background: DispatchLoop | None = None

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self.sessions(), after_commit=self._dispatch_emitted)

    def _dispatch_emitted(self, session: Session) -> None:
        """After a commit, deliver the messages it wrote, in this process: reactions
        stay prompt. A serving process wakes its background loop instead, so no
        response waits for reactions. Anything left (a crash, a failure) is the
        dispatcher loops' (``events dispatch``, serve, ``monitor run``)."""
        ids: list[str] = session.info.pop(EMITTED, [])
        if ids and self.background is not None:
            self.background.wake()
        elif ids and self.dispatcher is not None:
            try:
                self.dispatcher.deliver(ids)
            except Exception:  # e.g. the database busy: the messages wait in the outbox
                log.exception("outbox: after-commit dispatch failed; left for the dispatcher")

    def dispatch_due(self) -> None:
        """Deliver every due outbox message (the loops call this); no-op unwired."""
        if self.dispatcher is not None:
            self.dispatcher.drain()

    def dispose(self) -> None:
        self.engine.dispose()


# Where ``outbox.emit`` notes the ids of the messages a transaction wrote, for its
# committer to dispatch (session.info travels with the session).
EMITTED: Final = "outbox.emitted"


class UnitOfWork:
    """One transaction: services flush into ``session`` (and ``outbox.emit`` their
    domain events into it); ``commit`` ends it, then dispatches those events."""

    def __init__(self, session: Session,
                 after_commit: Callable[[Session], None] | None = None) -> None:
        self.session = session
        self._after_commit = after_commit

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        """Commit, then dispatch the messages the transaction wrote: handlers only
        ever see what is durable."""
        self.session.commit()
        if self._after_commit is not None:
            self._after_commit(self.session)


@contextmanager
def session_scope(db: Database) -> Iterator[Session]:
    """A session that commits on success and rolls back on error (CLI helpers)."""
    with db.unit_of_work() as uow:
        yield uow.session
        uow.commit()
