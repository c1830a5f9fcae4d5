"""The criminal count behind a police referral (SPC/SPP 2017 interpretation, Art. 5),
as an operator reaches it: events ingested with `parcelguard ingest`, an incident
opened with `parcelguard incidents open --evidence ...` (real subprocesses), then the
incident's referral basis read from the database. (How the proposal travels to the
channel's referral is the outbox's: the channel builds its package from the same
record counts.)

Threshold table: "other" (waybill) records at N-1 and N for insiders (an employee
of a franchise outlet, a partner: half, 2,500) and outsiders (5,000); duplicates
counted once; the carrier's own scans never counted. (The contract's access fields
are all waybill fields, so "other" is the only category events can expose; every
category's N-1/N is in tests/unit/incidents/test_incidents_grading.py.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.incidents.models import Incident

pytestmark = pytest.mark.slow
T = "2026-11-20T10:00:00+08:00"


class Events:
    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.n = 0

    def _id(self) -> str:
        self.n += 1
        return f"ev-{self.n:07d}"

    def reveals(self, actor: str, actor_type: str, waybills: list[str],
                station: str | None = "st-out-9") -> list[str]:
        ids = []
        for wb in waybills:
            eid = self._id()
            ids.append(eid)
            self.lines.append(orjson.dumps({
                "event_id": eid, "kind": "access", "occurred_at": T, "enterprise_id": "ent-a",
                "actor_type": actor_type, "actor_id": actor, "station_id": station,
                "action": "reveal", "fields": ["recipient_name", "recipient_phone"],
                "waybill_no": wb, "record_count": 1, "purpose": "other",
                "outcome": "allowed", "channel": "api" if actor_type != "employee" else "pda"}))
        return ids

    def scans(self, waybills: list[str]) -> list[str]:
        ids = []
        for wb in waybills:
            eid = self._id()
            ids.append(eid)
            self.lines.append(orjson.dumps({
                "event_id": eid, "kind": "parcel", "occurred_at": T, "enterprise_id": "ent-a",
                "waybill_no": wb, "step": "arrived", "station_id": "st-1"}))
        return ids


def wbs(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i:06d}" for i in range(n)]


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PARCELGUARD_HOME": str(home), "PARCELGUARD_DATABASE_URL": ""}
    return subprocess.run([sys.executable, "-m", "parcelguard", *args], env=env,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Each case's incident (records by category, insider, basis) and referral."""
    tmp = tmp_path_factory.mktemp("crime")
    home = tmp / "home"
    ev = Events()
    cases = {
        # an employee of a franchise outlet (station st-out-9), at half the threshold
        "outlet 2,499": ev.reveals("emp-out-1", "employee", wbs("WA", 2_499)),
        "outlet 2,500": ev.reveals("emp-out-2", "employee", wbs("WB", 2_500)),
        # a partner acting in the carrier's service is an insider too
        "partner 2,499": ev.reveals("ptn-1", "partner", wbs("WC", 2_499), station=None),
        "partner 2,500": ev.reveals("ptn-2", "partner", wbs("WD", 2_500), station=None),
        "outsider 4,999": ev.reveals("cli-1", "external", wbs("WE", 4_999), station=None),
        "outsider 5,000": ev.reveals("cli-2", "external", wbs("WF", 5_000), station=None),
        # 2,600 reveals of 1,300 waybills: 1,300 records
        "duplicates": ev.reveals("emp-out-3", "employee", wbs("WG", 1_300) * 2),
        # the carrier's own scans of 60 parcels: nobody's PI was provided to anyone
        "scans only": ev.scans(wbs("WH", 60)),
    }
    events = tmp / "events.jsonl"
    events.write_bytes(b"\n".join(ev.lines) + b"\n")
    assert cli(home, "init").returncode == 0
    for org, kind in (("ent-a", "enterprise"), ("police-1", "police")):
        r = cli(home, "org", "create", org, "--kind", kind, "--name", org)
        assert r.returncode == 0, r.stderr
    r = cli(home, "ingest", str(events), "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    opened: dict[str, str] = {}
    for name, ids in cases.items():
        r = cli(home, "incidents", "open", "-e", "ent-a", "--title", f"case {name}",
                "--category", "insider_abuse", *[a for i in ids for a in ("--evidence", i)])
        assert r.returncode == 0, r.stdout + r.stderr
        opened[name] = r.stdout.split()[1].rstrip(":")
    rt = Runtime(settings=Settings(home=home))
    out: dict[str, dict[str, Any]] = {}
    with rt.db.unit_of_work() as uow:
        for name, inc_id in opened.items():
            inc = uow.session.get(Incident, inc_id)
            assert inc is not None
            out[name] = {"records": dict(inc.records_by_category), "insider": inc.insider,
                         "basis": inc.police_basis}
    rt.close()
    return out


@pytest.mark.parametrize(("case", "records", "insider", "referred"), [
    ("outlet 2,499", 2_499, True, False),
    ("outlet 2,500", 2_500, True, True),
    ("partner 2,499", 2_499, True, False),
    ("partner 2,500", 2_500, True, True),
    ("outsider 4,999", 4_999, False, False),
    ("outsider 5,000", 5_000, False, True),
    ("duplicates", 1_300, True, False),
])
def test_the_threshold_table(counted: dict[str, dict[str, Any]], case: str, records: int,
                             insider: bool, referred: bool) -> None:
    got = counted[case]
    assert got["records"] == {"other": records}
    assert got["insider"] is insider
    assert (got["basis"] is not None) is referred
    if referred:
        threshold = "2,500" if insider else "5,000"
        assert got["basis"].startswith(
            f"{records:,} distinct other records against a threshold of {threshold}: "
            f"reached ({records:,} >= {threshold})")
        assert f"other: counted from {records:,} events" in got["basis"]


def test_scans_alone_count_for_nothing(counted: dict[str, dict[str, Any]]) -> None:
    got = counted["scans only"]
    assert got["records"] == {}
    assert got["basis"] is None


def test_duplicates_are_counted_once(counted: dict[str, dict[str, Any]]) -> None:
    """2,600 reveals of 1,300 waybills: 1,300 records, below the insider threshold
    although the events alone number more than 2,500."""
    assert counted["duplicates"]["records"] == {"other": 1_300}
