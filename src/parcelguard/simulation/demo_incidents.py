"""Incidents in the demo: every carrier files and gets approved its plans, the
injected abuse (or the monitor's alerts, when it ran) becomes incidents, the
enterprises file their reports after simulated handling delays (some miss the
deadline and are escalated), notify the people concerned, and interventions cut
the abusers off; one suspended employee's next reveal is refused at the gate.

Everything happens on event time (a ``ManualClock``), so the statutory clocks are
those of the simulated week. The delays are drawn from a seeded RNG: the figures
are an illustration of the mechanism, not a measurement of any carrier.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from random import Random
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.access.caller import caller_for_employee
from parcelguard.access.service import AccessGate
from parcelguard.core.clock import ManualClock
from parcelguard.identity.permissions import Principal, system_principal
from parcelguard.identity.service import SUPERVISOR_ORG_ID
from parcelguard.incidents import handlers, interventions, notices, plans, reports, service
from parcelguard.incidents.content import FIRST_ITEMS_ALLOWED
from parcelguard.incidents.deadlines import DeadlinePolicy
from parcelguard.incidents.events import ProposePoliceReferral
from parcelguard.incidents.grading import GRADES
from parcelguard.incidents.model import Category
from parcelguard.incidents.models import Incident, IncidentReport
from parcelguard.incidents.notify import Notifier, local_notifiers
from parcelguard.incidents.settings import IncidentSettings
from parcelguard.logistics.models import Assignment, Employee
from parcelguard.monitor.models import MonitorAlert
from parcelguard.vault.service import VaultService

SCENARIO_CATEGORY = {
    "rented_account": Category.ACCOUNT_COMPROMISE,
    "credential_stuffing": Category.EXTERNAL_ATTACK,
    "scraping": Category.EXTERNAL_ATTACK,
}  # every other injected kind is insider abuse
DETECTION_LAG = timedelta(minutes=10)  # the monitor fires within minutes of the evidence
LATE_SHARE = 0.25  # of reports filed after their deadline (illustrative)


class ScenarioLike(Protocol):
    """``simulation.model.Scenario`` as far as this module needs it (structural, so
    incidents does not import the simulation, which sits above it)."""

    @property
    def scenario(self) -> str: ...
    @property
    def enterprise_id(self) -> str: ...
    @property
    def actors(self) -> list[str]: ...
    @property
    def event_ids(self) -> list[str]: ...
    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...


def _plans(session: Session, enterprises: Sequence[str], clock: ManualClock,
           supervisor: Principal) -> list[str]:
    """Each carrier files both plans and the department approves them; the first
    carrier's last drill is 13 months old, so it is flagged."""
    t0 = clock.now()
    for i, ent in enumerate(enterprises):
        officer = Principal(ent, "enterprise", "security_officer")
        techs = list(session.scalars(select(Employee.id).where(
            Employee.enterprise_id == ent, Employee.status == "active",
            Employee.role.in_(("security", "it", "admin"))).order_by(Employee.id).limit(4)))
        if not techs:
            continue
        half = len(techs) // 2 or 1
        rota = [{"employee_id": e, "on_call": [
            {"weekdays": list(range(7)), "start": "08:00", "end": "20:00"} if j < half else
            {"weekdays": list(range(7)), "start": "20:00", "end": "08:00"}]}
            for j, e in enumerate(techs)]
        emergency = {
            "playbooks": {c.value: ["isolate the account or source", "preserve the evidence "
                                    "events and checkpoints", "assess who was affected",
                                    "notify the people and file the reports"]
                          for c in Category},
            "technicians": rota,
            "contacts": [{"role": "public contact", "unit": f"{ent} customer service",
                          "reach": "95338"}],
            "reporting_chain": ["security officer", "PI protection officer",
                                "supervision department"]}
        security = {"scope": "waybill, access gate, partner sharing", "risks": [
            {"name": "insider resale", "source": "internal", "threat": "insider abuse",
             "controls": ["assignment-bound access", "monitoring"]},
            {"name": "attacks", "source": "external", "threat": "hacker attack, malware, "
             "credential stuffing", "controls": ["MFA", "rate limits", "patching"]}]}
        for kind, doc in (("security", security), ("emergency", emergency)):
            plan = plans.submit_plan(session, officer, kind=kind, content=doc, clock=clock)
            plans.review_plan(session, supervisor, plan_id=plan.id, approve=True, clock=clock)
            if kind == "emergency":
                clock.set(t0 - timedelta(days=395 if i == 0 else 90))
                plans.record_drill(session, officer, plan_id=plan.id, held_at=clock.now(),
                                   scenario="bulk export by an insider", clock=clock)
                clock.set(t0)
    return [s.enterprise_id for s in plans.drill_status(
        session, supervisor, now=t0, max_age_days=365) if s.stale]


def _open(session: Session, scenarios: Sequence[ScenarioLike], settings: IncidentSettings,
          use_alerts: bool) -> tuple[list[Incident], list[object]]:
    opened: dict[str, Incident] = {}
    events: list[object] = []
    if use_alerts:
        for alert_id in session.scalars(select(MonitorAlert.id).order_by(
                MonitorAlert.raised_us, MonitorAlert.id)):
            o = handlers.open_from_alert(session, alert_id, settings=settings)
            if o is not None:
                opened[o.incident.id] = o.incident
                events += o.events
        return list(opened.values()), events
    for sc in sorted(scenarios, key=lambda s: s.end):
        category = SCENARIO_CATEGORY.get(sc.scenario, Category.INSIDER_ABUSE)
        o = service.open_incident(session, service.OpenRequest(
            enterprise_id=sc.enterprise_id, title=f"{sc.scenario} ({len(sc.actors)} actor(s))",
            category=category.value, source="manual", detected_at=sc.end + DETECTION_LAG,
            evidence_event_ids=sc.event_ids,
            subject_key=f"{sc.enterprise_id}|{sc.actors[0]}" if len(sc.actors) == 1 else None),
            actor="system:monitor", settings=settings)
        opened[o.incident.id] = o.incident
        events += o.events
    return list(opened.values()), events


# What only the officer knows, as the demo's officers write it for every report.
_OFFICER_ITEMS: dict[str, object] = {
    "measures_taken": ["访问日志已封存，涉事账号权限已复核 (access logs sealed, account rights "
                       "reviewed)"],
    "location": "涉事网点及其 PDA 终端 (the station concerned and its PDA terminals)",
    "measures_effect": "异常查询已停止 (the anomalous lookups stopped)",
    "perpetrator_clues": "监测告警指向的账号与设备 (the accounts and devices the alerts name)",
    "scene_preserved": "账本检查点已签名，相关日志已导出保全 (ledger checkpoint signed, logs "
                       "exported and preserved)",
    "likely_further_impact": "可能出现针对收件人的诈骗电话 (scam calls to recipients)",
    "help_requested": "无 (none)",
}


def _file(session: Session, incidents: list[Incident], clock: ManualClock,
          rng: Random, policy: DeadlinePolicy) -> int:
    """File each initial report after a simulated delay; the sweep runs before each
    filing, so whatever is late by then is escalated first. Returns escalations."""
    drafts = list(session.scalars(select(IncidentReport).where(
        IncidentReport.incident_id.in_([i.id for i in incidents]),
        IncidentReport.status == "draft").order_by(IncidentReport.due_at, IncidentReport.id)))
    plan: list[tuple[datetime, IncidentReport]] = []
    for r in drafts:
        assert r.due_at is not None
        inc = session.get(Incident, r.incident_id)
        assert inc is not None
        window = r.due_at - inc.detected_at
        share = rng.uniform(1.05, 1.6) if rng.random() < LATE_SHARE else rng.uniform(0.1, 0.9)
        plan.append((inc.detected_at + window * share, r))
    escalated = 0
    for at, r in sorted(plan, key=lambda p: (p[0], p[1].id)):
        clock.set(at)
        escalated += len(reports.escalate_overdue(session, at, policy))
        # A report to the administration may go first with the first items (the rest
        # follows); everything else is filed complete, as an officer writes it.
        first_only = r.kind in FIRST_ITEMS_ALLOWED and rng.random() < 0.3
        reports.file_report(session, Principal(r.enterprise_id, "enterprise",
                                               "security_officer"),
                            report_id=r.id, first_items_only=first_only, clock=clock,
                            content=None if first_only else _OFFICER_ITEMS)
    return escalated


def _intervene(session: Session, incidents: list[Incident], clock: ManualClock,
               supervisor: Principal, settings: IncidentSettings) -> list[dict[str, str]]:
    """Suspend the insiders (the department orders the first, which the enterprise
    acknowledges); block the devices external attackers used."""
    from parcelguard.incidents.impact import load_events

    applied: list[dict[str, str]] = []
    done: set[tuple[str, str]] = set()
    for inc in sorted(incidents, key=lambda i: i.detected_at):
        clock.set(max(clock.now(), inc.detected_at + timedelta(minutes=20)))
        employees = set(session.scalars(select(Employee.id).where(
            Employee.enterprise_id == inc.enterprise_id, Employee.id.in_(inc.actor_ids))))
        targets: list[tuple[str, str]] = []
        if inc.category != Category.EXTERNAL_ATTACK.value:
            targets = [("suspend_employee", e) for e in sorted(employees)]
        else:
            devices = {str(ev["device_id"]) for ev in load_events(
                session, inc.enterprise_id, inc.evidence_event_ids[:50]) if ev.get("device_id")}
            targets = [("block_device", d) for d in sorted(devices)[:1]]
        for kind, target in targets:
            if (kind, target) in done:
                continue
            done.add((kind, target))
            order = not applied  # the first one is ordered by the department
            who = supervisor if order else Principal(inc.enterprise_id, "enterprise",
                                                     "security_officer")
            iv = interventions.apply(session, who, enterprise_id=inc.enterprise_id, kind=kind,
                                     target_id=target, reason=f"incident {inc.id}",
                                     incident_id=inc.id, clock=clock,
                                     ack_hours=settings.ack_hours).intervention
            if order:
                interventions.acknowledge(session, Principal(
                    inc.enterprise_id, "enterprise", "security_officer"),
                    intervention_id=iv.id, clock=clock)
            applied.append({"id": iv.id, "incident": inc.id, "enterprise": inc.enterprise_id,
                            "kind": kind, "target": target,
                            "ordered_by": iv.ordered_by_org, "at": clock.now().isoformat()})
    return applied


def _blocked_attempt(session: Session, vault: VaultService,
                     applied: list[dict[str, str]]) -> dict[str, Any] | None:
    """A suspended employee's reveal inside one of their assignments: allowed before
    the suspension, refused (``suspended``) right after it. Tries a few suspended
    employees for one whose reveal the gate allowed before (an unvetted or departed
    one was refused already)."""
    shown: dict[str, Any] | None = None
    for a in [a for a in applied if a["kind"] == "suspend_employee"][:5]:
        asg = session.scalars(select(Assignment).where(
            Assignment.employee_id == a["target"], Assignment.purpose == "delivery",
            Assignment.revoked.is_(False)).order_by(Assignment.starts_at)).first()
        emp = session.get(Employee, a["target"])
        if asg is None or emp is None:
            continue
        clock = ManualClock(asg.starts_at + (asg.ends_at - asg.starts_at) / 2)
        gate = AccessGate(session, vault, clock)
        caller = caller_for_employee(emp.enterprise_id, emp.id, emp.role, channel="pda")
        fields = ["recipient_phone"]
        before = gate.reveal(caller, waybill_no=asg.waybill_no, purpose="delivery",
                             fields=fields)
        clock.set(max(datetime.fromisoformat(a["at"]) + timedelta(minutes=1), clock.now()))
        after = gate.reveal(caller, waybill_no=asg.waybill_no, purpose="delivery",
                            fields=fields)
        shown = {"employee": emp.id, "intervention": a["id"], "waybill": asg.waybill_no,
                 "before": before.reason, "after": after.reason,
                 "after_event_id": after.event_id, "blocked": not after.allowed}
        if before.allowed:
            break
    return shown


def run(session: Session, vault: VaultService, scenarios: Sequence[ScenarioLike],
        now: datetime, *, settings: IncidentSettings | None = None,
        notifiers: Mapping[str, Notifier] | None = None, seed: int = 7,
        use_alerts: bool | None = None) -> dict[str, Any]:
    """Run the incident stage on the demo database (after ingest). ``now`` is the end
    of the simulated window (plans are filed then); ``use_alerts``: open incidents
    from the monitor's alerts (default: when there are any) instead of the injected
    scenarios. Returns counts only (see ``summary_lines``)."""
    settings = settings or IncidentSettings()
    notifiers = notifiers or local_notifiers(vault)
    rng = Random(seed)
    clock = ManualClock(now)
    supervisor = system_principal(SUPERVISOR_ORG_ID)
    if use_alerts is None:
        use_alerts = session.scalars(select(MonitorAlert.id).limit(1)).first() is not None
    enterprises = sorted({s.enterprise_id for s in scenarios})
    stale = _plans(session, enterprises, clock, supervisor)
    incidents, events = _open(session, scenarios, settings, use_alerts)
    applied = _intervene(session, incidents, clock, supervisor, settings)
    notified: Counter[str] = Counter()
    announced: Counter[str] = Counter()
    policy = service.policy_of(settings)
    for inc in incidents:
        clock.set(max(clock.now(), inc.detected_at + timedelta(minutes=30)))
        run_ = notices.send_notices(session, inc, channel="sms", notifiers=notifiers,
                                    actor=f"{inc.enterprise_id}/operator", clock=clock)
        notified[inc.grade] += run_.sent
        status = notices.notice_status(session, inc, policy=policy, now=clock.now())
        if status.owed:  # people no SMS reached: the public announcement covers them
            notices.announce(session, Principal(inc.enterprise_id, "enterprise",
                                                "security_officer"),
                             incident_id=inc.id, where="官网及App首页公告 (website and app)",
                             clock=clock)
            announced[inc.grade] += status.owed
    escalated = _file(session, incidents, clock, rng, policy)
    by_grade: dict[str, dict[str, int]] = {g.value: defaultdict(int) for g in GRADES}
    for inc in incidents:
        g = by_grade[inc.grade]
        g["incidents"] += 1
        g["people_affected"] += inc.people_affected
        for r in session.scalars(select(IncidentReport).where(
                IncidentReport.incident_id == inc.id, IncidentReport.status == "filed",
                IncidentReport.due_at.is_not(None))):
            g["reports_on_time" if r.on_time else "reports_late"] += 1
    for g_name, n in notified.items():
        by_grade[g_name]["people_notified"] = n
    for g_name, n in announced.items():
        by_grade[g_name]["people_announced"] = n
    return {
        "source": "alerts" if use_alerts else "scenarios",
        "incidents": len(incidents),
        "by_grade": {k: {f: v.get(f, 0) for f in ("incidents", "people_affected",
                                                   "reports_on_time", "reports_late",
                                                   "people_notified", "people_announced")}
                     for k, v in by_grade.items()},
        "escalations": escalated,
        "police_referrals_proposed": sum(isinstance(e, ProposePoliceReferral) for e in events),
        "interventions": applied,
        "blocked_attempt": _blocked_attempt(session, vault, applied),
        "stale_drill_flags": stale,
    }


def summary_lines(figures: Mapping[str, Any]) -> list[str]:
    """What the demo prints, one line each."""
    out = [f"{figures['incidents']} incidents opened from the {figures['source']}; "
           f"{figures['escalations']} overdue reports escalated to the supervision "
           f"department; police referrals proposed: {figures['police_referrals_proposed']}"]
    for grade, g in figures["by_grade"].items():
        out.append(f"{grade:>18}: {g['incidents']} incidents, reports on time "
                   f"{g['reports_on_time']}, late {g['reports_late']}; people owed a notice "
                   f"{g['people_affected']}: {g['people_notified']} notified by SMS, "
                   f"{g['people_announced']} by public announcement")
    kinds = Counter(f"{a['kind']} ({'ordered' if a['ordered_by'] == SUPERVISOR_ORG_ID else 'own'})"
                    for a in figures["interventions"])
    out.append("interventions: " + (", ".join(f"{k} x{n}" for k, n in kinds.items()) or "none"))
    b = figures.get("blocked_attempt")
    if b:
        out.append(f"{b['employee']} reveals {b['waybill']}: before the suspension "
                   f"{b['before']}, right after it {b['after']} "
                   f"({'blocked' if b['blocked'] else 'NOT blocked'})")
    if figures["stale_drill_flags"]:
        out.append("emergency plans with a drill over a year old: "
                   + ", ".join(figures["stale_drill_flags"]))
    return out
