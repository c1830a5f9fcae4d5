"""Enterprise security portal, the reporting channel's tools: its figures (``channel
stats``), the reports whose reporter asked for the police and how each was met
(``channel police-requests``), canary parcels seeded and scanned (``channel canary
seed|scan``) and the leak-source ranking of a cluster of waybills (``channel
triangulate``). Each calls the channel service the command calls."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from parcelguard.channel import canary, referrals
from parcelguard.channel import service as channel
from parcelguard.channel.history import rank_leak_sources
from parcelguard.core.errors import DomainError, InvalidInput
from parcelguard.core.http import SessionDep
from parcelguard.web.actions import ShownOnce, act
from parcelguard.web.auth import OfficerStaff, Staff
from parcelguard.web.i18n import gettext_for, localised
from parcelguard.web.names import Names
from parcelguard.web.portals.enterprise_layout import show
from parcelguard.web.render import locale_of, runtime
from parcelguard.web.sections import Action, Cell, Input, Section, due_cell
from parcelguard.web.security import checked_form

router = APIRouter(include_in_schema=False)  # under /enterprise (enterprise.py mounts it)
MAX_WAYBILLS = 2000  # a pasted cluster; the command reads a file


def _sections(session: Session, staff: Staff, request: Request, *,
              waybills: str = "") -> list[Section]:
    p = staff.principal
    now = runtime(request).clock.now()
    f = channel.stats(session, p, now=now).get(p.org_id) or {}
    figures = Section("Channel figures", html_id="figures", facts=[
        ("Reports received", f.get("received", 0)),
        ("Anonymous", f.get("anonymous", 0)),
        ("Acknowledged on time", f"{f.get('acknowledged_on_time', 0)}/"
                                 f"{f.get('acknowledged', 0)}"),
        ("Answered on time", f"{f.get('answered_on_time', 0)}/{f.get('answered', 0)}"),
        ("Overdue", Cell(f.get("ack_overdue", 0) + f.get("answer_overdue", 0),
                         cls="overdue" if f.get("ack_overdue") or f.get("answer_overdue")
                         else None)),
        ("Forwarded to police", f.get("forwarded_to_police", 0)),
        ("Concluded by the police", f.get("concluded", 0)),
        ("Reporters who asked for the police", f.get("police_requested", 0)),
        ("Of those, not referred in time", f.get("police_request_overdue", 0))])
    asked = Section("Reporters who asked for the police", [
        "Received", "Report", "Refer by", "Timer", "Referral", "Police receipt"],
        html_id="police-requests", empty="No reporter asked for the police.",
        intro="A reporter who asks for the police is owed a referral by the deadline.")
    for r in referrals.police_requests(session, p):
        asked.add([r.received_at, Cell(r.report_id, href=f"/enterprise/complaints/{r.report_id}"),
                   r.due_at, due_cell(r.due_at, r.referred_at, now), r.referral_id,
                   r.receipt])
    sections = [figures, asked]
    if p.can("canary:manage"):
        sections.append(Section("Canary parcels", html_id="canaries", facts=[
            ("Canary parcels seeded", len(canary.canaries(session, p.org_id)))],
            intro="Synthetic parcels nobody has a reason to touch: any use of one raises "
                  "a critical alert. Their waybill numbers are shown once, when seeded.",
            forms=[Action("/enterprise/channel/canary-seed", "Seed canary parcels", inputs=(
                Input("count", "How many (1-100)", "number", required=True, value="1"),)),
                Action("/enterprise/channel/canary-scan", "Scan for canary use now",
                       secondary=True)]))
    sections.append(Section("Find the source of a leak", html_id="triangulate",
                            intro="Waybills that leaked (from complaints or a scam "
                                  "cluster): employees, stations and partners ranked by "
                                  "how far their access history explains them beyond "
                                  "chance.",
                            forms=[Action("/enterprise/channel/triangulate", "Rank", inputs=(
                                Input("waybills", "Waybill numbers (space or line separated)",
                                      "textarea", required=True, value=waybills),))]))
    return sections


def _page(request: Request, session: Session, staff: Staff, *,
          extra: list[Section] | None = None, waybills: str = "", **kw: Any) -> HTMLResponse:
    staff.principal.require("reports:handle")
    sections = _sections(session, staff, request, waybills=waybills)
    return show(request, "Reporting channel", [*sections, *(extra or [])], **kw)


@router.get("/channel", response_class=HTMLResponse)
def channel_page(request: Request, session: SessionDep, staff: OfficerStaff) -> HTMLResponse:
    return _page(request, session, staff)


@router.post("/channel/triangulate", response_class=HTMLResponse)
async def triangulate(request: Request, session: SessionDep, staff: OfficerStaff) -> Response:
    """A read, not an act: the ranking is the answer to the post (nothing changes, so a
    reload repeats no action); the waybills stay in the form."""
    form = await checked_form(request)
    raw = str(form.get("waybills", ""))[:40 * MAX_WAYBILLS]
    _ = gettext_for(locale_of(request))
    try:
        wanted = [w.upper() for w in raw.split() if w.strip()][:MAX_WAYBILLS]
        if not wanted:
            raise InvalidInput("Give at least one waybill number.")
        repo = channel.staff_repo(session, staff.principal)
        tri = rank_leak_sources(session, enterprise_id=repo.enterprise_id, waybills=wanted,
                                top=20)
    except DomainError as exc:
        return _page(request, session, staff, waybills=raw, errors=[localised(exc, _)],
                     status_code=exc.status_code)
    names = Names(session)
    ranking = Section("Leak-source ranking", ["Who", "Kind", "Score", "Accesses",
                                              "Expected by chance"], html_id="ranking",
                      empty="None of these waybills was accessed in your log.")
    ranking.intro = _("%(known)s of %(given)s waybills have accesses in your log.",
                      known=tri.known, given=tri.waybills)
    for r in tri.ranking:
        who = names.person(r.subject_id) if r.subject_type == "employee" else r.subject_id
        ranking.add([who, Cell(r.subject_type, translate=True), round(r.score, 2),
                     r.accessed, round(r.expected, 2)])
    return _page(request, session, staff, waybills=raw, extra=[ranking])


@router.post("/channel/{op}", response_class=HTMLResponse)
async def canary_action(op: str, request: Request, session: SessionDep,
                        staff: OfficerStaff) -> Response:
    """``channel canary seed`` (the waybills shown once) and ``channel canary scan``."""
    p = staff.principal
    p.require("canary:manage")
    rt = runtime(request)

    def run(v: dict[str, str]) -> Any:
        if op == "canary-scan":
            hits = canary.scan(session, enterprise_id=p.org_id)
            return "Scanned: %(n)s new canary hits (each raises a critical alert).", \
                {"n": str(len(hits))}
        if op != "canary-seed":
            raise InvalidInput("unknown action")
        count = v.get("count", "").strip()
        if not count.isdigit():
            raise InvalidInput("How many: a number from 1 to 100.")
        rows = canary.seed(session, request.app.state.vault, request.app.state.telephony,
                           enterprise_id=p.org_id, count=int(count), by=staff.account_id,
                           clock=rt.clock)
        _ = gettext_for(locale_of(request))
        # shown once, on this page only: whoever knows them could avoid them
        return ShownOnce(_("Canary parcels seeded (keep their waybill numbers "
                           "confidential): %(waybills)s",
                           waybills=", ".join(r.waybill_no for r in rows)))

    return await act(request, run, lambda **kw: _page(request, session, staff, **kw))
