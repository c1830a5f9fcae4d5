"""The node's outbox message: an envelope waiting to be carried to another node."""

from __future__ import annotations

from dataclasses import dataclass

from parcelguard.core.messages import message


@message("node.envelope_queued", version=1)
@dataclass(frozen=True)
class EnvelopeQueued:
    """Everything of the envelope but its signature, which the delivery adds (the
    same bytes on every retry: Ed25519 is deterministic). ``body`` is canonical
    JSON; bodies carry ids, codes and counts, never PI in plaintext."""

    message_id: str
    sender_org: str
    recipient_org: str
    kind: str
    body: str
    created_at: str
