"""The enterprise's privacy notice on its portal: the version in force rendered as
people read it, every version with its hash (``consent notice show``), and a new
version published after a confirmation (``consent notice publish``, the
administrator: ``consent:manage``). ``consent.service`` fills, hashes and keeps the
versions; this module shows them and asks."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from parcelguard.consent import service
from parcelguard.consent.notice import NoticeParams, parse_partners, render_html
from parcelguard.core.errors import InvalidInput, NotFound
from parcelguard.core.http import SessionDep
from parcelguard.identity.models import Organization
from parcelguard.web.actions import CONFIRM, act, confirmed
from parcelguard.web.auth import OfficerStaff, Staff
from parcelguard.web.portals.enterprise_layout import show
from parcelguard.web.render import locale_of, runtime
from parcelguard.web.sections import Action, Cell, Input, Section

router = APIRouter(include_in_schema=False)  # mounted under /enterprise by enterprise.py


def _demoted(fragment: str) -> str:
    """The notice's headings one level down, under the page's own h1 and h2."""
    for level in (3, 2, 1):
        fragment = fragment.replace(f"<h{level}>", f"<h{level + 2}>").replace(
            f"</h{level}>", f"</h{level + 2}>")
    return fragment


def _notice(request: Request, session: Session, staff: Staff, **kw: Any) -> HTMLResponse:
    raw = request.query_params.get("version", "")
    version = int(raw) if raw.isdigit() and len(raw) < 6 else None
    head = Section("Privacy notice", html_id="notice")
    try:
        v = service.notice_version(session, staff.principal, version=version)
    except NotFound:
        head.facts = [("Version", Cell("no privacy notice is published yet", translate=True,
                                       cls="warn"))]
    else:
        content = v.content
        locale = locale_of(request)
        loc = locale if locale in content.get("locales", {}) else next(iter(content["locales"]))
        head.facts = [("Version", v.version), ("Published", v.published_at),
                      ("SHA-256", v.content_hash)]
        head.html = Markup(_demoted(render_html(content, loc)))  # noqa: S704 - render_html escapes every text
    versions = Section("Versions", ["Version", "Published", "SHA-256"], html_id="versions",
                       empty="No privacy notice is published yet.")
    for row in service.notice_versions(session, staff.principal):
        versions.add([Cell(row.version, href=f"/enterprise/notice?version={row.version}"),
                      row.published_at, row.content_hash])
    if staff.principal.can("consent:manage"):
        org = session.get(Organization, staff.principal.org_id)
        versions.forms.append(Action("/enterprise/notice/publish", "Publish the privacy notice",
                                     inputs=(
            Input("processor_name", "The enterprise's legal name", required=True,
                  value=org.name if org else ""),
            Input("processor_contact", "Contact of the PI protection officer", required=True),
            Input("partners", "Recipients of the data, as JSON (empty: none)", "textarea"),
            CONFIRM)))
    return show(request, "Privacy notice", [head, versions], **kw)


@router.get("/notice", response_class=HTMLResponse)
def notice_page(request: Request, session: SessionDep, staff: OfficerStaff) -> HTMLResponse:
    return _notice(request, session, staff)


@router.post("/notice/publish", response_class=HTMLResponse)
async def notice_publish(request: Request, session: SessionDep, staff: OfficerStaff) -> Response:
    """Publish as ``consent notice publish``: a new version only if the content changed."""
    clock = runtime(request).clock

    def run(v: dict[str, str]) -> tuple[str, dict[str, str]]:
        staff.principal.require("consent:manage")  # who may not is told so, not to confirm
        confirmed(v)
        text = v.get("partners", "").strip()
        try:
            raw = json.loads(text) if text else None
        except json.JSONDecodeError:
            raise InvalidInput("The recipients are not valid JSON.") from None
        params = NoticeParams(processor_name=v.get("processor_name", "").strip(),
                              processor_contact=v.get("processor_contact", "").strip(),
                              partners=parse_partners(raw))
        published = service.publish_notice(session, staff.principal, params=params,
                                           clock=clock)
        if published.created:
            return "Privacy notice version %(v)s published.", {"v": str(published.version.version)}
        return ("The content is unchanged: version %(v)s stays in force.",
                {"v": str(published.version.version)})

    return await act(request, run, lambda **kw: _notice(request, session, staff, **kw))
