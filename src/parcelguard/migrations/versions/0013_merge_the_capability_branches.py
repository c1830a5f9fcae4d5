"""merge the capability branches

The capabilities of the first session were built side by side, each with a migration
branching from 0002; this revision joins them so later migrations have one parent.

Revision ID: 0013
Revises: 0003, 0004, 0005, 0006, 0007, 0008, 0009, 0010, 0011, 0012
Create Date: 2026-11-29 14:36:53.178076
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0013"
down_revision: str | tuple[str, ...] | None = (
    "0003", "0004", "0005", "0006", "0007", "0008", "0009", "0010", "0011", "0012")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
