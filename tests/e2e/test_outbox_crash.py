"""kill -9 on the event path, on SQLite and PostgreSQL: ``monitor run`` killed right
after its first alert commit and at seeded random points later on, ``events dispatch``
and ``events dispatch --follow`` killed while they deliver, then run again, end with
exactly the incidents, conduct signals and police referrals of an uninterrupted run
(issue 12: 14 of 17 incidents on the old code, whose alert -> incident step ran after
the commit with no retry). ``parcelguard serve`` killed at random answers while clients
push tampered checkpoints, raise audit findings for incidents, post event batches and
touch canary parcels then scan for them: after restarts and a dispatch run every
reaction happened once (a canary hit: its critical alert, that alert's incident and
both conduct signals) and every acknowledged event is stored once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import msgspec
import pytest
from faker import Faker
from sqlalchemy import create_engine, text, update
from sqlalchemy.engine import make_url

from parcelguard.channel import canary
from parcelguard.core.canonical import canonical_json
from parcelguard.core.clock import SystemClock
from parcelguard.core.plugin import register_handlers
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity import service as identity
from parcelguard.identity.permissions import system_principal
from parcelguard.ledger import signing
from parcelguard.ledger.ingest import record_events
from parcelguard.ledger.models import LedgerEvent, LedgerTile
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.monitor.runner import run
from parcelguard.monitor.settings import MonitorSettings
from parcelguard.ops.store import init_store
from parcelguard.supervision.witness import witness_enterprise
from parcelguard.vault.provider import vault_service
from parcelguard.waybill.telephony import LocalTelephony
from tests.e2e.served import start_serve
from tests.e2e.staff_login import current_code, home_authenticator

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
        "alerts": "SELECT detector, subject_id, count(*) FROM monitor_alerts "
                  "GROUP BY detector, subject_id",
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
        run(rt.db, settings.section(MonitorSettings), rt.clock)
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


def _total(rows: object) -> int:
    """The sum of the counts of an ``_outcome`` entry."""
    assert isinstance(rows, list)
    return sum(int(r[-1]) for r in rows)


def test_monitor_run_killed_after_its_first_alert_commit_and_later_loses_no_reaction(
        tmp_path: Path, url: str, uninterrupted: dict[str, object]) -> None:
    home = tmp_path / "home"
    settings = _world(home, url)
    proc = _cli(home, url, "monitor", "run")
    _kill_when(proc, settings, "SELECT count(*) FROM monitor_alerts")
    killed_at = _outcome(settings)
    assert killed_at["incidents"] != uninterrupted["incidents"]  # the kill was early
    # then killed again at a seeded random later alert commit, well before the end
    alerts = _total(uninterrupted["alerts"])
    seen = _count(settings, "SELECT count(*) FROM monitor_alerts")
    at = seen + random.Random(f"monitor {url[:10]}").randint(1, max(1, (alerts - seen) // 2))
    proc = _cli(home, url, "monitor", "run")
    _kill_when(proc, settings, f"SELECT count(*) >= {at} FROM monitor_alerts")
    assert _outcome(settings)["incidents"] != uninterrupted["incidents"]
    _finish(home, url, "monitor", "run")
    assert _outcome(settings) == uninterrupted


def test_the_dispatcher_killed_mid_way_loses_and_repeats_no_reaction(
        tmp_path: Path, url: str, uninterrupted: dict[str, object]) -> None:
    home = tmp_path / "home"
    settings = _world(home, url)
    rt = Runtime(settings=settings)  # no dispatcher: every alert's message waits
    init_store(rt.settings)  # a store is made only by init
    try:
        run(rt.db, settings.section(MonitorSettings), rt.clock)
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
    # the long-running dispatcher, killed at seeded random deliveries further on
    deliveries = _total(uninterrupted["deliveries"])
    rnd = random.Random(f"dispatch {url[:10]}")
    for _ in range(2):
        seen = _count(settings, "SELECT count(*) FROM outbox_deliveries")
        at = seen + rnd.randint(1, max(1, (deliveries - seen) // 3))
        proc = _cli(home, url, "events", "dispatch", "--follow")
        _kill_when(proc, settings, f"SELECT count(*) >= {at} FROM outbox_deliveries")
    assert _count(settings, "SELECT count(*) FROM outbox_messages "
                            "WHERE status = 'pending'") > 0  # still mid-way
    _finish(home, url, "events", "dispatch")
    assert _outcome(settings) == uninterrupted


# -- `parcelguard serve` killed while its requests produce reactions ----------------

TAMPERED = tuple(f"ent-t{i}" for i in range(5))
FEED = "ent-feed"
# An enterprise with canary parcels: each is touched by an employee of its own (an
# access event posted through the API), then the enterprise's security officer scans.
CANARY_ENT = "ent-canary"
CANARIES = 4
SECURITY = "canary-security"
PASSWORD = "correct horse battery staple 42"


def _access(ent: str, i: int, at: datetime, actor: str = "emp-1") -> dict[str, object]:
    return {"event_id": f"{ent}-e{i}", "kind": "access", "occurred_at": at.isoformat(),
            "enterprise_id": ent, "actor_type": "employee", "actor_id": actor,
            "action": "reveal", "fields": ["recipient_phone"], "record_count": 1,
            "purpose": "delivery", "outcome": "allowed", "channel": "pda",
            "waybill_no": f"WB{ent}{i:04d}"}


@dataclass
class Served:
    settings: Settings
    keys: dict[str, str]
    notes: dict[str, str]  # enterprise -> a signed checkpoint of its rewritten log
    canaries: list[str]  # the canary parcels' waybill numbers


def _served_world(home: Path, url: str) -> Served:
    """Enterprises whose witnessed logs an insider then rewrote (each holds a signed
    checkpoint of the rewrite, for its push), one that feeds events, an audit firm
    and the supervision department with staff who log in."""
    settings = Settings(home=home, database_url=url)
    init_store(settings)  # a store is made only by init
    rt = Runtime(settings=settings)
    kms = vault_service(settings).vault.kms
    clock = SystemClock()
    try:
        with rt.db.unit_of_work() as uow:
            s = uow.session
            identity.initialise(s, clock=clock)
            identity.create_organization(s, org_id="firm-a", kind="auditor", name="firm-a",
                                         clock=clock)
            keys = {}
            admin = system_principal(identity.SUPERVISOR_ORG_ID)
            for ent in (*TAMPERED, FEED, CANARY_ENT):
                identity.create_organization(s, org_id=ent, kind="enterprise", name=ent,
                                             clock=clock)
                keys[ent] = identity.issue_api_key(s, admin, name="feeder",
                                                   role="ingest_client", clock=clock,
                                                   org_id=ent).secret
            keys[SECURITY] = identity.issue_api_key(s, admin, name="security",
                                                    role="security_officer", clock=clock,
                                                    org_id=CANARY_ENT).secret
            # one ordinary parcel, for the canaries' waybill numbers to blend in with
            fake = Faker("zh_CN")
            fake.seed_instance(12)
            register_parcels(s, vault_service(settings), enterprise_id=CANARY_ENT, parcels=[
                ParcelIn(waybill_no=make_waybill_no("SF", 4242), created_at=T0,
                         sender=PartyIn("sub-shop", fake.company(), fake.phone_number(),
                                        fake.address()),
                         recipient=PartyIn("sub-1", fake.name(), fake.phone_number(),
                                           fake.address()))])
            canaries = [c.waybill_no for c in canary.seed(
                s, vault_service(settings), LocalTelephony(), enterprise_id=CANARY_ENT,
                count=CANARIES, by="acc-security", clock=clock, rng_seed=7)]
            for user, org, role in (("auditor-a", "firm-a", "auditor"),
                                    ("sup", identity.SUPERVISOR_ORG_ID, "supervisor_admin")):
                identity.create_account(s, org_id=org, username=user, role=role, clock=clock,
                                        password=PASSWORD)
            for ent in (*TAMPERED, FEED):
                record_events(s, [_access(ent, i, T0 + timedelta(minutes=i))
                                  for i in range(40)], clock_now=clock.now)
            for ent in TAMPERED:
                witness_enterprise(s, ent, kms=kms, clock=clock)
            uow.commit()
        notes = {}
        with rt.db.unit_of_work() as uow:
            for ent in TAMPERED:
                # event 3 rewritten with the tree's hashes, then the log grows on
                forged = _access(ent, 3, T0 + timedelta(minutes=3), actor="emp-2")
                uow.session.execute(update(LedgerEvent).where(
                    LedgerEvent.enterprise_id == ent, LedgerEvent.seq == 3)
                    .values(leaf=canonical_json(forged)))
                uow.session.execute(update(LedgerTile).where(LedgerTile.enterprise_id == ent)
                                    .values(data=b"\x00" * 32 * 40))
                record_events(uow.session, [_access(ent, i, T0 + timedelta(hours=2))
                                            for i in range(40, 50)], clock_now=clock.now)
                notes[ent] = signing.checkpoint(uow.session, ent, kms=kms, clock=clock).note
            uow.commit()
    finally:
        rt.close()
    return Served(settings, keys, notes, canaries)


class _Acks:
    """Counts 2xx answers (and the tamper pushes' 409, which is committed as one) and
    kills the server with SIGKILL the instant the ``at``-th arrives: its reactions
    are then being dispatched, or not even begun."""

    def __init__(self, proc: subprocess.Popen[bytes], at: int | None) -> None:
        self.proc, self.at, self.n = proc, at, 0
        self.fired = False
        self.lock = threading.Lock()

    def __call__(self) -> None:
        with self.lock:
            self.n += 1
            if self.n == self.at:
                self.proc.send_signal(signal.SIGKILL)
                self.fired = True


@dataclass
class _Work:
    """What the clients still have to get acknowledged, and what was."""

    batches: list[int]
    findings: list[int]
    pushes: list[str]
    canaries: list[int]  # canary k: touched by employee emp-c{k}, then a scan
    acked_events: list[str] = field(default_factory=list)
    acked_findings: list[str] = field(default_factory=list)
    tamper_answers: list[str] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)  # canaries whose touch was stored
    # answers other than the expected one (a client thread cannot fail the test itself)
    wrong: list[str] = field(default_factory=list)


def _batch_ids(b: int) -> list[str]:
    return [f"feed-{b}-{i}" for i in range(300)]


def _post_batches(url: str, key: str, work: _Work, on_ack: _Acks) -> None:
    with httpx2.Client(base_url=url, timeout=60,
                       headers={"Authorization": f"Bearer {key}"}) as c:
        while work.batches:
            ids = _batch_ids(work.batches[0])
            try:
                r = c.post("/api/v1/events", content=msgspec.json.encode(
                    [{"event_id": i, "kind": "parcel", "occurred_at": T0.isoformat(),
                      "enterprise_id": FEED, "waybill_no": f"SF{i[5:]}", "step": "created"}
                     for i in ids]))
            except httpx2.TransportError:
                return  # the server is gone: this batch is sent again after the restart
            # a batch whose answer the kill cut off comes back as duplicates: stored once
            if r.status_code != 200 or r.json()["stored"] + r.json()["duplicates"] != len(ids):
                work.wrong.append(f"events: {r.status_code} {r.text[:200]}")
                return
            work.acked_events += ids
            work.batches.pop(0)
            on_ack()


def _raise_findings(url: str, token: str, engagement: str, work: _Work,
                    on_ack: _Acks) -> None:
    with httpx2.Client(base_url=url, timeout=60,
                       headers={"Authorization": f"Bearer {token}"}) as c:
        while work.findings:
            try:
                r = c.post(f"/api/v1/audit/engagements/{engagement}/findings", json={
                    "control_id": "pi-encryption", "severity": "high", "action": "incident",
                    "summary": f"finding {work.findings[0]}: encryption was off"})
            except httpx2.TransportError:
                return
            if r.status_code != 201:
                work.wrong.append(f"finding: {r.status_code} {r.text[:200]}")
                return
            work.acked_findings.append(r.json()["id"])
            work.findings.pop(0)
            on_ack()


def _push_tampered(url: str, world: Served, work: _Work, on_ack: _Acks) -> None:
    while work.pushes:
        ent = work.pushes[0]
        try:
            r = httpx2.post(f"{url}/api/v1/checkpoints", json={"note": world.notes[ent]},
                            headers={"Authorization": f"Bearer {world.keys[ent]}"}, timeout=60)
        except httpx2.TransportError:
            return
        if r.status_code != 409 or r.json()["status"] != "tamper":
            work.wrong.append(f"checkpoint: {r.status_code} {r.text[:200]}")
            return
        work.tamper_answers.append(ent)
        work.pushes.pop(0)
        on_ack()


def _touch_canaries(url: str, world: Served, work: _Work, on_ack: _Acks) -> None:
    """Employee emp-c{k} looks at canary k (an access event through the API), then the
    security officer scans; a scan whose answer the kill cut off was committed or not,
    and the next one finds what is left: each hit is recorded once either way."""
    with httpx2.Client(base_url=url, timeout=60) as c:
        while work.canaries:
            k = work.canaries[0]
            try:
                if k not in work.touched:
                    r = c.post("/api/v1/events", headers={
                        "Authorization": f"Bearer {world.keys[CANARY_ENT]}"},
                        content=msgspec.json.encode([{
                            **_access(CANARY_ENT, 100 + k, T0 + timedelta(minutes=k),
                                      actor=f"emp-c{k}"),
                            "waybill_no": world.canaries[k]}]))
                    if r.status_code != 200 or r.json()["stored"] + r.json()["duplicates"] != 1:
                        work.wrong.append(f"canary touch: {r.status_code} {r.text[:200]}")
                        return
                    work.touched.add(k)
                    on_ack()
                r = c.post("/api/v1/channel/canaries/scan",
                           headers={"Authorization": f"Bearer {world.keys[SECURITY]}"})
            except httpx2.TransportError:
                return
            if r.status_code != 200:
                work.wrong.append(f"canary scan: {r.status_code} {r.text[:200]}")
                return
            work.canaries.pop(0)
            on_ack()


def _login(world: Served, url: str, username: str) -> str:
    code = current_code(home_authenticator(world.settings, username))
    r = httpx2.post(f"{url}/api/v1/sessions", timeout=60,
                    json={"username": username, "password": PASSWORD, "code": code})
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


def _engagement(world: Served, url: str) -> tuple[str, str]:
    """An engagement of ``FEED`` under way; returns its id and the auditor's token
    (an API session lives in the database, so it outlives the server process)."""
    sup = _login(world, url, "sup")
    r = httpx2.post(f"{url}/api/v1/audit/engagements", timeout=60,
                    headers={"Authorization": f"Bearer {sup}"},
                    json={"enterprise_id": FEED, "auditor_org_id": "firm-a",
                          "lead_auditor": "auditor-a", "period": "2026-10"})
    assert r.status_code == 201, r.text
    eid = str(r.json()["id"])
    aud = _login(world, url, "auditor-a")
    r = httpx2.post(f"{url}/api/v1/audit/engagements/{eid}/start", timeout=60,
                    headers={"Authorization": f"Bearer {aud}"})
    assert r.status_code == 200, r.text
    return eid, aud


def test_serve_killed_at_random_answers_loses_and_repeats_no_reaction(
        tmp_path: Path, url: str) -> None:
    home = tmp_path / "home"
    world = _served_world(home, url)
    db_url = world.settings.database_url  # "" is the home's SQLite file
    proc, base = start_serve(home, db_url)
    eid, auditor = _engagement(world, base)
    work = _Work(batches=list(range(12)), findings=list(range(8)), pushes=list(TAMPERED),
                 canaries=list(range(CANARIES)))
    rnd = random.Random(f"serve {url[:10]}")
    kills = 0
    for round_ in range(4):
        # three rounds end with a kill at a random answer; the last one finishes the work
        # and is killed the instant it is done, before it could dispatch what is left
        on_ack = _Acks(proc, rnd.randint(1, 5) if round_ < 3 else None)
        clients = [threading.Thread(target=_post_batches,
                                    args=(base, world.keys[FEED], work, on_ack)),
                   threading.Thread(target=_raise_findings,
                                    args=(base, auditor, eid, work, on_ack)),
                   threading.Thread(target=_push_tampered, args=(base, world, work, on_ack)),
                   threading.Thread(target=_touch_canaries, args=(base, world, work, on_ack))]
        for t in clients:
            t.start()
        for t in clients:
            t.join(timeout=300)
        # counted by the signal sent, not by proc.poll(): the clients see the sockets
        # close an instant before the killed process can be reaped
        kills += on_ack.fired
        proc.kill()
        proc.wait(timeout=30)
        if round_ < 3:
            proc, base = start_serve(home, db_url)
    assert work.wrong == []  # first: a client that gave up would also leave a round unkilled
    assert kills == 3  # each round before the last was cut short by its kill
    # all acknowledged in the end
    assert (work.batches, work.findings, work.pushes, work.canaries) == ([], [], [], [])
    _finish(home, url, "events", "dispatch")

    # every acknowledged event stored, and once
    stored = _count(world.settings, "SELECT count(*) FROM ledger_events "
                                    "WHERE event_id LIKE 'feed-%'")
    assert stored == len(set(work.acked_events)) == 12 * 300
    # one alert and one incident per rewritten log, however often its push came in
    per_ent = _rows(world.settings,
                    "SELECT a.enterprise_id, count(DISTINCT a.id), count(l.incident_id) "
                    "FROM monitor_alerts a LEFT JOIN incident_links l ON l.ref = a.id "
                    "AND l.kind = 'alert' WHERE a.detector = 'ledger_tamper' "
                    "GROUP BY a.enterprise_id")
    assert sorted(per_ent) == [(ent, 1, 1) for ent in TAMPERED]
    # every finding stored (those acknowledged among them) opened exactly one incident
    findings = {str(f): n for f, n in _rows(
        world.settings, "SELECT f.id, count(l.incident_id) FROM audit_findings f "
        "LEFT JOIN incident_links l ON l.ref = f.id AND l.kind = 'audit' "
        "WHERE f.engagement_id = :e GROUP BY f.id", e=eid)}
    assert set(work.acked_findings) <= set(findings)
    assert len(work.acked_findings) == 8
    assert set(findings.values()) == {1}
    # each canary touched: one hit, one critical alert about the employee who touched
    # it, that alert's incident, a conduct signal for the hit and one for the alert
    employees = [f"emp-c{k}" for k in range(CANARIES)]
    assert sorted(_rows(world.settings, "SELECT actor_id, count(*) FROM channel_canary_hits "
                        "WHERE enterprise_id = :e GROUP BY actor_id", e=CANARY_ENT)) == \
        [(emp, 1) for emp in employees]
    assert sorted(_rows(world.settings,
                        "SELECT a.subject_id, a.severity, count(DISTINCT a.id), "
                        "count(l.incident_id) FROM monitor_alerts a LEFT JOIN incident_links l "
                        "ON l.ref = a.id AND l.kind = 'alert' WHERE a.enterprise_id = :e "
                        "AND a.detector = 'canary_access' GROUP BY a.subject_id, a.severity",
                        e=CANARY_ENT)) == [(emp, "critical", 1, 1) for emp in employees]
    assert sorted(_rows(world.settings, "SELECT employee_id, source, count(*) "
                        "FROM conduct_signals WHERE enterprise_id = :e "
                        "GROUP BY employee_id, source", e=CANARY_ENT)) == \
        [(emp, src, 1) for emp in employees for src in ("canary", "monitor_alert")]
    # and the outbox has nothing left to do
    assert _rows(world.settings, "SELECT DISTINCT status FROM outbox_messages") == [("done",)]


def _rows(settings: Settings, sql: str, **params: object) -> list[tuple[object, ...]]:
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()
