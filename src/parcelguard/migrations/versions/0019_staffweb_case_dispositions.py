"""staffweb: why an alert was closed and by whom; an incident's disposition

Revision ID: 0019_staffweb
Revises: 0019_legal
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_staffweb"
down_revision: str | None = "0019_legal"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("monitor_alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("close_reason", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("close_note", sa.String(length=500), nullable=True))
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disposition", sa.String(length=24), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("disposition")
    with op.batch_alter_table("monitor_alerts", schema=None) as batch_op:
        batch_op.drop_column("close_note")
        batch_op.drop_column("close_reason")
        batch_op.drop_column("closed_by")
