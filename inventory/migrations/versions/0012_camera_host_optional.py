"""cameras.host optional: a camera reached only over GB/T 28181 (access gb28181) may have no
address; its 20-digit GB ID identifies it (NULL hosts never collide in the unique constraint)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cameras") as batch:
        batch.alter_column("host", existing_type=sa.String(length=255), nullable=True)


def downgrade() -> None:
    # an address-less camera cannot go back: it gets its GB ID as a placeholder host
    op.execute("UPDATE cameras SET host = 'gb28181-' || gb_id WHERE host IS NULL")
    with op.batch_alter_table("cameras") as batch:
        batch.alter_column("host", existing_type=sa.String(length=255), nullable=False)
