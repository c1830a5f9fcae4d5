"""auth: login throttles (lock-out with back-off per username and per source)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 22:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parcelguard.core.db

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_throttles",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", parcelguard.core.db.UTCDateTime(timezone=True),
                  nullable=False),
        sa.Column("locked_until", parcelguard.core.db.UTCDateTime(timezone=True),
                  nullable=True),
        sa.Column("lockouts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttles")),
    )


def downgrade() -> None:
    op.drop_table("login_throttles")
