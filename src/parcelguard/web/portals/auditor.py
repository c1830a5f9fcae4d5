"""Auditor portal (third-party intermediaries): engagements, fieldwork (start,
evaluate the controls on live data), control results and findings, and publishing
the signed report to the enterprise and the supervision department. Everything goes
through ``audit``'s services with the auditor's own principal, so the access window,
the lead-auditor rule and the read trail are theirs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from parcelguard.core.errors import NotFound
from parcelguard.core.http import SessionDep
from parcelguard.web import capabilities
from parcelguard.web.auth import AuditorStaff, Staff
from parcelguard.web.portals.enterprise import act
from parcelguard.web.render import Nav, page, runtime
from parcelguard.web.sections import Action, Cell, Section, unavailable

router = APIRouter(prefix="/auditor", include_in_schema=False)
NAV = [Nav("/auditor", "Engagements")]
AUDIT_TABLES = ("audit_engagements", "audit_control_results", "audit_reports")


def _available(session: Session) -> bool:
    return all(capabilities.service(session, f"parcelguard.audit.{m}", *AUDIT_TABLES)
               is not None for m in ("engagements", "fieldwork", "reports"))


def show(request: Request, title: str, sections: list[Section], **kw: Any) -> HTMLResponse:
    return page(request, "sections.html", title=title, nav=NAV, sections=sections,
                messages=kw.get("messages", []), errors=kw.get("errors", []),
                status_code=kw.get("status_code", 200))


def _engagements(request: Request, session: Session, staff: Staff, **kw: Any) -> HTMLResponse:
    if not _available(session):
        return show(request, "Engagements", [unavailable("Engagements")], **kw)
    from parcelguard.audit import engagements

    sec = Section("Engagements", ["Engagement", "Enterprise", "Kind", "Period", "Status",
                                  "Score", "Coverage"], html_id="engagements",
                  empty="No engagements.")
    for e in engagements.list_for(session, staff.principal):
        acts = []
        if e.status == "planned":
            acts.append(Action("/auditor/start", "Start fieldwork", {"engagement_id": e.id}))
        if e.status == "fieldwork":
            acts += [Action("/auditor/evaluate", "Evaluate controls", {"engagement_id": e.id}),
                     Action("/auditor/findings", "Raise findings for failed controls",
                            {"engagement_id": e.id}),
                     Action("/auditor/issue", "Sign and publish the report",
                            {"engagement_id": e.id}, secondary=True)]
        sec.add([Cell(e.id, href=f"/auditor/engagements/{e.id}"), e.enterprise_id,
                 Cell(e.kind, translate=True), engagements.period(e).key,
                 Cell(e.status, translate=True), e.score, e.coverage], acts)
    return show(request, "Engagements", [sec], **kw)


@router.get("", response_class=HTMLResponse)
def engagements_page(request: Request, session: SessionDep,
                     staff: AuditorStaff) -> HTMLResponse:
    return _engagements(request, session, staff)


@router.post("/{op}", response_class=HTMLResponse)
async def engagement_action(op: str, request: Request, session: SessionDep,
                            staff: AuditorStaff) -> HTMLResponse:
    rt = runtime(request)

    def run(v: dict[str, str]) -> str:
        from parcelguard.audit import engagements, fieldwork, reports
        from parcelguard.audit.rulebook import load

        eid = v.get("engagement_id", "")
        if op == "start":
            engagements.start(session, staff.principal, eid, clock=rt.clock,
                              settings=rt.settings.audit)
            return "Fieldwork started; read-only access is open."
        if op == "evaluate":
            fieldwork.evaluate(session, staff.principal, eid, rulebook=load(), clock=rt.clock)
            return "Controls evaluated on the period's data."
        if op == "findings":
            # one finding per failed control that has none yet, so a second click adds
            # nothing; an incident-type finding's incident follows the commit (outbox)
            fieldwork.raise_for_failures(session, staff.principal, eid, rulebook=load(),
                                         clock=rt.clock, settings=rt.settings.audit)
            return "Findings raised for the failed controls that had none."
        if op == "issue":
            reports.issue(session, staff.principal, eid, rulebook=load(),
                          kms=request.app.state.vault.vault.kms, clock=rt.clock)
            return "Report signed and delivered to the enterprise and the supervision department."
        raise NotFound(f"no action {op}")

    return await act(request, run, lambda **kw: _engagements(request, session, staff, **kw))


@router.get("/engagements/{engagement_id}", response_class=HTMLResponse)
def engagement(engagement_id: str, request: Request, session: SessionDep,
               staff: AuditorStaff) -> HTMLResponse:
    if not _available(session):
        return show(request, "Engagement", [unavailable("Control results")])
    from parcelguard.audit import fieldwork, reports

    results = Section("Control results", ["Control", "Status", "Score", "Value", "Weight",
                                          "Summary"], html_id="results",
                      empty="Not evaluated yet.")
    for r in fieldwork.results(session, staff.principal, engagement_id):
        results.add([r.control_id, Cell(r.status, translate=True), r.score, r.value, r.weight,
                     r.summary])
    findings = Section("Findings", ["Raised", "Control", "Severity", "Action", "Status",
                                    "Summary"], html_id="findings", empty="No findings.")
    for f in fieldwork.findings(session, staff.principal, engagement_id=engagement_id):
        findings.add([f.raised_at, f.control_id, Cell(f.severity, translate=True),
                      Cell(f.action, translate=True), Cell(f.status, translate=True), f.summary])
    report = Section("Report publishing", html_id="report")
    try:
        row = reports.get(session, staff.principal, engagement_id)
    except NotFound:
        report.facts = [("Report", Cell("not issued yet", translate=True))]
    else:
        ok = reports.verify(session, row)
        report.facts = [("Signed", row.signed_at), ("SHA-256", row.sha256),
                        ("Delivered to", ", ".join(row.delivered_to)),
                        ("Signature", Cell("✔ verified" if ok else "✘ does not verify",
                                           cls="verified" if ok else "failed"))]
    return show(request, "Engagement", [results, findings, report])
