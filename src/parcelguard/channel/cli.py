"""``parcelguard channel ...``: the reporting channel, triangulation, police referrals
and canaries from the machine-local command line.

The local operator is trusted (like ``parcelguard org create``): staff commands act
as the enterprise's security officer, police commands (``referral accept|request|
conclude``) as an investigator of the named police organisation, ``--order`` as the
supervision department. Report texts and secrets are read from stdin or prompted
without echo, never taken as arguments (shell history). Exit status: 0 done, 1 a
refused follow-up or a package that does not verify, 2 the command could not run.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from parcelguard.channel import canary, evidence, intake, referrals, service
from parcelguard.channel.attachments import sniff
from parcelguard.channel.history import rank_leak_sources
from parcelguard.channel.repository import enterprise_or_404
from parcelguard.channel.settings import ChannelSettings
from parcelguard.core.errors import DomainError
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity.permissions import Principal
from parcelguard.ledger.signing import registered_verifier
from parcelguard.vault.service import VaultService
from parcelguard.waybill.telephony import Telephony

out = Console()
err = Console(stderr=True, soft_wrap=True)
EntOpt = Annotated[str, typer.Option("--enterprise", "-e", help="Enterprise id.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _staff(enterprise: str) -> Principal:
    return Principal(enterprise, "enterprise", "security_officer", account_id="cli")


def _police(org: str) -> Principal:
    return Principal(org, "police", "police_investigator", account_id="cli")


def _dump(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", markup=True, highlight=False)
    return typer.Exit(code)


def _read_text(prompt: str) -> str:
    if not sys.stdin.isatty():
        return sys.stdin.read()
    return str(typer.prompt(prompt))


def build_app(*, vault_for: Callable[[Settings], VaultService],
              telephony_for: Callable[[Settings], Telephony]) -> typer.Typer:
    """The sub-app; the CLI passes the plugins' vault and telephony."""
    app = typer.Typer(help="The public reporting channel, leak-source triangulation, police "
                      "referrals and canary parcels (docs/channel.md).", no_args_is_help=True)
    referral_app = typer.Typer(help="Police referrals.", no_args_is_help=True)
    canary_app = typer.Typer(help="Canary parcels.", no_args_is_help=True)
    app.add_typer(referral_app, name="referral")
    app.add_typer(canary_app, name="canary")

    @contextmanager
    def _tx(ctx: typer.Context) -> Iterator[tuple[Runtime, Session, VaultService]]:
        rt: Runtime = ctx.obj
        try:
            with rt.db.unit_of_work() as uow:
                yield rt, uow.session, vault_for(rt.settings)
                uow.commit()
        except DomainError as exc:
            raise _fail(exc.message) from None

    def _deps(rt: Runtime, vault: VaultService) -> referrals.Deps:
        return referrals.Deps(kms=vault.vault.kms, clock=rt.clock,
                              settings=rt.settings.section(ChannelSettings))

    @app.command()
    def report(
        ctx: typer.Context, enterprise: EntOpt,
        kind: Annotated[str, typer.Option(help="pi_leak, scam_call or misconduct.")],
        waybill: Annotated[list[str] | None, typer.Option(help="A waybill number; repeat.")]
        = None,
        name: Annotated[str | None, typer.Option(help="Your name (a named report).")] = None,
        contact: Annotated[bool, typer.Option(help="Prompt for a contact (phone/e-mail).")]
        = False,
        consent: Annotated[bool, typer.Option(help="Let staff see your name and contact.")]
        = False,
        police: Annotated[bool, typer.Option(help="Ask for the case to go to the police.")]
        = False,
        caller: Annotated[bool, typer.Option(help="Prompt for the scam caller's number.")]
        = False,
        attach: Annotated[list[Path] | None, typer.Option(help="Attach a file; repeat.")]
        = None,
    ) -> None:
        """File a report (text from stdin); prints the receipt code and secret once."""
        body = _read_text("What happened")
        files = [(_guess(p), p.read_bytes()) for p in attach or []]
        who = str(typer.prompt("Contact", hide_input=True)) if contact else None
        number = str(typer.prompt("Caller's number", hide_input=True)) if caller else None
        with _tx(ctx) as (rt, session, vault):
            filed = intake.file_report(session, vault, rt.settings.section(ChannelSettings),
                                       enterprise_id=enterprise, source=None, clock=rt.clock,
                                       report=intake.ReportIn(
                kind=kind, body=body, anonymous=name is None, reporter_name=name,
                reporter_contact=who, identity_consent=consent, wants_police=police,
                waybills=waybill or [], scam_caller=number, attachments=files))
        out.print(f"receipt code: [bold]{filed.receipt_code}[/bold]; acknowledgement due "
                  f"{filed.ack_due_at:%Y-%m-%d %H:%M}, answer due "
                  f"{filed.answer_due_at:%Y-%m-%d}; secret (shown once):")
        print(filed.secret)

    @app.command()
    def follow(ctx: typer.Context, enterprise: EntOpt,
               receipt: Annotated[str, typer.Option(help="Your receipt code.")]) -> None:
        """Follow a report: the secret is prompted for without echo."""
        secret = str(typer.prompt("Secret", hide_input=True))
        with _tx(ctx) as (rt, session, vault):
            row = intake.authenticate(session, vault, rt.settings.section(ChannelSettings),
                                      enterprise_id=enterprise, receipt_code=receipt,
                                      secret=secret, source=None, clock=rt.clock)
            view = None if isinstance(row, intake.Refusal) else \
                intake.reporter_view(session, vault, row)
        if view is None:
            assert isinstance(row, intake.Refusal)
            raise _fail(row.message, 1)
        _dump(asdict(view))

    @app.command("list")
    def list_(ctx: typer.Context, enterprise: EntOpt, status: str | None = None,
              overdue: bool = False) -> None:
        """The enterprise's reports (pseudonymous), newest first."""
        with _tx(ctx) as (rt, session, _):
            rows = service.list_reports(session, _staff(enterprise), now=rt.clock.now(),
                                        status=status, overdue_only=overdue)
        _dump([asdict(r) for r in rows])

    @app.command()
    def ack(ctx: typer.Context, report_id: str, enterprise: EntOpt) -> None:
        """Acknowledge a report."""
        with _tx(ctx) as (rt, session, _):
            service.acknowledge(session, _staff(enterprise), report_id, clock=rt.clock)
        out.print(f"{report_id} acknowledged")

    @app.command()
    def answer(ctx: typer.Context, report_id: str, enterprise: EntOpt) -> None:
        """Answer a report (text from stdin)."""
        body = _read_text("Answer")
        with _tx(ctx) as (rt, session, vault):
            service.answer(session, vault, _staff(enterprise), report_id, body=body,
                           clock=rt.clock)
        out.print(f"{report_id} answered")

    @app.command()
    def link(ctx: typer.Context, report_id: str, enterprise: EntOpt,
             target_type: Annotated[str, typer.Option("--type")],
             target_id: Annotated[str, typer.Option("--id")]) -> None:
        """Link a report to a waybill, employee, station, alert or incident."""
        with _tx(ctx) as (rt, session, _):
            service.link(session, _staff(enterprise), report_id, target_type=target_type,
                         target_id=target_id, clock=rt.clock)
        out.print(f"{report_id} linked to {target_type} {target_id}")

    @app.command()
    def stats(ctx: typer.Context, enterprise: Annotated[str | None, typer.Option(
            "--enterprise", "-e", help="One enterprise (default: all).")] = None) -> None:
        """The channel's figures: volumes, timeliness, overdue (JSON)."""
        who = Principal("supervision", "supervisor", "supervisor_analyst", account_id="cli")
        with _tx(ctx) as (rt, session, _):
            _dump(service.stats(session, who, now=rt.clock.now(), enterprise_id=enterprise))

    @app.command()
    def triangulate(
        ctx: typer.Context,
        waybills: Annotated[Path, typer.Option(help="File of waybill numbers, one per line.")],
        enterprise: Annotated[str, typer.Option(help="Enterprise id.")],
        top: Annotated[int | None, typer.Option(help="Only the first N.")] = None,
    ) -> None:
        """Rank employees, stations and partners by how strongly their access history
        explains the leaked waybills compared with chance; prints a JSON list of
        {subject_type, subject_id, score, accessed, expected}."""
        if not waybills.is_file():
            raise _fail(f"no such file: {waybills}")
        wanted = [line.strip() for line in waybills.read_text().splitlines() if line.strip()]
        with _tx(ctx) as (_, session, _v):
            enterprise_or_404(session, enterprise)
            tri = rank_leak_sources(session, enterprise_id=enterprise, waybills=wanted, top=top)
        print(json.dumps([r.as_dict() for r in tri.ranking]))

    @app.command()
    def refer(ctx: typer.Context, report_id: str, enterprise: EntOpt,
              reason: Annotated[str, typer.Option()],
              police: Annotated[str | None, typer.Option(help="Police organisation.")] = None,
              ) -> None:
        """Forward a report's case to the police with an evidence package."""
        with _tx(ctx) as (rt, session, vault):
            ref = referrals.refer_report(session, _staff(enterprise), _deps(rt, vault),
                                         report_id=report_id, reason=reason,
                                         police_org_id=police)
        out.print(f"referral {ref.id} sent to {ref.police_org_id} "
                  f"({ref.package['events_total']} events, package {ref.package_sha256[:16]})")

    @app.command("police-requests")
    def police_requests(ctx: typer.Context, enterprise: EntOpt) -> None:
        """Reports whose reporter asked for the police: the referral due, made (on time
        or not) and the police's receipt."""
        with _tx(ctx) as (rt, session, _v):
            rows = referrals.police_requests(session, _staff(enterprise))
            now = rt.clock.now()
        _dump([r.as_dict(now) for r in rows])

    @referral_app.command("list")
    def referral_list(ctx: typer.Context,
                      police: Annotated[str, typer.Option(help="Police organisation.")]) -> None:
        """Referrals addressed to a police organisation."""
        with _tx(ctx) as (_, session, _v):
            rows = referrals.list_referrals(session, _police(police))
        _dump([{"id": r.id, "enterprise_id": r.enterprise_id, "status": r.status,
                "source": f"{r.source_type}:{r.source_id}", "created_at": r.created_at}
               for r in rows])

    @referral_app.command("accept")
    def referral_accept(ctx: typer.Context, referral_id: str,
                        police: Annotated[str, typer.Option()]) -> None:
        with _tx(ctx) as (rt, session, _):
            ref = referrals.accept(session, _police(police), referral_id, clock=rt.clock)
        out.print(f"{referral_id} accepted; receipt {ref.receipt}")

    @referral_app.command("request")
    def referral_request(ctx: typer.Context, referral_id: str,
                         police: Annotated[str, typer.Option()],
                         scope: Annotated[str, typer.Option(help="JSON scope.")],
                         justification: Annotated[str, typer.Option()]) -> None:
        """Ask for more data (scoped)."""
        with _tx(ctx) as (rt, session, _):
            req = referrals.request_data(session, _police(police), referral_id,
                                         scope=json.loads(scope), justification=justification,
                                         clock=rt.clock)
        out.print(f"data request {req.id} pending")

    @referral_app.command("decide")
    def referral_decide(ctx: typer.Context, request_id: str,
                        decision: Annotated[str, typer.Option(help="approved or refused "
                                                              "(enterprise), ordered "
                                                              "(supervisor).")],
                        enterprise: Annotated[str | None, typer.Option("--enterprise", "-e")]
                        = None) -> None:
        """Decide a data request: the enterprise approves or refuses, the supervision
        department orders."""
        who = (Principal("supervision", "supervisor", "supervisor_admin", account_id="cli")
               if decision == "ordered" else
               Principal(enterprise or "", "enterprise", "enterprise_admin", account_id="cli"))
        with _tx(ctx) as (rt, session, vault):
            req = referrals.decide_data_request(session, who, _deps(rt, vault), request_id,
                                                decision=decision)
        out.print(f"data request {req.id}: {req.status}")

    @referral_app.command("conclude")
    def referral_conclude(ctx: typer.Context, referral_id: str,
                          police: Annotated[str, typer.Option()],
                          outcome: Annotated[str, typer.Option()]) -> None:
        """Conclude; the reporter is told the outcome."""
        with _tx(ctx) as (rt, session, vault):
            referrals.conclude(session, vault, _police(police), referral_id, outcome=outcome,
                               clock=rt.clock)
        out.print(f"{referral_id} concluded: {outcome}")

    @referral_app.command("evidence")
    def referral_evidence(ctx: typer.Context, referral_id: str,
                          police: Annotated[str, typer.Option()],
                          out_file: Annotated[Path, typer.Option("--out")]) -> None:
        """Write the evidence package to a file."""
        with _tx(ctx) as (_, session, _v):
            pkg = referrals.package_of(session, _police(police), referral_id)
        out_file.write_text(json.dumps(pkg, ensure_ascii=False, indent=1))
        out.print(f"package written to {out_file} ({pkg['events_total']} events)")

    @referral_app.command("verify")
    def referral_verify(ctx: typer.Context, package: Path,
                        key: Annotated[str | None, typer.Option(help="Note verifier key.")]
                        = None) -> None:
        """Verify a package file against the enterprise's verifier key (default: the
        one registered in this database, never the one inside the package)."""
        pkg = json.loads(package.read_text())
        if key is None:
            with _tx(ctx) as (_, session, _v):
                row = registered_verifier(session, str(pkg.get("enterprise_id")))
                if row is None:
                    raise _fail("the enterprise has no registered checkpoint key")
                key = row.verifier_key
        result = evidence.verify(pkg, key)
        _dump(result.as_dict())
        if not result.ok:
            raise typer.Exit(1)

    @canary_app.command("seed")
    def canary_seed(ctx: typer.Context, enterprise: EntOpt,
                    count: Annotated[int, typer.Option(min=1, max=100)] = 1) -> None:
        """Seed canary parcels (their waybills are printed; keep them confidential)."""
        with _tx(ctx) as (rt, session, vault):
            rows = canary.seed(session, vault, telephony_for(rt.settings),
                               enterprise_id=enterprise, count=count, by="cli", clock=rt.clock)
        for r in rows:
            print(r.waybill_no)

    @canary_app.command("scan")
    def canary_scan(ctx: typer.Context, enterprise: EntOpt) -> None:
        """Look for any use of the enterprise's canaries; each hit raises a critical
        alert (and so an incident) once the scan commits."""
        with _tx(ctx) as (_, session, _v):
            touched = canary.scan(session, enterprise_id=enterprise)
        _dump({"hits": [{"waybill_no": t.waybill_no, "kind": t.kind, "actor_id": t.actor_id,
                         "exposed_to": list(t.exposed_to)} for t in touched]})

    @canary_app.command("call")
    def canary_call(ctx: typer.Context, number: str,
                    at: Annotated[str | None, typer.Option(help="RFC 3339 time with an "
                                                           "offset (default: now).")] = None,
                    ) -> None:
        """Record a call to a number (as the telephony provider reports it)."""
        when = datetime.fromisoformat(at) if at else None
        if when is not None and when.tzinfo is None:
            raise _fail("--at needs an offset, e.g. 2026-11-11T08:30:00+08:00")
        with _tx(ctx) as (rt, session, _):
            hit = canary.call(session, number=number, at=when or rt.clock.now())
        out.print("canary hit: critical alert raised" if hit else "not a canary number")

    return app


def _guess(path: Path) -> str:
    return sniff(path.read_bytes()) or "application/octet-stream"
