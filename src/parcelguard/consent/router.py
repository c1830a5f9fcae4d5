"""Consent HTTP API (under /api/v1): privacy notices and consent records. Every
route acts inside the caller's own enterprise. Data-subject requests, whose
fulfilment touches PI, are served in one place by ``access/subjects/router.py``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse

from parcelguard.consent import service
from parcelguard.consent.notice import (
    LOCALES,
    NoticeParams,
    PartnerIn,
    render_html,
    render_text,
)
from parcelguard.consent.schemas import (
    AcknowledgeIn,
    ConsentHistoryItem,
    ConsentRecordRead,
    ConsentStatusRead,
    GrantIn,
    NoticePublish,
    NoticeVersionRead,
    PurposeStatusRead,
    WithdrawIn,
)
from parcelguard.core.errors import InvalidInput
from parcelguard.core.http import API, MAX_INT64, ClockDep, SessionDep
from parcelguard.identity.http import PrincipalDep

router = APIRouter(prefix=API, tags=["consent"])


Locale = Annotated[str, Query(description="zh-CN or en")]
Format = Annotated[Literal["json", "text", "html"],
                   Query(alias="format", description="json: the stored content; text/html: "
                         "rendered with prominent clauses emphasised")]


# -- notices ------------------------------------------------------------------------


@router.post("/consent/notice/versions", status_code=201)
def publish_notice(body: NoticePublish, response: Response, principal: PrincipalDep,
                   session: SessionDep, clock: ClockDep) -> NoticeVersionRead:
    """Publish the enterprise's privacy notice, filled from the template. A new
    version is made only when the content changed (200 with ``created: false``
    otherwise); old versions are kept. Needs ``consent:manage``."""
    params = NoticeParams(
        processor_name=body.processor_name, processor_contact=body.processor_contact,
        template=body.template,
        partners=tuple(PartnerIn(id=p.id, name=p.name, contact=p.contact,
                                 purpose=p.purpose, data_types=tuple(p.data_types))
                       for p in body.partners))
    published = service.publish_notice(session, principal, params=params, clock=clock)
    if not published.created:
        response.status_code = 200
    return NoticeVersionRead.of(published.version, published.created)


@router.get("/consent/notice/versions")
def list_notice_versions(principal: PrincipalDep, session: SessionDep
                         ) -> list[NoticeVersionRead]:
    """Every published version, oldest first."""
    return [NoticeVersionRead.of(v) for v in service.notice_versions(session, principal)]


def _show(session: SessionDep, principal: PrincipalDep, version: int | None, locale: str,
          fmt: str) -> Response:
    if locale not in LOCALES:
        raise InvalidInput(f"locale must be one of {', '.join(LOCALES)}")
    v = service.notice_version(session, principal, version=version)
    headers = {"X-Notice-Version": str(v.version), "X-Content-Hash": v.content_hash}
    if fmt == "text":
        return PlainTextResponse(render_text(v.content, locale), headers=headers)
    if fmt == "html":
        return HTMLResponse(render_html(v.content, locale), headers=headers)
    return JSONResponse({**NoticeVersionRead.of(v).model_dump(mode="json"),
                         "content": v.content}, headers=headers)


@router.get("/consent/notice")
def current_notice(principal: PrincipalDep, session: SessionDep, locale: Locale = "zh-CN",
                   fmt: Format = "html") -> Response:
    """The latest notice version, rendered (default HTML fragment in zh-CN)."""
    return _show(session, principal, None, locale, fmt)


@router.get("/consent/notice/versions/{version}")
def notice_version(version: Annotated[int, Path(ge=1, le=MAX_INT64)], principal: PrincipalDep,
                   session: SessionDep, locale: Locale = "zh-CN", fmt: Format = "html"
                   ) -> Response:
    """One notice version as it was published (content verified against its hash)."""
    return _show(session, principal, version, locale, fmt)


# -- consent records --------------------------------------------------------------


@router.post("/consent/subjects/{subject_id}/acknowledgements", status_code=201)
def acknowledge(subject_id: str, body: AcknowledgeIn, principal: PrincipalDep,
                session: SessionDep, clock: ClockDep) -> ConsentRecordRead:
    """Record that the person was shown the notice in force (the basis for delivery)."""
    return ConsentRecordRead.of(service.acknowledge_notice(
        session, principal, subject_id=subject_id, version=body.notice_version,
        channel=body.channel, clock=clock))


@router.post("/consent/subjects/{subject_id}/grants", status_code=201)
def grant(subject_id: str, body: GrantIn, principal: PrincipalDep, session: SessionDep,
          clock: ClockDep) -> ConsentRecordRead:
    """Record consent to one purpose under the notice in force."""
    return ConsentRecordRead.of(service.grant_consent(
        session, principal, subject_id=subject_id, purpose=body.purpose,
        version=body.notice_version, channel=body.channel, clock=clock))


@router.post("/consent/subjects/{subject_id}/withdrawals", status_code=201)
def withdraw(subject_id: str, body: WithdrawIn, principal: PrincipalDep,
             session: SessionDep, clock: ClockDep) -> ConsentRecordRead:
    """Withdraw a consent; effective immediately."""
    return ConsentRecordRead.of(service.withdraw_consent(
        session, principal, subject_id=subject_id, purpose=body.purpose,
        channel=body.channel, clock=clock))


@router.get("/consent/subjects/{subject_id}")
def consent_status(subject_id: str, principal: PrincipalDep, session: SessionDep,
                   clock: ClockDep) -> ConsentStatusRead:
    """Each purpose with whether it is allowed now and why, and the full history."""
    st = service.consent_status(session, principal, subject_id=subject_id, clock=clock)
    return ConsentStatusRead(
        subject_id=st.subject_id, at=st.at, notice_version=st.notice_version,
        purposes=[PurposeStatusRead(**vars(p)) for p in st.purposes],
        history=[ConsentHistoryItem(**h) for h in st.history])
