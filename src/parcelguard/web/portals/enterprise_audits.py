"""The enterprise's audits on its portal: its own scorecard (``audit scorecard``: the
latest audited score, each control, the weakest, the trend) and, for its
administrator, its transparency report (``audit budget``, ``audit publish``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from parcelguard.audit import scorecards
from parcelguard.audit.controls import load_rulebook
from parcelguard.core.http import SessionDep
from parcelguard.web.actions import act
from parcelguard.web.auth import OfficerStaff, Staff
from parcelguard.web.portals import transparency
from parcelguard.web.portals.enterprise_layout import show
from parcelguard.web.render import locale_of, runtime
from parcelguard.web.sections import Cell, Section

router = APIRouter(include_in_schema=False)  # mounted under /enterprise by enterprise.py


def scorecard_sections(session: Session, staff: Staff, locale: str) -> list[Section]:
    card = scorecards.scorecard(session, staff.principal, staff.principal.org_id)
    titles = {c.id: c.title_zh if locale == "zh-CN" else c.title_en
              for c in load_rulebook().controls}  # controls by name, in the page's language
    head = Section("Audit scorecard", html_id="scorecard", facts=[
        ("Score", card.score if card.score is not None
         else Cell("not audited yet", translate=True)),
        ("Coverage", f"{card.coverage:.0%}" if card.coverage is not None else None),
        ("Period", card.period), ("Audit firm", card.auditor_org_id),
        ("Engagement", card.engagement_id), ("Change since the previous audit", card.change),
        ("Weakest controls", "; ".join(titles.get(c, c) for c in card.weakest) or None)])
    # The evaluators' summaries are English sentences inside the signed report; a
    # Chinese page shows the control's score instead (the report itself is unchanged).
    last = "Summary" if locale != "zh-CN" else "Score"
    controls = Section("Control results", ["Control", "Title", "Status", last],
                       html_id="scorecard-controls", empty="Not audited yet.")
    for c in card.controls:
        controls.add([c.get("control_id"), titles.get(str(c.get("control_id"))),
                      Cell(c.get("status"), translate=True),
                      c.get("summary") if locale != "zh-CN" else c.get("score")])
    trend = Section("Score trend", ["Period", "Score"], html_id="scorecard-trend",
                    empty="Not audited yet.")
    for t in card.trend:
        trend.add([t.get("period"), t.get("score")])
    sections = [head, controls, trend]
    if staff.principal.can("transparency:publish"):
        head.facts.append(("Transparency report", Cell(
            "Privacy budget and reports", translate=True, href="/enterprise/transparency")))
    return sections


@router.get("/audits", response_class=HTMLResponse)
def audits(request: Request, session: SessionDep, staff: OfficerStaff) -> HTMLResponse:
    return show(request, "Audits", scorecard_sections(session, staff, locale_of(request)))


def _transparency(request: Request, session: Session, staff: Staff, **kw: Any) -> HTMLResponse:
    return show(request, "Transparency report", transparency.sections(
        session, staff.principal, runtime(request), staff.principal.org_id,
        period=request.query_params.get("period"), base="/enterprise/transparency"), **kw)


@router.get("/transparency", response_class=HTMLResponse)
def transparency_page(request: Request, session: SessionDep,
                      staff: OfficerStaff) -> HTMLResponse:
    return _transparency(request, session, staff)


@router.post("/transparency/publish", response_class=HTMLResponse)
async def transparency_publish(request: Request, session: SessionDep,
                               staff: OfficerStaff) -> Response:
    """Publish the enterprise's own report, as ``audit publish`` (its administrator)."""
    rt = runtime(request)
    return await act(request,
                     lambda v: transparency.publish(session, staff.principal, rt,
                                                    staff.principal.org_id, v),
                     lambda **kw: _transparency(request, session, staff, **kw))
