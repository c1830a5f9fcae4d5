"""Shared fixtures: real SQLite and real PostgreSQL, each migrated once per run and
rolled back after every test.

PostgreSQL comes from PARCELGUARD_TEST_POSTGRES_URL (default: the local server on
127.0.0.1:5432, database test). Each run works in a fresh database of its own that
is dropped at the end. Without a server the PostgreSQL variants are skipped with the
reason; with PARCELGUARD_REQUIRE_POSTGRES=1 (CI) they fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from parcelguard.core.db import create_db_engine, upgrade
from parcelguard.core.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def contract_schema(name: str) -> dict[str, object]:
    import json

    # The contracts are owned outside this repository (shared/, laid beside the
    # clone in CI); tests read them there so they can never drift from a copy.
    path = SHARED / "contracts" / name
    return json.loads(path.read_text())  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("sqlite") / "test.db"
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    base = os.environ.get("PARCELGUARD_TEST_POSTGRES_URL", DEFAULT_PG)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"parcelguard_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        reason = f"PostgreSQL not reachable at {make_url(base).render_as_string()}: " \
                 f"{type(exc).__name__}"
        if os.environ.get("PARCELGUARD_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def fresh_pg_url(pg_url: str) -> Iterator[str]:
    """An empty database of its own, dropped afterwards: for tests that make a store
    with `init` and commit for real (the session's ``pg_url`` database belongs to the
    rolled-back ``session`` fixture, and real commits there break later tests)."""
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    name = f"pg_fresh_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = create_db_engine(pg_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Engine:
    name = "sqlite_engine" if request.param == "sqlite" else "pg_engine"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test; commits
    inside the code under test become savepoints."""
    conn = engine.connect()
    trans = conn.begin()
    sess = Session(bind=conn, join_transaction_mode="create_savepoint",
                   expire_on_commit=False)
    try:
        yield sess
    finally:
        sess.close()
        trans.rollback()
        conn.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")


def pytest_sessionstart(session: pytest.Session) -> None:
    """In CI (.ci/run) the browser and Spark suites must run: what they need being
    absent is a failure there, while a developer without them sees skips."""
    import importlib.util
    import shutil

    missing = []
    if os.environ.get("PARCELGUARD_REQUIRE_SPARK") == "1":
        if importlib.util.find_spec("pyspark") is None:
            missing.append("pyspark (the spark extra)")
        if shutil.which("java") is None:
            missing.append("java (for Spark)")
    if os.environ.get("PARCELGUARD_REQUIRE_BROWSER") == "1":
        if importlib.util.find_spec("playwright") is None:
            missing.append("playwright")
        if shutil.which("chromium") is None:
            missing.append("chromium")
    if missing:
        raise pytest.UsageError("required for this run but missing: " + ", ".join(missing))
