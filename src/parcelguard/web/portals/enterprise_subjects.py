"""Data-subject requests taken at the counter or the hotline (``subjects
requests|export|correct|erase|resume``), for the roles that handle them
(``dsr:handle``: the administrator, customer service). ``access.subject_requests``
does the work through the vault as the commands do: a corrected value is posted,
sealed and never shown back; a copy of a person's data is never shown to staff (the
person collects it on the consumer portal); an erasure is confirmed first."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from parcelguard.access.subjects import requests as subject_requests
from parcelguard.consent import subject_requests as requests_
from parcelguard.consent.dsr import DsrKind, DsrStatus
from parcelguard.core.errors import NotFound
from parcelguard.core.http import SessionDep
from parcelguard.web.actions import CONFIRM, Done, act, confirmed
from parcelguard.web.auth import OfficerStaff, Staff
from parcelguard.web.portals.enterprise_layout import show
from parcelguard.web.render import runtime
from parcelguard.web.sections import Action, Cell, Input, Section, due_cell

router = APIRouter(include_in_schema=False)  # mounted under /enterprise by enterprise.py
CHANNELS = (("counter", "at the counter"), ("phone", "on the phone"))


def _sections(request: Request, session: Session, staff: Staff) -> list[Section]:
    clock = runtime(request).clock
    now = clock.now()
    sec = Section("Data-subject requests", ["Received", "Request", "Person (pseudonymous id)",
                                            "Kind", "Status", "Deadline", "Deferred until"],
                  html_id="requests", empty="No requests.",
                  intro="Requests people made at the counter or on the phone, after you "
                        "verified who they are. A copy of their data is never shown here: "
                        "they collect it on the consumer portal.")
    for r in requests_.list_requests(session, staff.principal, clock=clock):
        lc = requests_.lifecycle_of(r)
        sec.add([r.received_at, r.id, r.subject_id, Cell(r.kind, translate=True),
                 Cell(r.status, translate=True),
                 due_cell(r.deadline_at, r.closed_at, now) if not lc.overdue(now)
                 else Cell("overdue", translate=True, cls="overdue"),
                 r.deferred_until])
    person = Input("subject_id", "Person (pseudonymous id)", required=True)
    channel = Input("channel", "Where the person asked", "select", CHANNELS)
    sec.forms += [
        Action("/enterprise/subjects/export", "Open an access request (a copy)",
               inputs=(person, channel)),
        Action("/enterprise/subjects/correct", "Correct a field", inputs=(
            person, Input("waybill_no", "Waybill number of the person's parcel", required=True),
            Input("field", "Field", "select",
                  tuple((f, f) for f in subject_requests.CORRECTABLE)),
            Input("value", "The corrected value", required=True), channel)),
        Action("/enterprise/subjects/erase", "Erase the person's data", inputs=(
            person, channel, CONFIRM), secondary=True),
        Action("/enterprise/subjects/resume", "Retry deferred erasures", secondary=True)]
    return [sec]


def _page(request: Request, session: Session, staff: Staff, **kw: Any) -> HTMLResponse:
    return show(request, "Data-subject requests", _sections(request, session, staff), **kw)


@router.get("/subjects", response_class=HTMLResponse)
def subjects_page(request: Request, session: SessionDep, staff: OfficerStaff) -> HTMLResponse:
    return _page(request, session, staff)


@router.post("/subjects/{op}", response_class=HTMLResponse)
async def subjects_action(op: str, request: Request, session: SessionDep,
                          staff: OfficerStaff) -> Response:
    clock = runtime(request).clock
    vault = request.app.state.vault
    p = staff.principal

    def opened(v: dict[str, str], kind: DsrKind) -> str:
        return subject_requests.open_or_reuse(
            session, p, subject_id=v.get("subject_id", "").strip(), kind=kind,
            channel=v.get("channel") or "counter", clock=clock)

    def run(v: dict[str, str]) -> Done:
        p.require("dsr:handle")  # who may not is told so, not to confirm
        if op == "export":
            return ("Access request %(id)s is open: the person sees their copy on the "
                    "consumer portal after confirming with the code sent to their phone.",
                    {"id": opened(v, DsrKind.ACCESS)})
        if op == "correct":
            row = subject_requests.fulfil_correction(
                session, p, vault, request_id=opened(v, DsrKind.CORRECTION),
                waybill_no=v.get("waybill_no", "").strip(), field=v.get("field", ""),
                value=v.get("value", ""), clock=clock)
            return "Corrected (%(id)s).", {"id": row.id}
        if op == "erase":
            confirmed(v)
            row = subject_requests.fulfil_deletion(
                session, p, vault, request_id=opened(v, DsrKind.DELETION), clock=clock)
            if row.status == DsrStatus.DEFERRED.value:
                return ("Erasure deferred (%(id)s) while a retention rule applies; it is "
                        "retried with the deferred ones.", {"id": row.id})
            return "Erased (%(id)s): the person's keys are destroyed.", {"id": row.id}
        if op == "resume":
            rows = subject_requests.resume_deferred(session, p, vault, clock=clock)
            done = sum(1 for r in rows if r.status == DsrStatus.COMPLETED.value)
            return ("%(done)s erased, %(left)s still deferred.",
                    {"done": str(done), "left": str(len(rows) - done)})
        raise NotFound(f"no action {op}")

    return await act(request, run, lambda **kw: _page(request, session, staff, **kw))
