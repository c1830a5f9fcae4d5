"""`parcelguard conduct run` only proposes a police referral, and only on an
evidence link; `parcelguard conduct confirm-referral` is the person's decision that
sends it to the police (real subprocesses on a SQLite home; effects read from the
database). Issue 15: a courier was referred on low ratings and one consumer tag,
with no evidence event. A proposal whose evidence link is gone (the alert purged as
a false positive) is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from parcelguard.channel.models import ChannelReferral
from parcelguard.conduct import service
from parcelguard.conduct.models import ConductDecision, ConductSignal
from parcelguard.conduct.settings import ConductSettings
from parcelguard.core.clock import SystemClock
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity.permissions import Principal
from parcelguard.logistics import service as logistics
from parcelguard.logistics.identifiers import make_waybill_no

pytestmark = pytest.mark.slow


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PARCELGUARD_HOME": str(home), "PARCELGUARD_DATABASE_URL": ""}
    return subprocess.run([sys.executable, "-m", "parcelguard", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_ratings_alone_are_reviewed_and_a_referral_needs_evidence_and_a_person(
        tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert cli(home, "init").returncode == 0
    for org, kind in (("ent-a", "enterprise"), ("police-1", "police")):
        assert cli(home, "org", "create", org, "--kind", kind, "--name", org).returncode == 0
    rt = Runtime(settings=Settings(home=home))
    clock = SystemClock()
    alert_at = datetime.now(UTC)
    admin = Principal("ent-a", "enterprise", "enterprise_admin", account_id="acc-admin")
    with rt.db.unit_of_work() as uow:
        s = uow.session
        logistics.create_station(s, admin, station_id="st-1", name="一号网点",
                                 region_code="310115", clock=clock)
        for i, emp in enumerate(("emp-tagged", "emp-linked")):
            logistics.hire_employee(s, admin, role="courier", station_id="st-1",
                                    shift_start="08:00", shift_end="20:00", employee_id=emp,
                                    clock=clock)
            for k in range(3):
                link = service.issue_link(s, enterprise_id="ent-a", employee_id=emp,
                                          waybill_no=make_waybill_no("SF", 10 * i + k + 1),
                                          clock=clock,
                                          settings=rt.settings.section(ConductSettings))
                service.submit_evaluation(s, token=link.token, rating=1,
                                          tags=["data_misuse"] if emp == "emp-tagged" else [],
                                          clock=clock)
        service.note_signal(s, enterprise_id="ent-a", employee_id="emp-linked",
                            source="monitor_alert", ref="alr-77", severity="high",
                            at=alert_at)
        uow.commit()
    rt.close()

    r = cli(home, "conduct", "run", "-e", "ent-a")
    assert r.returncode == 0, r.stderr
    made = {(d["employee_id"], d["kind"]): d for d in json.loads(r.stdout)["decisions"]}
    assert ("emp-tagged", "review") in made
    assert ("emp-tagged", "police_referral") not in made
    proposal = made[("emp-linked", "police_referral")]
    assert proposal["status"] == "proposed"

    def referrals() -> list[tuple[str, str]]:
        rt = Runtime(settings=Settings(home=home))
        with rt.db.unit_of_work() as uow:
            rows = [(x.source_type, x.source_id) for x in uow.session.scalars(
                select(ChannelReferral))]
            status = uow.session.get(ConductDecision, proposal["id"])
            rows.append(("decision", status.status if status else "-"))
        rt.close()
        return rows

    assert referrals() == [("decision", "proposed")]  # nothing went to the police

    def signal(present: bool) -> None:  # the alert purged as a false positive, or not
        rt = Runtime(settings=Settings(home=home))
        with rt.db.unit_of_work() as uow:
            if present:
                service.note_signal(uow.session, enterprise_id="ent-a",
                                    employee_id="emp-linked", source="monitor_alert",
                                    ref="alr-77", severity="high", at=alert_at)
            else:
                uow.session.execute(delete(ConductSignal).where(
                    ConductSignal.employee_id == "emp-linked"))
            uow.commit()
        rt.close()

    signal(present=False)
    bare = cli(home, "conduct", "confirm-referral", proposal["id"], "-e", "ent-a")
    assert bare.returncode == 2
    assert "evidence link" in bare.stderr
    assert referrals() == [("decision", "proposed")]
    signal(present=True)
    r = cli(home, "conduct", "confirm-referral", proposal["id"], "-e", "ent-a")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["evidence_links"] == ["monitor_alert:alr-77"]
    assert referrals() == [("conduct", proposal["id"]), ("decision", "active")]
    again = cli(home, "conduct", "confirm-referral", proposal["id"], "-e", "ent-a")
    assert again.returncode == 2
