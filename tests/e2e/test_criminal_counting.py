"""The criminal count behind a police referral (SPC/SPP 2017 interpretation, Art. 5),
as an operator reaches it: events ingested with `parcelguard ingest`, an incident
opened with `parcelguard incidents open --evidence ...`, the incident read back with
`parcelguard incidents show --json` and the referral the police receive with
`parcelguard channel referral list|evidence` (the in-process Typer runner on a real
SQLite home: one home, one ingest, one incident per case).

The threshold table (issue 15):

- every Art. 5 category at N-1 and N for an outsider (an external client), and at
  N/2-1 and N/2 for an insider (an employee of a franchise outlet);
- "other" (waybill) records at the insider half for an employee of the carrier, of
  a franchise outlet and for a partner acting in its service; ten times the
  standard exactly ("especially serious"), 24,999 never reading as 25,000;
- duplicates: the same waybills revealed twice, and exports repeating each other
  and the reveals, count once;
- the carrier's own scans count for nothing, alone or next to reveals;
- evidence added to an open incident (`incidents evidence`) counts the same way.

The event contract (v2) exposes only waybill fields (names, phones, addresses, the
sender's ID number): "other" records, the only category real events can carry
(tests/unit/incidents/test_incidents_counting.py). To drive the other eight
categories through the same path (ingest, impact, basis, referral package), those
cases expose ``sender_id_number`` while the test classes that field as the category
under test, as a future contract field (a track, a call log) would be classed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pytest
from typer.testing import CliRunner, Result

from parcelguard.cli import app
from parcelguard.incidents import impact
from parcelguard.incidents.grading import DataCategory

pytestmark = pytest.mark.slow
T = "2026-11-20T10:00:00+08:00"
runner = CliRunner()
INSIDER_WHO = ("[insider (staff, outlets, franchisees and partners in the enterprise's "
               "service): half thresholds, Art. 5(8)]")
OUTSIDER_WHO = "[Art. 5(3)-(7)]"
TIERS = {"location": 50, "communications": 50, "credit": 50, "property": 50,
         "accommodation": 500, "call_logs": 500, "health": 500, "transaction": 500,
         "other": 5_000}
PROBE = "sender_id_number"  # the field the category cases re-class


class Events:
    """Contract events, built in bulk, written once to one JSONL file."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.n = 0

    def _id(self) -> str:
        self.n += 1
        return f"ev-{self.n:07d}"

    def access(self, actor: str, actor_type: str, station: str | None, **kw: Any) -> str:
        eid = self._id()
        self.lines.append(msgspec.json.encode({
            "event_id": eid, "kind": "access", "occurred_at": T, "enterprise_id": "ent-a",
            "actor_type": actor_type, "actor_id": actor, "station_id": station,
            "purpose": "other", "outcome": "allowed",
            "channel": "pda" if actor_type == "employee" else "api", **kw}))
        return eid

    def reveals(self, actor: str, actor_type: str, waybills: list[str], *,
                fields: tuple[str, ...] = ("recipient_name", "recipient_phone"),
                station: str | None = None) -> list[str]:
        return [self.access(actor, actor_type, station, action="reveal", fields=list(fields),
                             waybill_no=wb, record_count=1) for wb in waybills]

    def export(self, actor: str, actor_type: str, records: int,
               station: str | None = None) -> str:
        """An export the enterprise's stream reports by its count only (not run
        through the gate, so its waybills are unknown)."""
        return self.access(actor, actor_type, station, action="export",
                            fields=["recipient_name", "recipient_phone", "recipient_address"],
                            waybill_no=None, record_count=records)

    def scans(self, waybills: list[str]) -> list[str]:
        ids = []
        for wb in waybills:
            eid = self._id()
            ids.append(eid)
            self.lines.append(msgspec.json.encode({
                "event_id": eid, "kind": "parcel", "occurred_at": T, "enterprise_id": "ent-a",
                "waybill_no": wb, "step": "arrived", "station_id": "st-1"}))
        return ids


def wbs(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i:06d}" for i in range(n)]


def cli(home: Path, *args: str) -> Result:
    return runner.invoke(app, list(args), catch_exceptions=False, env={
        "PARCELGUARD_HOME": str(home), "PARCELGUARD_DATABASE_URL": ""})


@dataclass
class Case:
    evidence: list[str]
    records: dict[str, int]  # the court's count the incident must show
    insider: bool
    referred: bool
    counted: dict[str, list[str]] = field(default_factory=dict)  # category -> events
    category: str | None = None  # the category PROBE is classed as (None: the real one)
    later: list[list[str]] = field(default_factory=list)  # `incidents evidence` steps


def _cases(ev: Events) -> dict[str, Case]:
    cases: dict[str, Case] = {}
    # every category: outsiders (external clients) at N-1 and N, insiders (employees
    # of franchise outlet st-out-9) at N/2-1 and N/2
    for cat, n in TIERS.items():
        if cat == "other":
            continue
        for who, n_at, actor_type, station in (("outsider", n, "external", None),
                                               ("insider", n // 2, "employee", "st-out-9")):
            for got in (n_at - 1, n_at):
                name = f"{cat} {who} {got:,}"
                ids = ev.reveals(f"a-{cat}-{who}-{got}", actor_type,
                                 wbs(f"{cat[:3].upper()}{who[0]}{got}-", got), fields=(PROBE,),
                                 station=station)
                cases[name] = Case(ids, {cat: got}, who == "insider", got == n_at,
                                   {cat: ids} if got == n_at else {}, category=cat)
    # "other" (waybill) records, the contract's own: the insider kinds at half
    for got in (2_499, 2_500):
        scans = ev.scans(wbs(f"SC{got}-", 100))  # scans of the same parcels: nothing
        ids = ev.reveals(f"emp-out-{got}", "employee", wbs(f"SC{got}-", got),
                         station="st-out-9")
        cases[f"other outlet employee {got:,} (+100 scans)"] = Case(
            [*scans, *ids], {"other": got}, True, got == 2_500,
            {"other": ids} if got == 2_500 else {})
        eid = ev.export(f"emp-hub-{got}", "employee", got, station="st-1")
        cases[f"other carrier employee export {got:,}"] = Case(
            [eid], {"other": got}, True, got == 2_500, {"other": [eid]} if got == 2_500 else {})
        ids = ev.reveals(f"ptn-{got}", "partner", wbs(f"PT{got}-", got))
        cases[f"other partner {got:,}"] = Case(ids, {"other": got}, True, got == 2_500,
                                               {"other": ids} if got == 2_500 else {})
    for got in (4_999, 5_000):
        ids = ev.reveals(f"cli-{got}", "external", wbs(f"EX{got}-", got))
        cases[f"other outsider {got:,}"] = Case(ids, {"other": got}, False, got == 5_000,
                                                {"other": ids} if got == 5_000 else {})
    # ten times the insider standard, exactly
    for got in (24_999, 25_000):
        eid = ev.export(f"emp-bulk-{got}", "employee", got, station="st-out-9")
        cases[f"other outlet export {got:,} (10x)"] = Case([eid], {"other": got}, True, True,
                                                          {"other": [eid]})
    # duplicates: 1,300 waybills revealed twice, and exports of 1,200 and 1,300
    # records that may repeat them: 1,300 records, not 5,100 (events alone are
    # more than twice the insider threshold)
    first = ev.reveals("emp-dup", "employee", wbs("DU", 1_300), station="st-out-9")
    again = ev.reveals("emp-dup", "employee", wbs("DU", 1_300), station="st-out-9")
    dup_exports = [ev.export("emp-dup", "employee", 1_200, station="st-out-9"),
                   ev.export("emp-dup", "employee", 1_300, station="st-out-9")]
    cases["duplicates: reveals twice, exports repeating them"] = Case(
        [*first, *again, *dup_exports], {"other": 1_300}, True, False)
    # the same 2,500-record export run twice: 2,500 records (reached), not 5,000
    twice = [ev.export("emp-twice", "employee", 2_500, station="st-out-9") for _ in range(2)]
    cases["duplicates: one export run twice"] = Case(twice, {"other": 2_500}, True, True,
                                                     {"other": twice[:1]})
    # evidence added to an open incident: a repeated reveal leaves it at 2,499, the
    # 2,500th waybill crosses
    grow = ev.reveals("emp-grow", "employee", wbs("GR", 2_500), station="st-out-9")
    repeat = ev.reveals("emp-grow", "employee", wbs("GR", 1), station="st-out-9")
    cases["other outlet employee 2,499 + a repeat + 1 (incidents evidence)"] = Case(
        grow[:-1], {"other": 2_500}, True, True, {"other": grow}, later=[repeat, grow[-1:]])
    # an outside client's 2,600 reveals beside an employee's refused attempt and
    # log-in: no insider exposed anything, so the full threshold applies
    scraped = ev.reveals("cli-scrape", "external", wbs("SX", 2_600))
    tried = [ev.access("emp-try", "employee", "st-1", action="reveal",
                        fields=["recipient_phone"], waybill_no="SX000000", record_count=0,
                        outcome="denied"),
             ev.access("emp-try", "employee", "st-1", action="login", fields=[],
                        waybill_no=None, record_count=0)]
    cases["other outsider 2,600 + an employee's refused reveal and log-in"] = Case(
        [*scraped, *tried], {"other": 2_600}, False, False)
    # the carrier's own scans of 60 parcels: nobody's PI went to anyone
    cases["scans only"] = Case(ev.scans(wbs("SO", 60)), {}, False, False)
    return cases


@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each case's incident as `incidents show --json` prints it, and its referral
    package as `channel referral evidence` writes it (None: no referral)."""
    tmp = tmp_path_factory.mktemp("crime")
    home = tmp / "home"
    ev = Events()
    cases = _cases(ev)
    events = tmp / "events.jsonl"
    events.write_bytes(b"\n".join(ev.lines) + b"\n")
    assert cli(home, "init").exit_code == 0
    for org, kind in (("ent-a", "enterprise"), ("police-1", "police")):
        r = cli(home, "org", "create", org, "--kind", kind, "--name", org)
        assert r.exit_code == 0, r.output
    r = cli(home, "ingest", str(events), "--json")
    assert r.exit_code == 0, r.output
    incidents: dict[str, dict[str, Any]] = {}
    for name, case in cases.items():
        with pytest.MonkeyPatch.context() as mp:
            if case.category is not None:
                mp.setitem(impact.FIELD_CATEGORY, PROBE, DataCategory(case.category))  # type: ignore[arg-type]
            r = cli(home, "incidents", "open", "-e", "ent-a", "--title", f"case {name}",
                    "--category", "insider_abuse",
                    *[a for i in case.evidence for a in ("--evidence", i)])
        assert r.exit_code == 0, r.output
        inc_id = r.output.split()[1].rstrip(":")
        for n, step in enumerate(case.later):
            r = cli(home, "incidents", "show", inc_id, "-e", "ent-a", "--json")
            incidents[f"{name} step {n}"] = json.loads(r.output)
            r = cli(home, "incidents", "evidence", inc_id, *step, "-e", "ent-a")
            assert r.exit_code == 0, r.output
        shown = cli(home, "incidents", "show", inc_id, "-e", "ent-a", "--json")
        assert shown.exit_code == 0, shown.output
        incidents[name] = json.loads(shown.output)
    listed = cli(home, "channel", "referral", "list", "--police", "police-1")
    assert listed.exit_code == 0, listed.output
    packages: dict[str, dict[str, Any]] = {}
    for ref in json.loads(listed.output):
        out = tmp / f"{ref['id']}.json"
        r = cli(home, "channel", "referral", "evidence", ref["id"], "--police", "police-1",
                "--out", str(out))
        assert r.exit_code == 0, r.output
        packages[ref["source"]] = json.loads(out.read_text())
    return {"cases": cases, "incidents": incidents, "packages": packages}


NAMES = list(_cases(Events()))


def _events(n: int) -> str:
    return "1 event" if n == 1 else f"{n:,} events"


def _threshold(case: Case, category: str) -> int:
    return TIERS[category] // 2 if case.insider else TIERS[category]


@pytest.mark.parametrize("name", NAMES)
def test_the_threshold_table(counted: dict[str, Any], name: str) -> None:
    """The incident's count, the referral (or none) and the basis in exact figures."""
    case: Case = counted["cases"][name]
    inc = counted["incidents"][name]
    package = counted["packages"].get(f"incident:{inc['id']}")
    assert inc["records_by_category"] == case.records
    assert inc["insider"] is case.insider
    assert (inc["police_basis"] is not None) is case.referred
    assert (package is not None) is case.referred
    if not case.referred:
        return
    ((cat, n),) = case.records.items()
    thr = _threshold(case, cat)
    serious = n >= 10 * thr
    assert inc["police_basis"].startswith(
        f"{n:,} distinct {cat} records against a threshold of {thr:,}: reached "
        f"({n:,} >= {thr:,}); especially serious "
        f"{'reached' if serious else 'not reached'} ({n:,} {'>=' if serious else '<'} "
        f"{10 * thr:,}) {INSIDER_WHO if case.insider else OUTSIDER_WHO}. "
        f"{cat}: counted from {_events(len(case.counted[cat]))}")
    # the police receive the same figures, each traced to its events
    assert package["case"] == {"type": "incident", "incident_id": inc["id"],
                               "waybills": package["case"]["waybills"],
                               "suspects": package["case"]["suspects"]}
    assert package["record_counts"] == case.records
    assert package["insider"] is case.insider
    assert package["crime_suspected"] is True
    [check] = package["thresholds"]
    assert (check["category"], check["count"], check["threshold"], check["applied"],
            check["reached"], check["especially_serious"]) == (
        cat, n, TIERS[cat], thr, True, serious)
    [proposed] = [e for e in inc["timeline"] if e["action"] == "police_proposed"]
    assert proposed["detail"]["records"] == case.records
    assert proposed["detail"]["counted"] == case.counted


def test_ten_times_is_read_exactly(counted: dict[str, Any]) -> None:
    """Issue 15: 24,999 records read "10.00 of the standard"."""
    below = counted["incidents"]["other outlet export 24,999 (10x)"]["police_basis"]
    at = counted["incidents"]["other outlet export 25,000 (10x)"]["police_basis"]
    assert "especially serious not reached (24,999 < 25,000)" in below
    assert "especially serious reached (25,000 >= 25,000)" in at
    assert "10.00" not in below


def test_scans_are_never_counted(counted: dict[str, Any]) -> None:
    """Alone they make no record and no referral; next to reveals the basis names them
    as left out."""
    scans_only = counted["incidents"]["scans only"]
    assert (scans_only["records_by_category"], scans_only["records_affected"]) == ({}, 0)
    assert counted["incidents"]["other outlet employee 2,499 (+100 scans)"][
        "police_basis"] is None  # 2,599 events, 2,499 records
    at = counted["incidents"]["other outlet employee 2,500 (+100 scans)"]["police_basis"]
    assert at.endswith("other: counted from 2,500 events; not counted: 100 carrier scan")


def test_evidence_added_later_is_counted_the_same_way(counted: dict[str, Any]) -> None:
    name = "other outlet employee 2,499 + a repeat + 1 (incidents evidence)"
    opened, repeated = (counted["incidents"][f"{name} step {n}"] for n in (0, 1))
    for before in (opened, repeated):  # a repeated reveal adds an event, not a record
        assert (before["records_by_category"], before["police_basis"]) == (
            {"other": 2_499}, None)
    assert len(repeated["evidence_event_ids"]) == 2_500
    assert counted["incidents"][name]["police_basis"].startswith(
        "2,500 distinct other records against a threshold of 2,500: reached")


def test_duplicates_are_counted_once(counted: dict[str, Any]) -> None:
    dup = counted["incidents"]["duplicates: reveals twice, exports repeating them"]
    assert dup["records_by_category"] == {"other": 1_300}
    assert len(dup["evidence_event_ids"]) == 2 * 1_300 + 2
    twice = counted["incidents"]["duplicates: one export run twice"]["police_basis"]
    assert twice.startswith("2,500 distinct other records")

