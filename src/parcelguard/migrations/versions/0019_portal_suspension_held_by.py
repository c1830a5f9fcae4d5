"""portal: a suspension held by an intervention is lifted only through it

Revision ID: 0019_portal
Revises: 0019_staffweb
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_portal"
down_revision: str | None = "0019_staffweb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("access_suspensions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("held_by", sa.String(length=64), nullable=True))
    # Suspensions that interventions made before this revision are held by them.
    op.execute("UPDATE access_suspensions SET held_by = (SELECT i.id FROM "
               "incident_interventions i WHERE i.suspension_id = access_suspensions.id) "
               "WHERE id IN (SELECT suspension_id FROM incident_interventions "
               "WHERE suspension_id IS NOT NULL)")


def downgrade() -> None:
    with op.batch_alter_table("access_suspensions", schema=None) as batch_op:
        batch_op.drop_column("held_by")
