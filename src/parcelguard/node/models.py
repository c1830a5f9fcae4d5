"""What a node stores of the federation: the envelopes it received (the message id
is the idempotency key of their application). What it sends waits in the
transactional outbox (core/outbox.py) as ``node.envelope_queued`` messages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from parcelguard.core.db import Base, UTCDateTime


class NodeInbox(Base):
    """One received envelope, stored once however often it arrives (``deliveries``
    counts the arrivals: more than one means the sender retried after a lost answer)."""

    __tablename__ = "node_inbox"

    message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sender_org: Mapped[str] = mapped_column(String(64))
    sender_key_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    envelope: Mapped[str] = mapped_column(Text)  # as signed: the receipt is evidence
    created_at: Mapped[str] = mapped_column(String(40))  # the sender's clock, as signed
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deliveries: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (Index("ix_node_inbox_sender", "sender_org", "kind"),)
