"""The conduct API (under /api/v1/conduct).

Public: ``POST /conduct/evaluations`` with the one-time token from the recipient's
link (in the body, never in a URL). Staff (``conduct:manage``/``conduct:read``):
issue links, read an employee's window, run the rules, decide appeals. Employees
(``conduct:appeal``): their own decisions and appeals.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from parcelguard.conduct import rules, service
from parcelguard.conduct.models import ConductAppeal, ConductDecision
from parcelguard.conduct.settings import ConductSettings
from parcelguard.core.errors import PermissionDenied
from parcelguard.core.http import API, ClockDep, SessionDep, runtime_dep
from parcelguard.identity.http import PrincipalDep
from parcelguard.identity.permissions import Principal

router = APIRouter(prefix=f"{API}/conduct", tags=["conduct"])


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LinkIn(_In):
    waybill_no: str
    employee_id: str | None = Field(None, description="Default: the delivery courier.")


class EvaluationIn(_In):
    token: str = Field(description="The one-time token from the evaluation link.")
    rating: int = Field(ge=1, le=5)
    tags: list[str] = Field(default_factory=list, description=f"Any of {', '.join(rules.TAGS)}; "
                            f"privacy tags: {', '.join(rules.PRIVACY_TAGS)}.")


class SignalIn(_In):
    employee_id: str
    source: Literal["monitor_alert", "canary", "channel"]
    ref: str = Field(description="The alert id, canary hit or report id.")
    severity: str = "high"
    at: datetime | None = None


class RunIn(_In):
    employee_ids: list[str] | None = None


class AppealIn(_In):
    grounds: str


class AppealDecisionIn(_In):
    outcome: Literal["upheld", "overturned"]
    response: str


def _settings(request: Request) -> ConductSettings:
    return runtime_dep(request).settings.section(ConductSettings)


def _manager(principal: Principal) -> str:
    principal.require("conduct:manage")
    if principal.org_kind != "enterprise":
        raise PermissionDenied("conduct belongs to an enterprise")
    return principal.org_id


def _who(principal: Principal) -> str:
    return principal.account_id or principal.api_key_id or "api"


def _decision(d: ConductDecision) -> dict[str, Any]:
    return {"id": d.id, "employee_id": d.employee_id, "kind": d.kind, "rule": d.rule,
            "figures": d.figures, "status": d.status, "decided_at": d.decided_at,
            "suspension_id": d.suspension_id}


def _appeal(a: ConductAppeal) -> dict[str, Any]:
    return {"id": a.id, "decision_id": a.decision_id, "grounds": a.grounds, "status": a.status,
            "filed_at": a.filed_at, "decided_at": a.decided_at, "response": a.response}


@router.post("/links", status_code=201)
def issue_link(body: LinkIn, request: Request, principal: PrincipalDep, session: SessionDep,
               clock: ClockDep) -> dict[str, Any]:
    """A one-time evaluation link for a delivered parcel; the token goes to the
    recipient only (it is not stored)."""
    link = service.issue_link(session, enterprise_id=_manager(principal),
                              waybill_no=body.waybill_no, employee_id=body.employee_id,
                              clock=clock, settings=_settings(request))
    return {"token": link.token, "employee_id": link.employee_id, "expires_at": link.expires_at}


@router.post("/evaluations", status_code=201)
def evaluate(body: EvaluationIn, session: SessionDep, clock: ClockDep) -> dict[str, str]:
    """Evaluate the courier who delivered your parcel (1-5, tags). Works once."""
    service.submit_evaluation(session, token=body.token, rating=body.rating, tags=body.tags,
                              clock=clock)
    return {"status": "thank you"}


@router.post("/signals", status_code=201)
def signal(body: SignalIn, principal: PrincipalDep, session: SessionDep,
           clock: ClockDep) -> dict[str, bool]:
    """Note a sign of leakage about an employee (a monitor alert, a canary hit)."""
    new = service.note_signal(session, enterprise_id=_manager(principal),
                              employee_id=body.employee_id, source=body.source, ref=body.ref,
                              severity=body.severity, at=body.at or clock.now())
    return {"new": new}


@router.get("/employees/{employee_id}/window")
def window(employee_id: str, request: Request, principal: PrincipalDep, session: SessionDep,
           clock: ClockDep) -> dict[str, object]:
    """The employee's rolling figures."""
    principal.require("conduct:read")
    return service.window_of(session, enterprise_id=principal.org_id, employee_id=employee_id,
                             now=clock.now(), settings=_settings(request)).as_dict()


@router.post("/run")
def run(body: RunIn, request: Request, principal: PrincipalDep, session: SessionDep,
        clock: ClockDep) -> list[dict[str, Any]]:
    """Apply the rules to the windows; returns the decisions made."""
    ent = _manager(principal)
    out = service.apply_rules(session, enterprise_id=ent, now=clock.now(),
                              settings=_settings(request), by=_who(principal), clock=clock,
                              employee_ids=body.employee_ids)
    return [_decision(d) for d in out.decisions]


@router.get("/decisions")
def decisions(principal: PrincipalDep, session: SessionDep,
              employee_id: str | None = None) -> list[dict[str, Any]]:
    return [_decision(d) for d in service.list_decisions(session, principal,
                                                         employee_id=employee_id)]


@router.post("/decisions/{decision_id}/appeal", status_code=201)
def appeal(decision_id: str, body: AppealIn, principal: PrincipalDep, session: SessionDep,
           clock: ClockDep) -> dict[str, Any]:
    return _appeal(service.appeal(session, principal, decision_id, grounds=body.grounds,
                                  clock=clock))


@router.post("/decisions/{decision_id}/confirm-referral")
def confirm_referral(decision_id: str, *, principal: PrincipalDep, session: SessionDep,
                     clock: ClockDep) -> dict[str, Any]:
    """A person confirms a proposed police referral; it goes to the police through the
    outbox once the request commits."""
    ev = service.confirm_referral(session, principal, decision_id, clock=clock)
    return {"decision_id": decision_id, "evidence_links": ev.figures["evidence_links"]}


@router.get("/appeals")
def appeals(principal: PrincipalDep, session: SessionDep,
            status: str | None = None) -> list[dict[str, Any]]:
    return [_appeal(a) for a in service.appeals(session, principal, status=status)]


@router.post("/appeals/{appeal_id}/decision")
def decide_appeal(appeal_id: str, body: AppealDecisionIn, principal: PrincipalDep,
                  session: SessionDep, clock: ClockDep) -> dict[str, Any]:
    """Uphold or overturn; an overturned suspension is lifted at once."""
    return _appeal(service.decide_appeal(session, principal, appeal_id, outcome=body.outcome,
                                         response=body.response, clock=clock))
