"""vault: drop the kek_version index of subject keys (a rotation rewrote it per key)

Revision ID: 0019_ops
Revises: 0019_portal
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0019_ops"
down_revision: str | None = "0019_portal"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("vault_subject_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_vault_subject_keys_rotation")


def downgrade() -> None:
    with op.batch_alter_table("vault_subject_keys", schema=None) as batch_op:
        batch_op.create_index("ix_vault_subject_keys_rotation",
                              ["enterprise_id", "kek_version", "subject_id"], unique=False)
