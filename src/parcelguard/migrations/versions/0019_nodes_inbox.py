"""nodes: the inbox of envelopes received from other nodes

Revision ID: 0019_nodes
Revises: 0019_tiles
Create Date: 2026-12-07 02:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parcelguard.core.db

revision: str = "0019_nodes"
down_revision: str | None = "0019_tiles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('node_inbox',
    sa.Column('message_id', sa.String(length=64), nullable=False),
    sa.Column('sender_org', sa.String(length=64), nullable=False),
    sa.Column('sender_key_id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('envelope', sa.Text(), nullable=False),
    sa.Column('created_at', sa.String(length=40), nullable=False),
    sa.Column('received_at', parcelguard.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deliveries', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_node_inbox'))
    )
    with op.batch_alter_table('node_inbox', schema=None) as batch_op:
        batch_op.create_index('ix_node_inbox_sender', ['sender_org', 'kind'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('node_inbox', schema=None) as batch_op:
        batch_op.drop_index('ix_node_inbox_sender')
    op.drop_table('node_inbox')
