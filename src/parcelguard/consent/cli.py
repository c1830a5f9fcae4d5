"""``parcelguard consent ...`` and ``parcelguard subjects ...``: operator commands
for notices, consents and data-subject requests. The ``subjects`` commands that
fulfil a request (export, correct, erase, resume) touch PI and come from
``access/subjects/cli.py``; access/plugin.py adds them (``build_subjects_app``).

Every command runs in one transaction and commits only when it succeeded: bad
input prints a clear error, exits with status 2 and changes nothing. PI values are
never put on the command line (shell history): a corrected value is prompted for
without echo, and an export goes to a new file readable only by its owner.
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

from parcelguard.consent import service, subject_requests
from parcelguard.consent.notice import (
    LOCALES,
    NoticeParams,
    parse_partners,
    render_html,
    render_text,
)
from parcelguard.core.errors import DomainError
from parcelguard.core.runtime import Runtime
from parcelguard.identity import read as identity_read
from parcelguard.identity.permissions import Principal

consent_app = typer.Typer(help="Privacy notices and consent records (PIPL Arts. 13-17, 23, "
                          "29).", no_args_is_help=True)
notice_app = typer.Typer(help="The enterprise's privacy notice.", no_args_is_help=True)
consent_app.add_typer(notice_app, name="notice")

out = Console()
err = Console(stderr=True, soft_wrap=True)

EnterpriseOpt = Annotated[str, typer.Option("--enterprise", "-e", help="Enterprise id.")]
SubjectOpt = Annotated[str, typer.Option("--subject", "-s", help="Pseudonymous subject id.")]
ChannelOpt = Annotated[str, typer.Option(help="How the person gave it: app, web, pda, "
                                         "counter, phone, sms or api.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


class _Failed(Exception):
    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.message, self.code = message, code


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", markup=True, highlight=False)
    return typer.Exit(code)


@contextmanager
def as_operator(ctx: typer.Context, enterprise: str) -> Iterator[tuple[Runtime, Session,
                                                                         Principal]]:
    """A transaction acting as the enterprise's administrator (the machine-local
    operator); commits only if the body succeeds."""
    rt: Runtime = ctx.obj
    try:
        with rt.db.unit_of_work() as uow:
            org = identity_read.org(uow.session, enterprise)
            if org is None or org.kind != "enterprise":
                raise _Failed(f"no enterprise {enterprise!r}; register it with "
                              "`parcelguard org create`")
            yield rt, uow.session, Principal(org_id=enterprise, org_kind="enterprise",
                                             role="enterprise_admin")
            uow.commit()
    except DomainError as exc:
        raise _fail(exc.message) from None
    except _Failed as exc:
        raise _fail(exc.message, exc.code) from None


# -- consent notice ----------------------------------------------------------------


@notice_app.command("publish")
def notice_publish(
    ctx: typer.Context, enterprise: EnterpriseOpt,
    processor_name: Annotated[str, typer.Option(help="The enterprise's legal name.")],
    processor_contact: Annotated[str, typer.Option(help="PI protection officer contact.")],
    partners: Annotated[Path | None, typer.Option(
        help="JSON list of recipients: {id, name, contact, purpose: {zh-CN, en}, "
        "data_types}.")] = None,
    template: Annotated[str, typer.Option(help="Notice template.")] = "default",
) -> None:
    """Publish the privacy notice; a new version only if the content changed."""
    raw: Any = None
    if partners is not None:
        try:
            raw = json.loads(partners.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise _fail(f"cannot read {partners}: {type(exc).__name__}") from None
        except json.JSONDecodeError as exc:
            raise _fail(f"{partners} is not valid JSON (line {exc.lineno})") from None
    with as_operator(ctx, enterprise) as (rt, session, principal):
        params = NoticeParams(processor_name=processor_name,
                              processor_contact=processor_contact,
                              partners=parse_partners(raw), template=template)
        published = service.publish_notice(session, principal, params=params, clock=rt.clock)
    v = published.version
    state = "published" if published.created else "unchanged; latest stays"
    out.print(f"notice version [bold]{v.version}[/bold] {state} (sha256 {v.content_hash})")


@notice_app.command("show")
def notice_show(
    ctx: typer.Context, enterprise: EnterpriseOpt,
    version: Annotated[int | None, typer.Option(help="Version (default latest).")] = None,
    locale: Annotated[str, typer.Option(help="zh-CN or en.")] = "zh-CN",
    fmt: Annotated[str, typer.Option("--format", help="text, html or json.")] = "text",
) -> None:
    """Print a notice version with its key clauses emphasised."""
    if locale not in LOCALES:
        raise _fail(f"locale must be one of {', '.join(LOCALES)}")
    if fmt not in ("text", "html", "json"):
        raise _fail("format must be text, html or json")
    with as_operator(ctx, enterprise) as (_, session, principal):
        v = service.notice_version(session, principal, version=version)
        content, number, digest = v.content, v.version, v.content_hash
    if fmt == "json":
        print(json.dumps({"version": number, "content_hash": digest, "content": content},
                         ensure_ascii=False, indent=2))
    else:
        # Plain print: notice text must not be read as Rich markup.
        print(render_text(content, locale) if fmt == "text" else render_html(content, locale),
              end="")


# -- consent records -----------------------------------------------------------------


@consent_app.command("acknowledge")
def consent_acknowledge(ctx: typer.Context, enterprise: EnterpriseOpt, subject: SubjectOpt,
                        channel: ChannelOpt = "counter") -> None:
    """Record that the person was shown the notice in force (basis for delivery)."""
    with as_operator(ctx, enterprise) as (rt, session, principal):
        service.acknowledge_notice(session, principal, subject_id=subject, channel=channel,
                                   clock=rt.clock)
    out.print(f"acknowledgement recorded for {subject}")


@consent_app.command("grant")
def consent_grant(
    ctx: typer.Context, enterprise: EnterpriseOpt, subject: SubjectOpt,
    purpose: Annotated[str, typer.Option(help="location_tracking, marketing or "
                                         "partner_sharing:<partner_id>.")],
    channel: ChannelOpt = "counter",
) -> None:
    """Record consent to one purpose under the notice in force."""
    with as_operator(ctx, enterprise) as (rt, session, principal):
        service.grant_consent(session, principal, subject_id=subject, purpose=purpose,
                              channel=channel, clock=rt.clock)
    out.print(f"consent to {purpose} recorded for {subject}")


@consent_app.command("withdraw")
def consent_withdraw(
    ctx: typer.Context, enterprise: EnterpriseOpt, subject: SubjectOpt,
    purpose: Annotated[str, typer.Option(help="The purpose consented to.")],
    channel: ChannelOpt = "counter",
) -> None:
    """Withdraw a consent; effective immediately."""
    with as_operator(ctx, enterprise) as (rt, session, principal):
        service.withdraw_consent(session, principal, subject_id=subject, purpose=purpose,
                                 channel=channel, clock=rt.clock)
    out.print(f"consent to {purpose} withdrawn for {subject}")


@consent_app.command("status")
def consent_status(ctx: typer.Context, enterprise: EnterpriseOpt, subject: SubjectOpt,
                   as_json: JsonOpt = False) -> None:
    """Each purpose with whether it is allowed now, and why."""
    with as_operator(ctx, enterprise) as (rt, session, principal):
        st = service.consent_status(session, principal, subject_id=subject, clock=rt.clock)
    if as_json:
        print(json.dumps({"subject_id": st.subject_id, "at": st.at.isoformat(),
                          "notice_version": st.notice_version,
                          "purposes": [vars(p) for p in st.purposes],
                          "history": [{**h, "at": h["at"].isoformat()} for h in st.history]}))
        return
    out.print(f"notice version in force: {st.notice_version or 'none'}")
    table = Table("purpose", "basis", "allowed", "reason")
    for p in st.purposes:
        table.add_row(p.purpose, p.basis, "yes" if p.allowed else "no", p.reason)
    out.print(table)


# -- subjects ------------------------------------------------------------------------


def subjects_requests(
    ctx: typer.Context, enterprise: EnterpriseOpt,
    subject: Annotated[str | None, typer.Option("--subject", "-s",
                                                help="Only this person.")] = None,
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    overdue: Annotated[bool, typer.Option(help="Only unanswered past deadline.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List data-subject requests with their deadlines and status."""
    with as_operator(ctx, enterprise) as (rt, session, principal):
        rows = subject_requests.list_requests(session, principal, clock=rt.clock,
                                              subject_id=subject, status=status,
                                              overdue=overdue)
        now = rt.clock.now()
        items: list[dict[str, Any]] = [
            {"id": r.id, "subject_id": r.subject_id, "kind": r.kind, "status": r.status,
             "received_at": r.received_at.isoformat(),
             "deadline_at": r.deadline_at.isoformat(),
             "overdue": subject_requests.lifecycle_of(r).overdue(now),
             "note": r.result_note} for r in rows]
    if as_json:
        print(json.dumps(items, ensure_ascii=False))
        return
    table = Table("id", "subject", "kind", "status", "deadline (UTC)", "overdue", "note")
    for i in items:
        table.add_row(i["id"], i["subject_id"], i["kind"], i["status"],
                      i["deadline_at"][:16], "YES" if i["overdue"] else "", i["note"])
    out.print(table)


def build_subjects_app(*, extra_commands: Mapping[str, Callable[..., None]] | None = None
                       ) -> typer.Typer:
    """The ``subjects`` sub-app: listing requests, plus the fulfilment commands the
    plugin passes in."""
    app = typer.Typer(help="Data-subject requests: export, correct, erase (PIPL Arts. "
                      "45-47).", no_args_is_help=True)
    for name, command in {**(extra_commands or {}), "requests": subjects_requests}.items():
        app.command(name)(command)
    return app
