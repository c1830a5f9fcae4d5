"""Event store tables. ``ledger_events`` holds every event of every enterprise as
its canonical bytes (the Merkle leaf) plus the few columns queries need; ``seq`` is
the event's position in its enterprise's log (0-based, gap-free). The Merkle log over
those leaves lives in ``ledger_tiles``; checkpoints and their keys beside it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from parcelguard.core.db import Base, UTCDateTime


class LedgerEvent(Base):
    __tablename__ = "ledger_events"
    # No foreign key to organizations: the row rate here is hundreds of thousands a
    # second and the enterprise is checked once per batch by the ingest service.
    enterprise_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))
    # UTC microseconds: portable, compact and cheap to range-scan by event time.
    occurred_at_us: Mapped[int] = mapped_column(BigInteger)
    subject_id: Mapped[str | None] = mapped_column(String(128))
    waybill_no: Mapped[str | None] = mapped_column(String(64))
    leaf: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        Index("uq_ledger_events_enterprise_event", "enterprise_id", "event_id", unique=True),
        # A parcel's history (tracking, `parcels show`, the gate) and triangulation look
        # events up by waybill; without this each look-up scanned the enterprise's
        # whole log. Evidence looks them up by actor, but rarely (a referral), and an
        # index for it cost ingest as much again: bench/bench_lookups.py, docs/ingest.md.
        # Partial: only events that name a waybill, so the index stays small and the
        # planner never takes it for a look-up by enterprise alone (evidence by actor
        # ran 6x slower through a full one).
        Index("ix_ledger_events_waybill", "enterprise_id", "waybill_no",
              sqlite_where=text("waybill_no IS NOT NULL"),
              postgresql_where=text("waybill_no IS NOT NULL")),
    )


class LedgerHead(Base):
    """Per-enterprise log size: the row every writer locks, so concurrent ingests
    into one enterprise's log serialise and positions never collide."""

    __tablename__ = "ledger_heads"
    enterprise_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerTile(Base):
    """One tile of an enterprise's Merkle log (layout in ledger/tiles.py).

    ``data`` is the concatenation of up to 2**height 32-byte hashes. A partial tile on
    the right edge is rewritten as the log grows; its old bytes are always a prefix of
    the new ones (ledger/store.py refuses any other write)."""

    __tablename__ = "ledger_tiles"
    enterprise_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class LedgerSigningKey(Base):
    """An enterprise's Ed25519 checkpoint key. The signer key is stored only wrapped
    by the KMS master key, bound to the enterprise id; the verifier key is public."""

    __tablename__ = "ledger_signing_keys"
    enterprise_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The log origin and key name, ``<origin prefix>/<enterprise_id>`` (docs/ledger.md).
    origin: Mapped[str] = mapped_column(String(200))
    verifier_key: Mapped[str] = mapped_column(String(300))
    kms_key_id: Mapped[str] = mapped_column(String(64))
    wrapped_signer_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerCheckpoint(Base):
    """Every checkpoint the enterprise signed, in order: what it has vouched for."""

    __tablename__ = "ledger_checkpoints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    enterprise_id: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_ledger_checkpoints_enterprise", "enterprise_id", "id"),)


class LedgerArchive(Base):
    """A prefix of an enterprise's leaves moved to a Parquet file (retention). The
    tiles stay, so proofs keep working; the file's SHA-256 guards what was moved."""

    __tablename__ = "ledger_archives"
    enterprise_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    end_seq: Mapped[int] = mapped_column(BigInteger)  # exclusive
    path: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ParcelState(Base):
    """The parcel projection: each parcel's current state, folded from its ``parcel``
    events in the ingest transaction (ledger/parcels.py). It is the one source of a
    parcel's status; nothing else writes it. Its history is the parcel's events
    themselves, read from this log through ``ix_ledger_events_waybill``.

    Each group of columns follows the newest event of its kind by event time
    (ties: lifecycle order, then event id), so arrival order and re-sends do not
    change the result: status, step and station follow the lifecycle steps;
    assignee, purpose and window follow ``assigned`` steps."""

    __tablename__ = "parcel_states"
    enterprise_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    waybill_no: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_at_us: Mapped[int] = mapped_column(BigInteger)
    # None until a lifecycle step other than ``assigned`` arrives.
    status: Mapped[str | None] = mapped_column(String(24))
    step: Mapped[str | None] = mapped_column(String(24))
    step_at_us: Mapped[int | None] = mapped_column(BigInteger)
    step_rank: Mapped[int | None] = mapped_column(Integer)
    step_event_id: Mapped[str | None] = mapped_column(String(64))
    station_id: Mapped[str | None] = mapped_column(String(64))
    assignee_id: Mapped[str | None] = mapped_column(String(64))
    assignment_purpose: Mapped[str | None] = mapped_column(String(24))
    assignment_until_us: Mapped[int | None] = mapped_column(BigInteger)
    assigned_at_us: Mapped[int | None] = mapped_column(BigInteger)
    assigned_event_id: Mapped[str | None] = mapped_column(String(64))



class LedgerCosignature(Base):
    """A witness's cosignature line on one of the enterprise's checkpoints, as the
    witness returned it (C2SP tlog-witness); the published checkpoint carries them."""

    __tablename__ = "ledger_cosignatures"
    checkpoint_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    witness: Mapped[str] = mapped_column(String(200), primary_key=True)
    line: Mapped[str] = mapped_column(String(400))
    signed_at: Mapped[int] = mapped_column(BigInteger)  # the cosignature's POSIX time
