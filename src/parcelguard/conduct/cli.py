"""``parcelguard conduct ...``: evaluation links, evaluations, the rules round,
decisions and appeals from the machine-local command line (the trusted operator
acts as the enterprise's security officer). Tokens are prompted for without echo.

A police-referral decision goes to the police through the outbox (the channel
reacts to ``ConductReferralRequested`` once the round commits). Exit status: 0 done,
2 the command could not run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from parcelguard.conduct import service
from parcelguard.conduct.settings import ConductSettings
from parcelguard.core.errors import DomainError
from parcelguard.core.runtime import Runtime
from parcelguard.identity.permissions import Principal

out = Console()
err = Console(stderr=True, soft_wrap=True)
EntOpt = Annotated[str, typer.Option("--enterprise", "-e", help="Enterprise id.")]


def _staff(enterprise: str) -> Principal:
    return Principal(enterprise, "enterprise", "security_officer", account_id="cli")


def _dump(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def build_app() -> typer.Typer:
    app = typer.Typer(help="Courier evaluations, rewards and sanctions (docs/conduct.md).",
                      no_args_is_help=True)

    @contextmanager
    def _tx(ctx: typer.Context) -> Iterator[tuple[Runtime, Session]]:
        rt: Runtime = ctx.obj
        try:
            with rt.db.unit_of_work() as uow:
                yield rt, uow.session
                uow.commit()
        except DomainError as exc:
            err.print(f"[red]error:[/red] {exc.message}", highlight=False)
            raise typer.Exit(2) from None

    @app.command()
    def link(ctx: typer.Context, enterprise: EntOpt,
             waybill: Annotated[str, typer.Option(help="The delivered parcel.")]) -> None:
        """Issue the one-time evaluation link (prints the token once)."""
        with _tx(ctx) as (rt, session):
            issued = service.issue_link(session, enterprise_id=enterprise, waybill_no=waybill,
                                        clock=rt.clock,
                                        settings=rt.settings.section(ConductSettings))
        out.print(f"link for the courier {issued.employee_id}, valid until "
                  f"{issued.expires_at:%Y-%m-%d}; token (shown once):")
        print(issued.token)

    @app.command()
    def evaluate(ctx: typer.Context, rating: Annotated[int, typer.Option(min=1, max=5)],
                 tag: Annotated[list[str] | None, typer.Option(help="A tag; repeat.")] = None,
                 ) -> None:
        """Evaluate through a link (the token is prompted for without echo)."""
        token = str(typer.prompt("Token", hide_input=True))
        with _tx(ctx) as (rt, session):
            service.submit_evaluation(session, token=token, rating=rating, tags=tag or [],
                                      clock=rt.clock)
        out.print("evaluation recorded")

    @app.command()
    def window(ctx: typer.Context, employee_id: str, enterprise: EntOpt) -> None:
        """An employee's rolling figures (JSON)."""
        with _tx(ctx) as (rt, session):
            _dump(service.window_of(session, enterprise_id=enterprise, employee_id=employee_id,
                                    now=rt.clock.now(),
                                    settings=rt.settings.section(ConductSettings)).as_dict())

    @app.command()
    def run(ctx: typer.Context, enterprise: EntOpt) -> None:
        """Apply the rules; a police referral is only proposed (see confirm-referral)."""
        with _tx(ctx) as (rt, session):
            rnd = service.apply_rules(session, enterprise_id=enterprise, now=rt.clock.now(),
                                      settings=rt.settings.section(ConductSettings), by="cli",
                                      clock=rt.clock)
        _dump({"decisions": [{"id": d.id, "employee_id": d.employee_id, "kind": d.kind,
                              "status": d.status, "rule": d.rule} for d in rnd.decisions]})

    @app.command("confirm-referral")
    def confirm_referral(ctx: typer.Context, decision_id: str, enterprise: EntOpt) -> None:
        """A person's decision: send a proposed police referral (it must rest on an
        evidence link) to the police."""
        with _tx(ctx) as (rt, session):
            ev = service.confirm_referral(session, _staff(enterprise), decision_id,
                                          clock=rt.clock)
        _dump({"decision_id": decision_id, "evidence_links": ev.figures["evidence_links"]})

    @app.command()
    def decisions(ctx: typer.Context, enterprise: EntOpt,
                  employee: Annotated[str | None, typer.Option()] = None) -> None:
        with _tx(ctx) as (_, session):
            _dump([{"id": d.id, "employee_id": d.employee_id, "kind": d.kind,
                    "status": d.status, "decided_at": d.decided_at}
                   for d in service.list_decisions(session, _staff(enterprise),
                                                   employee_id=employee)])

    @app.command()
    def appeal(ctx: typer.Context, decision_id: str, enterprise: EntOpt,
               grounds: Annotated[str, typer.Option()]) -> None:
        """Appeal a sanction on the employee's behalf."""
        with _tx(ctx) as (rt, session):
            a = service.appeal(session, _staff(enterprise), decision_id, grounds=grounds,
                               clock=rt.clock)
        out.print(f"appeal {a.id} filed")

    @app.command("decide-appeal")
    def decide_appeal(ctx: typer.Context, appeal_id: str, enterprise: EntOpt,
                      outcome: Annotated[str, typer.Option(help="upheld or overturned")],
                      response: Annotated[str, typer.Option()]) -> None:
        with _tx(ctx) as (rt, session):
            a = service.decide_appeal(session, _staff(enterprise), appeal_id, outcome=outcome,
                                      response=response, clock=rt.clock)
        out.print(f"appeal {a.id}: {a.status}")

    return app
