"""``parcelguard audit``: the rulebook, engagements, scorecards and transparency
reports from the operator's machine.

The operator acts as the supervision department (opening, ranking, publishing) or,
for fieldwork, as the engagement's lead auditor: the CLI is machine-local and
trusted, like ``system_principal``. The KMS that wraps auditor firms' signing keys is
passed in by its plugin (``build_app(kms_for=...)``), never imported here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from parcelguard.audit import engagements, fieldwork, reports, scorecards, transparency
from parcelguard.audit.controls import load_rulebook
from parcelguard.audit.model import parse_period
from parcelguard.audit.models import AuditEngagement
from parcelguard.audit.rulebook import Rulebook
from parcelguard.audit.settings import AuditSettings
from parcelguard.core.errors import DomainError, NotFound
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity import service as identity
from parcelguard.identity.permissions import Principal, system_principal
from parcelguard.ledger.signing import KeyWrapper

console = Console()
err = Console(stderr=True, soft_wrap=True)

Opt = typer.Option


def auditor_principal(eng: AuditEngagement) -> Principal:
    """The engagement's lead auditor, as the operator acts for them."""
    return Principal(org_id=eng.auditor_org_id, org_kind="auditor", role="auditor",
                     account_id=eng.lead_auditor_id)


def _supervisor() -> Principal:
    return system_principal(identity.SUPERVISOR_ORG_ID)


def _fail(exc: DomainError | ValueError) -> typer.Exit:
    err.print(f"[red]error:[/red] {getattr(exc, 'message', exc)}")
    return typer.Exit(2)


def _results_table(rows: list[Any], title: str) -> Table:
    table = Table("control", "status", "score", "weight", "summary", title=title)
    colour = {"pass": "green", "partial": "yellow", "fail": "red", "not_evaluable": "dim"}
    for r in rows:
        table.add_row(r.control_id, f"[{colour.get(r.status, '')}]{r.status}[/]",
                      "-" if r.score is None else f"{r.score:.2f}", f"{r.weight:g}", r.summary)
    return table


def build_app(*, kms_for: Callable[[Settings], KeyWrapper]) -> typer.Typer:
    app = typer.Typer(help="Third-party audits: rulebook, engagements, scorecards, "
                      "transparency reports.", no_args_is_help=True)

    def rulebook_of(rt: Runtime) -> Rulebook:
        return load_rulebook(rt.settings.section(AuditSettings).rulebook_path)

    @app.command("rulebook")
    def show_rulebook(ctx: typer.Context) -> None:
        """The controls in force: id, title, legal basis, how checked, weight."""
        rb = rulebook_of(ctx.obj)
        table = Table("id", "title", "check", "weight", "legal basis",
                      title=f"{rb.title_en} v{rb.version}")
        for c in rb.controls:
            table.add_row(c.id, f"{c.title_zh}\n{c.title_en}", c.check, f"{c.weight:g}",
                          "; ".join(c.legal_basis))
        console.print(table)

    @app.command()
    def engage(
        ctx: typer.Context,
        enterprise: Annotated[str, typer.Argument(help="The audited enterprise.")],
        auditor: Annotated[str, Opt(help="Auditor organisation (firm).")],
        lead: Annotated[str, Opt(help="Lead auditor: username or account id.")],
        period: Annotated[str, Opt(help="2026-11, 2026-Q4, 2026 or 2026-11-09..2026-11-12.")],
        kind: Annotated[str, Opt(help="periodic or ordered.")] = "periodic",
        reason: Annotated[str, Opt(help="Why it is ordered.")] = "",
        scope: Annotated[str | None, Opt(help="Comma-separated control ids (default all).")]
        = None,
    ) -> None:
        """Open an engagement as the supervision department (refused when the firm or
        lead did the enterprise's last three audits)."""
        rt: Runtime = ctx.obj
        try:
            with rt.db.unit_of_work() as uow:
                eng = engagements.create(
                    uow.session, _supervisor(), enterprise_id=enterprise, auditor_org_id=auditor,
                    lead_auditor=lead, kind=kind, period=parse_period(period),
                    rulebook=rulebook_of(rt), reason=reason, clock=rt.clock,
                    scope=[s.strip() for s in scope.split(",")] if scope else None)
                uow.commit()
        except DomainError as exc:
            raise _fail(exc) from None
        console.print(f"engagement [bold]{eng.id}[/bold]: {auditor} audits {enterprise} "
                      f"over {period} ({len(eng.scope)} controls)")

    @app.command("engagements")
    def list_engagements(
        ctx: typer.Context,
        enterprise: Annotated[str | None, Opt(help="Only this enterprise's.")] = None,
        as_json: Annotated[bool, Opt("--json", help="As JSON.")] = False,
    ) -> None:
        """The engagements this store holds, newest first: opened here, or granted to
        this node by the supervision department's (node/effects.py)."""
        rt: Runtime = ctx.obj
        with rt.db.unit_of_work() as uow:
            rows: list[dict[str, Any]] = [{"id": e.id, "enterprise_id": e.enterprise_id,
                     "auditor_org_id": e.auditor_org_id, "kind": e.kind,
                     "status": e.status, "period_start": e.period_start.isoformat(),
                     "period_end": e.period_end.isoformat(), "score": e.score}
                    for e in engagements.list_for(uow.session, _supervisor(),
                                                  enterprise_id=enterprise)]
        if as_json:
            print(json.dumps(rows, ensure_ascii=False))
            return
        table = Table("id", "enterprise", "auditor", "kind", "status", "period", "score")
        for r in rows:
            table.add_row(r["id"], r["enterprise_id"], r["auditor_org_id"], r["kind"],
                          r["status"], f"{r['period_start'][:10]}..{r['period_end'][:10]}",
                          "-" if r["score"] is None else str(r["score"]))
        console.print(table)

    @app.command()
    def run(
        ctx: typer.Context,
        engagement: Annotated[str, typer.Argument(help="Engagement id.")],
        findings: Annotated[bool, Opt(help="Raise a finding for every failed control.")]
        = True,
        sign: Annotated[bool, Opt(help="Sign and deliver the report afterwards.")] = False,
    ) -> None:
        """As the lead auditor: start fieldwork if needed, evaluate every control in
        scope, raise findings, and optionally sign and deliver the report."""
        rt: Runtime = ctx.obj
        rb, settings = rulebook_of(rt), rt.settings.section(AuditSettings)
        try:
            with rt.db.unit_of_work() as uow:
                s = uow.session
                eng = engagements.get(s, _supervisor(), engagement)
                who = auditor_principal(eng)
                if eng.status == "planned":
                    engagements.start(s, who, engagement, clock=rt.clock, settings=settings)
                fieldwork.evaluate(s, who, engagement, rulebook=rb, clock=rt.clock)
                if findings:
                    fieldwork.raise_for_failures(s, who, engagement, rulebook=rb,
                                                 clock=rt.clock, settings=settings)
                rows = fieldwork.results(s, who, engagement)
                if sign:
                    reports.issue(s, who, engagement, rulebook=rb,
                                  kms=kms_for(rt.settings), clock=rt.clock)
                uow.commit()
        except DomainError as exc:
            raise _fail(exc) from None
        console.print(_results_table(rows, f"{eng.enterprise_id}: {eng.score} / 100 "
                                     f"(coverage {eng.coverage or 0:.0%})"))
        if sign:
            console.print(f"report signed by {eng.auditor_org_id} and delivered to "
                          f"{eng.enterprise_id} and the supervision department")

    @app.command()
    def attest(
        ctx: typer.Context,
        engagement: Annotated[str, typer.Argument(help="Engagement id.")],
        control: Annotated[str, Opt(help="An attestation control, e.g. pi-officer.")],
        ref: Annotated[str, Opt(help="Reference of the document seen (no PI).")],
        sha256: Annotated[str, Opt(help="SHA-256 of the document seen.")],
        refuted: Annotated[bool, Opt(help="The evidence shows the control is NOT met.")]
        = False,
    ) -> None:
        """Record a manual attestation for the engagement (then `audit run` again)."""
        rt: Runtime = ctx.obj
        try:
            with rt.db.unit_of_work() as uow:
                eng = engagements.get(uow.session, _supervisor(), engagement)
                fieldwork.attest(uow.session, auditor_principal(eng), engagement,
                                 control_id=control, confirmed=not refuted, evidence_ref=ref,
                                 evidence_sha256=sha256, rulebook=rulebook_of(rt),
                                 clock=rt.clock)
                uow.commit()
        except DomainError as exc:
            raise _fail(exc) from None
        console.print(f"{control}: {'refuted' if refuted else 'confirmed'} ({ref})")

    @app.command()
    def sample(
        ctx: typer.Context,
        engagement: Annotated[str, typer.Argument(help="Engagement id.")],
        size: Annotated[int | None, Opt(help="Events to draw.")] = None,
        kind: Annotated[str | None, Opt(help="access, parcel or employee.")] = None,
        out: Annotated[Path | None, Opt(help="Write the sample (leaves + proofs) as JSON.")]
        = None,
    ) -> None:
        """Draw random events of the period with inclusion proofs and verify them
        against the enterprise's signed checkpoint."""
        from parcelguard.ledger.signing import registered_verifier

        rt: Runtime = ctx.obj
        try:
            with rt.db.unit_of_work() as uow:
                eng = engagements.get(uow.session, _supervisor(), engagement)
                audit = rt.settings.section(AuditSettings)
                drawn = fieldwork.sample(uow.session, auditor_principal(eng), engagement,
                                         size=size or audit.sample_size, kind=kind,
                                         clock=rt.clock, settings=audit)
                key = registered_verifier(uow.session, eng.enterprise_id)
                uow.commit()
        except DomainError as exc:
            raise _fail(exc) from None
        ok = fieldwork.verify_sample(drawn, key.verifier_key) if key else 0
        if out:
            out.write_text(json.dumps(drawn.__dict__, indent=1))
        console.print(f"{len(drawn.events)} events drawn at tree size {drawn.tree_size}; "
                      f"{ok} inclusion proofs verify against the signed checkpoint")

    @app.command()
    def report(
        ctx: typer.Context,
        engagement: Annotated[str, typer.Argument(help="Engagement id.")],
        out: Annotated[Path | None, Opt(help="Write the report body (JSON).")] = None,
    ) -> None:
        """Show a delivered report's signature check and signed note."""
        rt: Runtime = ctx.obj
        try:
            with rt.db.unit_of_work() as uow:
                rep = reports.get(uow.session, _supervisor(), engagement)
                ok = reports.verify(uow.session, rep)
        except DomainError as exc:
            raise _fail(exc) from None
        if out:
            out.write_bytes(rep.body)
        console.print(f"signature {'[green]valid[/green]' if ok else '[red]INVALID[/red]'}")
        print(rep.note, end="")

    @app.command()
    def scorecard(ctx: typer.Context,
                  enterprise: Annotated[str, typer.Argument(help="Enterprise id.")]) -> None:
        """An enterprise's latest score, breakdown, weakest controls and trend."""
        rt: Runtime = ctx.obj
        try:
            with rt.db.unit_of_work() as uow:
                card = scorecards.scorecard(uow.session, _supervisor(), enterprise)
        except DomainError as exc:
            raise _fail(exc) from None
        console.print(f"{card.name} ({enterprise}): score {card.score} "
                      f"(period {card.period}, change {card.change})")
        for c in card.controls:
            console.print(f"  {c['control_id']:<20} {c['status']:<14} {c['summary']}")
        console.print(f"weakest: {', '.join(card.weakest) or '-'}")
        console.print("trend: " + ", ".join(f"{t['period']} {t['score']}" for t in card.trend))

    @app.command()
    def ranking(ctx: typer.Context) -> None:
        """Every enterprise ranked by its latest audited score."""
        rt: Runtime = ctx.obj
        with rt.db.unit_of_work() as uow:
            cards = scorecards.ranking(uow.session, _supervisor())
        table = Table("#", "enterprise", "score", "coverage", "period", "weakest")
        for i, c in enumerate(cards, 1):
            table.add_row(str(i), f"{c.enterprise_id} {c.name}", str(c.score or "-"),
                          f"{c.coverage:.0%}" if c.coverage is not None else "-",
                          c.period or "-", ", ".join(c.weakest))
        console.print(table)

    @app.command()
    def publish(
        ctx: typer.Context,
        enterprise: Annotated[str, typer.Argument(help="Enterprise id.")],
        period: Annotated[str, Opt(help="Whole months: 2026-11, 2026-Q4, 2026-H2, 2026.")],
        epsilon: Annotated[float | None, Opt(help="Epsilon to spend (default: setting).")]
        = None,
        out: Annotated[Path | None, Opt(help="Write the HTML page here.")] = None,
    ) -> None:
        """Publish a differentially private transparency report (refused beyond the
        months' privacy budget)."""
        rt: Runtime = ctx.obj
        try:
            with rt.db.unit_of_work() as uow:
                rel = transparency.publish(uow.session, _supervisor(), enterprise,
                                           parse_period(period),
                                           settings=rt.settings.section(AuditSettings),
                                           clock=rt.clock, epsilon=epsilon)
                uow.commit()
        except (DomainError, NotFound) as exc:
            raise _fail(exc) from None
        if out:
            out.write_text(rel.html, encoding="utf-8")
        left = min(b["remaining"] for b in rel.figures["privacy"]["budget"])
        console.print(f"published {enterprise} {rel.period}: epsilon {rel.epsilon:g} spent, "
                      f"{left:g} left" + (f"; page at {out}" if out else ""))

    @app.command()
    def budget(
        ctx: typer.Context,
        enterprise: Annotated[str, typer.Argument(help="Enterprise id.")],
        period: Annotated[str, Opt(help="Whole months: 2026-11, 2026-Q4, 2026.")],
    ) -> None:
        """Each month's privacy budget: total, spent, remaining."""
        rt: Runtime = ctx.obj
        try:
            with rt.db.unit_of_work() as uow:
                rows = transparency.budget(uow.session, _supervisor(), enterprise,
                                           parse_period(period),
                                           settings=rt.settings.section(AuditSettings),
                                           clock=rt.clock)
                uow.commit()
        except DomainError as exc:
            raise _fail(exc) from None
        for b in rows:
            console.print(f"{b['month']}: {b['spent']:g} of {b['total']:g} spent, "
                          f"{b['remaining']:g} left")

    return app
