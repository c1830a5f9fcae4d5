"""Sending and receiving envelopes, with the refusals the federation relies on.

Sending writes a ``node.envelope_queued`` message to the outbox in the caller's
transaction (so a message exists exactly when the change that caused it does); the
``node.deliver`` reaction carries it (node/transport.py).

Receiving checks, in order: the envelope is well formed and addressed to this node;
its sender is in the signed directory; the TLS client certificate of the connection
is the one the directory pins for that sender (and names that org); the envelope is
signed by the sender's registered node key; the sender's role may send that kind to
this role. Only then is it stored, once per message id, and applied (an
intervention is acknowledged) in the same transaction: a repeated delivery is
answered ``duplicate`` and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from parcelguard.core import outbox
from parcelguard.core.canonical import canonical_json
from parcelguard.core.errors import DomainError, InvalidInput
from parcelguard.core.ids import new_id
from parcelguard.node import envelope as env
from parcelguard.node import pki
from parcelguard.node.directory import Directory
from parcelguard.node.events import EnvelopeQueued
from parcelguard.node.models import NodeInbox

BODY_BYTES: Final = 256 * 1024
# A police referral carries its evidence package (up to ChannelSettings
# evidence_max_events events, each with its inclusion proof: about 1.5 KiB each).
BODY_BYTES_BY_KIND: Final = {"police_referral": 8 * 1024 * 1024}


class Refusal(DomainError):
    """An envelope this node will not accept; the reason names the failed check."""

    status_code = 403
    code = "envelope_refused"


@dataclass(frozen=True)
class Me:
    org: str
    role: str
    key_id: str


def outbox_id(message_id: str) -> str:
    """The outbox message id of the envelope ``message_id`` (fixed, so a message whose
    id the sender derived from a domain record is never queued twice)."""
    return "msg_env_" + hashlib.sha256(message_id.encode()).hexdigest()[:32]


def queued(session: Session, message_id: str) -> bool:
    """Whether the envelope ``message_id`` is in this node's outbox already."""
    return session.scalar(select(outbox.OutboxMessage.seq).where(
        outbox.OutboxMessage.id == outbox_id(message_id))) is not None


def send(session: Session, *, me: Me, directory: Directory | None, to_org: str, kind: str,
         body: dict[str, Any], message_id: str | None = None) -> str:
    """Queue an envelope to ``to_org`` in ``session``'s transaction; its message id.
    ``message_id``: one the caller derived from the record the message is about
    (node/relay.py); queuing it a second time fails the transaction."""
    if kind not in env.KINDS:
        raise InvalidInput(f"unknown message kind {kind!r}; one of {', '.join(env.KINDS)}")
    peer = directory.entry(to_org) if directory else None
    if peer is None:
        raise InvalidInput(f"{to_org} is not in the directory this node holds")
    try:
        env.check_roles(kind, me.role, peer.role)
    except env.EnvelopeError as exc:
        raise InvalidInput(str(exc)) from None
    raw = canonical_json(body)
    limit = BODY_BYTES_BY_KIND.get(kind, BODY_BYTES)
    if len(raw) > limit:
        raise InvalidInput(f"message body over {limit} bytes")
    if message_id is not None and not 0 < len(message_id) <= 64:
        raise InvalidInput("message_id must be 1-64 characters")
    mid = message_id or new_id("env")
    outbox.emit(session, EnvelopeQueued(
        message_id=mid, sender_org=me.org, recipient_org=to_org, kind=kind,
        body=raw.decode(), created_at=datetime.now(UTC).isoformat(timespec="milliseconds")),
        ids=[outbox_id(mid)] if message_id is not None else None)
    return mid


def verify(doc: object, *, me: Me, directory: Directory | None,
           peer_cert_der: bytes | None) -> env.Envelope:
    """The envelope if every check passes, else ``Refusal`` with the reason."""
    try:
        e = env.parse(doc)
    except env.EnvelopeError as exc:
        raise Refusal(str(exc)) from None
    if e.recipient_org != me.org:
        raise Refusal(f"the envelope is addressed to {e.recipient_org}, not this node")
    sender = directory.entry(e.sender_org) if directory else None
    if sender is None:
        raise Refusal(f"sender {e.sender_org} is not in the directory")
    if peer_cert_der is None:
        raise Refusal("no TLS client certificate")
    cert = pki.binding(peer_cert_der)
    if cert.fingerprint != sender.tls_fingerprint or e.sender_org not in cert.orgs \
            or sender.key_id not in cert.key_ids:
        raise Refusal(f"the TLS certificate presented is not the node certificate of "
                      f"{e.sender_org} (directory pins {sender.tls_fingerprint[:16]}..., "
                      f"got {cert.fingerprint[:16]}... for {', '.join(cert.orgs) or '?'})")
    if e.sender_key_id != sender.key_id:
        raise Refusal(f"signed with key {e.sender_key_id}, not {e.sender_org}'s registered "
                      f"node key {sender.key_id}")
    try:
        e.verify(pki.public_from_b64(sender.node_key))
        env.check_roles(e.kind, sender.role, me.role)
    except env.EnvelopeError as exc:
        raise Refusal(str(exc)) from None
    return e


def receive(session: Session, e: env.Envelope, *, me: Me, directory: Directory) -> bool:
    """Store and apply a verified envelope once. True if new, False for a repeat."""
    now = datetime.now(UTC)
    ins = (sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert)
    stmt = ins(NodeInbox).values(
        message_id=e.message_id, sender_org=e.sender_org, sender_key_id=e.sender_key_id,
        kind=e.kind, envelope=canonical_json(e.to_json()).decode(), created_at=e.created_at,
        received_at=now, deliveries=1,
    ).on_conflict_do_nothing(index_elements=["message_id"]).returning(NodeInbox.message_id)
    if session.connection().execute(stmt).first() is None:
        session.execute(update(NodeInbox).where(NodeInbox.message_id == e.message_id)
                        .values(deliveries=NodeInbox.deliveries + 1))
        return False
    _apply(session, e, me=me, directory=directory)
    return True


def _apply(session: Session, e: env.Envelope, *, me: Me, directory: Directory) -> None:
    """What a received message changes on this node, in the receipt's transaction
    (node/effects.py): an enterprise applies an ordered intervention and acknowledges
    it, answers a data request with its figures; every other kind is kept as received."""
    from parcelguard.node import effects

    for kind, to_org, body in effects.apply(session, e, me_org=me.org, me_role=me.role,
                                           directory=directory):
        send(session, me=me, directory=directory, to_org=to_org, kind=kind, body=body,
             message_id=effects.reply_id(e.message_id, kind))


@dataclass(frozen=True)
class Pending:
    outbox_id: str
    message_id: str
    recipient_org: str
    kind: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None


def backlog(session: Session, *, include_done: bool = False, limit: int = 1000
            ) -> list[Pending]:
    """Envelopes waiting for delivery (or all of them), oldest first."""
    q = select(outbox.OutboxMessage).where(outbox.OutboxMessage.type == "node.envelope_queued")
    if not include_done:
        q = q.where(outbox.OutboxMessage.status != "done")
    rows = session.scalars(q.order_by(outbox.OutboxMessage.seq).limit(limit))
    out = []
    for m in rows:
        p = json.loads(m.payload)
        out.append(Pending(outbox_id=m.id, message_id=p["message_id"],
                           recipient_org=p["recipient_org"], kind=p["kind"], status=m.status,
                           attempts=m.attempts, next_attempt_at=m.next_attempt_at,
                           last_error=m.last_error))
    return out


def counts(session: Session) -> dict[str, int]:
    """Sent (by state) and received figures: what `node outbox` and the demo print."""
    sent: dict[str, int] = {str(row[0]): int(row[1]) for row in session.execute(
        select(outbox.OutboxMessage.status, func.count()).where(
            outbox.OutboxMessage.type == "node.envelope_queued")
        .group_by(outbox.OutboxMessage.status))}
    received, arrivals = session.execute(
        select(func.count(), func.coalesce(func.sum(NodeInbox.deliveries), 0))).one()
    return {"sent_pending": sent.get("pending", 0) + sent.get("failed", 0),
            "sent_dead": sent.get("dead", 0), "sent_delivered": sent.get("done", 0),
            "received": int(received), "duplicates_ignored": int(arrivals) - int(received)}
