"""Cyberspace administration portal (``cac_officer``): the reports the supervision
department forwarded to this administration and those still owed to it, overdue ones
marked, and the receipt that acknowledges one (``incidents forward receipt``). The
administration sees what ``forwards.listing`` shows it, nothing of the enterprises'
own records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.core.http import SessionDep
from parcelguard.identity.models import Organization
from parcelguard.incidents import forwards
from parcelguard.incidents.models import Incident, IncidentReport
from parcelguard.web.actions import CONFIRM, act, confirmed
from parcelguard.web.auth import CacStaff, Staff
from parcelguard.web.i18n import gettext_for
from parcelguard.web.portals.enterprise_incidents import filed_text_section
from parcelguard.web.render import Nav, locale_of, page, runtime
from parcelguard.web.sections import Action, Cell, Input, Section, due_cell

router = APIRouter(prefix="/cac", include_in_schema=False)
NAV = [Nav("/cac", "Forwarded reports")]

# A forward's status as the administration reads it.
STATUS = {"pending": "owed by the supervision department", "sent": "awaiting your receipt",
          "received": "received"}


def show(request: Request, title: str, sections: list[Section], **kw: Any) -> HTMLResponse:
    return page(request, "sections.html", title=title, nav=NAV, sections=sections,
                messages=kw.get("messages", []), errors=kw.get("errors", []),
                status_code=kw.get("status_code", 200))


def forwards_section(session: Session, staff: Staff, now: datetime) -> Section:
    sec = Section("Reports forwarded to this administration",
                  ["Enterprise", "Incident", "Grade", "Statutory report", "Status", "Forward due",
                   "Forwarded", "Received", "Receipt"], html_id="forwards",
                  empty="No report forwarded or owed.",
                  intro="The supervision department forwards each filed report of a "
                        "relatively major incident or above within the deadline; an "
                        "overdue one is marked. Acknowledge each report received with a "
                        "receipt.")
    rows = forwards.listing(session, staff.principal)
    names = dict(session.execute(select(Organization.id, Organization.name)).all())
    titles = dict(session.execute(select(Incident.id, Incident.title).where(
        Incident.id.in_({f.incident_id for f in rows}))).all())
    kinds = dict(session.execute(select(IncidentReport.id, IncidentReport.kind).where(
        IncidentReport.id.in_({f.report_id for f in rows}))).all())
    for f in rows:
        sec.add([names.get(f.enterprise_id, f.enterprise_id),
                 Cell(titles.get(f.incident_id, f.incident_id),
                      href=None if f.status == "pending" else f"/cac/forwards/{f.id}"),
                 Cell(f.grade, translate=True),
                 Cell(kinds.get(f.report_id, f.report_id), translate=f.report_id in kinds),
                 Cell(STATUS.get(f.status, f.status), translate=True),
                 due_cell(f.due_at, f.sent_at, now), f.sent_at, f.received_at, f.receipt])
    owed = tuple((f.id, f"{names.get(f.enterprise_id, f.enterprise_id)}: "
                        f"{titles.get(f.incident_id, f.incident_id)}")
                 for f in rows if f.status == "sent" and f.to_org_id == staff.principal.org_id)
    if owed:
        # one form below the table (a phone has no room for a form in every row)
        sec.forms.append(Action("/cac/receipt", "Acknowledge receipt", inputs=(
            Input("forward_id", "Forwarded report", "select", owed), CONFIRM)))
    return sec


def _home(request: Request, session: Session, staff: Staff, **kw: Any) -> HTMLResponse:
    return show(request, "Forwarded reports",
                [forwards_section(session, staff, runtime(request).clock.now())], **kw)


@router.get("", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, staff: CacStaff) -> HTMLResponse:
    return _home(request, session, staff)


def _forward(forward_id: str, request: Request, session: Session, staff: Staff,
             **kw: Any) -> HTMLResponse:
    """A forwarded report's text as filed, read only, and the receipt (confirmed)
    acknowledging it, on the page where it was read."""
    row, report = forwards.forwarded_report(session, staff.principal, forward_id=forward_id)
    inc = session.get(Incident, row.incident_id)
    org = session.get(Organization, row.enterprise_id)
    now = runtime(request).clock.now()
    head = Section("Forwarded report", facts=[
        ("Enterprise", org.name if org else row.enterprise_id),
        ("Incident", inc.title if inc else row.incident_id),
        ("Grade", Cell(row.grade, translate=True)),
        ("Statutory report", Cell(report.kind, translate=True)),
        ("Filed", report.filed_at), ("Forward due", due_cell(row.due_at, row.sent_at, now)),
        ("Forwarded", row.sent_at), ("Status", Cell(STATUS.get(row.status, row.status),
                                                    translate=True)),
        ("Received", row.received_at), ("Receipt", row.receipt)], html_id="forward")
    if row.status == "sent" and row.to_org_id == staff.principal.org_id:
        head.forms.append(Action("/cac/receipt", "Acknowledge receipt",
                                 {"forward_id": row.id}, inputs=(CONFIRM,)))
    sections = [head]
    if inc is not None:
        locale = locale_of(request)
        sections.append(filed_text_section(session, inc, dict(report.content or {}),
                                           tr=gettext_for(locale), locale=locale))
    return show(request, "Forwarded report", sections, **kw)


@router.get("/forwards/{forward_id}", response_class=HTMLResponse)
def forward_page(forward_id: str, request: Request, session: SessionDep,
                 staff: CacStaff) -> HTMLResponse:
    return _forward(forward_id, request, session, staff)


@router.post("/receipt", response_class=HTMLResponse)
async def receipt(request: Request, session: SessionDep, staff: CacStaff) -> Response:
    """Acknowledge a forwarded report with a receipt, as ``incidents forward receipt``."""
    clock = runtime(request).clock

    def run(v: dict[str, str]) -> tuple[str, dict[str, str]]:
        confirmed(v)
        row = forwards.acknowledge(session, staff.principal,
                                   forward_id=v.get("forward_id", ""), clock=clock)
        return "Received; receipt %(receipt)s.", {"receipt": str(row.receipt)}

    return await act(request, run, lambda **kw: _home(request, session, staff, **kw))
