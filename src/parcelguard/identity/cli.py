"""``parcelguard org``, ``account`` and ``apikey``: organisations, staff accounts and
machine clients' API keys (operator commands)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.core.errors import DomainError
from parcelguard.core.runtime import Runtime
from parcelguard.identity import service as identity
from parcelguard.identity.models import Organization
from parcelguard.identity.permissions import system_principal

account_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys for machine clients (shown once).", no_args_is_help=True)
console = Console()
err = Console(stderr=True, soft_wrap=True)


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


@account_app.command("create")
def account_create(
    ctx: typer.Context,
    username: str,
    org: Annotated[str, typer.Option(help="Organisation id.")],
    role: Annotated[str, typer.Option(help="Role (see docs/identity.md).")],
) -> None:
    """Create an account; its generated password is printed once."""
    rt: Runtime = ctx.obj
    try:
        with rt.db.unit_of_work() as uow:
            _, password = identity.create_account(uow.session, org_id=org, username=username,
                                                  role=role, clock=rt.clock)
            uow.commit()
    except DomainError as exc:
        raise _fail(exc.message) from None
    console.print(f"account [bold]{username}[/bold] created; password (shown once):")
    print(password)


@apikey_app.command("issue")
def apikey_issue(
    ctx: typer.Context,
    org: Annotated[str, typer.Option(help="Organisation the key acts for.")],
    name: Annotated[str, typer.Option(help="What the key is for.")],
    role: Annotated[str, typer.Option(help="Role of the key.")] = "ingest_client",
) -> None:
    """Issue an API key (operator command); the key is printed once."""
    rt: Runtime = ctx.obj
    try:
        with rt.db.unit_of_work() as uow:
            identity.initialise(uow.session, clock=rt.clock)
            issued = identity.issue_api_key(uow.session, system_principal(
                identity.SUPERVISOR_ORG_ID), name=name, role=role, clock=rt.clock, org_id=org)
            uow.commit()
    except DomainError as exc:
        raise _fail(exc.message) from None
    console.print(f"API key {issued.id} (shown once):")
    print(issued.secret)


def build_org_app(log_sizes: Callable[[Session], dict[str, int]]) -> typer.Typer:
    """``org``; ``log_sizes`` gives each enterprise's event count for ``org list`` (the
    ledger's, passed in by the composition root: identity sits below the ledger)."""
    org_app = typer.Typer(help="Organisations: enterprises, supervision, police, auditors.",
                          no_args_is_help=True)

    @org_app.command("create")
    def org_create(
        ctx: typer.Context,
        org_id: Annotated[str, typer.Argument(help="Stable id (enterprise_id in event streams).")],
        kind: Annotated[str, typer.Option(
            help="enterprise, supervisor, police, auditor, cac or association")],
        name: Annotated[str, typer.Option(help="Display name.")],
        region: Annotated[str | None, typer.Option(help="6-digit region code.")] = None,
        cii: Annotated[bool, typer.Option(help="Critical information infrastructure operator.")]
        = False,
    ) -> None:
        """Register an organisation."""
        rt: Runtime = ctx.obj
        try:
            with rt.db.unit_of_work() as uow:
                identity.create_organization(uow.session, org_id=org_id, kind=kind, name=name,
                                             clock=rt.clock, region_code=region, is_cii=cii)
                uow.commit()
        except DomainError as exc:
            raise _fail(exc.message) from None
        console.print(f"created {kind} [bold]{org_id}[/bold]")


    @org_app.command("list")
    def org_list(ctx: typer.Context) -> None:
        """List organisations and the size of each enterprise's event log."""
        rt: Runtime = ctx.obj
        with rt.db.unit_of_work() as uow:
            orgs = list(uow.session.scalars(select(Organization).order_by(Organization.kind,
                                                                          Organization.id)))
            sizes = log_sizes(uow.session)
        table = Table("id", "kind", "name", "events")
        for o in orgs:
            table.add_row(o.id, o.kind, o.name, str(sizes.get(o.id, "")))
        console.print(table)

    return org_app
