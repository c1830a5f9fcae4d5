"""Contract tests of the cross-domain reactions (docs/architecture.md, "Events
between domains"): each is driven through its real entry points, a CLI subprocess,
the HTTP API of a served app (``parcelguard serve`` on loopback) and the ``monitor
run`` runner, and its effect is counted in the database: exactly once.

One SQLite home holds a small carrier (tests/integration/channel/channel_world.py)
and two more enterprises whose logs the witness checks; the reactions touch
different rows, so each test counts only its own. No portal form raises any of these
events except the auditor portal's findings, driven here too.
"""

from __future__ import annotations

import json
import json as _json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import create_engine, text, update
from sqlalchemy.orm import Session

from parcelguard.access.caller import caller_for_employee
from parcelguard.access.service import AccessGate
from parcelguard.channel import canary
from parcelguard.conduct import service as conduct
from parcelguard.conduct.models import ConductEvaluation
from parcelguard.core.canonical import canonical_json
from parcelguard.core.clock import ManualClock, SystemClock
from parcelguard.core.db import Database
from parcelguard.core.ids import new_id
from parcelguard.core.settings import Settings
from parcelguard.identity import service as identity
from parcelguard.identity.permissions import system_principal
from parcelguard.ledger import signing
from parcelguard.ledger.ingest import record_events
from parcelguard.ledger.models import LedgerEvent, LedgerTile
from parcelguard.ops.store import init_store
from parcelguard.supervision.witness import witness_enterprise
from parcelguard.vault.provider import vault_service
from parcelguard.waybill.telephony import LocalTelephony
from tests.e2e.served import csrf
from tests.e2e.staff_login import current_code, home_authenticator
from tests.integration.channel.channel_world import COURIERS, ENT, INSIDER, POLICE, make_world

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery staple 42"
EVENT_TIME = datetime(2026, 10, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Reply:
    status_code: int
    text: str

    def json(self) -> Any:
        return _json.loads(self.text)


@dataclass
class World:
    home: Path
    env: dict[str, str]
    url: str
    keys: dict[str, str]
    pi: list[str]
    canary_number: str
    tmp: Path

    def cli(self, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        r = subprocess.run([sys.executable, "-m", "parcelguard", *args], env=self.env,
                           capture_output=True, text=True, timeout=600, check=False)
        assert r.returncode == code, (args, r.stdout, r.stderr)
        return r

    def http(self, method: str, path: str, *, key: str | None = None,
             token: str | None = None, json: object = None) -> Reply:
        secret = self.keys[key] if key else token
        headers = {"Content-Type": "application/json"}
        if secret:
            headers["Authorization"] = f"Bearer {secret}"
        body = None if json is None else _json.dumps(json).encode()
        req = urllib.request.Request(self.url + path, data=body, headers=headers,
                                     method=method)
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return Reply(r.status, r.read().decode())
        except urllib.error.HTTPError as exc:
            return Reply(exc.code, exc.read().decode())

    def login(self, username: str) -> str:
        # people log in with password and TOTP: a fresh authenticator each time, so no
        # code is ever replayed
        code = current_code(home_authenticator(Settings(home=self.home), username))
        r = self.http("POST", "/api/v1/sessions",
                      json={"username": username, "password": PASSWORD, "code": code})
        assert r.status_code == 200, r.text
        return str(r.json()["token"])

    def db(self) -> Database:
        return Database(Settings(home=self.home))

    def count(self, sql: str, **params: object) -> int:
        engine = create_engine(f"sqlite:///{self.home / 'parcelguard.db'}")
        try:
            with engine.connect() as conn:
                return int(conn.execute(text(sql), params).scalar_one())
        finally:
            engine.dispose()

    def eventually(self, sql: str, want: int, **params: object) -> int:
        """A served request's reactions follow its commit: wait for them, then check
        that nothing more comes."""
        deadline = time.monotonic() + 60
        got = self.count(sql, **params)
        while got < want and time.monotonic() < deadline:
            time.sleep(0.5)
            got = self.count(sql, **params)
        time.sleep(1)
        return self.count(sql, **params)


def _access(ent: str, i: int, *, at: datetime, actor: str = "emp-1",
            **extra: object) -> dict[str, object]:
    return {"event_id": f"{ent}-e{i}", "kind": "access", "occurred_at": at.isoformat(),
            "enterprise_id": ent, "actor_type": "employee", "actor_id": actor,
            "action": "reveal", "fields": ["recipient_phone"], "record_count": 1,
            "purpose": "delivery", "outcome": "allowed", "channel": "pda",
            "waybill_no": f"WB{ent}{i:04d}", **extra}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _build(home: Path) -> tuple[dict[str, str], list[str], str]:
    settings = Settings(home=home)
    init_store(settings)  # a store is made only by init
    db = Database(settings)
    vault = vault_service(settings)
    clock = SystemClock()
    try:
        with db.unit_of_work() as uow:
            s = uow.session
            w = make_world(s, parcels=30, vault=vault)
            pi = [v for p in w.recipients.values() for v in (p.name, p.phone, p.address)]
            for org, kind in (("ent-b", "enterprise"), ("ent-c", "enterprise"),
                              ("firm-a", "auditor")):
                identity.create_organization(s, org_id=org, kind=kind, name=org, clock=clock)
            for user, org, role in (("auditor-a", "firm-a", "auditor"),
                                    ("sup", "supervision", "supervisor_admin"),
                                    ("sec-a", ENT, "security_officer")):
                identity.create_account(s, org_id=org, username=user, role=role, clock=clock,
                                        password=PASSWORD)
            admin = system_principal("supervision")
            keys = {name: identity.issue_api_key(s, admin, name=name, role=role, clock=clock,
                                                 org_id=org).secret
                    for name, org, role in (("ent-a", ENT, "security_officer"),
                                            ("ent-b", "ent-b", "ingest_client"))}
            for ent in ("ent-b", "ent-c"):
                record_events(s, [_access(ent, i, at=EVENT_TIME + timedelta(minutes=i))
                                  for i in range(40)], clock_now=clock.now)
            witness_enterprise(s, "ent-c", kms=vault.vault.kms, clock=clock)
            [c] = canary.seed(s, vault, LocalTelephony(), enterprise_id=ENT, count=1,
                              by="acc-security", clock=clock, rng_seed=5)
            uow.commit()
    finally:
        db.dispose()
    return keys, pi, c.monitored_number


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("reactions")
    home = tmp / "home"
    keys, pi, number = _build(home)
    env = {**os.environ, "PARCELGUARD_HOME": str(home), "PARCELGUARD_DATABASE_URL": "",
           # two police organisations are registered: referrals go to this one
           "PARCELGUARD_CHANNEL__POLICE_ORG_ID": POLICE}
    port = _free_port()
    log = (tmp / "serve.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "parcelguard", "serve", "--port",
                               str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    w = World(home, env, f"http://127.0.0.1:{port}", keys, pi, number, tmp)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if w.http("GET", "/api/v1/health").status_code == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, (tmp / "serve.log").read_text()
            assert time.monotonic() < deadline, "serve did not start"
            time.sleep(0.5)
        yield w
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()


def _rewrite_history(w: World, ent: str) -> None:
    """An insider rewrites event 3 and the tree's hashes, then the log grows on."""
    db = w.db()
    try:
        with db.unit_of_work() as uow:
            forged = _access(ent, 3, at=EVENT_TIME + timedelta(minutes=3), actor="emp-2")
            uow.session.execute(update(LedgerEvent).where(
                LedgerEvent.enterprise_id == ent, LedgerEvent.seq == 3)
                .values(leaf=canonical_json(forged)))
            uow.session.execute(update(LedgerTile).where(LedgerTile.enterprise_id == ent)
                                .values(data=b"\x00" * 32 * 40))
            record_events(uow.session, [_access(ent, i, at=EVENT_TIME + timedelta(hours=2))
                                        for i in range(40, 50)], clock_now=SystemClock().now)
            uow.commit()
    finally:
        db.dispose()


def _sign(w: World, ent: str) -> str:
    db = w.db()
    try:
        with db.unit_of_work() as uow:
            note = signing.checkpoint(uow.session, ent,
                                      kms=vault_service(Settings(home=w.home)).vault.kms,
                                      clock=SystemClock()).note
            uow.commit()
        return note
    finally:
        db.dispose()


TAMPER_ALERTS = ("SELECT count(*) FROM monitor_alerts WHERE enterprise_id = :ent "
                 "AND detector = 'ledger_tamper'")
TAMPER_INCIDENTS = ("SELECT count(*) FROM incident_links l JOIN monitor_alerts a "
                    "ON a.id = l.ref WHERE l.kind = 'alert' AND a.enterprise_id = :ent "
                    "AND a.detector = 'ledger_tamper'")


def test_a_rewritten_ledger_pushed_to_the_api_raises_one_alert_and_one_incident(
        world: World) -> None:
    """Issue 12: 409 tamper with 0 alerts and 0 incidents on the old code."""
    first = world.http("POST", "/api/v1/checkpoints", key="ent-b",
                       json={"note": _sign(world, "ent-b")})
    assert first.status_code == 200, first.text
    _rewrite_history(world, "ent-b")
    note = _sign(world, "ent-b")
    for _ in range(2):  # pushed twice: a second finding joins the open alert
        r = world.http("POST", "/api/v1/checkpoints", key="ent-b", json={"note": note})
        assert (r.status_code, r.json()["status"]) == (409, "tamper")
        assert world.eventually(TAMPER_ALERTS, 1, ent="ent-b") == 1
        assert world.eventually(TAMPER_INCIDENTS, 1, ent="ent-b") == 1


def test_a_rewritten_ledger_caught_by_ledger_witness_raises_one_alert_and_one_incident(
        world: World) -> None:
    _rewrite_history(world, "ent-c")
    out = json.loads(world.cli("ledger", "witness", code=1).stdout)
    assert {e["enterprise_id"]: e["status"] for e in out["enterprises"]}["ent-c"] == "tamper"
    assert world.count(TAMPER_ALERTS, ent="ent-c") == 1
    assert world.count(TAMPER_INCIDENTS, ent="ent-c") == 1


AUDIT_INCIDENTS = ("SELECT count(*) FROM incident_links WHERE kind = 'audit' "
                   "AND ref = :finding")


def _engagement(w: World, ent: str) -> str:
    sup = w.login("sup")
    r = w.http("POST", "/api/v1/audit/engagements", token=sup, json={
        "enterprise_id": ent, "auditor_org_id": "firm-a", "lead_auditor": "auditor-a",
        "period": "2026-11"})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_an_audit_finding_raised_through_the_api_opens_one_incident(world: World) -> None:
    """Issue 12: no incident on the old code (``app.state.bus`` was never set)."""
    eid = _engagement(world, "ent-b")
    aud = world.login("auditor-a")
    assert world.http("POST", f"/api/v1/audit/engagements/{eid}/start",
                      token=aud).status_code == 200
    r = world.http("POST", f"/api/v1/audit/engagements/{eid}/findings", token=aud, json={
        "control_id": "pi-encryption", "severity": "high", "action": "incident",
        "summary": "field encryption was switched off for a week"})
    assert r.status_code == 201, r.text
    assert world.eventually(AUDIT_INCIDENTS, 1, finding=r.json()["id"]) == 1


def test_audit_run_on_the_cli_opens_one_incident_per_incident_finding(world: World) -> None:
    eid = _engagement(world, ENT)
    world.cli("audit", "run", eid)
    findings = world.count("SELECT count(*) FROM audit_findings WHERE engagement_id = :e "
                           "AND action = 'incident'", e=eid)
    assert findings >= 1  # the nosy clerk's look-ups fail reveal-assignment
    assert world.count("SELECT count(*) FROM incident_links l JOIN audit_findings f "
                       "ON f.id = l.ref WHERE l.kind = 'audit' AND f.engagement_id = :e",
                       e=eid) == findings


def test_findings_raised_in_the_auditor_portal_open_one_incident_each(world: World) -> None:
    """The portal entry point of ``audit.finding_raised``: the auditor logs in (password
    and TOTP) and evaluates the controls from the engagements page, twice (each
    evaluation raises a finding per failed control that has none yet); each
    incident-type finding opens exactly one incident."""
    eid = _engagement(world, ENT)
    code = current_code(home_authenticator(Settings(home=world.home), "auditor-a"))
    with httpx2.Client(base_url=world.url, timeout=120, follow_redirects=True) as c:
        r = c.post("/login", data={"csrf_token": csrf(c.get("/login").text),
                                   "username": "auditor-a", "password": PASSWORD,
                                   "code": code})
        assert r.status_code == 200, r.text  # followed to the portal
        for op in ("start", "evaluate", "evaluate"):
            r = c.post(f"/auditor/{op}", data={"csrf_token": csrf(c.get("/auditor").text),
                                                "engagement_id": eid})
            assert r.status_code == 200, (op, r.text[-500:])
    findings = world.count("SELECT count(*) FROM audit_findings WHERE engagement_id = :e "
                           "AND action = 'incident'", e=eid)
    assert findings >= 1  # the nosy clerk's look-ups fail reveal-assignment
    linked = ("SELECT count(*) FROM incident_links l JOIN audit_findings f ON f.id = l.ref "
              "WHERE l.kind = 'audit' AND f.engagement_id = :e")
    assert world.eventually(linked, findings, e=eid) == findings
    assert world.count("SELECT count(*) FROM audit_findings f WHERE f.engagement_id = :e "
                       "AND f.action = 'incident' AND (SELECT count(*) FROM incident_links l "
                       "WHERE l.kind = 'audit' AND l.ref = f.id) != 1", e=eid) == 0


def _low_ratings_and_a_leak(w: World, employee: str) -> None:
    """Three low ratings and a monitor alert about ``employee`` in the window: the
    rules refer them to the police."""
    db = w.db()
    now = SystemClock().now() - timedelta(days=1)
    try:
        with db.unit_of_work() as uow:
            for i, rating in enumerate((1, 2, 1, 4)):
                uow.session.add(ConductEvaluation(
                    id=new_id("evl"), enterprise_id=ENT, employee_id=employee,
                    waybill_no=f"SF-rated-{employee}-{i}", rating=rating, tags=[],
                    privacy_flag=False, at=now))
            conduct.note_signal(uow.session, enterprise_id=ENT, employee_id=employee,
                                source="monitor_alert", ref=f"alr-{employee}",
                                severity="high", at=now)
            uow.commit()
    finally:
        db.dispose()


CONDUCT_REFERRALS = ("SELECT count(*) FROM channel_referrals r JOIN conduct_decisions d "
                     "ON d.id = r.source_id WHERE r.source_type = 'conduct' "
                     "AND d.employee_id = :emp AND r.police_org_id = :police")


def test_a_conduct_referral_decided_through_the_api_reaches_the_police_once(
        world: World) -> None:
    """Issue 12: 0 referrals through ``POST /conduct/run`` on the old code."""
    emp = COURIERS[2]
    _low_ratings_and_a_leak(world, emp)
    r = world.http("POST", "/api/v1/conduct/run", key="ent-a", json={"employee_ids": [emp]})
    assert r.status_code == 200, r.text
    # the rules only propose; a person (not an API key) confirms, and the referral
    # then goes out once
    [proposed] = [d for d in r.json() if d["kind"] == "police_referral"]
    assert world.count(CONDUCT_REFERRALS, emp=emp, police=POLICE) == 0
    url = f"/api/v1/conduct/decisions/{proposed['id']}/confirm-referral"
    assert world.http("POST", url, key="ent-a").status_code == 403
    c = world.http("POST", url, token=world.login("sec-a"))
    assert c.status_code == 200, c.text
    assert world.eventually(CONDUCT_REFERRALS, 1, emp=emp, police=POLICE) == 1


def test_a_conduct_referral_decided_on_the_cli_reaches_the_police_once(world: World) -> None:
    emp = COURIERS[3]
    _low_ratings_and_a_leak(world, emp)
    out = json.loads(world.cli("conduct", "run", "-e", ENT).stdout)
    [proposed] = [d for d in out["decisions"]
                  if d["kind"] == "police_referral" and d["employee_id"] == emp]
    assert world.count(CONDUCT_REFERRALS, emp=emp, police=POLICE) == 0
    world.cli("conduct", "confirm-referral", proposed["id"], "-e", ENT)
    assert world.count(CONDUCT_REFERRALS, emp=emp, police=POLICE) == 1


CANARY_ALERTS = ("SELECT count(*) FROM monitor_alerts WHERE enterprise_id = :ent "
                 "AND detector = 'canary_access' AND subject_id = :subject")
CANARY_INCIDENTS = ("SELECT count(*) FROM incident_links l JOIN monitor_alerts a "
                    "ON a.id = l.ref WHERE l.kind = 'alert' AND a.detector = 'canary_access' "
                    "AND a.subject_id = :subject")
SIGNALS = ("SELECT count(*) FROM conduct_signals WHERE employee_id = :emp "
           "AND source = :source")


def test_a_canary_touched_at_the_gate_and_scanned_through_the_api_reacts_once(
        world: World) -> None:
    """Issue 12: a critical alert but no incident and no conduct signal on the old
    code."""
    db = world.db()
    try:
        with db.unit_of_work() as uow:
            [c] = canary.canaries(uow.session, ENT)
            out = AccessGate(uow.session, vault_service(Settings(home=world.home)),
                             ManualClock(SystemClock().now())).reveal(
                caller_for_employee(ENT, INSIDER, "courier", channel="pda"),
                waybill_no=c.waybill_no, purpose="delivery", fields=["recipient_phone"])
            assert not out.allowed  # nobody is assigned a canary; the attempt counts
            uow.commit()
    finally:
        db.dispose()
    r = world.http("POST", "/api/v1/channel/canaries/scan", key="ent-a")
    assert r.status_code == 200, r.text
    assert [h["actor_id"] for h in r.json()["hits"]] == [INSIDER]
    assert world.eventually(CANARY_ALERTS, 1, ent=ENT, subject=INSIDER) == 1
    assert world.eventually(CANARY_INCIDENTS, 1, subject=INSIDER) == 1
    assert world.count(SIGNALS, emp=INSIDER, source="canary") == 1
    # the critical alert is about an employee: a conduct signal of its own
    assert world.count(SIGNALS + " AND ref IN (SELECT id FROM monitor_alerts WHERE "
                       "detector = 'canary_access')", emp=INSIDER,
                       source="monitor_alert") == 1


def test_a_call_to_a_canary_number_on_the_cli_raises_one_alert_and_one_incident(
        world: World) -> None:
    world.cli("channel", "canary", "call", world.canary_number)
    assert world.count(CANARY_ALERTS, ent=ENT, subject=ENT) == 1
    assert world.count(CANARY_INCIDENTS, subject=ENT) == 1


def test_monitor_run_opens_incidents_signals_and_a_police_referral_once(
        world: World) -> None:
    """The runner: an insider's bulk export is an alert (-> one incident, one conduct
    signal), and the incident's 3,000 records cross the insider threshold (-> one
    police referral): a chain of three reactions."""
    db = world.db()
    try:
        with db.unit_of_work() as uow:
            record_events(uow.session, [_access(
                "ent-b", 900, at=EVENT_TIME + timedelta(days=1), actor="emp-x",
                action="export", fields=["recipient_phone", "recipient_address"],
                record_count=3000, waybill_no=None, purpose="other", channel="web")],
                clock_now=SystemClock().now)
            uow.commit()
    finally:
        db.dispose()
    world.cli("monitor", "run")
    bulk = ("SELECT count(*) FROM monitor_alerts WHERE enterprise_id = 'ent-b' "
            "AND subject_id = 'emp-x' AND detector = 'bulk_access'")
    assert world.count(bulk) == 1
    # the export may raise more than one alert (bulk, cumulative): they join one incident
    linked = ("SELECT count(DISTINCT l.incident_id) FROM incident_links l JOIN monitor_alerts a "
              "ON a.id = l.ref WHERE a.subject_id = 'emp-x'")
    referred = ("SELECT count(DISTINCT r.id) FROM channel_referrals r JOIN incident_links l "
                "ON l.incident_id = r.source_id JOIN monitor_alerts a ON a.id = l.ref "
                "WHERE r.source_type = 'incident' AND a.subject_id = 'emp-x'")
    assert (world.count(linked), world.count(referred)) == (1, 1)
    assert world.count(SIGNALS, emp="emp-x", source="monitor_alert") == world.count(
        "SELECT count(*) FROM monitor_alerts WHERE subject_id = 'emp-x'")
    # every alert the runner raised about an employee is one conduct signal
    assert world.count(
        "SELECT count(*) FROM monitor_alerts a WHERE a.subject_type = 'employee' AND "
        "(SELECT count(*) FROM conduct_signals s WHERE s.ref = a.id) != 1") == 0

    # delivering again changes nothing: every reaction happened once
    again = json.loads(world.cli("events", "dispatch").stdout)
    assert (again["delivered"], again["failed"], again["dead"]) == (0, 0, 0)
    assert (world.count(bulk), world.count(linked), world.count(referred)) == (1, 1, 1)


def test_the_outbox_holds_no_pi_and_lists_states_without_payloads(world: World) -> None:
    engine = create_engine(f"sqlite:///{world.home / 'parcelguard.db'}")
    try:
        with Session(engine) as s:
            payloads = [str(p) for p in s.scalars(text("SELECT payload FROM outbox_messages"))]
    finally:
        engine.dispose()
    assert len(payloads) >= 8  # the reactions above went through the outbox
    blob = "\n".join(payloads)
    assert not [v for v in world.pi if v in blob]
    listed = [json.loads(line) for line in world.cli(
        "events", "outbox", "--status", "done", "--limit", "1000", "--json").stdout.splitlines()]
    assert len(listed) == len(payloads)  # every reaction done, none failed or dead
    assert all("payload" not in m and m["deliveries"] is not None for m in listed)
