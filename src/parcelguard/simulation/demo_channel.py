"""The channel in the demo: victims' reports filed through the public intake,
acknowledged (mostly within the SLA), clustered by the scam caller they quote,
triangulated, the worst case referred to the police with an evidence package that
is verified against the enterprise's registered key, the police's investigation
(accept, a scoped data request the enterprise approves, conclusion), the reporters
told, every report answered; and canary parcels seeded and tripped.

The simulation composes this with conduct (``simulation/victims.py``); ground truth
(which injected actor leaked a report's waybill) is used only to score the ranking.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from parcelguard.access.caller import caller_for_employee
from parcelguard.access.service import AccessGate
from parcelguard.channel import canary, evidence, history, intake, referrals, service
from parcelguard.channel.events import CanaryTouched
from parcelguard.channel.intake import ReportIn
from parcelguard.channel.models import ChannelReport
from parcelguard.channel.settings import ChannelSettings
from parcelguard.channel.triangulate import AccessRow, Baseline, triangulate_rows
from parcelguard.core.clock import ManualClock
from parcelguard.identity.permissions import Principal
from parcelguard.ledger.signing import registered_verifier
from parcelguard.logistics.models import Employee
from parcelguard.vault.service import VaultService
from parcelguard.waybill.telephony import Telephony

AlertSink = Callable[[Session, list[CanaryTouched]], list[str]]
P_LATE_ACK = 0.08  # share of reports acknowledged after the 24 h SLA (illustrative)
CANARIES_PER_ENTERPRISE = 2


@dataclass(frozen=True)
class DemoReport:
    """One report to file, and (for scoring only) the actor whose access leaked it."""

    enterprise_id: str
    report: ReportIn
    at: datetime
    source: str
    leaked_by: str | None = None
    scenario: str | None = None


@dataclass
class Outcome:
    figures: dict[str, Any] = field(default_factory=dict)
    # (enterprise, employee, source, ref, at): signs of leakage for conduct
    signals: list[tuple[str, str, str, str, datetime]] = field(default_factory=list)


def _staff(enterprise_id: str) -> Principal:
    return Principal(enterprise_id, "enterprise", "security_officer", account_id="demo-security")


def run(session: Session, vault: VaultService, reports: Sequence[DemoReport], *,
        now: datetime, settings: ChannelSettings, telephony: Telephony,
        raise_alerts: AlertSink, police_org_id: str, seed: int = 7) -> Outcome:
    """File, handle, triangulate, refer and investigate; returns the figures."""
    rng = random.Random(f"{seed}/channel-demo")
    clock = ManualClock(min((r.at for r in reports), default=now))
    filed: list[tuple[DemoReport, intake.Filed]] = []
    for r in sorted(reports, key=lambda r: r.at):
        clock.set(r.at)
        filed.append((r, intake.file_report(session, vault, settings,
                                            enterprise_id=r.enterprise_id, report=r.report,
                                            source=r.source, clock=clock)))
    for r, f in filed:
        late = rng.random() < P_LATE_ACK
        clock.set(r.at + timedelta(hours=rng.uniform(25, 40) if late else rng.uniform(1, 20)))
        service.acknowledge(session, _staff(r.enterprise_id), f.report_id, clock=clock)
    out = Outcome()
    clusters = _triangulate(session, filed, settings, out)
    deps = referrals.Deps(kms=vault.vault.kms, clock=clock, settings=settings)
    # the investigation starts the day after the last acknowledgement (or at ``now``)
    start = max(now, clock.now() + timedelta(days=1))
    clock.set(start)
    worst = max(clusters, key=lambda c: (c["reports"], c["score"]), default=None)
    if worst is not None:
        out.figures["referral"] = _refer_and_investigate(
            session, vault, deps, clock=clock, worst=worst, police_org_id=police_org_id)
    clock.set(start + timedelta(days=4))  # well inside the 30 days of the Postal Law
    for r, f in filed:
        row = session.get(ChannelReport, f.report_id)
        if row is not None and row.status == "acknowledged":
            service.answer(session, vault, _staff(r.enterprise_id), f.report_id,
                           body="经调查，已对相关人员采取措施，感谢您的监督。", clock=clock)
    clock.advance(timedelta(hours=2))
    out.figures["canary"] = _canaries(
        session, vault, telephony, clock=clock, clusters=clusters, raise_alerts=raise_alerts,
        out=out, enterprises=sorted({r.enterprise_id for r in reports}))
    out.figures["as_of"] = clock.now().isoformat()
    out.figures["channel"] = channel_figures(session, clock.now())
    return out


def channel_figures(session: Session, now: datetime) -> dict[str, Any]:
    """Every channel's figures as the supervision department sees them, with totals."""
    stats = service.stats(session, Principal("supervision", "supervisor", "supervisor_analyst"),
                          now=now)
    total: dict[str, int] = defaultdict(int)
    for figures in stats.values():
        for k, v in figures.items():
            if isinstance(v, int):
                total[k] += v
    return {**dict(total), "by_enterprise": stats}


def _triangulate(session: Session, filed: Sequence[tuple[DemoReport, intake.Filed]],
                 settings: ChannelSettings, out: Outcome) -> list[dict[str, Any]]:
    """Cluster each enterprise's reports by the caller they quote; rank each cluster."""
    groups: dict[tuple[str, bytes], list[tuple[DemoReport, str]]] = defaultdict(list)
    for r, f in filed:
        row = session.get(ChannelReport, f.report_id)
        if row is not None and row.scam_caller_bi is not None:
            groups[(r.enterprise_id, row.scam_caller_bi)].append((r, f.report_id))
    big = {k: v for k, v in groups.items() if len(v) >= settings.cluster_min_reports}
    # one baseline and one read of the clusters' accesses per enterprise: each is a
    # scan of the enterprise's log (events are not indexed by waybill)
    baselines: dict[str, Baseline] = {}
    rows: dict[str, list[AccessRow]] = {}
    for ent in sorted({e for e, _ in big}):
        baselines[ent] = history.load_baseline(session, ent)
        rows[ent] = history.accesses_to(session, ent, sorted(
            {w for (e, _), members in big.items() if e == ent
             for r, _ in members for w in r.report.waybills}))
    clusters = []
    for (ent, _), members in sorted(big.items(), key=lambda kv: kv[1][0][1]):
        waybills = sorted({w for r, _ in members for w in r.report.waybills})
        tri = triangulate_rows(ent, waybills, rows[ent], baselines[ent])
        truth = {r.leaked_by for r, _ in members if r.leaked_by}
        individuals = [x for x in tri.ranking if x.subject_type != "station"]
        rank = next((i + 1 for i, x in enumerate(individuals) if x.subject_id in truth), None)
        top = individuals[0] if individuals else None
        if top is not None and top.subject_type == "employee":
            service.link(session, _staff(ent), members[0][1], target_type="employee",
                         target_id=top.subject_id, clock=ManualClock(members[-1][0].at))
        clusters.append({
            "enterprise_id": ent, "scenario": members[0][0].scenario, "reports": len(members),
            "waybills": len(waybills), "report_id": members[0][1],
            "injected_actor": sorted(truth), "injected_actor_rank": rank,
            "top": top.as_detail() if top else None, "score": top.score if top else 0.0})
    out.figures["triangulation"] = {
        "clusters": len(clusters),
        "injected_actor_ranked_first": sum(c["injected_actor_rank"] == 1 for c in clusters),
        "by_cluster": clusters}
    return clusters


def _refer_and_investigate(session: Session, vault: VaultService, deps: referrals.Deps, *,
                           clock: ManualClock, worst: dict[str, Any],
                           police_org_id: str) -> dict[str, Any]:
    ent = worst["enterprise_id"]
    ref = referrals.refer_report(session, _staff(ent), deps, report_id=worst["report_id"],
                                 reason="多名用户接到冒充客服的诈骗电话，对方掌握其快递信息；"
                                 "三角定位指向内部人员", police_org_id=police_org_id)
    key = registered_verifier(session, ent)
    assert key is not None
    checked = evidence.verify(ref.package, key.verifier_key)
    police = Principal(police_org_id, "police", "police_investigator", account_id="demo-police")
    clock.advance(timedelta(hours=6))
    referrals.accept(session, police, ref.id, clock=clock)
    suspects = [s["subject_id"] for s in ref.package["case"]["suspects"]]
    clock.advance(timedelta(days=1))
    req = referrals.request_data(session, police, ref.id, scope={"actor_ids": suspects[:1]},
                                 justification="调取嫌疑人全部访问记录以核实出售数量",
                                 clock=clock)
    clock.advance(timedelta(hours=3))
    admin = Principal(ent, "enterprise", "enterprise_admin", account_id="demo-admin")
    req = referrals.decide_data_request(session, admin, deps, req.id, decision="approved")
    assert req.package is not None
    more = evidence.verify(req.package, key.verifier_key)
    clock.advance(timedelta(days=1))
    referrals.conclude(session, vault, police, ref.id, outcome="case_filed", clock=clock)
    other = next(c for c in ref.package["thresholds"] if c["category"] == "other")
    return {"referral_id": ref.id, "enterprise_id": ent, "suspects": suspects,
            "events": ref.package["events_total"], "package_verified": checked.ok,
            "events_verified": checked.events_verified, "data_request_events":
            req.package["events_total"], "data_request_verified": more.ok,
            "records": ref.package["record_counts"], "insider": ref.package["insider"],
            "threshold_applied": other["applied"], "crime_suspected":
            ref.package["crime_suspected"], "outcome": "case_filed"}


def _canaries(session: Session, vault: VaultService, telephony: Telephony, *, clock: ManualClock,
              clusters: Sequence[dict[str, Any]], raise_alerts: AlertSink, out: Outcome,
              enterprises: Sequence[str]) -> dict[str, Any]:
    """Seed canaries; each cluster's top suspect still at work browses one at the gate,
    and the scam operation calls the canary's number: both are critical alerts."""
    seeded: dict[str, list[str]] = {}
    for ent in enterprises:
        rows = canary.seed(session, vault, telephony, enterprise_id=ent,
                           count=CANARIES_PER_ENTERPRISE, by="demo-security", clock=clock,
                           rng_seed=len(seeded))
        seeded[ent] = [r.waybill_no for r in rows]
    gate = AccessGate(session, vault, clock)
    for c in clusters:
        top = c["top"]
        emp = session.get(Employee, top["subject_id"]) if top else None
        if emp is None or emp.status != "active" or c["enterprise_id"] not in seeded:
            continue
        gate.reveal(caller_for_employee(emp.enterprise_id, emp.id, emp.role, channel="web"),
                    waybill_no=seeded[emp.enterprise_id][0], purpose="customer_service",
                    fields=["recipient_phone"])
    touched = [t for ent in enterprises for t in canary.scan(session, enterprise_id=ent)]
    for ent in enterprises[:1]:
        number = canary.canaries(session, ent)[0].monitored_number
        hit = canary.call(session, number=number, at=clock.now(), enterprise_id=ent)
        if hit is not None:
            touched.append(hit)
    alerts = raise_alerts(session, touched)
    for t in touched:
        if t.actor_type == "employee" and t.actor_id:
            out.signals.append((t.enterprise_id, t.actor_id, "canary",
                                f"{t.canary_id}:{t.event_ids[0] if t.event_ids else t.kind}",
                                t.at))
    return {"seeded": sum(len(v) for v in seeded.values()), "hits": len(touched),
            "hits_by_kind": {k: sum(t.kind == k for t in touched) for k in ("access", "call")},
            "critical_alerts": len(alerts),
            "named": sorted({a for t in touched for a in t.exposed_to})}

