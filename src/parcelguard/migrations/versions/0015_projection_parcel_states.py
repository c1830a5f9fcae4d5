"""projection: the parcel projection; a waybill index on ledger_events

``parcel_states`` becomes the one source of a parcel's state (its history is its
events, found by the new waybill index), so
``parcels.status``/``status_at`` (which only parcelguard's own step calls ever
moved) go. The projection is built from the parcel events already stored, by the
same fold ingest uses from now on.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 22:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parcelguard.core.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHUNK = 20_000


def upgrade() -> None:
    op.create_table(
        "parcel_states",
        sa.Column("enterprise_id", sa.String(length=64), nullable=False),
        sa.Column("waybill_no", sa.String(length=64), nullable=False),
        sa.Column("first_at_us", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=True),
        sa.Column("step", sa.String(length=24), nullable=True),
        sa.Column("step_at_us", sa.BigInteger(), nullable=True),
        sa.Column("step_rank", sa.Integer(), nullable=True),
        sa.Column("step_event_id", sa.String(length=64), nullable=True),
        sa.Column("station_id", sa.String(length=64), nullable=True),
        sa.Column("assignee_id", sa.String(length=64), nullable=True),
        sa.Column("assignment_purpose", sa.String(length=24), nullable=True),
        sa.Column("assignment_until_us", sa.BigInteger(), nullable=True),
        sa.Column("assigned_at_us", sa.BigInteger(), nullable=True),
        sa.Column("assigned_event_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("enterprise_id", "waybill_no", name=op.f("pk_parcel_states")),
    )
    with op.batch_alter_table("ledger_events", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_events_waybill", ["enterprise_id", "waybill_no"],
                              unique=False, sqlite_where=sa.text("waybill_no IS NOT NULL"),
                              postgresql_where=sa.text("waybill_no IS NOT NULL"))
    _build_projection()
    with op.batch_alter_table("parcels", schema=None) as batch_op:
        batch_op.drop_column("status_at")
        batch_op.drop_column("status")


def _build_projection() -> None:
    # The fold is the projection's definition, so the stored events are replayed
    # through it rather than through a second copy of its rules.
    from parcelguard.ledger.parcels import project

    conn = op.get_bind()
    events = sa.table("ledger_events", sa.column("enterprise_id"), sa.column("seq"),
                      sa.column("event_id"), sa.column("kind"), sa.column("occurred_at_us"),
                      sa.column("leaf"))
    for (ent,) in conn.execute(sa.select(events.c.enterprise_id).distinct()).all():
        after = -1
        while True:
            rows = conn.execute(
                sa.select(events.c.seq, events.c.event_id, events.c.occurred_at_us,
                          events.c.leaf)
                .where(events.c.enterprise_id == ent, events.c.kind == "parcel",
                       events.c.seq > after)
                .order_by(events.c.seq).limit(_CHUNK)).all()
            if not rows:
                break
            project(conn, ent, [(eid, us, bytes(leaf)) for _, eid, us, leaf in rows])
            after = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("parcels", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=24), nullable=False,
                                      server_default="created"))
        batch_op.add_column(sa.Column("status_at", parcelguard.core.db.UTCDateTime(timezone=True),
                                      nullable=True))
    parcels = sa.table("parcels", sa.column("enterprise_id"), sa.column("waybill_no"),
                       sa.column("status"), sa.column("status_at"), sa.column("created_at"))
    states = sa.table("parcel_states", sa.column("enterprise_id"), sa.column("waybill_no"),
                      sa.column("status"))
    op.execute(parcels.update().values(
        status=sa.func.coalesce(sa.select(states.c.status).where(
            states.c.enterprise_id == parcels.c.enterprise_id,
            states.c.waybill_no == parcels.c.waybill_no).scalar_subquery(), "created"),
        status_at=parcels.c.created_at))
    with op.batch_alter_table("parcels", schema=None) as batch_op:
        batch_op.alter_column("status", server_default=None)
        batch_op.alter_column("status_at", nullable=False)
    with op.batch_alter_table("ledger_events", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_events_waybill")
    op.drop_table("parcel_states")
