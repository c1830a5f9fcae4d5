"""``parcelguard parcels show WAYBILL -e ENTERPRISE [--json]``: a parcel's state and
history as the parcel projection holds them (ledger/parcels.py). Ids and times
only: the projection holds no PI. Exit status: 0 shown, 1 the enterprise's stream
never mentioned the waybill."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from parcelguard.core.runtime import Runtime
from parcelguard.ledger import parcels as projection

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
