"""``parcelguard parcels show WAYBILL -e ENTERPRISE [--json]``: a parcel's state and
history as the parcel projection holds them (ledger/parcels.py). Ids and times
only: the projection holds no PI. Exit status: 0 shown, 1 the enterprise's stream
never mentioned the waybill.

``parcelguard parcels intake FILE -e ENTERPRISE``: a station's pickup batch, PI
sealed at collection (logistics/intake.py); a sender whose ID number shows an age
under 14 is refused without a guardian's consent (PIPL Art. 31). Exit status: 0
registered, 2 refused or unreadable (nothing registered).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from parcelguard.core.errors import DomainError
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.ledger import parcels as projection
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.logistics.models import Parcel
from parcelguard.vault.service import VaultService

parcels_app = typer.Typer(help="Parcel state and history, from the event stream.",
                          no_args_is_help=True)
out = Console()
err = Console(stderr=True, soft_wrap=True)


@parcels_app.command("show")
def show(
    ctx: typer.Context,
    waybill_no: Annotated[str, typer.Argument(help="The parcel's waybill number.")],
    enterprise: Annotated[str, typer.Option("--enterprise", "-e", help="Enterprise id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Print the parcel's current status (its newest lifecycle step by event time),
    station, assignee and every step with its time."""
    rt: Runtime = ctx.obj
    with rt.db.unit_of_work() as uow:
        view = projection.view(uow.session, enterprise, waybill_no)
    if view is None:
        err.print(f"no parcel {waybill_no} in the event stream of {enterprise}",
                  highlight=False, markup=False)
        raise typer.Exit(1)
    if as_json:
        print(json.dumps(view.as_dict()))
        return
    at = view.status_at.isoformat() if view.status_at else "-"
    out.print(f"{view.waybill_no} ({view.enterprise_id}): {view.status or '-'} "
              f"since {at}, station {view.station_id or '-'}", highlight=False, markup=False)
    if view.assignee_id is not None:
        until = view.assignment_until.isoformat() if view.assignment_until else "-"
        out.print(f"assigned to {view.assignee_id} for {view.assignment_purpose or '-'} "
                  f"until {until}", highlight=False, markup=False)
    table = Table("at (UTC)", "step", "station", "assignee", "event")
    for s in view.history:
        table.add_row(s.at.isoformat(), s.step, s.station_id or "", s.assignee_id or "",
                      s.event_id)
    out.print(table)


def _party(doc: Any, where: str) -> PartyIn:
    if not isinstance(doc, dict):
        raise DomainError(f"{where}: an object with name, phone, address")
    return PartyIn(subject_id=f"sub-{secrets.token_hex(8)}", name=str(doc.get("name", "")),
                   phone=str(doc.get("phone", "")), address=str(doc.get("address", "")),
                   id_number=str(doc["id_number"]) if doc.get("id_number") else None)


def _parcels(path: Path, now: datetime) -> list[ParcelIn]:
    """The batch file: a JSON list of {waybill_no, sender, recipient, guardian_consent?,
    origin_station_id?}. Errors name the position, never a value."""
    try:
        docs = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DomainError(f"cannot read {path}: {type(exc).__name__}") from None
    if not isinstance(docs, list):
        raise DomainError(f"{path} must hold a JSON list of parcels")
    out_: list[ParcelIn] = []
    for i, d in enumerate(docs):
        if not isinstance(d, dict):
            raise DomainError(f"parcel {i}: an object")
        out_.append(ParcelIn(waybill_no=str(d.get("waybill_no", "")),
                             sender=_party(d.get("sender"), f"parcel {i}: sender"),
                             recipient=_party(d.get("recipient"), f"parcel {i}: recipient"),
                             created_at=now, origin_station_id=d.get("origin_station_id"),
                             guardian_consent=d.get("guardian_consent") is True))
    return out_


def build_intake(vault_for: Callable[[Settings], VaultService]) -> Callable[..., None]:
    """The ``parcels intake`` command, given the plugins' vault."""

    def intake(
        ctx: typer.Context,
        file: Annotated[Path, typer.Argument(help="The batch as a JSON list of parcels.")],
        enterprise: Annotated[str, typer.Option("--enterprise", "-e", help="Enterprise id.")],
    ) -> None:
        """Register a pickup batch: PI sealed at collection; child senders (under 14 by
        their ID number) only with a guardian's consent, flagged as sensitive PI."""
        rt: Runtime = ctx.obj
        try:
            parcels = _parcels(file, rt.clock.now())
            with rt.db.unit_of_work() as uow:
                register_parcels(uow.session, vault_for(rt.settings), enterprise_id=enterprise,
                                 parcels=parcels)
                uow.commit()
        except DomainError as exc:
            err.print(f"error: {exc.message}", highlight=False, markup=False)
            raise typer.Exit(2) from None
        for p in parcels:
            out.print(f"registered {p.waybill_no}", highlight=False)
        with rt.db.unit_of_work() as uow:
            flagged = list(uow.session.scalars(select(Parcel.waybill_no).where(
                Parcel.waybill_no.in_([p.waybill_no for p in parcels]),
                Parcel.sender_minor.is_(True))))
        for wb in flagged:
            out.print(f"{wb}: the sender is under 14: sensitive PI (PIPL Art. 31), collected "
                      "with a guardian's consent", highlight=False)

    return intake
