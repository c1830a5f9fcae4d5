"""The relay: what a node's own domain records owe other nodes, queued as signed
envelopes in its outbox.

On an enterprise node:
- a statutory report filed (incidents/reports.py) -> ``incident_report`` to the
  supervision node that signs the directory (a supplement -> ``incident_supplement``);
- an escalation its overdue sweep raised -> ``escalation`` to the same node (and,
  once it is cleared, its clearing);
- a police referral prepared (channel/referrals.py) -> ``police_referral`` to the
  police node it names (or the directory's police node), with the evidence package
  itself and what lets the police check it against their own witness (the newest
  checkpoint their witness cosigned and the consistency proof to the package's).
On the supervision node:
- an audit engagement it ordered or scheduled (audit/engagements.py) ->
  ``audit_grant`` to the auditor's node and to the enterprise's;
- a report it forwarded onward (incidents/forwards.py) -> ``onward_report`` to the
  node of the organisation it went to, if that organisation runs one.
On an auditor or police node:
- a tamper finding of its witness -> ``onward_report`` to the supervision node.
On the cyberspace administration's node:
- a forward it acknowledged (incidents/forwards.py ``acknowledge``) ->
  ``forward_receipt`` to the supervision node that forwarded it.

The domain packages know nothing of nodes: they record what happened in their own
tables; a relay pass (``node serve`` runs one every ``checkpoint_seconds``; the
federated demo runs one after each step) queues an envelope for each record not yet
queued. Its message id is derived from the record (``report:<id>``), and its outbox
id from that (service.outbox_id), so a record is queued once however many passes,
processes or crashes see it; delivery is the outbox's at-least-once, receipt the
inbox's exactly-once. Bodies carry ids, codes and counts, never PI (an evidence
package's events carry pseudonymous ids, as on a single store).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.core import outbox
from parcelguard.node import service
from parcelguard.node.directory import Directory


def _first(directory: Directory, role: str, org: str | None = None) -> str | None:
    nodes = sorted((n for n in directory.nodes if n.role == role), key=lambda n: n.org)
    named = [n.org for n in nodes if n.org == org]
    return named[0] if named else (nodes[0].org if nodes else None)


def _not_queued(session: Session, message_ids: Iterable[str]) -> set[str]:
    want = {service.outbox_id(m): m for m in message_ids}
    if not want:
        return set()
    have = set(session.scalars(select(outbox.OutboxMessage.id).where(
        outbox.OutboxMessage.id.in_(list(want)))))
    return {m for oid, m in want.items() if oid not in have}


def relay_pass(session: Session, *, me: service.Me, directory: Directory | None) -> int:
    """Queue, in ``session``'s transaction, an envelope for every record owed one;
    how many were queued."""
    if directory is None:
        return 0
    owed = {"enterprise": _owed, "supervision": _owed_by_department,
            "auditor": _owed_by_witness, "police": _owed_by_witness,
            "cac": _owed_by_administration}.get(me.role)
    if owed is None:
        return 0
    queued = 0
    for to_org, kind, mid, body in owed(session, me.org, directory):
        service.send(session, me=me, directory=directory, to_org=to_org, kind=kind,
                     body=body, message_id=mid)
        queued += 1
    return queued


def _department(directory: Directory) -> str | None:
    """The supervision node reports go to: the one that signs the directory."""
    issuer = directory.entry(directory.issuer)
    if issuer is not None and issuer.role == "supervision":
        return issuer.org
    return _first(directory, "supervision")


def _mid(prefix: str, *parts: str) -> str:
    """A message id derived from a record (at most 64 characters)."""
    raw = ":".join(parts)
    if len(prefix) + 1 + len(raw) <= 64:
        return f"{prefix}:{raw}"
    return f"{prefix}:{hashlib.sha256(raw.encode()).hexdigest()[:48]}"


def _owed(session: Session, org: str, directory: Directory
          ) -> list[tuple[str, str, str, dict[str, Any]]]:
    from parcelguard.channel.models import ChannelReferral
    from parcelguard.incidents.models import Escalation, Incident, IncidentReport

    out: list[tuple[str, str, str, dict[str, Any]]] = []
    sup = _department(directory)
    if sup is not None:
        filed = {f"report:{r.id}": r for r in session.scalars(select(IncidentReport).where(
            IncidentReport.enterprise_id == org, IncidentReport.status == "filed"))}
        for mid in sorted(_not_queued(session, filed), key=lambda m: (filed[m].filed_at, m)):
            r = filed[mid]
            inc = session.get(Incident, r.incident_id)
            assert inc is not None
            out.append((sup, "incident_supplement" if r.parent_id else "incident_report",
                        mid, report_body(session, r, inc)))
        # what the enterprise's own sweep flagged overdue (incidents/reports.py)
        escs = {_mid("escalation", e.id): e for e in session.scalars(select(Escalation).where(
            Escalation.enterprise_id == org))}
        for mid in sorted(_not_queued(session, escs), key=lambda m: (escs[m].escalated_at, m)):
            e = escs[mid]
            out.append((sup, "escalation", mid, {
                "escalation": e.id, "incident": e.incident_id, "subject": e.subject,
                "ref": e.ref_id, "due_at": e.due_at.isoformat(),
                "escalated_at": e.escalated_at.isoformat(),
                "cleared_at": e.cleared_at.isoformat() if e.cleared_at else None}))
        # one cleared since (the report filed late, the notice sent): its clearing, once
        cleared = {_mid("escalation-cleared", e.id): e for e in escs.values()
                   if e.cleared_at is not None}
        for mid in sorted(_not_queued(session, cleared),
                          key=lambda m: (cleared[m].cleared_at, m)):
            e = cleared[mid]
            assert e.cleared_at is not None
            out.append((sup, "escalation", mid, {
                "escalation": e.id, "cleared_at": e.cleared_at.isoformat()}))
    referrals = {f"referral:{r.id}": r for r in session.scalars(select(ChannelReferral).where(
        ChannelReferral.enterprise_id == org,
        ChannelReferral.status.in_(("sent", "accepted", "concluded"))))}
    for mid in sorted(_not_queued(session, referrals)):
        ref = referrals[mid]
        police = _first(directory, "police", ref.police_org_id)
        if police is None:
            continue
        package = ref.package if isinstance(ref.package, dict) else {}
        events = package.get("events")
        size = package.get("tree_size")
        out.append((police, "police_referral", mid, {
            "referral": ref.id, "source_type": ref.source_type, "source_id": ref.source_id,
            "reason": ref.reason, "created_at": ref.created_at.isoformat(),
            "evidence_events": len(events) if isinstance(events, list) else 0,
            "package_sha256": ref.package_sha256, "package": package,
            "witnessed": _witnessed(session, org, police, size)
            if isinstance(size, int) else None}))
    return out


def _witnessed(session: Session, org: str, police: str, size: int) -> dict[str, Any] | None:
    """The newest checkpoint of the log the police node's own witness cosigned (the
    note, its cosignature line) and the consistency proof between it and the
    package's checkpoint: the police check the package against what they witnessed,
    not only against the log's key. None before that witness cosigned anything."""
    from parcelguard.ledger import logs
    from parcelguard.ledger.models import LedgerCheckpoint, LedgerCosignature
    from parcelguard.ledger.signing import ORIGIN_PREFIX

    row = session.execute(
        select(LedgerCheckpoint.note, LedgerCheckpoint.size, LedgerCosignature.line)
        .join(LedgerCosignature, LedgerCosignature.checkpoint_id == LedgerCheckpoint.id)
        .where(LedgerCheckpoint.enterprise_id == org,
               LedgerCosignature.witness == f"{ORIGIN_PREFIX}/witness/{police}")
        .order_by(LedgerCheckpoint.size.desc(), LedgerCheckpoint.id.desc()).limit(1)).first()
    if row is None:
        return None
    note, cp_size, line = row
    lo, hi = sorted((size, int(cp_size)))
    return {"note": note, "cosignature": line,
            "consistency": logs.consistency(session, org, lo, hi)["consistency"]}


def _owed_by_department(session: Session, org: str, directory: Directory
                        ) -> list[tuple[str, str, str, dict[str, Any]]]:
    """The supervision node's records that owe messages: an audit it ordered or
    scheduled (``audit_grant`` to the auditor's node and to the enterprise's), a
    report it forwarded onward (``onward_report`` to the node of the organisation it
    went to, when that organisation has one)."""
    from parcelguard.audit.models import AuditEngagement
    from parcelguard.incidents.models import ForwardedReport, Incident, IncidentReport

    out: list[tuple[str, str, str, dict[str, Any]]] = []
    engagements = list(session.scalars(select(AuditEngagement).where(
        AuditEngagement.status != "cancelled").order_by(AuditEngagement.created_at,
                                                         AuditEngagement.id)))
    grants: dict[str, tuple[str, Any]] = {}
    for eng in engagements:
        for to in (eng.auditor_org_id, eng.enterprise_id):
            peer = directory.entry(to)
            if peer is not None and peer.role in ("auditor", "enterprise"):
                grants[_mid("grant", eng.id, to)] = (to, eng)
    for mid in sorted(_not_queued(session, grants),
                      key=lambda m: (grants[m][1].created_at, m)):
        to, eng = grants[mid]
        out.append((to, "audit_grant", mid, {
            "engagement": eng.id, "enterprise": eng.enterprise_id,
            "auditor": eng.auditor_org_id, "kind": eng.kind, "scope": list(eng.scope),
            "rulebook": eng.rulebook_version, "period_start": eng.period_start.isoformat(),
            "period_end": eng.period_end.isoformat(), "reason": eng.reason,
            "lead": eng.lead_auditor_id, "requested_by": eng.requested_by,
            "created_at": eng.created_at.isoformat(), "sample_seed": eng.sample_seed}))
    forwards: dict[str, Any] = {}
    for fwd in session.scalars(select(ForwardedReport).where(
            ForwardedReport.status.in_(("sent", "received")),
            ForwardedReport.to_org_id.is_not(None))):
        peer = directory.entry(fwd.to_org_id) if fwd.to_org_id else None
        if peer is not None and peer.role in ("cac", "police") and peer.org != org:
            forwards[_mid("forward", fwd.id)] = fwd
    for mid in sorted(_not_queued(session, forwards)):
        fwd = forwards[mid]
        # what the administration's node makes its own record of (incidents/received.py
        # record_forward): the forward and the report's ids, codes and counts
        report = session.get(IncidentReport, fwd.report_id)
        inc = session.get(Incident, fwd.incident_id)
        filed: dict[str, Any] = {} if report is None or inc is None else {
            "parent": report.parent_id, "report_kind": report.kind,
            "recipient": report.recipient, "category": inc.category,
            "people_affected": inc.people_affected,
            "records": dict(inc.records_by_category or {}),
            "filed_at": report.filed_at.isoformat() if report.filed_at else None}
        out.append((fwd.to_org_id, "onward_report", mid, {
            "subject": "incident_report", "forward": fwd.id, "report": fwd.report_id,
            "incident": fwd.incident_id, "enterprise": fwd.enterprise_id,
            "grade": fwd.grade, "sent_at": fwd.sent_at.isoformat() if fwd.sent_at else None,
            "due_at": fwd.due_at.isoformat(), "on_time": fwd.on_time, **filed}))
    return out


def _owed_by_administration(session: Session, org: str, directory: Directory
                            ) -> list[tuple[str, str, str, dict[str, Any]]]:
    """The cyberspace administration's receipt for a forward it acknowledged on its
    node (incidents/forwards.py ``acknowledge``) -> ``forward_receipt`` to the
    department whose node sent the forward (the sender of its ``onward_report``)."""
    from parcelguard.incidents.models import ForwardedReport
    from parcelguard.node.models import NodeInbox

    done = {_mid("forward-receipt", f.id): f for f in session.scalars(
        select(ForwardedReport).where(ForwardedReport.status == "received",
                                      ForwardedReport.to_org_id == org))}
    out: list[tuple[str, str, str, dict[str, Any]]] = []
    for mid in sorted(_not_queued(session, done)):
        fwd = done[mid]
        came = session.get(NodeInbox, _mid("forward", fwd.id))
        sup = came.sender_org if came is not None else _department(directory)
        if sup is None or fwd.receipt is None:
            continue
        out.append((sup, "forward_receipt", mid, {
            "forward": fwd.id, "report": fwd.report_id, "receipt": fwd.receipt,
            "received_at": fwd.received_at.isoformat() if fwd.received_at else None,
            "received_by": fwd.received_by, "on_time": fwd.on_time}))
    return out


def _owed_by_witness(session: Session, org: str, directory: Directory
                     ) -> list[tuple[str, str, str, dict[str, Any]]]:
    """An auditor's or the police's witness that caught a log rewritten, forked or
    rolled back reports it onward to the supervision department (``onward_report``),
    with what the finding holds to check it (both signed checkpoints, the proof):
    the department opens its case from it as from its own."""
    from parcelguard.supervision.models import SupervisionFinding

    sup = _department(directory)
    if sup is None:
        return []
    found = {_mid("finding", org, str(f.id)): f for f in session.scalars(
        select(SupervisionFinding).where(SupervisionFinding.kind == "ledger_tamper"))}
    return [(sup, "onward_report", mid, {
        "subject": "ledger_tamper", "finding": found[mid].id,
        "enterprise": found[mid].enterprise_id, "summary": found[mid].summary,
        "detected_at": found[mid].detected_at.isoformat(),
        "evidence": found[mid].evidence}) for mid in sorted(
            _not_queued(session, found), key=lambda m: found[m].id)]


def report_body(session: Session, r: Any, inc: Any) -> dict[str, Any]:
    """What an incident report carries between nodes: the report's and incident's
    ids, codes and counts, and the pseudonymous ids an intervention would target
    (employee ids of the roster, the devices in the evidence): never PI."""
    from parcelguard.incidents.impact import load_events
    from parcelguard.logistics.models import Employee

    employees = sorted(session.scalars(select(Employee.id).where(
        Employee.enterprise_id == inc.enterprise_id, Employee.id.in_(inc.actor_ids or []))))
    devices = sorted({str(ev["device_id"]) for ev in load_events(
        session, inc.enterprise_id, list(inc.evidence_event_ids or [])[:50])
        if ev.get("device_id")})
    return {"report": r.id, "incident": inc.id, "parent": r.parent_id,
            "report_kind": r.kind, "recipient": r.recipient, "category": inc.category,
            "grade": inc.grade, "people_affected": inc.people_affected,
            "records": dict(inc.records_by_category or {}), "on_time": r.on_time,
            "filed_at": r.filed_at.isoformat() if r.filed_at else None,
            "employees": employees[:20], "devices": devices[:5]}
