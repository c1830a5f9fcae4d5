"""What a received envelope changes on the node that receives it, in the receipt's
transaction (node/service.py ``receive``: once per message id, so never twice).

- An enterprise that receives an ordered ``intervention`` naming a kind and a target
  (``{"kind": "suspend_employee", "target_id": ..., "incident": ..., "ref": ...}``)
  applies it in its own store (incidents/interventions.py: the suspension, the
  blocked device, the frozen partner, its ledger event), records it acknowledged and
  answers ``intervention_ack`` with the outcome; an order it cannot apply (unknown
  target, already in force) is acknowledged ``refused`` with the reason, so the
  department sees it rather than a message retried forever. An order without a kind
  is kept on record and acknowledged ``recorded``.
- An enterprise that receives a ``data_request`` (from the supervision department,
  the police or an auditor holding a grant) answers ``data_answer`` with the figures
  of its own store: its log's size, incidents, reports filed, interventions.
  Ids and counts only: the answer never carries PI.
- The supervision node makes a received report or supplement its own report record
  (incidents/received.py: its inbox, incident views and forwards read it as a local
  one), an escalation (or its clearing) its own escalation, and a tamper finding
  another witness reports onward its case about that enterprise
  (incidents.open_case); the administration's receipt for a forward
  (``forward_receipt``) marks its forward received (incidents/received.py).
- The cyberspace administration's node makes a forwarded report (``onward_report``
  about an ``incident_report``) its own forward record, ``sent`` to it, which it
  acknowledges with `incidents forward receipt` as on a shared store.
- An auditor's node makes an ``audit_grant`` its own engagement (`parcelguard audit
  engagements`, `audit run`); an enterprise's records it too, and answers an
  auditor's ``data_request`` only when it names such an engagement (the read logged
  against it), as a single store lets an auditor read only through its engagement.
- A police node checks a carrier's referral that carries its evidence package
  (``check_evidence``: against the directory's log key and against what its own
  witness cosigned) and records it as its referral (channel/referrals.py
  ``record_received``), where the investigator reads it.
- Everything is also kept as received (``node_inbox``): reports, acknowledgements,
  referrals, grants and answers are evidence in their signed form. A record a node
  cannot make its own stays only that.

Replies get message ids derived from the message they answer (``reply_id``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from parcelguard.core.clock import SystemClock, aware_time
from parcelguard.core.errors import DomainError
from parcelguard.incidents.settings import IncidentSettings
from parcelguard.node.directory import Directory
from parcelguard.node.envelope import Envelope

log = logging.getLogger(__name__)

Reply = tuple[str, str, dict[str, Any]]  # kind, recipient org, body


def reply_id(message_id: str, kind: str) -> str:
    """The message id of the ``kind`` answer to ``message_id`` (one answer each)."""
    return f"{kind[:12]}_{hashlib.sha256(message_id.encode()).hexdigest()[:40]}"


def apply(session: Session, e: Envelope, *, me_org: str, me_role: str,
          directory: Directory | None = None) -> Iterator[Reply]:
    if me_role == "supervision":
        _at_the_department(session, e)
        return
    if me_role == "police" and e.kind == "police_referral" and directory is not None:
        _referral(session, e, me_org, directory)
        return
    if me_role == "cac" and e.kind == "onward_report" \
            and e.body.get("subject") == "incident_report":
        from parcelguard.incidents.received import record_forward

        with _or_kept(session, e):
            record_forward(session, e.sender_org, e.body, administration=me_org,
                           clock=SystemClock())
        return
    if e.kind == "audit_grant" and me_role in ("auditor", "enterprise"):
        _grant(session, e, me_org)
        return
    if me_role != "enterprise":
        return
    if e.kind == "intervention":
        yield "intervention_ack", e.sender_org, _intervention(session, e, me_org)
    elif e.kind == "data_request":
        yield "data_answer", e.sender_org, _data_answer(session, e, me_org, directory)


def _grant(session: Session, e: Envelope, me_org: str) -> None:
    """An audit the department granted: the auditor's node holds it as its own
    engagement (its `audit` commands list and work it), the carrier's node as the
    engagement its auditor's data requests name (audit/engagements.py record_grant)."""
    from parcelguard.audit.engagements import record_grant

    with _or_kept(session, e):
        record_grant(session, e.body, holder=me_org, granted_by=e.sender_org,
                     clock=SystemClock())


def _data_answer(session: Session, e: Envelope, me_org: str,
                 directory: Directory | None) -> dict[str, Any]:
    """The figures a data request is answered with. An auditor's request must name
    an engagement granted to it over this enterprise (as on a single store, where the
    auditor reads through its engagement only: audit/engagements.py ``conducting``);
    the read is logged against it. Any other is answered ``refused``, with the reason."""
    from parcelguard.audit.engagements import granted_read

    answer: dict[str, Any] = {"request": e.message_id, "ref": e.body.get("ref")}
    sender = directory.entry(e.sender_org) if directory is not None else None
    if sender is not None and sender.role == "auditor":
        ref = e.body.get("engagement")
        answer["engagement"] = ref if isinstance(ref, str) else None
        why = granted_read(session, ref, auditor=e.sender_org, enterprise=me_org,
                           request=e.message_id, clock=SystemClock())
        if why is not None:
            return answer | {"status": "refused", "reason": why}
    return answer | figures(session, me_org)


def _intervention(session: Session, e: Envelope, me_org: str) -> dict[str, Any]:
    from parcelguard.incidents import interventions
    from parcelguard.incidents.models import Incident
    from parcelguard.incidents.timeline import record

    ack: dict[str, Any] = {"intervention": e.message_id, "ref": e.body.get("ref")}
    kind, target = e.body.get("kind"), e.body.get("target_id")
    if not isinstance(kind, str) or not isinstance(target, str):
        return ack | {"status": "recorded"}
    ref = e.body.get("incident")
    inc = session.get(Incident, ref) if isinstance(ref, str) else None
    if inc is not None and inc.enterprise_id != me_org:
        inc = None
    clock = SystemClock()
    try:
        with session.begin_nested():
            applied = interventions.apply_system(
                session, enterprise_id=me_org, kind=kind, target_id=target,
                reason=str(e.body.get("reason") or f"ordered by {e.sender_org}")[:500],
                actor=f"node:{e.sender_org}", actor_org=e.sender_org, ordered=True,
                incident=inc, clock=clock, ack_hours=IncidentSettings().ack_hours)
            iv = applied.intervention
            now = clock.now()
            # the node acknowledges on receipt: the order is applied in this transaction
            iv.acknowledged_at, iv.acknowledged_by = now, f"node:{me_org}"
            if inc is not None:
                record(session, inc.id, at=now, actor=iv.acknowledged_by,
                       action="intervention_acknowledged", intervention_id=iv.id)
            session.flush()
    except DomainError as exc:
        return ack | {"status": "refused", "reason": exc.message[:300]}
    return ack | {"status": "applied", "intervention_id": iv.id, "kind": kind,
                  "ledger_event_id": iv.ledger_event_id}


def figures(session: Session, org: str) -> dict[str, Any]:
    """An enterprise's own figures, as a data answer carries them (no PI)."""
    from parcelguard.incidents.models import Incident, IncidentReport, Intervention
    from parcelguard.ledger.models import LedgerHead

    head = session.get(LedgerHead, org)
    return {
        "log_size": int(head.size) if head is not None else 0,
        "incidents": int(session.scalar(select(func.count()).select_from(Incident).where(
            Incident.enterprise_id == org)) or 0),
        "reports_filed": int(session.scalar(select(func.count()).select_from(
            IncidentReport).where(IncidentReport.enterprise_id == org,
                                  IncidentReport.status == "filed")) or 0),
        "interventions": int(session.scalar(select(func.count()).select_from(
            Intervention).where(Intervention.enterprise_id == org)) or 0),
    }


def _at_the_department(session: Session, e: Envelope) -> None:
    """What the supervision node makes of what it receives: a report or supplement
    becomes its own incident-report record (incidents/received.py: its inbox, incident
    views and forwards read it as a local one), an escalation its own escalation,
    and a tamper finding another witness reports onward opens (or joins) its case
    about that enterprise, as its own mirror's or witness's would."""
    from parcelguard.incidents import received
    from parcelguard.incidents.service import OpenRequest, open_case, policy_of

    settings = IncidentSettings()
    clock = SystemClock()
    if e.kind in ("incident_report", "incident_supplement"):
        with _or_kept(session, e):
            received.record_report(session, e.sender_org, e.body, clock=clock,
                                   policy=policy_of(settings))
    elif e.kind == "forward_receipt":  # only an administration sends one (envelope.KINDS)
        with _or_kept(session, e):
            received.record_forward_receipt(session, e.sender_org, e.body, clock=clock)
    elif e.kind == "escalation":  # only an enterprise sends one here (envelope.KINDS)
        with _or_kept(session, e):
            received.record_escalation(session, e.sender_org, e.body, clock=clock)
    elif e.kind == "onward_report" and e.body.get("subject") == "ledger_tamper":
        ent, finding = e.body.get("enterprise"), e.body.get("finding")
        if not isinstance(ent, str) or not isinstance(finding, int):
            return
        from parcelguard.identity.service import ensure_enterprises

        if ensure_enterprises(session, {ent}, clock):
            return  # not an organisation id this store accepts
        with _or_kept(session, e):
            open_case(session, OpenRequest(
                enterprise_id=ent, title=f"ledger_tamper ({ent}'s log)",
                category="tampering", source="audit",
                detected_at=aware_time(e.body.get("detected_at")) or clock.now(),
                source_ref=f"{e.sender_org}/finding/{finding}"[:128],
                subject_key=f"{ent}|{ent}"),
                actor=f"node:{e.sender_org}", settings=settings)


@contextmanager
def _or_kept(session: Session, e: Envelope) -> Iterator[None]:
    """A received record this node cannot make its own (a body it refuses, an id it
    holds already) stays what it is, a signed envelope in the inbox: the receipt is
    not failed for it (the sender would retry it forever)."""
    from parcelguard.incidents.received import NotYet

    try:
        with session.begin_nested():
            yield
    except NotYet:
        raise  # the whole receipt is refused; the sender retries
    except (DomainError, IntegrityError) as exc:
        log.warning("%s %s from %s kept as received: %s", e.kind, e.message_id,
                    e.sender_org, type(exc).__name__)


def _unb64(value: object) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None



def _referral(session: Session, e: Envelope, me_org: str, directory: Directory) -> None:
    """A referral an enterprise's node sent with its evidence package: checked
    (check_evidence) and recorded as the police's referral (channel/referrals.py),
    where the investigator reads it. One the department sent (ids only, no package)
    is kept as received."""
    from parcelguard.channel.referrals import record_received

    package = e.body.get("package")
    ref = e.body.get("referral")
    sender = directory.entry(e.sender_org)
    if not isinstance(package, dict) or not isinstance(ref, str) or sender is None \
            or sender.role != "enterprise":
        return
    check = check_evidence(session, e.body, log_key=sender.log_key,
                           witness_key=_own_witness_key(directory, me_org))
    with _or_kept(session, e):
        record_received(session, enterprise_id=e.sender_org, police_org_id=me_org,
                        referral_id=ref[:64],
                        source_type=str(e.body.get("source_type") or "?"),
                        source_id=str(e.body.get("source_id") or ""),
                        reason=str(e.body.get("reason") or ""), package=package,
                        created_at=aware_time(e.body.get("created_at")) or datetime.now(UTC),
                        received_at=datetime.now(UTC), check=check)


def _own_witness_key(directory: Directory, me_org: str) -> str:
    me = directory.entry(me_org)
    return me.witness_key if me is not None else ""


def check_evidence(session: Session, body: dict[str, Any], *, log_key: str,
                   witness_key: str) -> dict[str, Any]:
    """What the police node verifies of a referral's evidence package on receipt:

    - the package as channel/evidence.py ``verify`` checks it, but with the log key
      the signed directory lists for the enterprise (not the key the package names):
      its checkpoint signed by the log, every event's inclusion proof against it,
      every event the enterprise's; its digest is the one the body states;
    - against what this node's own witness saw of the log: the newest checkpoint it
      cosigned (its cosignature line must verify with this node's witness key) and a
      consistency proof between that checkpoint and the package's; and, when this
      witness's current state is at the package's size, the same root.

    ``witnessed``: ``consistent``, ``inconsistent`` (the log showed the police one
    history and the package another), or why it could not be checked."""
    from parcelguard.channel import evidence

    package = body["package"]
    # the key the check used, kept with it: the police node verifies the package again
    # with it (`/evidence/verify`), since it holds no key of the enterprise's own
    out: dict[str, Any] = {"package_sha256": evidence.package_digest(package),
                           "log_key": log_key}
    digest_ok = out["package_sha256"] == body.get("package_sha256")
    if not log_key:
        return out | {"evidence_ok": False, "events_verified": 0,
                      "problems": ["the directory lists no log key for the enterprise"],
                      "witnessed": "not checked"}
    v = evidence.verify(package, log_key)
    problems = list(v.problems) + ([] if digest_ok else ["the digest is not the one sent"])
    out |= {"evidence_ok": v.ok and digest_ok, "events_verified": v.events_verified,
            "tree_size": v.tree_size, "problems": problems[:20]}
    if not v.ok:
        return out | {"witnessed": "not checked"}
    return out | _witnessed(session, body.get("witnessed"), log_key=log_key,
                            witness_key=witness_key, size=int(v.tree_size or 0),
                            pkg_root=_unb64(package.get("root")))


def _witnessed(session: Session, w: object, *, log_key: str, witness_key: str, size: int,
               pkg_root: bytes | None) -> dict[str, Any]:
    """The package's checkpoint (``size``, ``pkg_root``) against the newest one this
    node's witness cosigned (``w``: its note, cosignature line, consistency proof)."""
    from parcelguard.ledger.checkpoint import CheckpointError, open_checkpoint
    from parcelguard.ledger.cosign import CosignerVerifier
    from parcelguard.ledger.merkle import verify_consistency
    from parcelguard.supervision.models import TlogWitnessLog

    if not witness_key:
        return {"witnessed": "this node does not witness"}
    if not isinstance(w, dict):
        return {"witnessed": "not yet witnessed by this node"}
    note = str(w.get("note", ""))
    try:
        cp = open_checkpoint(note, log_key)
        verifier = CosignerVerifier.from_key(witness_key)
        text = note[:note.rindex("\n\n") + 1]
    except (CheckpointError, ValueError) as exc:
        return {"witnessed": f"witnessed checkpoint unreadable: {type(exc).__name__}"}
    if verifier.verify_line(text, str(w.get("cosignature", ""))) is None:
        return {"witnessed": "the cosignature is not this node's witness's"}
    proof = [_unb64(h) for h in w.get("consistency") or []]
    (lo, lo_root), (hi, hi_root) = sorted(((size, pkg_root), (cp.size, cp.root)),
                                          key=lambda x: x[0])
    ok = (None not in proof and lo_root is not None and hi_root is not None
          and (lo_root == hi_root if lo == hi else verify_consistency(
              lo, hi, lo_root, hi_root, [h for h in proof if h is not None])))
    held = session.get(TlogWitnessLog, (verifier.name, cp.origin))
    if ok and held is not None and int(held.size) == size and bytes(held.root) != pkg_root:
        ok = False
    return {"witnessed": "consistent" if ok else "inconsistent", "witnessed_size": cp.size}
