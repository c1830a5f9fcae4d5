"""``parcelguard waybill render|bind|bindings|share`` and ``waybill partners
add|list|contract``: the waybill commands that read stored parcels or decide a
share. Registered under the ``waybill`` sub-app of ``waybill/cli.py`` by its plugin,
next to the pure ones (``mask``, ``partners keygen``, ``open-share``).

``render`` and ``share`` are attempts at the gate, made as a roster employee
(``--employee ID``) or an account (``--account USERNAME``), like ``access reveal``:
the assignment, background check, suspension and role table apply, and each
attempt is one access event. Exit status: 0 done, 1 refused by the gate (the
refusal is recorded and committed), 2 bad input (nothing changed).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from parcelguard.access.cli import (
    AccountOpt,
    ChannelOpt,
    EmployeeOpt,
    EnterpriseOpt,
    err,
    fail,
    gate_tx,
    out,
    verdict,
)
from parcelguard.access.waybills import sharing, virtual_numbers
from parcelguard.access.waybills.parcels import check_waybill_no
from parcelguard.core.errors import DomainError, InvalidInput
from parcelguard.core.runtime import Runtime
from parcelguard.logistics import read as logistics_read
from parcelguard.waybill.cli import write_private
from parcelguard.waybill.fonts import cjk_font
from parcelguard.waybill.provider import telephony
from parcelguard.waybill.settings import WaybillSettings
from parcelguard.waybill.telephony import BindingMode
from parcelguard.waybill.virtual import display_number, list_bindings

# Who records a processing contract from the machine-local command line.
OPERATOR_ID = "cli-operator"


@contextmanager
def _tx(ctx: typer.Context) -> Iterator[tuple[Runtime, Session]]:
    """One operator transaction (no gate: nothing here reveals PI)."""
    rt: Runtime = ctx.obj
    try:
        with rt.db.unit_of_work() as uow:
            yield rt, uow.session
            uow.commit()
    except DomainError as exc:
        raise fail(exc.message) from None


# -- labels -----------------------------------------------------------------------------


def render(
    ctx: typer.Context,
    waybill_no: Annotated[str, typer.Argument(help="The parcel's waybill number.")],
    out_path: Annotated[Path, typer.Option("--out", help="PDF file to write.")],
    enterprise: EnterpriseOpt,
    purpose: Annotated[str, typer.Option(help="pickup or delivery (couriers), sorting "
                                         "(sorters).")],
    account: AccountOpt = None, employee: EmployeeOpt = None,
    channel: ChannelOpt = "api",
    font: Annotated[Path | None, typer.Option(help="TrueType CJK font to embed.")] = None,
) -> None:
    """Print the privacy label of an assigned parcel as a 100 x 150 mm PDF."""
    with gate_tx(ctx, enterprise, account, employee, channel) as c:
        check_waybill_no(waybill_no)
        font_path = font or c.rt.settings.section(WaybillSettings).label_font_path
        o = c.gate.print_label(c.caller, waybill_no=waybill_no, purpose=purpose,
                               telephony=telephony(c.rt.settings),
                               font_path=font_path)
        if o.label is not None:
            out_path.write_bytes(o.label.pdf)
    verdict(o)
    if o.label is None:
        raise typer.Exit(1)
    used = cjk_font(font_path)
    out.print(f"label {o.label.label_id} written to {out_path}; virtual number "
              f"{o.label.virtual_number}", highlight=False)
    if not used.embedded:
        err.print("[yellow]warning:[/yellow] no TrueType CJK font found; Chinese text uses "
                  "the non-embedded STSong-Light and may print blank (the vendored "
                  "WenQuanYi Micro Hei is missing or altered; reinstall parcelguard "
                  "or set PARCELGUARD_WAYBILL__LABEL_FONT_PATH)")


# -- virtual numbers --------------------------------------------------------------------


def bind(
    ctx: typer.Context,
    assignment_id: Annotated[str, typer.Argument(help="A delivery assignment id.")],
    mode: Annotated[str | None, typer.Option(help="axn_ext or axb (parcels without a "
                                             "binding only).")] = None,
) -> None:
    """Bind the assigned courier to the parcel's recipient for the assignment window."""
    with _tx(ctx) as (rt, session):
        chosen = mode or rt.settings.section(WaybillSettings).binding_mode
        if chosen not in tuple(BindingMode):
            raise InvalidInput("mode must be axn_ext or axb")
        a = logistics_read.assignment(session, assignment_id)
        if a is None:
            raise InvalidInput(f"assignment {assignment_id[:64]} not found")
        b = virtual_numbers.bind_for_assignment(
            session, telephony(rt.settings), assignment=a,
            at=rt.clock.now(), mode=BindingMode(chosen))
        line = (f"{b.waybill_no}: {display_number(b)} bound to {b.courier_id} until "
                f"{b.window_ends_at:%Y-%m-%d %H:%M}")
    out.print(line, highlight=False)


def bindings(
    ctx: typer.Context,
    enterprise: Annotated[str | None, typer.Option("--enterprise", "-e",
                                                   help="Enterprise id (default all).")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Include expired ones.")] = False,
    expire: Annotated[bool, typer.Option(help="Run the expiry sweep first.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List virtual-number bindings; ``--expire`` unbinds those past delivery + grace."""
    expired = 0
    with _tx(ctx) as (rt, session):
        if expire:
            grace = timedelta(days=rt.settings.section(WaybillSettings).binding_grace_days)
            expired = virtual_numbers.expire_bindings(
                session, rt.clock.now(), telephony=telephony(rt.settings),
                grace=grace)
        rows = [{"id": b.id, "enterprise_id": b.enterprise_id, "waybill_no": b.waybill_no,
                 "mode": b.mode, "virtual_number": display_number(b),
                 "courier_id": b.courier_id,
                 "window_ends_at": b.window_ends_at.isoformat() if b.window_ends_at else None,
                 "expires_at": b.expires_at.isoformat() if b.expires_at else None,
                 "expired_at": b.expired_at.isoformat() if b.expired_at else None}
                for b in list_bindings(session, enterprise_id=enterprise,
                                       live_only=not show_all, limit=limit)]
    if as_json:
        print(json.dumps({"expired": expired, "bindings": rows}, ensure_ascii=False))
        return
    if expire:
        out.print(f"{expired} binding(s) expired")
    table = Table("waybill", "mode", "virtual number", "courier", "window ends", "expires")
    for r in rows:
        table.add_row(r["waybill_no"], r["mode"], r["virtual_number"], r["courier_id"] or "-",
                      (r["window_ends_at"] or "-")[:16], (r["expired_at"] and "expired")
                      or (r["expires_at"] or "-")[:16])
    out.print(table)


# -- partners and shares ----------------------------------------------------------------


def partners_add(
    ctx: typer.Context, partner_id: str, enterprise: EnterpriseOpt,
    name: Annotated[str, typer.Option(help="The partner's name, as in the notice.")],
    relationship: Annotated[str, typer.Option(help="third_party (separate consent) or "
                                              "entrusted (processing contract).")],
    public_key: Annotated[str, typer.Option(help="The partner's X25519 public key: base64, "
                                            "or @FILE for a PEM/base64 file.")],
) -> None:
    """Register a partner and its public key."""
    try:
        key = (Path(public_key[1:]).read_bytes() if public_key.startswith("@")
               else public_key.encode())
    except OSError as exc:
        raise fail(f"cannot read {public_key[1:]}: {type(exc).__name__}") from None
    with _tx(ctx) as (rt, session):
        p = sharing.add_partner(session, enterprise_id=enterprise, partner_id=partner_id,
                                name=name, relationship=relationship, public_key=key,
                                at=rt.clock.now())
        line = f"partner {p.partner_id} ({p.relationship}) registered, key {p.key_id}"
    out.print(line, highlight=False)


def partners_list(ctx: typer.Context, enterprise: EnterpriseOpt) -> None:
    """The enterprise's partners."""
    with _tx(ctx) as (_, session):
        rows = [(p.partner_id, p.name, p.relationship, p.key_id)
                for p in sharing.list_partners(session, enterprise)]
    table = Table("partner", "name", "relationship", "key id")
    for r in rows:
        table.add_row(*r)
    out.print(table)


def _when(text: str) -> datetime:
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"not an ISO date-time: {text[:40]!r}") from None
    if t.tzinfo is None:
        raise InvalidInput("date-times need a timezone offset (e.g. +08:00)")
    return t


def partners_contract(
    ctx: typer.Context, partner_id: str, enterprise: EnterpriseOpt,
    reference: Annotated[str, typer.Option(help="The contract's reference number.")],
    field: Annotated[list[str], typer.Option(help="A field it covers (repeat).")],
    starts: Annotated[str, typer.Option("--from", help="ISO date-time with offset.")],
    ends: Annotated[str, typer.Option("--until", help="ISO date-time with offset.")],
) -> None:
    """Record an entrusted-processing contract (PIPL Art. 21)."""
    with _tx(ctx) as (rt, session):
        c = sharing.record_contract(session, enterprise_id=enterprise, partner_id=partner_id,
                                    reference=reference, fields=field, starts_at=_when(starts),
                                    ends_at=_when(ends), at=rt.clock.now(),
                                    recorded_by=OPERATOR_ID)
        line = f"contract {c.id} recorded for {partner_id}"
    out.print(line, highlight=False)


def partners_assess(
    ctx: typer.Context, partner_id: str, enterprise: EnterpriseOpt,
    field: Annotated[list[str], typer.Option(help="A field it covers (repeat).")],
    conclusion: Annotated[str, typer.Option(help="Necessity, risks to the people, and the "
                                            "measures against them (PIPL Art. 56).")],
) -> None:
    """Record the PI impact assessment made before giving fields to a partner (PIPL
    Arts. 55-56); no share happens without one."""
    with _tx(ctx) as (rt, session):
        a = sharing.record_assessment(session, enterprise_id=enterprise, partner_id=partner_id,
                                      fields=field, conclusion=conclusion, at=rt.clock.now(),
                                      assessed_by=OPERATOR_ID)
        line = f"impact assessment {a.id} recorded for {partner_id}"
    out.print(line, highlight=False)


def share(
    ctx: typer.Context,
    waybill_no: str, enterprise: EnterpriseOpt,
    partner: Annotated[str, typer.Option(help="Partner id.")],
    payload_out: Annotated[Path, typer.Option("--out", help="Payload file to create (0600).")],
    field: Annotated[list[str] | None, typer.Option(help="Field to share (repeat); default "
                                                    "recipient name, phone, address.")] = None,
    purpose: Annotated[str, typer.Option(help="Event purpose.")] = "delivery",
    account: AccountOpt = None, employee: EmployeeOpt = None,
    channel: ChannelOpt = "api",
) -> None:
    """Share a parcel's PI with a partner, sealed to its key; exit 1 if refused."""
    if payload_out.exists():
        raise fail(f"{payload_out} exists; not overwriting")
    # A refusal is recorded and committed like a success; only the exit code differs.
    with gate_tx(ctx, enterprise, account, employee, channel) as c:
        o = c.gate.share(c.caller, waybill_no=waybill_no, partner_id=partner, purpose=purpose,
                         fields=field or sharing.LAST_MILE_FIELDS)
        if o.share.payload is not None:
            write_private(payload_out, o.share.payload)
    if not o.allowed:
        raise fail(f"share refused ({o.share.reason}): {o.message}; the attempt was recorded "
                   f"as event {o.event_id}", code=1)
    out.print(f"share {o.share.share_id} ({o.share.basis}) sealed to {partner}: "
              f"{payload_out}", highlight=False)


COMMANDS: dict[str, Callable[..., None]] = {
    "render": render, "bind": bind, "bindings": bindings, "share": share}
PARTNER_COMMANDS: dict[str, Callable[..., None]] = {
    "add": partners_add, "list": partners_list, "contract": partners_contract,
    "assess": partners_assess}
