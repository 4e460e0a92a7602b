"""state intervals: how well each start is known (half the probe gap of its transition)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("state_intervals") as batch:
        batch.add_column(sa.Column("start_uncertainty_us", sa.BigInteger(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("state_intervals") as batch:
        batch.drop_column("start_uncertainty_us")
