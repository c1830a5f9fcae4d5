"""``parcelguard incidents ...``: plans, incidents, reports, the supervision
department's inbox, notices and interventions from the machine-local command line.

Who acts: ``--account USERNAME`` acts as that account (its organisation and role);
without it the machine-local operator acts for the enterprise given with ``-e``
(as its security officer) or, for the supervision department's commands, as the
department. The timeline names the operator ``<org>/operator``.

Exit status: 0 done, 1 refused (an illegal move, a missing permission, already
done), 2 the command could not run (bad input, not found).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from parcelguard.core.errors import Conflict, DomainError, PermissionDenied
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity import read as identity_read
from parcelguard.identity.permissions import Principal, system_principal
from parcelguard.identity.service import SUPERVISOR_ORG_ID
from parcelguard.incidents import (
    forwards,
    handlers,
    interventions,
    notices,
    plans,
    reports,
    service,
    views,
)
from parcelguard.incidents.grading import OtherInputs
from parcelguard.incidents.models import Incident, Intervention
from parcelguard.incidents.notify import Notifier
from parcelguard.incidents.reports import parse_time
from parcelguard.incidents.repository import IncidentRepository
from parcelguard.incidents.settings import IncidentSettings

out = Console()
err = Console(stderr=True, soft_wrap=True)

EnterpriseOpt = Annotated[str | None, typer.Option("--enterprise", "-e",
                                                   help="Enterprise the operator acts for.")]
AccountOpt = Annotated[str | None, typer.Option("--account", "-a",
                                                help="Act as this account (username).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _principal(session: Session, *, account: str | None, enterprise: str | None,
               supervisor: bool) -> Principal:
    if account is not None:
        principal = identity_read.active_principal(session, account)
        if principal is None:
            raise DomainError(f"no active account {account!r}")
        return principal
    if supervisor:
        return system_principal(SUPERVISOR_ORG_ID)
    if enterprise is None:
        raise DomainError("give --enterprise (or --account)")
    org = identity_read.org(session, enterprise)
    if org is None or org.kind != "enterprise":
        raise DomainError(f"no enterprise {enterprise!r}")
    return Principal(enterprise, "enterprise", "security_officer")


def _load(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DomainError(f"cannot read {path}: {type(exc).__name__}") from None
    if not isinstance(doc, dict):
        raise DomainError(f"{path} must hold one JSON object")
    return doc


def _show(value: object, as_json: bool) -> None:
    if as_json:
        print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def build_app(*, notifiers_for: Callable[[Settings], Mapping[str, Notifier]]) -> typer.Typer:
    """The ``incidents`` sub-app; ``notifiers_for`` is the plugins' choice of notifier
    per channel for these settings."""
    app = typer.Typer(help="Incidents and emergency response: plans, drills, incidents, "
                      "reports, inbox, notices, interventions (docs/incidents.md).",
                      no_args_is_help=True)
    plan_app = typer.Typer(help="Security and emergency plans, reviews, drills.",
                           no_args_is_help=True)
    report_app = typer.Typer(help="Statutory reports: file, supplement.", no_args_is_help=True)
    app.add_typer(plan_app, name="plan")
    app.add_typer(report_app, name="report")

    @contextmanager
    def tx(ctx: typer.Context, *, account: str | None = None, enterprise: str | None = None,
           supervisor: bool = False) -> Iterator[tuple[Runtime, Session, Principal]]:
        """One transaction; committed unless the command failed. Refusals exit 1."""
        rt: Runtime = ctx.obj
        try:
            with rt.db.unit_of_work() as uow:
                p = _principal(uow.session, account=account, enterprise=enterprise,
                               supervisor=supervisor)
                yield rt, uow.session, p
                uow.commit()
        except (Conflict, PermissionDenied) as exc:
            err.print(f"[red]refused:[/red] {exc.message}", highlight=False)
            raise typer.Exit(1) from None
        except DomainError as exc:
            err.print(f"[red]error:[/red] {exc.message}", highlight=False)
            raise typer.Exit(2) from None

    # -- plans ----------------------------------------------------------------------

    @plan_app.command("submit")
    def plan_submit(ctx: typer.Context, kind: Annotated[str, typer.Argument(
                        help="security or emergency")],
                    file: Annotated[Path, typer.Argument(help="The plan as JSON.")],
                    enterprise: EnterpriseOpt = None, account: AccountOpt = None) -> None:
        """File a new plan version for the supervision department's review."""
        with tx(ctx, account=account, enterprise=enterprise) as (_, s, p):
            plan = plans.submit_plan(s, p, kind=kind, content=_load(file) or {},
                                     clock=ctx.obj.clock)
            out.print(f"{kind} plan v{plan.version} submitted: {plan.id}")

    @plan_app.command("list")
    def plan_list(ctx: typer.Context, enterprise: EnterpriseOpt = None,
                  account: AccountOpt = None, as_json: JsonOpt = False) -> None:
        """Plan versions and their review status."""
        with tx(ctx, account=account, enterprise=enterprise,
                supervisor=enterprise is None) as (_, s, p):
            rows = list(s.scalars(IncidentRepository(s, p).plans()))
        _show([{"id": r.id, "enterprise_id": r.enterprise_id, "kind": r.kind,
                "version": r.version, "status": r.status, "comments": r.review_comments}
               for r in rows], as_json)
        if not as_json:
            table = Table("id", "enterprise", "kind", "version", "status", "comments")
            for r in rows:
                table.add_row(r.id, r.enterprise_id, r.kind, str(r.version), r.status,
                              r.review_comments or "")
            out.print(table)

    @plan_app.command("review")
    def plan_review(ctx: typer.Context, plan_id: str,
                    approve: Annotated[bool, typer.Option(
                        "--approve/--return", help="Approve, or return with comments.")],
                    comments: str = "", account: AccountOpt = None) -> None:
        """The supervision department approves a plan version or returns it."""
        with tx(ctx, account=account, supervisor=True) as (_, s, p):
            plan = plans.review_plan(s, p, plan_id=plan_id, approve=approve,
                                     comments=comments, clock=ctx.obj.clock)
            out.print(f"plan {plan.id}: {plan.status}")

    @plan_app.command("drill")
    def plan_drill(ctx: typer.Context, plan_id: str,
                   scenario: Annotated[str, typer.Option(help="What was drilled.")],
                   held_at: Annotated[str | None, typer.Option(
                       help="When, ISO 8601 with offset (default: now).")] = None,
                   findings: str = "", enterprise: EnterpriseOpt = None,
                   account: AccountOpt = None) -> None:
        """Record a drill held on an emergency plan."""
        with tx(ctx, account=account, enterprise=enterprise) as (rt, s, p):
            when = parse_time(held_at, "held_at") if held_at else rt.clock.now()
            d = plans.record_drill(s, p, plan_id=plan_id, held_at=when, scenario=scenario,
                                   findings=findings, clock=rt.clock)
            out.print(f"drill {d.id} recorded")

    @plan_app.command("drills")
    def plan_drills(ctx: typer.Context, enterprise: EnterpriseOpt = None,
                    account: AccountOpt = None) -> None:
        """Each plan in force with its last drill; stale ones (over a year) flagged."""
        with tx(ctx, account=account, enterprise=enterprise,
                supervisor=enterprise is None) as (rt, s, p):
            rows = plans.drill_status(s, p, now=rt.clock.now(),
                                      max_age_days=rt.settings.section(IncidentSettings).drill_max_age_days)
        table = Table("enterprise", "plan", "version", "last drill", "status")
        for r in rows:
            table.add_row(r.enterprise_id, r.plan_id, str(r.version),
                          f"{r.last_drill_at:%Y-%m-%d}" if r.last_drill_at else "never",
                          "[red]STALE[/red]" if r.stale else "ok")
        out.print(table)

    # -- incidents ------------------------------------------------------------------

    @app.command("open")
    def open_(ctx: typer.Context, title: Annotated[str, typer.Option()],
              category: Annotated[str, typer.Option(help="insider_abuse, account_compromise, "
                                                    "external_attack, tampering, "
                                                    "misconfiguration, partner")],
              evidence: Annotated[list[str] | None, typer.Option(
                  help="An evidence event id; repeat.")] = None,
              cause: Annotated[str | None, typer.Option(help="subjective or objective")] = None,
              detected_at: Annotated[str | None, typer.Option(
                  help="ISO 8601 with offset (default: now).")] = None,
              enterprise: EnterpriseOpt = None, account: AccountOpt = None) -> None:
        """Open an incident by hand; impact, grade, reports and tasks follow."""
        with tx(ctx, account=account, enterprise=enterprise) as (rt, s, p):
            opened = service.open_as(s, p, service.OpenRequest(
                enterprise_id=p.org_id, title=title, category=category, source="manual",
                detected_at=parse_time(detected_at, "detected_at") if detected_at
                else rt.clock.now(), evidence_event_ids=evidence or [], cause_class=cause),
                settings=rt.settings.section(IncidentSettings))
            i = opened.incident
            out.print(f"incident {i.id}: {i.grade}, {i.people_affected} people, "
                      f"{i.records_affected} records")

    @app.command("from-alert")
    def from_alert(ctx: typer.Context, alert_id: str, enterprise: EnterpriseOpt = None,
                   account: AccountOpt = None) -> None:
        """Escalate an alert to an incident whatever the rule says."""
        with tx(ctx, account=account, enterprise=enterprise) as (rt, s, p):
            opened = handlers.escalate_alert(s, p, alert_id,
                                             settings=rt.settings.section(IncidentSettings),
                                             clock=rt.clock)
            out.print(f"incident {opened.incident.id} "
                      f"({'opened' if opened.created else 'joined'})")

    @app.command("list")
    def list_(ctx: typer.Context, state: str | None = None, grade: str | None = None,
              enterprise: EnterpriseOpt = None, account: AccountOpt = None,
              as_json: JsonOpt = False) -> None:
        """Incidents, newest first (the department sees every enterprise's)."""
        with tx(ctx, account=account, enterprise=enterprise,
                supervisor=enterprise is None) as (_, s, p):
            rows = views.list_incidents(s, p, views.IncidentFilter(state=state, grade=grade))
        _show([{"id": i.id, "enterprise_id": i.enterprise_id, "state": i.state,
                "grade": i.grade, "category": i.category, "people": i.people_affected,
                "detected_at": i.detected_at.isoformat()} for i in rows], as_json)
        if not as_json:
            table = Table("id", "enterprise", "state", "grade", "category", "people",
                          "detected")
            for i in rows:
                table.add_row(i.id, i.enterprise_id, i.state, i.grade, i.category,
                              str(i.people_affected), i.detected_at.isoformat())
            out.print(table)

    @app.command("show")
    def show(ctx: typer.Context, incident_id: str, enterprise: EnterpriseOpt = None,
             account: AccountOpt = None, as_json: JsonOpt = False) -> None:
        """One incident: impact, deadlines, tasks, interventions and the timeline."""
        with tx(ctx, account=account, enterprise=enterprise,
                supervisor=enterprise is None) as (rt, s, p):
            d = views.detail(s, p, incident_id,
                             service.policy_of(rt.settings.section(IncidentSettings)))
        if as_json:
            print(d.model_dump_json(indent=2))
            return
        out.print(f"[bold]{d.id}[/bold] {d.enterprise_id} {d.state} grade={d.grade} "
                  f"{d.category}/{d.cause_class}: {d.people_affected} people, "
                  f"{d.records_affected} records ({', '.join(d.data_types)})")
        for r in d.reports:
            out.print(f"  report {r.id} {r.kind} -> {r.recipient}: {r.status}, due "
                      f"{r.due_local or '-'}, on time: {r.on_time}")
        for t in d.tasks:
            out.print(f"  task {t.seq} [{t.status}] {t.step} ({t.assignee_employee_id})")
        for e in d.timeline:
            out.print(f"  {e.at.isoformat()} {e.actor} {e.action}", highlight=False)

    @app.command("evidence")
    def evidence_(ctx: typer.Context, incident_id: str, event_ids: list[str],
                  enterprise: EnterpriseOpt = None, account: AccountOpt = None) -> None:
        """Add evidence events; impact and grade are recomputed."""
        with tx(ctx, account=account, enterprise=enterprise) as (rt, s, p):
            inc, _ = service.add_evidence_as(s, p, incident_id=incident_id,
                                             event_ids=event_ids, clock=rt.clock,
                                             settings=rt.settings.section(IncidentSettings))
            out.print(f"{inc.id}: {inc.grade}, {inc.people_affected} people")

    @app.command("grade-inputs")
    def grade_inputs(
        ctx: typer.Context, incident_id: str,
        direct_loss_rmb: Annotated[int | None, typer.Option(
            help="Direct economic loss in RMB.")] = None,
        outage_hours: Annotated[float | None, typer.Option(
            help="Hours a CII system was down as a whole.")] = None,
        main_outage_hours: Annotated[float | None, typer.Option(
            help="Hours a CII system's main functions were down.")] = None,
        data_class: Annotated[str | None, typer.Option(
            help="important or core: such data leaked (give --data-threat too).")] = None,
        data_threat: Annotated[str | None, typer.Option(
            help="relatively_serious, serious or especially_serious: the threat the data "
                 "leak poses to national security and social stability.")] = None,
        enterprise: EnterpriseOpt = None, account: AccountOpt = None) -> None:
        """Record grading inputs beyond people (CAC measures' annex); the grade follows
        the highest and the reports it owes are drafted."""
        with tx(ctx, account=account, enterprise=enterprise) as (rt, s, p):
            inc = service.set_grading_inputs(
                s, p, incident_id=incident_id, clock=rt.clock,
                settings=rt.settings.section(IncidentSettings),
                inputs=OtherInputs(direct_loss_rmb=direct_loss_rmb, outage_hours=outage_hours,
                                   main_outage_hours=main_outage_hours, data_class=data_class,
                                   data_threat=data_threat))
            out.print(f"{inc.id}: {inc.grade}", highlight=False)
            for line in inc.grading_basis or ():
                out.print(f"  {line}", highlight=False)

    @app.command("move")
    def move(ctx: typer.Context, incident_id: str, to: str, note: str = "",
             enterprise: EnterpriseOpt = None, account: AccountOpt = None) -> None:
        """Move an incident one step (refused, exit 1, for any other move)."""
        with tx(ctx, account=account, enterprise=enterprise) as (rt, s, p):
            inc, _ = service.move(s, p, incident_id=incident_id, to=to, note=note,
                                  clock=rt.clock, settings=rt.settings.section(IncidentSettings))
            out.print(f"{inc.id}: {inc.state}")

    @app.command("task-done")
    def task_done(ctx: typer.Context, incident_id: str, task_id: str,
                  enterprise: EnterpriseOpt = None, account: AccountOpt = None) -> None:
        """Mark a playbook task done."""
        with tx(ctx, account=account, enterprise=enterprise) as (rt, s, p):
            service.complete_task(s, p, incident_id=incident_id, task_id=task_id,
                                  clock=rt.clock)

    @report_app.command("file")
    def report_file(ctx: typer.Context, incident_id: str, report_id: str,
                    content: Annotated[Path | None, typer.Option(
                        help="JSON items overriding the draft.")] = None,
                    first_items_only: bool = False, enterprise: EnterpriseOpt = None,
                    account: AccountOpt = None) -> None:
        """File a drafted report to the supervision department."""
        with tx(ctx, account=account, enterprise=enterprise) as (rt, s, p):
            row, _ = reports.file_report(s, p, report_id=report_id, content=_load(content),
                                         first_items_only=first_items_only, clock=rt.clock,
                                         incident_id=incident_id,
                                         policy=service.policy_of(rt.settings.section(IncidentSettings)))
            out.print(f"{row.kind} report filed ({'on time' if row.on_time else 'LATE'})")

    @report_app.command("supplement")
    def report_supplement(ctx: typer.Context, incident_id: str, report_id: str,
                          content: Annotated[Path, typer.Option(help="JSON items.")],
                          enterprise: EnterpriseOpt = None,
                          account: AccountOpt = None) -> None:
        """Complete a filed report with the items that followed."""
        with tx(ctx, account=account, enterprise=enterprise) as (rt, s, p):
            row, _ = reports.supplement(s, p, report_id=report_id,
                                        content=_load(content) or {}, clock=rt.clock,
                                        incident_id=incident_id,
                                        policy=service.policy_of(rt.settings.section(IncidentSettings)))
            out.print(f"supplement {row.id} filed")

    @app.command("inbox")
    def inbox(ctx: typer.Context, account: AccountOpt = None, as_json: JsonOpt = False) -> None:
        """The supervision department's inbox: filed reports and open escalations
        (the overdue sweep runs first)."""
        with tx(ctx, account=account, supervisor=True) as (rt, s, p):
            reports.escalate_overdue(s, rt.clock.now(),
                                     service.policy_of(rt.settings.section(IncidentSettings)))
            box = reports.inbox(s, p)
            rows = [{"report": r.id, "enterprise_id": r.enterprise_id, "kind": r.kind,
                     "filed_at": str(r.filed_at), "on_time": r.on_time} for r in box.reports]
            escs = [{"escalation": e.id, "enterprise_id": e.enterprise_id,
                     "subject": e.subject, "due_at": str(e.due_at)} for e in box.escalations]
        _show({"reports": rows, "escalations": escs}, as_json)
        if not as_json:
            out.print(f"{len(rows)} reports filed, {len(escs)} open escalations")
            for e in escs:
                out.print(f"  [red]OVERDUE[/red] {e['enterprise_id']} {e['subject']} "
                          f"(due {e['due_at']})")

    @app.command("escalate")
    def escalate(ctx: typer.Context) -> None:
        """Run the overdue sweep now (a scheduler may run it every few minutes)."""
        with tx(ctx, supervisor=True) as (rt, s, _):
            flagged = reports.escalate_overdue(s, rt.clock.now(),
                                               service.policy_of(rt.settings.section(IncidentSettings)))
        out.print(f"{len(flagged)} newly escalated")

    @app.command("notify")
    def notify(ctx: typer.Context, incident_id: str,
               channel: Annotated[str, typer.Option(help="sms, email or in_app")] = "sms",
               enterprise: EnterpriseOpt = None, account: AccountOpt = None) -> None:
        """Send the PIPL Art. 57 notice to every affected person (once per channel), then
        say who is still owed one. Exit 1 when people are owed a notice and none could
        be reached on this channel: try another, or announce publicly."""
        with tx(ctx, account=account, enterprise=enterprise) as (rt, s, p):
            run = notices.notify_affected(s, p, incident_id=incident_id, channel=channel,
                                          notifiers=notifiers_for(rt.settings),
                                          clock=rt.clock)
            inc = s.get(Incident, incident_id)
            assert inc is not None
            status = notices.notice_status(s, inc, policy=service.policy_of(
                rt.settings.section(IncidentSettings)), now=rt.clock.now())
        out.print(json.dumps({**run.as_dict(), "status": status.as_dict()}))
        if status.owed:
            err.print(f"{status.owed} of {status.people_affected} affected people are still "
                      f"owed a notice (due {status.due_at.isoformat()}): notify on another "
                      f"channel, or publish it with `parcelguard incidents announce "
                      f"{incident_id} --where ...`")
            if run.sent == 0:
                raise typer.Exit(1)

    forward_app = typer.Typer(help="Reports forwarded onward to the cyberspace "
                              "administration: the supervision department sends, the "
                              "administration acknowledges with a receipt.")
    app.add_typer(forward_app, name="forward")

    @forward_app.command("list")
    def forward_list(ctx: typer.Context, account: AccountOpt = None,
                     status: str | None = None, as_json: JsonOpt = False) -> None:
        """Forwards owed, sent and received (supervision: all; an administration: its own
        and those still owed to it). Overdue ones are marked."""
        with tx(ctx, account=account, supervisor=account is None) as (rt, s, p):
            now = rt.clock.now()
            rows = [{"id": f.id, "report": f.report_id, "incident": f.incident_id,
                     "enterprise_id": f.enterprise_id, "grade": f.grade, "status": f.status,
                     "due_at": f.due_at.isoformat(), "overdue": f.status == "pending"
                     and now > f.due_at, "to": f.to_org_id, "on_time": f.on_time,
                     "receipt": f.receipt} for f in forwards.listing(s, p, status=status)]
        out.print(json.dumps(rows, ensure_ascii=False) if as_json else "\n".join(
            f"{r['id']} {r['enterprise_id']} {r['grade']} {r['status']}"
            f"{' OVERDUE' if r['overdue'] else ''} due {r['due_at']}" for r in rows)
            or "no forwards")

    @forward_app.command("send")
    def forward_send(ctx: typer.Context, forward_id: str,
                     to: Annotated[str | None, typer.Option(
                         help="The administration (default: the only one registered).")]
                     = None, account: AccountOpt = None) -> None:
        """Forward a filed report to the cyberspace administration (supervision)."""
        with tx(ctx, account=account, supervisor=account is None) as (rt, s, p):
            row = forwards.send(s, p, forward_id=forward_id, clock=rt.clock, to_org_id=to)
        out.print(f"forwarded to {row.to_org_id} ({'on time' if row.on_time else 'LATE'})")

    @forward_app.command("receipt")
    def forward_receipt(ctx: typer.Context, forward_id: str,
                        account: Annotated[str, typer.Option(
                            help="The administration's account.")]) -> None:
        """Acknowledge a forwarded report as the cyberspace administration."""
        with tx(ctx, account=account) as (rt, s, p):
            row = forwards.acknowledge(s, p, forward_id=forward_id, clock=rt.clock)
        out.print(f"received; receipt {row.receipt}")

    @app.command("announce")
    def announce(ctx: typer.Context, incident_id: str,
                 where: Annotated[str, typer.Option(help="Where the announcement appears, "
                                                    "e.g. 'website and app home page'.")],
                 enterprise: EnterpriseOpt = None, account: AccountOpt = None) -> None:
        """Publish the PIPL Art. 57 notice publicly for the affected people no channel
        reached (GB/T 35273-2020 §10.2)."""
        with tx(ctx, account=account, enterprise=enterprise) as (rt, s, p):
            notices.announce(s, p, incident_id=incident_id, where=where, clock=rt.clock)
            inc = s.get(Incident, incident_id)
            assert inc is not None
            status = notices.notice_status(s, inc, policy=service.policy_of(
                rt.settings.section(IncidentSettings)), now=rt.clock.now())
        out.print(json.dumps(status.as_dict()))

    @app.command("intervene")
    def intervene(ctx: typer.Context,
                  kind: Annotated[str, typer.Option(help=", ".join(interventions.KINDS))],
                  target: Annotated[str, typer.Option(help="Employee, API key, device or "
                                                    "partner id.")],
                  reason: Annotated[str, typer.Option()],
                  enterprise: Annotated[str, typer.Option("--enterprise", "-e")],
                  incident: str | None = None,
                  order: Annotated[bool, typer.Option(
                      help="Order it as the supervision department.")] = False,
                  account: AccountOpt = None) -> None:
        """Apply an intervention now (or order one); effective at the gate at once."""
        with tx(ctx, account=account, enterprise=enterprise, supervisor=order) as (rt, s, p):
            iv = interventions.apply(s, p, enterprise_id=enterprise, kind=kind,
                                     target_id=target, reason=reason, clock=rt.clock,
                                     ack_hours=rt.settings.section(IncidentSettings).ack_hours,
                                     incident_id=incident).intervention
            out.print(f"intervention {iv.id} applied (ledger event {iv.ledger_event_id})"
                      + ("; the enterprise must acknowledge it" if iv.requires_ack else ""))

    @app.command("interventions")
    def interventions_list(ctx: typer.Context, enterprise: EnterpriseOpt = None,
                           everything: Annotated[bool, typer.Option(
                               "--all", help="Lifted ones too.")] = False,
                           account: AccountOpt = None, as_json: JsonOpt = False) -> None:
        """Interventions in force (or all), with who ordered them and the acknowledgement."""
        with tx(ctx, account=account, enterprise=enterprise,
                supervisor=enterprise is None) as (_, s, p):
            stmt = IncidentRepository(s, p).interventions()
            if not everything:
                stmt = stmt.where(Intervention.lifted_at.is_(None))
            rows = list(s.scalars(stmt.order_by(Intervention.applied_at.desc())))
        if as_json:
            _show([{"id": i.id, "enterprise_id": i.enterprise_id, "kind": i.kind,
                    "target_id": i.target_id, "ordered_by": i.ordered_by,
                    "applied_at": i.applied_at, "acknowledged_at": i.acknowledged_at,
                    "lifted_at": i.lifted_at} for i in rows], as_json)
            return
        table = Table("id", "enterprise", "kind", "target", "by", "applied", "acknowledged",
                      "lifted")
        for i in rows:
            table.add_row(i.id, i.enterprise_id, i.kind, i.target_id, i.ordered_by,
                          i.applied_at.isoformat(),
                          str(i.acknowledged_at or ("due " + str(i.ack_due_at))
                              if i.requires_ack else "-"),
                          str(i.lifted_at or ""))
        out.print(table)

    @app.command("ack")
    def ack(ctx: typer.Context, intervention_id: str, enterprise: EnterpriseOpt = None,
            account: AccountOpt = None) -> None:
        """Acknowledge an intervention the supervision department ordered."""
        with tx(ctx, account=account, enterprise=enterprise) as (rt, s, p):
            interventions.acknowledge(s, p, intervention_id=intervention_id, clock=rt.clock)
            out.print("acknowledged")

    @app.command("lift")
    def lift(ctx: typer.Context, intervention_id: str, enterprise: EnterpriseOpt = None,
             order: Annotated[bool, typer.Option(
                 help="Lift an order of the supervision department.")] = False,
             account: AccountOpt = None) -> None:
        """End an intervention (by whoever applied or ordered it)."""
        with tx(ctx, account=account, enterprise=enterprise, supervisor=order) as (rt, s, p):
            interventions.lift(s, p, intervention_id=intervention_id, clock=rt.clock)
            out.print("lifted")

    return app
