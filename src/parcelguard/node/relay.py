"""The enterprise node's relay: what its own domain records owe other nodes, queued
as signed envelopes in its outbox.

- a statutory report filed (incidents/reports.py) -> ``incident_report`` to the
  supervision node (a supplement -> ``incident_supplement``);
- a police referral prepared (channel/referrals.py) -> ``police_referral`` to the
  police node it names (or the directory's police node).

The domain packages know nothing of nodes: they record what happened in their own
tables; a relay pass (``node serve`` runs one every ``checkpoint_seconds``; the
federated demo runs one after each step) queues an envelope for each record not yet
queued. Its message id is derived from the record (``report:<id>``), and its outbox
id from that (service.outbox_id), so a record is queued once however many passes,
processes or crashes see it; delivery is the outbox's at-least-once, receipt the
inbox's exactly-once. Bodies carry ids, codes and counts, never PI.
"""

from __future__ import annotations

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
    if me.role != "enterprise" or directory is None:
        return 0
    queued = 0
    for to_org, kind, mid, body in _owed(session, me.org, directory):
        service.send(session, me=me, directory=directory, to_org=to_org, kind=kind,
                     body=body, message_id=mid)
        queued += 1
    return queued


def _owed(session: Session, org: str, directory: Directory
          ) -> list[tuple[str, str, str, dict[str, Any]]]:
    from parcelguard.channel.models import ChannelReferral
    from parcelguard.incidents.models import Incident, IncidentReport

    out: list[tuple[str, str, str, dict[str, Any]]] = []
    sup = _first(directory, "supervision")
    if sup is not None:
        filed = {f"report:{r.id}": r for r in session.scalars(select(IncidentReport).where(
            IncidentReport.enterprise_id == org, IncidentReport.status == "filed"))}
        for mid in sorted(_not_queued(session, filed), key=lambda m: (filed[m].filed_at, m)):
            r = filed[mid]
            inc = session.get(Incident, r.incident_id)
            assert inc is not None
            out.append((sup, "incident_supplement" if r.parent_id else "incident_report",
                        mid, report_body(session, r, inc)))
    referrals = {f"referral:{r.id}": r for r in session.scalars(select(ChannelReferral).where(
        ChannelReferral.enterprise_id == org,
        ChannelReferral.status.in_(("sent", "accepted", "concluded"))))}
    for mid in sorted(_not_queued(session, referrals)):
        ref = referrals[mid]
        police = _first(directory, "police", ref.police_org_id)
        if police is None:
            continue
        events = ref.package.get("events") if isinstance(ref.package, dict) else None
        out.append((police, "police_referral", mid, {
            "referral": ref.id, "source_type": ref.source_type, "source_id": ref.source_id,
            "evidence_events": len(events) if isinstance(events, list) else 0,
            "package_sha256": ref.package_sha256}))
    return out


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
