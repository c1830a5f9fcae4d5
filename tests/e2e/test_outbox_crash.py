"""kill -9 on the event path: ``monitor run`` killed right after its first alert
commit, and ``events dispatch`` killed while it delivers, then run again, end with
exactly the incidents, conduct signals and police referrals of an uninterrupted run,
on SQLite and PostgreSQL (issue 12: 14 of 17 incidents on the old code, whose alert
-> incident step ran after the commit with no retry)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from parcelguard.core.clock import SystemClock
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity import service as identity
from parcelguard.ledger.ingest import record_events
from parcelguard.monitor.runner import run
from parcelguard.ops.store import init_store
from parcelguard.wiring import register_handlers

pytestmark = pytest.mark.slow

T0 = datetime(2026, 10, 1, 1, tzinfo=UTC)
EXPORTERS = 12
POLICE = "police-x"


def _events() -> list[dict[str, object]]:
    """Twelve employees' bulk exports, each followed by 150 parcel events, so with
    micro-batches of 100 the alerts commit in different batches; exports of 2,500
    records or more also cross the insider threshold (a police referral)."""
    out: list[dict[str, object]] = []
    for k in range(EXPORTERS):
        at = T0 + timedelta(minutes=30 * k)
        out.append({"event_id": f"x{k}", "kind": "access", "occurred_at": at.isoformat(),
                    "enterprise_id": "ent-a", "actor_type": "employee",
                    "actor_id": f"emp-{k}", "action": "export",
                    "fields": ["recipient_phone", "recipient_address"],
                    "record_count": 1_500 + 200 * k, "purpose": "other",
                    "outcome": "allowed", "channel": "web"})
        out += [{"event_id": f"p{k}-{i}", "kind": "parcel",
                 "occurred_at": (at + timedelta(seconds=i + 1)).isoformat(),
                 "enterprise_id": "ent-a", "waybill_no": f"SF{k:03d}{i:010d}",
                 "step": "created"} for i in range(150)]
    return out


def _settings(home: Path, url: str) -> Settings:
    return Settings(home=home, database_url=url,
                    monitor={"batch_size": 100}, channel={"police_org_id": POLICE})


def _env(home: Path, url: str) -> dict[str, str]:
    return {**os.environ, "PARCELGUARD_HOME": str(home), "PARCELGUARD_DATABASE_URL": url,
            "PARCELGUARD_MONITOR__BATCH_SIZE": "100",
            "PARCELGUARD_CHANNEL__POLICE_ORG_ID": POLICE}


def _world(home: Path, url: str) -> Settings:
    """The events stored, nothing monitored yet."""
    settings = _settings(home, url)
    rt = Runtime(settings=settings)
    init_store(rt.settings)  # a store is made only by init
    clock = SystemClock()
    try:
        with rt.db.unit_of_work() as uow:
            identity.initialise(uow.session, clock=clock)
            for org, kind in (("ent-a", "enterprise"), (POLICE, "police")):
                identity.create_organization(uow.session, org_id=org, kind=kind, name=org,
                                             clock=clock)
            record_events(uow.session, _events(), clock_now=clock.now)
            uow.commit()
    finally:
        rt.close()
    return settings


def _outcome(settings: Settings) -> dict[str, object]:
    """What the reactions produced, in terms that do not depend on generated ids."""
    engine = create_engine(settings.database_url)
    q = {
        "incidents": "SELECT a.subject_id, i.category, count(*) FROM incidents i "
                     "JOIN incident_links l ON l.incident_id = i.id "
                     "JOIN monitor_alerts a ON a.id = l.ref GROUP BY a.subject_id, i.category",
        "signals": "SELECT employee_id, source, count(*) FROM conduct_signals "
                   "GROUP BY employee_id, source",
        "referrals": "SELECT a.subject_id, count(*) FROM channel_referrals r "
                     "JOIN incident_links l ON l.incident_id = r.source_id "
                     "JOIN monitor_alerts a ON a.id = l.ref GROUP BY a.subject_id",
        "outbox": "SELECT type, status, count(*) FROM outbox_messages GROUP BY type, status",
        "deliveries": "SELECT handler, status, count(*) FROM outbox_deliveries "
                      "GROUP BY handler, status",
    }
    try:
        with engine.connect() as conn:
            return {k: sorted(tuple(r) for r in conn.execute(text(sql)))
                    for k, sql in q.items()}
    finally:
        engine.dispose()


def _count(settings: Settings, sql: str) -> int:
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    home = tmp_path_factory.mktemp("reference") / "home"
    settings = _world(home, "")
    rt = Runtime(settings=settings, on_open=register_handlers)
    init_store(rt.settings)  # a store is made only by init
    try:
        run(rt.db, settings.monitor, rt.clock)
    finally:
        rt.close()
    out = _outcome(settings)
    incidents = out["incidents"]
    assert isinstance(incidents, list)
    assert len(incidents) == EXPORTERS  # one incident per exporter
    assert len(out["referrals"]) == 7  # type: ignore[arg-type]  # the 2,500+ exports
    return out


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "sqlite":
        yield ""
        return
    base = request.getfixturevalue("pg_url")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"crash_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _kill_when(proc: subprocess.Popen[bytes], settings: Settings, sql: str) -> None:
    """SIGKILL ``proc`` as soon as ``sql`` counts something (polled)."""
    deadline = time.monotonic() + 300
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            while not conn.execute(text(sql)).scalar_one():
                conn.rollback()  # a fresh snapshot each poll
                assert proc.poll() is None, "finished before the kill point"
                assert time.monotonic() < deadline
                time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        engine.dispose()


def _cli(home: Path, url: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "parcelguard", *args], env=_env(home, url),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _finish(home: Path, url: str, *args: str) -> None:
    proc = _cli(home, url, *args)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode()


def test_monitor_run_killed_after_its_first_alert_commit_loses_no_reaction(
        tmp_path: Path, url: str, uninterrupted: dict[str, object]) -> None:
    home = tmp_path / "home"
    settings = _world(home, url)
    proc = _cli(home, url, "monitor", "run")
    _kill_when(proc, settings, "SELECT count(*) FROM monitor_alerts")
    killed_at = _outcome(settings)
    assert killed_at["incidents"] != uninterrupted["incidents"]  # the kill was early
    _finish(home, url, "monitor", "run")
    assert _outcome(settings) == uninterrupted


def test_the_dispatcher_killed_mid_way_loses_and_repeats_no_reaction(
        tmp_path: Path, url: str, uninterrupted: dict[str, object]) -> None:
    home = tmp_path / "home"
    settings = _world(home, url)
    rt = Runtime(settings=settings)  # no dispatcher: every alert's message waits
    init_store(rt.settings)  # a store is made only by init
    try:
        run(rt.db, settings.monitor, rt.clock)
    finally:
        rt.close()
    # one message per alert stored, every one waiting
    assert _count(settings, "SELECT count(*) FROM outbox_messages "
                            "WHERE status = 'pending'") == \
        _count(settings, "SELECT count(*) FROM monitor_alerts") >= EXPORTERS
    proc = _cli(home, url, "events", "dispatch")
    _kill_when(proc, settings, "SELECT count(*) FROM outbox_deliveries")
    assert _count(settings, "SELECT count(*) FROM outbox_messages "
                            "WHERE status = 'pending'") > 0  # killed mid-way
    _finish(home, url, "events", "dispatch")
    assert _outcome(settings) == uninterrupted
