"""Auditor portal (third-party intermediaries): engagements, fieldwork (start,
evaluate the controls on live data), control results and findings, and publishing
the signed report to the enterprise and the supervision department. Everything goes
through ``audit``'s services with the auditor's own principal, so the access window,
the lead-auditor rule and the read trail are theirs."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from parcelguard.audit import engagements, fieldwork, reports, support
from parcelguard.audit.controls import load_rulebook
from parcelguard.audit.models import AuditEngagement
from parcelguard.audit.settings import AuditSettings
from parcelguard.core.errors import DomainError, InvalidInput, NotFound
from parcelguard.core.http import SessionDep
from parcelguard.ledger.signing import registered_verifier
from parcelguard.web import overview as ov
from parcelguard.web.actions import CONFIRM, Done, act, confirmed
from parcelguard.web.auth import AuditorStaff, Staff
from parcelguard.web.i18n import gettext_for, localised
from parcelguard.web.render import Nav, locale_of, page, runtime
from parcelguard.web.sections import Action, Cell, Input, Section
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


# What a sample may draw (``audit sample --kind``), as people read it.
SAMPLE_KINDS = (("", "events of any kind"), ("access", "access events"),
                ("parcel", "parcel events"), ("employee", "employee events"))


def _fieldwork_sections(eng: AuditEngagement, request: Request, session: Session,
                        staff: Staff) -> tuple[Section, Section, Section]:
    """Attestations, samples drawn and data support sent, with their forms while the
    firm's fieldwork is open (``audit attest``, ``audit sample``, ``audit support send``)."""
    base = f"/auditor/engagements/{eng.id}"
    fieldwork_open = eng.status == "fieldwork" and staff.principal.can("audit:conduct") \
        and eng.auditor_org_id == staff.principal.org_id
    rulebook = load_rulebook()
    attested = Section("Attestations", ["Control", "Conclusion", "Document seen",
                                        "Document SHA-256"], html_id="attestations",
                       empty="No attestation recorded.",
                       intro="Controls checked by attestation: what the auditor saw. "
                             "Evaluate the controls again to count it.")
    for cid, a in fieldwork.attestations(session, eng.id).items():
        attested.add([cid, Cell("confirmed" if a.confirmed else "refuted", translate=True,
                                cls=None if a.confirmed else "overdue"),
                      a.evidence_ref, a.evidence_sha256])
    samples = Section("Samples drawn", ["Drawn", "Kind", "Events drawn", "Log positions"],
                      html_id="samples", empty="No sample drawn yet.")
    for entry in engagements.access_log(session, staff.principal, eng.id):
        if entry.action == "sample":
            positions = entry.detail.get("leaf_indices") or []
            samples.add([entry.at, Cell(dict(SAMPLE_KINDS).get(
                "" if entry.detail.get("kind") == "any" else str(entry.detail.get("kind")),
                str(entry.detail.get("kind"))), translate=True), len(positions),
                " ".join(str(i) for i in positions)])
    sent = Section("Data support to the police", ["Sent", "Referral", "Findings", "Events",
                                                  "Package SHA-256", "Status", "Receipt"],
                   html_id="support-sent", empty="No data support sent.")
    if staff.principal.can("audit:support_police"):
        for d in support.listing(session, staff.principal):
            if d.engagement_id == eng.id:
                sent.add([d.sent_at, d.referral_id, len(d.package.get("findings") or []),
                          len(d.package.get("events") or []), d.package_sha256,
                          Cell(d.status, translate=True), d.receipt])
    if fieldwork_open:
        controls = tuple((c, c) for c in eng.scope if rulebook.get(c).check == "attestation")
        if controls:
            attested.forms.append(Action(f"{base}/attest", "Record an attestation", inputs=(
                Input("control_id", "Control", "select", controls),
                Input("evidence_ref", "Reference of the document seen (no personal "
                      "information)", required=True),
                Input("evidence_sha256", "SHA-256 of the document seen", required=True),
                Input("refuted", "The evidence shows the control is NOT met", "checkbox"))))
        samples.forms.append(Action(f"{base}/sample", "Draw a sample", inputs=(
            Input("size", "Events to draw", "number",
                  value=str(runtime(request).settings.section(AuditSettings).sample_size)),
            Input("kind", "Kind of events", "select", SAMPLE_KINDS),
            Input("as_file", "Download the sample (leaves and inclusion proofs) as a file",
                  "checkbox"))))
    if staff.principal.can("audit:support_police") and \
            eng.auditor_org_id == staff.principal.org_id:
        sent.forms.append(Action(f"{base}/support", "Send data support to the police",
                                 inputs=(
            Input("referral_id", "Police case (referral id)", required=True),
            Input("finding_ids", "Findings of this engagement (ids, space separated)"),
            Input("event_ids", "Logged events (ids, space separated)"), CONFIRM)))
    return attested, samples, sent


def _engagement(engagement_id: str, request: Request, session: Session, staff: Staff,
                **kw: Any) -> HTMLResponse:
    eng = engagements.get(session, staff.principal, engagement_id)
    results = Section("Control results", ["Control", "Status", "Score", "Value", "Weight",
                                          "Summary"], html_id="results",
                      empty="Not evaluated yet.")
    for r in fieldwork.results(session, staff.principal, engagement_id):
        results.add([r.control_id, Cell(r.status, translate=True), r.score, r.value, r.weight,
                     r.summary])
    findings = Section("Findings", ["Finding", "Raised", "Control", "Severity", "Action",
                                    "Status", "Summary"], html_id="findings",
                       empty="No findings.")
    for f in fieldwork.findings(session, staff.principal, engagement_id=engagement_id):
        findings.add([f.id, f.raised_at, f.control_id, Cell(f.severity, translate=True),
                      Cell(f.action, translate=True), Cell(f.status, translate=True),
                      f.summary])
    attested, samples, sent = _fieldwork_sections(eng, request, session, staff)
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
    return show(request, "Engagement", [results, findings, attested, samples, sent, report],
                **kw)


@router.get("/engagements/{engagement_id}", response_class=HTMLResponse)
def engagement(engagement_id: str, request: Request, session: SessionDep,
               staff: AuditorStaff) -> HTMLResponse:
    return _engagement(engagement_id, request, session, staff)


def _draw(engagement_id: str, request: Request, session: Session, staff: Staff,
          v: dict[str, str]) -> tuple[fieldwork.Sample, int]:
    """A sample as ``audit sample`` draws it, and how many of its proofs verify
    against the signed checkpoint with the enterprise's registered key."""
    rt = runtime(request)
    raw = v.get("size", "").strip()
    if not raw.isdigit():
        raise InvalidInput("Events to draw: a whole number.")
    drawn = fieldwork.sample(session, staff.principal, engagement_id, size=int(raw),
                             kind=v.get("kind") or None, clock=rt.clock,
                             settings=rt.settings.section(AuditSettings))
    key = registered_verifier(session, drawn.enterprise_id)
    return drawn, (fieldwork.verify_sample(drawn, key.verifier_key) if key else 0)


async def _sample_file(engagement_id: str, request: Request, session: Session,
                       staff: Staff) -> Response:
    """The sample as a file (``audit sample --out``): leaves and inclusion proofs with
    the signed checkpoint, to verify on the auditor's own side. The answer to the
    post is the download; a refusal is the page with its reason."""
    form = await checked_form(request)
    v = {k: x for k, x in form.items() if isinstance(x, str)}
    try:
        drawn, _ok = _draw(engagement_id, request, session, staff, v)
    except DomainError as exc:
        return _engagement(engagement_id, request, session, staff,
                           errors=[localised(exc, gettext_for(locale_of(request)))],
                           status_code=exc.status_code)
    name = f"sample-{engagement_id}-{drawn.tree_size}.json"
    return Response(json.dumps(drawn.__dict__, indent=1), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})


@router.post("/engagements/{engagement_id}/{op}", response_class=HTMLResponse)
async def fieldwork_action(engagement_id: str, op: str, request: Request, session: SessionDep,
                           staff: AuditorStaff) -> Response:
    """``audit attest``, ``audit sample`` and ``audit support send`` on the page."""
    rt = runtime(request)
    if op == "sample" and (await checked_form(request)).get("as_file") == "yes":
        return await _sample_file(engagement_id, request, session, staff)

    def run(v: dict[str, str]) -> Done:
        if op == "attest":
            fieldwork.attest(session, staff.principal, engagement_id,
                             control_id=v.get("control_id", ""),
                             confirmed=v.get("refuted") != "yes",
                             evidence_ref=v.get("evidence_ref", ""),
                             evidence_sha256=v.get("evidence_sha256", ""),
                             rulebook=load_rulebook(), clock=rt.clock)
            return "Attestation recorded; evaluate the controls again to count it."
        if op == "sample":
            drawn, ok = _draw(engagement_id, request, session, staff, v)
            return ("%(n)s event(s) drawn at log size %(size)s; %(ok)s inclusion proofs "
                    "verify against the signed checkpoint.",
                    {"n": str(len(drawn.events)), "size": str(drawn.tree_size),
                     "ok": str(ok)})
        if op == "support":
            confirmed(v)
            row = support.send(session, staff.principal,
                               referral_id=v.get("referral_id", "").strip(),
                               engagement_id=engagement_id,
                               finding_ids=v.get("finding_ids", "").split(),
                               event_ids=v.get("event_ids", "").split(), clock=rt.clock)
            return ("Data support sent to the police (package %(digest)s).",
                    {"digest": row.package_sha256[:16]})
        raise NotFound(f"no action {op}")

    return await act(request, run,
                     lambda **kw: _engagement(engagement_id, request, session, staff, **kw))
