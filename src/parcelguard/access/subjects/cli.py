"""``parcelguard subjects export|correct|erase|resume``: fulfilling data-subject
requests from the machine-local command line (operator, acting as the enterprise's
administrator). Registered under the ``subjects`` sub-app of ``consent/cli.py`` by
access/plugin.py, next to ``subjects requests``.

PI values are never put on the command line (shell history): a corrected value is
prompted for without echo. A copy of the person's PI is never produced here: the
person collects it on the consumer portal. Bad input prints a clear error, exits with
status 2 and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from parcelguard.access.subjects import requests as subject_requests
from parcelguard.consent.cli import ChannelOpt, EnterpriseOpt, SubjectOpt, as_operator, err, out
from parcelguard.consent.dsr import DsrKind, DsrStatus
from parcelguard.core.runtime import Runtime
from parcelguard.identity.permissions import Principal
from parcelguard.vault.provider import vault_service
from parcelguard.vault.service import VaultService


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", markup=True, highlight=False)
    return typer.Exit(code)


def _vault(ctx: typer.Context) -> VaultService:
    rt: Runtime = ctx.obj
    return vault_service(rt.settings)


def _open_or_reuse(session: Session, principal: Principal, subject: str, kind: DsrKind,
                   channel: str, rt: Runtime) -> str:
    return subject_requests.open_or_reuse(session, principal, subject_id=subject, kind=kind,
                                          channel=channel, clock=rt.clock)


def subjects_erase(ctx: typer.Context, enterprise: EnterpriseOpt, subject: SubjectOpt,
                   channel: ChannelOpt = "counter") -> None:
    """Erase a person's PI by destroying their keys (crypto-shred).

    Deferred, with the reason, while a retention rule applies (exit status 1);
    re-run later or use `subjects resume`."""
    with as_operator(ctx, enterprise) as (rt, session, principal):
        rid = _open_or_reuse(session, principal, subject, DsrKind.DELETION, channel, rt)
        row = subject_requests.fulfil_deletion(session, principal, _vault(ctx),
                                               request_id=rid, clock=rt.clock)
        status, note, rid = row.status, row.result_note, row.id
    if status == DsrStatus.DEFERRED.value:
        err.print(f"deferred ({rid}): {note}", markup=False, highlight=False)
        raise typer.Exit(1)
    out.print(f"erased ({rid}): {note}", markup=False, highlight=False)


def subjects_export(ctx: typer.Context, enterprise: EnterpriseOpt, subject: SubjectOpt,
                    channel: ChannelOpt = "counter") -> None:
    """Register an access (copy) request; the person collects the copy themselves.

    The copy is shown to the person on the consumer portal (My PI rights) after they
    confirm with a code sent to their phone; it is never written out or shown here."""
    with as_operator(ctx, enterprise) as (rt, session, principal):
        rid = _open_or_reuse(session, principal, subject, DsrKind.ACCESS, channel, rt)
    out.print(f"access request {rid} is open. The person sees their copy on the consumer "
              "portal (/consumer/rights) after confirming with the code sent to their phone; "
              "staff never see it.", markup=False, highlight=False)


def subjects_correct(
    ctx: typer.Context, enterprise: EnterpriseOpt, subject: SubjectOpt,
    waybill: Annotated[str, typer.Option(help="Waybill number of the person's parcel.")],
    field: Annotated[str, typer.Option(help="e.g. recipient_phone, sender_address.")],
    channel: ChannelOpt = "counter",
) -> None:
    """Correct one of the person's own fields on one parcel.

    The new value is prompted for without echo, never taken on the command line."""
    if field not in subject_requests.CORRECTABLE:
        raise _fail(f"field must be one of {', '.join(subject_requests.CORRECTABLE)}")
    value = typer.prompt("new value", hide_input=True, err=True)
    with as_operator(ctx, enterprise) as (rt, session, principal):
        rid = _open_or_reuse(session, principal, subject, DsrKind.CORRECTION, channel, rt)
        row = subject_requests.fulfil_correction(
            session, principal, _vault(ctx), request_id=rid, waybill_no=waybill, field=field,
            value=value, clock=rt.clock)
        note = row.result_note
    out.print(f"{note} ({rid})", markup=False, highlight=False)


def subjects_resume(ctx: typer.Context, enterprise: EnterpriseOpt) -> None:
    """Retry every deferred deletion: those whose hold has ended are erased now."""
    with as_operator(ctx, enterprise) as (rt, session, principal):
        rows = subject_requests.resume_deferred(session, principal, _vault(ctx),
                                                clock=rt.clock)
        done = sum(1 for r in rows if r.status == DsrStatus.COMPLETED.value)
    out.print(f"{done} erased, {len(rows) - done} still deferred")


COMMANDS: dict[str, Callable[..., None]] = {
    "erase": subjects_erase, "export": subjects_export, "correct": subjects_correct,
    "resume": subjects_resume}
