"""``parcelguard access ...``: the gate from the machine-local command line
(operators and testing). Every command is an attempt at the gate and is recorded
like one from the API (channel ``api`` unless told otherwise).

Who acts: ``--account USERNAME`` (the account's role and linked employee, as if it
had logged in) or ``--employee ID`` (the roster employee with the permissions of
their usual account role; approvals need a real account). Output discipline: only
a reveal the gate allowed prints PI, to the caller who asked; phone numbers to
search are prompted for without echo (never on the command line, i.e. in shell
history); an export goes to a new file readable only by its owner.

Exit status: 0 allowed, 1 refused by the gate (the refusal is recorded), 2 the
command could not run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from parcelguard.access import suspensions
from parcelguard.access.caller import CHANNELS, Caller, caller_for_employee, caller_for_principal
from parcelguard.access.exports import ExportOutcome
from parcelguard.access.repository import AccessRepository
from parcelguard.access.service import AccessGate
from parcelguard.access.trail import Outcome
from parcelguard.core.errors import DomainError
from parcelguard.core.runtime import Runtime
from parcelguard.identity import read as identity_read
from parcelguard.identity.permissions import Principal
from parcelguard.logistics import read as logistics_read
from parcelguard.vault.provider import vault_service

access_app = typer.Typer(help="The PI access gate: reveal, search, export, break-glass, "
                         "suspensions (docs/access.md).", no_args_is_help=True)
export_app = typer.Typer(help="Bulk exports: request, approve (second person), run.",
                         no_args_is_help=True)
access_app.add_typer(export_app, name="export")

out = Console()
err = Console(stderr=True, soft_wrap=True)

EnterpriseOpt = Annotated[str, typer.Option("--enterprise", "-e", help="Enterprise id.")]
AccountOpt = Annotated[str | None, typer.Option("--account", "-a",
                                                help="Act as this account (username).")]
EmployeeOpt = Annotated[str | None, typer.Option("--employee",
                                                 help="Act as this roster employee.")]
ChannelOpt = Annotated[str, typer.Option(help="pda, app, web or api (for the event).")]
FieldOpt = Annotated[list[str], typer.Option("--field", "-f", help="A PI field; repeat.")]


@dataclass
class _Ctx:
    rt: Runtime
    session: Session
    gate: AccessGate
    caller: Caller


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", markup=True, highlight=False)
    return typer.Exit(code)


def _caller(session: Session, enterprise: str, account: str | None, employee: str | None,
            channel: str) -> Caller:
    if channel not in CHANNELS:
        raise DomainError(f"channel must be one of {', '.join(CHANNELS)}")
    if (account is None) == (employee is None):
        raise DomainError("give exactly one of --account and --employee")
    if account is not None:
        principal = identity_read.active_principal(session, account)
        if principal is None or principal.org_id != enterprise:
            raise DomainError(f"no active account {account!r} in {enterprise}")
        return caller_for_principal(session, principal, channel=channel)
    emp = logistics_read.employee_of(session, enterprise, employee)
    if emp is None:
        raise DomainError(f"no employee {employee!r} in {enterprise}")
    return caller_for_employee(enterprise, emp.id, emp.role, channel=channel)


@contextmanager
def gate_tx(ctx: typer.Context, enterprise: str, account: str | None, employee: str | None,
            channel: str = "api") -> Iterator[_Ctx]:
    """One transaction at the gate; committed whether the gate allowed or refused
    (a refusal is recorded), rolled back only when the command itself failed."""
    rt: Runtime = ctx.obj
    try:
        with rt.db.unit_of_work() as uow:
            org = identity_read.org(uow.session, enterprise)
            if org is None or org.kind != "enterprise":
                raise DomainError(f"no enterprise {enterprise!r}")
            vault = vault_service(rt.settings)
            c = _Ctx(rt, uow.session, AccessGate(uow.session, vault, rt.clock),
                     _caller(uow.session, enterprise, account, employee, channel))
            yield c
            uow.commit()
    except DomainError as exc:
        raise fail(exc.message) from None


def verdict(o: Outcome) -> None:
    if o.allowed:
        err.print(f"[green]allowed[/green] (event {o.event_id})", highlight=False)
    else:
        err.print(f"[red]refused[/red] {o.reason}: {o.message} (event {o.event_id})",
                  highlight=False)


def _done(o: Outcome) -> None:
    if not o.allowed:
        raise typer.Exit(1)


@access_app.command("reveal")
def reveal(ctx: typer.Context, enterprise: EnterpriseOpt, waybill: Annotated[str, typer.Option()],
           purpose: Annotated[str, typer.Option()], field: FieldOpt,
           account: AccountOpt = None, employee: EmployeeOpt = None,
           channel: ChannelOpt = "api") -> None:
    """Reveal PI fields of one parcel; prints them only if the gate allowed it."""
    with gate_tx(ctx, enterprise, account, employee, channel) as c:
        o = c.gate.reveal(c.caller, waybill_no=waybill, purpose=purpose, fields=field)
    verdict(o)
    for name, value in o.values.by_field.items():
        out.print(f"{name}: {value if value is not None else '(erased)'}", highlight=False)
    _done(o)


@access_app.command("search")
def search(ctx: typer.Context, enterprise: EnterpriseOpt, purpose: Annotated[str, typer.Option()],
           last4: Annotated[bool, typer.Option(help="Search by the last four digits.")] = False,
           account: AccountOpt = None, employee: EmployeeOpt = None,
           channel: ChannelOpt = "api") -> None:
    """Search parcels by phone (prompted without echo); prints masked hits."""
    phone = typer.prompt("last four digits" if last4 else "phone number", hide_input=True)
    with gate_tx(ctx, enterprise, account, employee, channel) as c:
        o = c.gate.search_by_phone(c.caller, phone=phone, purpose=purpose, last4=last4)
    verdict(o)
    if o.allowed:
        table = Table("waybill", "status", "party", "name", "phone", "station",
                      title=f"{o.total} matching, {len(o.hits)} shown, {o.withheld} withheld")
        for h in o.hits:
            table.add_row(h.waybill_no, h.status, h.party, h.name, h.phone,
                          h.destination_station_id or "")
        out.print(table)
    _done(o)


def _print_export(o: ExportOutcome) -> None:
    verdict(o)
    if o.request_id:
        out.print(json.dumps({"request_id": o.request_id, "status": o.status,
                              "record_count": o.record_count,
                              "needs_approval": o.needs_approval,
                              "expires_at": o.expires_at.isoformat() if o.expires_at else None}))


@export_app.command("request")
def export_request(
    ctx: typer.Context, enterprise: EnterpriseOpt, purpose: Annotated[str, typer.Option()],
    field: FieldOpt,
    waybill: Annotated[list[str] | None, typer.Option(help="A waybill in scope; repeat.")]
    = None,
    station: Annotated[str | None, typer.Option(help="Destination station in scope.")] = None,
    created_from: Annotated[str, typer.Option("--from", help="RFC 3339, with offset.")] = "",
    created_to: Annotated[str, typer.Option("--to", help="RFC 3339, with offset.")] = "",
    account: AccountOpt = None, employee: EmployeeOpt = None,
) -> None:
    """Request a bulk export; prints how many records and whether it needs approval."""
    scope: dict[str, object] = {"waybills": waybill} if waybill else {
        "station_id": station, "created_from": created_from, "created_to": created_to}
    with gate_tx(ctx, enterprise, account, employee) as c:
        o = c.gate.request_export(c.caller, purpose=purpose, fields=field, scope=scope)
    _print_export(o)
    _done(o)


@export_app.command("approve")
def export_approve(ctx: typer.Context, request_id: str, enterprise: EnterpriseOpt,
                   account: AccountOpt = None, employee: EmployeeOpt = None,
                   reject: Annotated[bool, typer.Option(help="Reject instead.")] = False) -> None:
    """Approve (or --reject) someone else's export request."""
    with gate_tx(ctx, enterprise, account, employee) as c:
        o = c.gate.approve_export(c.caller, request_id=request_id, approve=not reject)
    _print_export(o)
    _done(o)


@export_app.command("run")
def export_run(ctx: typer.Context, request_id: str, enterprise: EnterpriseOpt,
               to: Annotated[Path, typer.Option("--out", help="New file for the records "
                                                "(created 0600; must not exist).")],
               account: AccountOpt = None, employee: EmployeeOpt = None) -> None:
    """Run an approved export into a new owner-only file; prints the count."""
    if to.exists():
        raise fail(f"{to} exists; exports never overwrite a file")
    with gate_tx(ctx, enterprise, account, employee) as c:
        o = c.gate.run_export(c.caller, request_id=request_id)
        if o.allowed:
            fd = os.open(to, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump([r.as_dict() for r in o.records], fh, ensure_ascii=False)
    _print_export(o)
    if o.allowed:
        err.print(f"{o.record_count} records written to {to} ({o.withheld} withheld)")
    _done(o)


@export_app.command("list")
def export_list(ctx: typer.Context, enterprise: EnterpriseOpt,
                status: Annotated[str | None, typer.Option()] = None) -> None:
    """Export requests, newest first."""
    rt: Runtime = ctx.obj
    with rt.db.unit_of_work() as uow:
        rows = AccessRepository(uow.session, enterprise).export_requests(status=status)
        table = Table("id", "requester", "purpose", "records", "status", "requested")
        for r in rows:
            table.add_row(r.id, r.requester_employee_id, r.purpose, str(r.record_count),
                          r.status, r.requested_at.isoformat(timespec="seconds"))
    out.print(table)


@access_app.command("break-glass")
def break_glass(ctx: typer.Context, enterprise: EnterpriseOpt,
                waybill: Annotated[str, typer.Option()], field: FieldOpt,
                justification: Annotated[str, typer.Option(
                    help="Why (>= 20 characters, no phone/ID numbers).")],
                account: AccountOpt = None, employee: EmployeeOpt = None) -> None:
    """Emergency reveal without an assignment; always flagged for review."""
    with gate_tx(ctx, enterprise, account, employee) as c:
        o = c.gate.break_glass_reveal(c.caller, waybill_no=waybill, fields=field,
                                      justification=justification)
    verdict(o)
    if o.allowed:
        err.print(f"[yellow]flagged[/yellow]: break-glass record {o.record_id}")
    for name, value in o.values.by_field.items():
        out.print(f"{name}: {value if value is not None else '(erased)'}", highlight=False)
    _done(o)


@access_app.command("review")
def review(ctx: typer.Context, record_id: str, enterprise: EnterpriseOpt,
           outcome: Annotated[str, typer.Option(help="justified or abuse")],
           account: AccountOpt = None, employee: EmployeeOpt = None) -> None:
    """Review a break-glass use (not one's own)."""
    with gate_tx(ctx, enterprise, account, employee) as c:
        rec = c.gate.review_break_glass(c.caller, record_id=record_id, outcome=outcome)
    out.print(f"break-glass {rec.id}: {rec.review_outcome}")


def _admin(enterprise: str) -> Principal:
    return Principal(org_id=enterprise, org_kind="enterprise", role="enterprise_admin",
                     account_id="operator-cli")


@access_app.command("suspend")
def suspend(ctx: typer.Context, enterprise: EnterpriseOpt,
            reason: Annotated[str, typer.Option(help="Why (no PI).")],
            employee: EmployeeOpt = None,
            api_key: Annotated[str | None, typer.Option(help="API key id.")] = None,
            until: Annotated[str | None, typer.Option(help="RFC 3339 with offset; default: "
                                                      "until lifted.")] = None) -> None:
    """Suspend an employee's or API key's PI access, effective at once."""
    rt: Runtime = ctx.obj
    try:
        end = datetime.fromisoformat(until) if until else None
    except ValueError:
        raise fail("--until must be an RFC 3339 time") from None
    try:
        with rt.db.unit_of_work() as uow:
            s = suspensions.suspend_as(uow.session, _admin(enterprise), reason=reason,
                                       clock=rt.clock, employee_id=employee,
                                       api_key_id=api_key, until=end)
            uow.commit()
    except DomainError as exc:
        raise fail(exc.message) from None
    out.print(f"suspension {s.id} in force")


@access_app.command("lift")
def lift(ctx: typer.Context, suspension_id: str, enterprise: EnterpriseOpt) -> None:
    """Lift a suspension."""
    rt: Runtime = ctx.obj
    try:
        with rt.db.unit_of_work() as uow:
            suspensions.lift_as(uow.session, _admin(enterprise), suspension_id=suspension_id,
                                clock=rt.clock)
            uow.commit()
    except DomainError as exc:
        raise fail(exc.message) from None
    out.print(f"suspension {suspension_id} lifted")
