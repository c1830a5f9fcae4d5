"""Incident tables: plans and drills, incidents with their links, timeline, tasks,
reports, escalations, notices to people and interventions.

None of them holds PI. People are pseudonymous subject ids; a notice keeps the
masked destination the notifier reported (e.g. 138******78), never the address;
report contents and reasons are checked for phone/ID/e-mail-shaped text first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from parcelguard.core.db import Base, UTCDateTime


class IncidentPlan(Base):
    """One version of an enterprise's information-security plan (``security``) or
    emergency plan (``emergency``). The supervision department reviews each version:
    ``submitted`` -> ``approved`` | ``returned`` (with comments). The plan in force is
    the latest approved version."""

    __tablename__ = "incident_plans"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    kind: Mapped[str] = mapped_column(String(12))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    submitted_by: Mapped[str] = mapped_column(String(140))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(140))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_comments: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("uq_incident_plans_version", "enterprise_id", "kind", "version", unique=True),
    )


class PlanDrill(Base):
    """An emergency drill held on a plan version (GB/T 35273-2020: at least yearly)."""

    __tablename__ = "incident_drills"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("incident_plans.id"))
    enterprise_id: Mapped[str] = mapped_column(String(64))
    held_at: Mapped[datetime] = mapped_column(UTCDateTime)
    scenario: Mapped[str] = mapped_column(String(500))
    findings: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(140))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_incident_drills_enterprise", "enterprise_id", "held_at"),)


class Incident(Base):
    """A security incident. The impact columns are recomputed from the evidence
    events whenever evidence is added; the grade follows them."""

    __tablename__ = "incidents"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(24))
    cause_class: Mapped[str] = mapped_column(String(12))
    state: Mapped[str] = mapped_column(String(12))
    source: Mapped[str] = mapped_column(String(12))
    affected_system: Mapped[str] = mapped_column(String(200))
    grade: Mapped[str] = mapped_column(String(20))
    # "enterprise|subject" the incident is about, so new alerts on the same subject
    # join it while it is open instead of opening a second incident.
    subject_key: Mapped[str | None] = mapped_column(String(240))
    people_affected: Mapped[int] = mapped_column(Integer, default=0)
    records_affected: Mapped[int] = mapped_column(Integer, default=0)
    # Bulk records (searches, exports) whose people the events do not name: counted
    # as one person each in people_affected, an upper bound kept visible here.
    unattributed_records: Mapped[int] = mapped_column(Integer, default=0)
    data_types: Mapped[list[str]] = mapped_column(JSON)
    records_by_category: Mapped[dict[str, int]] = mapped_column(JSON)
    evidence_event_ids: Mapped[list[str]] = mapped_column(JSON)
    actor_ids: Mapped[list[str]] = mapped_column(JSON)
    insider: Mapped[bool] = mapped_column(Boolean, default=False)
    cii: Mapped[bool] = mapped_column(Boolean, default=False)  # at detection
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_moved_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Grading inputs beyond people (CAC measures' annex), as the handler established
    # them; None: not known. ``grading_basis`` lists what reached a reportable grade.
    direct_loss_rmb: Mapped[int | None] = mapped_column(BigInteger)
    outage_hours: Mapped[float | None] = mapped_column(Float)
    main_outage_hours: Mapped[float | None] = mapped_column(Float)
    data_class: Mapped[str | None] = mapped_column(String(12))
    data_threat: Mapped[str | None] = mapped_column(String(24))
    grading_basis: Mapped[list[str] | None] = mapped_column(JSON)
    disposition: Mapped[str | None] = mapped_column(String(24))  # model.Disposition at closing
    police_proposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    police_basis: Mapped[str | None] = mapped_column(String(500))
    opened_by: Mapped[str] = mapped_column(String(140))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_incidents_enterprise_state", "enterprise_id", "state"),
        Index("ix_incidents_subject_key", "subject_key"),
    )


class IncidentLink(Base):
    """What an incident was opened from or linked to (an alert, a complaint, a conduct
    or audit finding). Unique per source, so a re-delivered event opens nothing."""

    __tablename__ = "incident_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"))
    kind: Mapped[str] = mapped_column(String(12))
    ref: Mapped[str] = mapped_column(String(128))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("uq_incident_links_source", "kind", "ref", unique=True),
        Index("ix_incident_links_incident", "incident_id"),
    )


class TimelineEntry(Base):
    """Who did what, when: every change to an incident appends one row."""

    __tablename__ = "incident_timeline"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(140))  # "org/account", "system:..."
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (Index("ix_incident_timeline_incident", "incident_id", "id"),)


class IncidentTask(Base):
    """A step of the emergency plan's playbook, assigned to an on-call technician."""

    __tablename__ = "incident_tasks"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"))
    seq: Mapped[int] = mapped_column(Integer)
    step: Mapped[str] = mapped_column(String(500))
    assignee_employee_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(8))  # open | done
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by: Mapped[str | None] = mapped_column(String(140))

    __table_args__ = (Index("ix_incident_tasks_incident", "incident_id", "seq"),)


class IncidentReport(Base):
    """A statutory report: drafted automatically with its deadline (``draft``), then
    ``filed`` to the supervision department's inbox. Supplements point at the report
    they complete and have no deadline."""

    __tablename__ = "incident_reports"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"))
    enterprise_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(32))
    parent_id: Mapped[str | None] = mapped_column(String(64))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12))  # draft | filed | superseded
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    drafted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    filed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    filed_by: Mapped[str | None] = mapped_column(String(140))
    on_time: Mapped[bool | None] = mapped_column(Boolean)

    __table_args__ = (
        Index("ix_incident_reports_incident", "incident_id"),
        Index("ix_incident_reports_due", "status", "due_at"),
        Index("ix_incident_reports_filed", "enterprise_id", "filed_at"),
    )


class Escalation(Base):
    """An overdue report or unacknowledged intervention, flagged to the supervision
    department by the sweep. ``subject`` + ``ref_id`` is unique: flagged once."""

    __tablename__ = "incident_escalations"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(64))
    incident_id: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(24))  # report kind | intervention_ack
    ref_id: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # filed late / acked

    __table_args__ = (
        Index("uq_incident_escalations_ref", "subject", "ref_id", unique=True),
        Index("ix_incident_escalations_enterprise", "enterprise_id", "escalated_at"),
    )


class Notice(Base):
    """A PIPL Art. 57 notice to one affected person on one channel."""

    __tablename__ = "incident_notices"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"))
    enterprise_id: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(8))  # sms | email | in_app
    destination: Mapped[str | None] = mapped_column(String(64))  # masked, never clear
    status: Mapped[str] = mapped_column(String(12))  # sent | no_address | failed
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_by: Mapped[str] = mapped_column(String(140))

    __table_args__ = (
        Index("uq_incident_notices_person", "incident_id", "subject_id", "channel",
              unique=True),
    )


class Intervention(Base):
    """A measure cutting off a source of harm: suspend an employee's PI access,
    revoke an API key, block a device, freeze sharing with a partner. Applied the
    moment it is recorded; one the supervision department orders must be
    acknowledged by the enterprise within ``ack_due_at``."""

    __tablename__ = "incident_interventions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    incident_id: Mapped[str | None] = mapped_column(ForeignKey("incidents.id"))
    kind: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500))
    ordered_by: Mapped[str] = mapped_column(String(140))
    ordered_by_org: Mapped[str] = mapped_column(String(64))
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime)
    requires_ack: Mapped[bool] = mapped_column(Boolean)
    ack_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(140))
    suspension_id: Mapped[str | None] = mapped_column(String(64))  # access_suspensions
    # A frozen partner's previous ``active`` flag, restored when the freeze is lifted.
    partner_was_active: Mapped[bool | None] = mapped_column(Boolean)
    ledger_event_id: Mapped[str] = mapped_column(String(64))
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by: Mapped[str | None] = mapped_column(String(140))

    __table_args__ = (
        Index("ix_incident_interventions_target", "enterprise_id", "kind", "target_id"),
        Index("ix_incident_interventions_ack", "requires_ack", "acknowledged_at"),
    )


class ForwardedReport(Base):
    """A filed report of a grade the cyberspace administration must hear of, forwarded
    onward by the supervision department (seed 4.1.2): ``pending`` with its deadline
    when the report lands in the inbox, ``sent`` when the department forwards it,
    ``received`` when the administration acknowledges it with its receipt."""

    __tablename__ = "incident_forwards"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    report_id: Mapped[str] = mapped_column(ForeignKey("incident_reports.id"), unique=True)
    incident_id: Mapped[str] = mapped_column(String(64))
    enterprise_id: Mapped[str] = mapped_column(String(64))
    # the administration it went to; empty until sent (it is owed to whichever is registered)
    to_org_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"))
    grade: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))  # pending | sent | received
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_by: Mapped[str | None] = mapped_column(String(140))
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_by: Mapped[str | None] = mapped_column(String(140))
    receipt: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (Index("ix_incident_forwards_to", "to_org_id", "status", "due_at"),)
