"""Auditor portal (third-party intermediaries): engagements, fieldwork (start,
evaluate the controls on live data), control results and findings, and publishing
the signed report to the enterprise and the supervision department. Everything goes
through ``audit``'s services with the auditor's own principal, so the access window,
the lead-auditor rule and the read trail are theirs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from parcelguard.audit import engagements, fieldwork, reports
from parcelguard.audit.controls import load_rulebook
from parcelguard.audit.settings import AuditSettings
from parcelguard.core.errors import NotFound
from parcelguard.core.http import SessionDep
from parcelguard.web import overview as ov
from parcelguard.web.actions import CONFIRM, act, confirmed
from parcelguard.web.auth import AuditorStaff, Staff
from parcelguard.web.render import Nav, locale_of, page, runtime
from parcelguard.web.sections import Action, Cell, Section
from parcelguard.web.security import checked_form

router = APIRouter(prefix="/auditor", include_in_schema=False)
NAV = [Nav("/auditor", "Engagements")]
# An engagement is "delivered" when its report is: not the parcel word (已签收).
_ENGAGEMENT_STATUS = {"delivered": "report delivered"}


def show(request: Request, title: str, sections: list[Section], **kw: Any) -> HTMLResponse:
    return page(request, "sections.html", title=title, nav=NAV, sections=sections,
                messages=kw.get("messages", []), errors=kw.get("errors", []),
                status_code=kw.get("status_code", 200))


def _engagements(request: Request, session: Session, staff: Staff, **kw: Any) -> HTMLResponse:
    sec = Section("Engagements", ["Engagement", "Enterprise", "Kind", "Period", "Status",
                                  "Score", "Coverage"], html_id="engagements",
                  empty="No engagements.")
    for e in engagements.list_for(session, staff.principal):
        acts = []
        if e.status == "planned":
            acts.append(Action("/auditor/start", "Start fieldwork", {"engagement_id": e.id}))
        if e.status == "fieldwork":
            # signing is reached through the report's preview, where it is confirmed
            acts.append(Action("/auditor/evaluate", "Evaluate controls",
                               {"engagement_id": e.id}))
        sec.add([Cell(e.id, href=f"/auditor/engagements/{e.id}"), e.enterprise_id,
                 Cell(e.kind, translate=True), engagements.period(e).key,
                 Cell(_ENGAGEMENT_STATUS.get(e.status, e.status), translate=True), e.score,
                 e.coverage], acts)
    return ov.show(request, "Engagements", NAV, ov.auditor(session, staff.principal,
                                                           runtime(request).clock.now()),
                   [sec], **kw)


@router.get("", response_class=HTMLResponse)
def engagements_page(request: Request, session: SessionDep,
                     staff: AuditorStaff) -> HTMLResponse:
    return _engagements(request, session, staff)


@router.post("/{op}", response_class=HTMLResponse)
async def engagement_action(op: str, request: Request, session: SessionDep,
                            staff: AuditorStaff) -> Response:
    rt = runtime(request)

    def run(v: dict[str, str]) -> str:
        eid = v.get("engagement_id", "")
        if op == "start":
            engagements.start(session, staff.principal, eid, clock=rt.clock,
                              settings=rt.settings.section(AuditSettings))
            return "Fieldwork started; read-only access is open."
        if op == "evaluate":
            # as `audit run` does: every failed control gets its finding
            rulebook = load_rulebook()
            fieldwork.evaluate(session, staff.principal, eid, rulebook=rulebook,
                               clock=rt.clock)
            fieldwork.raise_for_failures(session, staff.principal, eid, rulebook=rulebook,
                                         clock=rt.clock,
                                         settings=rt.settings.section(AuditSettings))
            return "Controls evaluated on the period's data; each failed control has a finding."
        if op == "issue":
            confirmed(v)
            reports.issue(session, staff.principal, eid, rulebook=load_rulebook(),
                          kms=request.app.state.vault.vault.kms, clock=rt.clock)
            return "Report signed and delivered to the enterprise and the supervision department."
        raise NotFound(f"no action {op}")

    if op == "issue":  # a refusal stays on the preview being read
        eid = str((await checked_form(request)).get("engagement_id", ""))
        return await act(request, run, lambda **kw: (
            _preview(eid, request, session, staff, **kw) if kw.get("errors")
            else _engagements(request, session, staff, **kw)))
    return await act(request, run, lambda **kw: _engagements(request, session, staff, **kw))


def _preview(engagement_id: str, request: Request, session: Session, staff: Staff,
             **kw: Any) -> HTMLResponse:
    """The report as it will be signed: score, each control's result, the findings;
    signing and publishing it (irreversible) is confirmed here."""
    body = reports.preview(session, staff.principal, engagement_id, rulebook=load_rulebook())
    zh = locale_of(request) == "zh-CN"
    head = Section("Report preview", facts=[
        ("Enterprise", body["enterprise_id"]), ("Period", body["period"]["key"]),
        ("Score", body["score"]), ("Coverage", body["coverage"]),
        ("Delivered to", ", ".join(body["delivered_to"]))], html_id="preview",
        intro="This is the report you are about to sign; read it before signing.")
    controls = Section("Control results", ["Control", "Title", "Status", "Score", "Summary"],
                       html_id="preview-controls", empty="Not evaluated yet.")
    for c in body["controls"]:
        controls.add([c["id"], c["title_zh"] if zh else c["title_en"],
                      Cell(c["status"], translate=True, cls="overdue"
                           if c["status"] == "fail" else None), c["score"], c["summary"]])
    findings = Section("Findings", ["Control", "Severity", "Action", "Summary"],
                       html_id="preview-findings", empty="No findings.")
    for f in body["findings"]:
        findings.add([f["control_id"], Cell(f["severity"], translate=True),
                      Cell(f["action"], translate=True), f["summary"]])
    # once signed, the preview is history: the answer is the engagement with its report
    findings.forms.append(Action("/auditor/issue", "Sign and publish the report",
                                 {"engagement_id": engagement_id,
                                  "_page": f"/auditor/engagements/{engagement_id}"},
                                 inputs=(CONFIRM,)))
    return show(request, "Report preview", [head, controls, findings], **kw)


@router.get("/engagements/{engagement_id}/preview", response_class=HTMLResponse)
def preview(engagement_id: str, request: Request, session: SessionDep,
            staff: AuditorStaff) -> HTMLResponse:
    return _preview(engagement_id, request, session, staff)


@router.get("/engagements/{engagement_id}", response_class=HTMLResponse)
def engagement(engagement_id: str, request: Request, session: SessionDep,
               staff: AuditorStaff) -> HTMLResponse:
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
        report.facts = [("Audit report", Cell("not issued yet", translate=True)),
                        ("Preview", Cell("Read the report before signing", translate=True,
                                         href=f"/auditor/engagements/{engagement_id}/preview"))]
    else:
        ok = reports.verify(session, row)
        report.facts = [("Signed", row.signed_at), ("SHA-256", row.sha256),
                        ("Delivered to", ", ".join(row.delivered_to)),
                        ("Signature", Cell("✔ verified" if ok else "✘ does not verify",
                                           cls="verified" if ok else "failed"))]
    return show(request, "Engagement", [results, findings, report])
