"""detection: an export request names its run's access event

The criminal count de-duplicates records across exports and reveals (SPC/SPP 2017
interpretation): an ``export`` event carries only a count, so the request it ran
keeps the event id and the waybills it returned.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("access_export_requests") as batch:
        batch.add_column(sa.Column("event_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("exported_waybills", sa.JSON(), nullable=True))
        batch.create_index("ix_access_export_requests_event_id", ["enterprise_id", "event_id"])


def downgrade() -> None:
    with op.batch_alter_table("access_export_requests") as batch:
        batch.drop_index("ix_access_export_requests_event_id")
        batch.drop_column("exported_waybills")
        batch.drop_column("event_id")
