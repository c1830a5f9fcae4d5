"""``parcelguard association ...``: the industry association registers its members,
publishes rulebook versions and reads its members' scorecards (read-only). Acting
as an association account: ``--account USERNAME``. Exit status: 0 done, 1 refused
(not permitted, not a member or not found, already published), 2 bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from parcelguard.audit import association, support
from parcelguard.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from parcelguard.core.runtime import Runtime
from parcelguard.identity import read as identity_read
from parcelguard.identity.permissions import Principal

out = Console()
err = Console(stderr=True, soft_wrap=True)
AccountOpt = Annotated[str, typer.Option("--account", "-a", help="Act as this account.")]

app = typer.Typer(help="The industry association: members, rulebook versions, members' "
                  "scorecards.", no_args_is_help=True)


@contextmanager
def _tx(ctx: typer.Context) -> Iterator[tuple[Runtime, Session]]:
    rt: Runtime = ctx.obj
    try:
        with rt.db.unit_of_work() as uow:
            yield rt, uow.session
            uow.commit()
    except (Conflict, PermissionDenied, NotFound) as exc:
        # a non-member is "not found" to the association: a refusal, not bad input
        err.print(f"refused: {exc.message}", highlight=False, markup=False)
        raise typer.Exit(1) from None
    except DomainError as exc:
        err.print(f"error: {exc.message}", highlight=False, markup=False)
        raise typer.Exit(2) from None


def _as(session: Session, username: str) -> Principal:
    principal = identity_read.active_principal(session, username)
    if principal is None:
        raise DomainError(f"no active account {username!r}")
    return principal


@app.command("join")
def join(ctx: typer.Context, association_id: str, enterprise_id: str) -> None:
    """Register an enterprise as a member of the association (machine-local operator)."""
    with _tx(ctx) as (rt, s):
        association.join(s, association_id=association_id, enterprise_id=enterprise_id,
                         clock=rt.clock)
    out.print(f"{enterprise_id} is a member of {association_id}", highlight=False)


@app.command("publish")
def publish(ctx: typer.Context,
            file: Annotated[Path, typer.Argument(help="The rulebook as JSON (the format of "
                                                 "audit/rulebook/controls-v1.json).")],
            account: AccountOpt) -> None:
    """Publish a version of the uniform rulebook."""
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        err.print(f"error: cannot read {file}: {type(exc).__name__}", highlight=False)
        raise typer.Exit(2) from None
    if not isinstance(doc, dict):
        err.print(f"error: {file} must hold one JSON object", highlight=False)
        raise typer.Exit(2)
    with _tx(ctx) as (rt, s):
        row = association.publish(s, _as(s, account), doc, clock=rt.clock)
        out.print(f"published {row.rulebook_id} v{row.version} ({row.id}, sha256 "
                  f"{row.sha256})", highlight=False)


@app.command("rulebooks")
def rulebooks(ctx: typer.Context) -> None:
    """Every published rulebook version, newest first (public)."""
    with _tx(ctx) as (_, s):
        rows = [{"id": r.id, "association": r.association_id, "rulebook": r.rulebook_id,
                 "version": r.version, "sha256": r.sha256,
                 "published_at": r.published_at.isoformat()}
                for r in association.versions(s)]
    print(json.dumps(rows, ensure_ascii=False, indent=2))


@app.command("scorecards")
def scorecards_(ctx: typer.Context, account: AccountOpt,
                enterprise: Annotated[str | None, typer.Option(
                    "--enterprise", "-e", help="One member only.")] = None) -> None:
    """The members' latest scores and trends (read-only; members only)."""
    with _tx(ctx) as (_, s):
        cards = association.member_scorecards(s, _as(s, account), enterprise)
        rows = [{"enterprise_id": c.enterprise_id, "name": c.name, "score": c.score,
                 "period": c.period, "weakest": c.weakest, "trend": c.trend} for c in cards]
    print(json.dumps(rows, ensure_ascii=False, indent=2))


# -- auditors' data support to the police (seed 4.3): under ``parcelguard audit`` --
support_app = typer.Typer(help="Auditors' data support to police cases (findings and event "
                          "references, no PI), with the police's receipts.",
                          no_args_is_help=True)


@support_app.command("send")
def support_send(ctx: typer.Context, referral_id: str,
                 engagement: Annotated[str, typer.Option(help="Your firm's engagement with "
                                                        "the enterprise.")],
                 account: AccountOpt,
                 finding: Annotated[list[str] | None, typer.Option(
                     help="A finding of the engagement; repeat.")] = None,
                 event: Annotated[list[str] | None, typer.Option(
                     help="A ledger event id of the enterprise; repeat.")] = None) -> None:
    """Hand a police case the audit's findings and event references."""
    with _tx(ctx) as (rt, s):
        row = support.send(s, _as(s, account), referral_id=referral_id,
                           engagement_id=engagement, finding_ids=finding or [],
                           event_ids=event or [], clock=rt.clock)
        out.print(f"data support {row.id} sent to {row.police_org_id} (package "
                  f"{row.package_sha256[:16]})", highlight=False)


@support_app.command("list")
def support_list(ctx: typer.Context, account: AccountOpt) -> None:
    """Data support the caller's police organisation received, or its firm sent."""
    with _tx(ctx) as (_, s):
        rows = [{"id": r.id, "referral_id": r.referral_id, "auditor": r.auditor_org_id,
                 "police": r.police_org_id, "status": r.status, "receipt": r.receipt,
                 "package_sha256": r.package_sha256, "package": r.package}
                for r in support.listing(s, _as(s, account))]
    print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))


@support_app.command("receive")
def support_receive(ctx: typer.Context, support_id: str, account: AccountOpt) -> None:
    """As the police: acknowledge a data support; prints the receipt."""
    with _tx(ctx) as (rt, s):
        row = support.receive(s, _as(s, account), support_id=support_id, clock=rt.clock)
        out.print(f"{row.id} received; receipt {row.receipt}", highlight=False)
