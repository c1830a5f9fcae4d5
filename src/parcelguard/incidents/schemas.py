"""Pydantic shapes of the incidents API. Unknown fields are refused. Free text and
documents carry no length or pattern constraints here (a failed constraint would
echo the value in the 422 body); the services check them and never quote them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from parcelguard.incidents.deadlines import DeadlinePolicy, local
from parcelguard.incidents.models import (
    Escalation,
    ForwardedReport,
    Incident,
    IncidentPlan,
    IncidentReport,
    IncidentTask,
    Intervention,
    PlanDrill,
    TimelineEntry,
)
from parcelguard.incidents.notices import NoticeRun
from parcelguard.incidents.plans import DrillStatus


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- plans ----------------------------------------------------------------------------


class PlanIn(_In):
    kind: Literal["security", "emergency"]
    content: dict[str, Any] = Field(description="The plan document (docs/incidents.md): "
                                    "security: scope, risks; emergency: playbooks per "
                                    "category, technicians with rota, contacts, "
                                    "reporting_chain.")


class PlanReviewIn(_In):
    approve: bool = Field(description="true approves; false returns it with comments.")
    comments: str = ""


class DrillIn(_In):
    held_at: datetime = Field(description="When the drill was held (with an offset).")
    scenario: str
    findings: str = ""


class PlanRead(BaseModel):
    id: str
    enterprise_id: str
    kind: str
    version: int
    status: str = Field(description="submitted, approved or returned")
    content: dict[str, Any]
    submitted_by: str
    submitted_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_comments: str | None

    @classmethod
    def of(cls, p: IncidentPlan) -> PlanRead:
        return cls(id=p.id, enterprise_id=p.enterprise_id, kind=p.kind, version=p.version,
                   status=p.status, content=p.content, submitted_by=p.submitted_by,
                   submitted_at=p.submitted_at, reviewed_by=p.reviewed_by,
                   reviewed_at=p.reviewed_at, review_comments=p.review_comments)


class DrillRead(BaseModel):
    id: str
    plan_id: str
    enterprise_id: str
    held_at: datetime
    scenario: str
    findings: str
    recorded_by: str

    @classmethod
    def of(cls, d: PlanDrill) -> DrillRead:
        return cls(id=d.id, plan_id=d.plan_id, enterprise_id=d.enterprise_id,
                   held_at=d.held_at, scenario=d.scenario, findings=d.findings,
                   recorded_by=d.recorded_by)


class DrillStatusRead(BaseModel):
    enterprise_id: str
    plan_id: str
    version: int
    last_drill_at: datetime | None
    stale: bool = Field(description="The last drill (or the approval, never drilled) is "
                        "older than drill_max_age_days.")

    @classmethod
    def of(cls, s: DrillStatus) -> DrillStatusRead:
        return cls(enterprise_id=s.enterprise_id, plan_id=s.plan_id, version=s.version,
                   last_drill_at=s.last_drill_at, stale=s.stale)


# -- incidents ------------------------------------------------------------------------


class IncidentIn(_In):
    title: str
    category: str = Field(description="insider_abuse, account_compromise, external_attack, "
                          "tampering, misconfiguration or partner")
    cause_class: Literal["subjective", "objective"] | None = Field(
        None, description="Default: the category's usual cause.")
    detected_at: datetime | None = Field(None, description="Default: now (event time).")
    evidence_event_ids: list[str] = Field(default_factory=list)
    affected_system: str | None = None
    source: Literal["manual", "alert", "complaint", "conduct", "audit"] = "manual"
    source_ref: str | None = Field(None, description="The alert, complaint or finding id.")


class EvidenceIn(_In):
    event_ids: list[str] = Field(min_length=1)


class TransitionIn(_In):
    to: str = Field(description="The next state: triaged, contained, reported, resolved, "
                    "reviewed.")
    note: str = ""


class TimelineRead(BaseModel):
    at: datetime
    actor: str = Field(description="org/account, org/API key, or system:<job>")
    action: str
    detail: dict[str, Any]

    @classmethod
    def of(cls, e: TimelineEntry) -> TimelineRead:
        return cls(at=e.at, actor=e.actor, action=e.action, detail=e.detail)


class TaskRead(BaseModel):
    id: str
    seq: int
    step: str
    assignee_employee_id: str | None
    status: str
    done_at: datetime | None
    done_by: str | None

    @classmethod
    def of(cls, t: IncidentTask) -> TaskRead:
        return cls(id=t.id, seq=t.seq, step=t.step, assignee_employee_id=t.assignee_employee_id,
                   status=t.status, done_at=t.done_at, done_by=t.done_by)


class ReportRead(BaseModel):
    id: str
    incident_id: str
    enterprise_id: str
    kind: str
    recipient: str
    parent_id: str | None
    status: str = Field(description="draft, filed or superseded")
    due_at: datetime | None
    due_local: str | None = Field(description="The deadline in the configured time zone.")
    filed_at: datetime | None
    filed_by: str | None
    on_time: bool | None
    content: dict[str, Any]

    @classmethod
    def of(cls, r: IncidentReport, policy: DeadlinePolicy) -> ReportRead:
        return cls(id=r.id, incident_id=r.incident_id, enterprise_id=r.enterprise_id,
                   kind=r.kind, recipient=r.recipient, parent_id=r.parent_id, status=r.status,
                   due_at=r.due_at,
                   due_local=local(r.due_at, policy).isoformat() if r.due_at else None,
                   filed_at=r.filed_at, filed_by=r.filed_by, on_time=r.on_time,
                   content=r.content)


class FileReportIn(_In):
    content: dict[str, Any] | None = Field(None, description="Items overriding the draft.")
    first_items_only: bool = Field(False, description="File only the unit, affected system "
                                   "and times; supplements follow (CAC measures).")


class SupplementIn(_In):
    content: dict[str, Any]


class EscalationRead(BaseModel):
    id: str
    enterprise_id: str
    incident_id: str | None
    subject: str = Field(description="The overdue report kind, or intervention_ack.")
    ref_id: str
    due_at: datetime
    escalated_at: datetime
    cleared_at: datetime | None

    @classmethod
    def of(cls, e: Escalation) -> EscalationRead:
        return cls(id=e.id, enterprise_id=e.enterprise_id, incident_id=e.incident_id,
                   subject=e.subject, ref_id=e.ref_id, due_at=e.due_at,
                   escalated_at=e.escalated_at, cleared_at=e.cleared_at)


class InboxRead(BaseModel):
    reports: list[ReportRead]
    escalations: list[EscalationRead]


class NotifyIn(_In):
    channel: Literal["sms", "email", "in_app"] = "sms"


class ForwardIn(_In):
    to_org_id: str | None = Field(None, max_length=64,
                                  description="The administration (default: the only one)")


class ForwardRead(BaseModel):
    id: str
    report_id: str
    incident_id: str
    enterprise_id: str
    grade: str
    status: str
    due_at: datetime
    overdue: bool
    to_org_id: str | None
    sent_at: datetime | None
    on_time: bool | None
    received_at: datetime | None
    receipt: str | None

    @classmethod
    def of(cls, f: ForwardedReport, now: datetime) -> ForwardRead:
        return cls(id=f.id, report_id=f.report_id, incident_id=f.incident_id,
                   enterprise_id=f.enterprise_id, grade=f.grade, status=f.status,
                   due_at=f.due_at, overdue=f.status == "pending" and now > f.due_at,
                   to_org_id=f.to_org_id, sent_at=f.sent_at, on_time=f.on_time,
                   received_at=f.received_at, receipt=f.receipt)


class AnnounceIn(_In):
    where: str = Field(min_length=1, max_length=64,
                       description="Where the announcement appears (website, app home page)")


class NoticeStatusRead(BaseModel):
    """Where the PIPL Art. 57 notices of an incident stand: people owed a notice by
    ``due_at`` are those no channel reached and no announcement covers."""

    people_affected: int
    notified: int
    unreachable: int
    announced: bool
    owed: int
    due_at: datetime
    overdue: bool


class NoticeRunRead(BaseModel):
    channel: str
    sent: int
    unreachable: int
    already_notified: int

    @classmethod
    def of(cls, r: NoticeRun) -> NoticeRunRead:
        return cls(channel=r.channel, sent=r.sent, unreachable=r.unreachable,
                   already_notified=r.already)


class InterventionIn(_In):
    kind: Literal["suspend_employee", "revoke_api_key", "block_device", "freeze_partner"]
    target_id: str = Field(description="Employee id, API key id, device id or partner id.")
    reason: str
    enterprise_id: str | None = Field(None, description="Supervision: the enterprise; "
                                      "enterprises: their own (default).")
    incident_id: str | None = None


class InterventionRead(BaseModel):
    id: str
    enterprise_id: str
    incident_id: str | None
    kind: str
    target_id: str
    reason: str
    ordered_by: str
    ordered_by_org: str
    applied_at: datetime
    requires_ack: bool
    ack_due_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    ledger_event_id: str
    lifted_at: datetime | None

    @classmethod
    def of(cls, i: Intervention) -> InterventionRead:
        return cls(id=i.id, enterprise_id=i.enterprise_id, incident_id=i.incident_id,
                   kind=i.kind, target_id=i.target_id, reason=i.reason,
                   ordered_by=i.ordered_by, ordered_by_org=i.ordered_by_org,
                   applied_at=i.applied_at, requires_ack=i.requires_ack,
                   ack_due_at=i.ack_due_at, acknowledged_at=i.acknowledged_at,
                   acknowledged_by=i.acknowledged_by, ledger_event_id=i.ledger_event_id,
                   lifted_at=i.lifted_at)


class IncidentRead(BaseModel):
    id: str
    enterprise_id: str
    title: str
    category: str
    cause_class: str
    state: str
    source: str
    affected_system: str
    grade: str
    people_affected: int
    records_affected: int
    unattributed_records: int = Field(description="Bulk records counted one person each "
                                      "(an upper bound).")
    data_types: list[str]
    records_by_category: dict[str, int]
    insider: bool
    cii: bool
    detected_at: datetime
    occurred_at: datetime | None
    resolved_at: datetime | None
    police_proposed_at: datetime | None
    police_basis: str | None
    opened_by: str

    @classmethod
    def of(cls, i: Incident) -> IncidentRead:
        return cls(id=i.id, enterprise_id=i.enterprise_id, title=i.title, category=i.category,
                   cause_class=i.cause_class, state=i.state, source=i.source,
                   affected_system=i.affected_system, grade=i.grade,
                   people_affected=i.people_affected, records_affected=i.records_affected,
                   unattributed_records=i.unattributed_records, data_types=i.data_types,
                   records_by_category=i.records_by_category, insider=i.insider, cii=i.cii,
                   detected_at=i.detected_at, occurred_at=i.occurred_at,
                   resolved_at=i.resolved_at, police_proposed_at=i.police_proposed_at,
                   police_basis=i.police_basis, opened_by=i.opened_by)


class IncidentDetail(IncidentRead):
    evidence_event_ids: list[str]
    timeline: list[TimelineRead]
    tasks: list[TaskRead]
    reports: list[ReportRead]
    interventions: list[InterventionRead]
    notices: dict[str, dict[str, int]] = Field(description="channel -> status -> people")
